import { MinioArtifactStore } from '../domain/object-store/minio-store.ts';
import { loadConfigOrExit } from '../shared/config.ts';
import { createLogger } from '../shared/logger.ts';
import { KeysFileError } from './auth/key-ring.ts';
import { OnlineFeatureAssemblers } from './features/online-feature-assembler.ts';
import { StoredFeatureDefinitions } from './features/stored-feature-definitions.ts';
import { startApiServer } from './server.ts';

const config = loadConfigOrExit();
const logger = createLogger(config.logLevel, { component: 'api' });
const store = MinioArtifactStore.fromConfig(config.minio);

const featureDefinitions = new StoredFeatureDefinitions(store, config.buckets, config.serving.pollIntervalMs, logger);

try {
  const api = await startApiServer({ config, store, logger, assemblers: new OnlineFeatureAssemblers(featureDefinitions) });
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.once(signal, () => {
      logger.info('signal received', { signal });
      api.shutdown().then(
        () => {
          featureDefinitions.close();
          process.exit(0);
        },
        (err: unknown) => {
          logger.error('shutdown failed', { error: (err as Error).message });
          process.exit(1);
        },
      );
    });
  }
} catch (err) {
  if (!(err instanceof KeysFileError)) throw err;
  logger.error(err.message);
  process.exit(2);
}
