import { loadConfigOrExit } from '../shared/config.ts';
import { createLogger } from '../shared/logger.ts';
import { installWorkerRuntime } from './telemetry/worker-runtime.ts';
import { MinioArtifactStore } from '../domain/object-store/minio-store.ts';
import { createScoringWorker } from './scoring-worker.ts';
import { connectWorker } from './temporal-connect.ts';

const config = loadConfigOrExit();
const log = createLogger(config.logLevel, { component: 'scoring-worker' });
installWorkerRuntime(config, log, config.workerMetrics.scoring);

const connection = await connectWorker(config, log);
const store = MinioArtifactStore.fromConfig(config.minio);
const { worker, sessions } = await createScoringWorker({ config, connection, store, log });
log.info('worker started', { taskQueue: config.taskQueues.scoring, temporal: config.temporal.address, providers: sessions.report(), metrics: config.workerMetrics.scoring ?? 'off' });
try {
  await worker.run();
} finally {
  await connection.close();
  log.info('worker stopped', { providers: sessions.report() });
}
