import { MinioArtifactStore } from '../activities/object-store/minio-store.ts';
import { loadConfigOrExit } from '../shared/config.ts';
import { createLogger } from '../shared/logger.ts';
import { createApp } from './app.ts';

const config = loadConfigOrExit();
const log = createLogger(config.logLevel, { component: 'api' });
const app = createApp({ config, store: MinioArtifactStore.fromConfig(config.minio) });
const server = app.listen(config.api.port, config.api.host, () => {
  log.info('api listening', { host: config.api.host, port: config.api.port });
});

for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    log.info('api shutting down', { signal });
    server.close(() => log.info('api stopped'));
  });
}
