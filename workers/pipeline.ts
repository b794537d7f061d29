import { Client, Connection } from '@temporalio/client';
import { loadConfigOrExit } from '../shared/config.ts';
import { createLogger } from '../shared/logger.ts';
import { installWorkerRuntime } from './telemetry/worker-runtime.ts';
import { MinioArtifactStore } from '../domain/object-store/minio-store.ts';
import { createPipelineWorker } from './pipeline-worker.ts';
import { connectWorker } from './temporal-connect.ts';
import { temporalClientOptions } from '../control/temporal-connection.ts';

const config = loadConfigOrExit();
const log = createLogger(config.logLevel, { component: 'pipeline-worker' });
// Temporal installs SIGINT/SIGTERM handlers that drain in-flight tasks before `run()` resolves.
installWorkerRuntime(config, log, config.workerMetrics.pipeline);

const connection = await connectWorker(config, log);
const store = MinioArtifactStore.fromConfig(config.minio);
// The client retraining triggers start pipelines with. Lazy: a worker that never retrains never opens it.
const client = new Client({ connection: Connection.lazy(temporalClientOptions(config.temporal)), namespace: config.temporal.namespace });
const worker = await createPipelineWorker({ config, connection, store, client });
log.info('worker started', { taskQueue: config.taskQueues.pipeline, temporal: config.temporal.address, namespace: config.temporal.namespace, metrics: config.workerMetrics.pipeline ?? 'off' });
try {
  await worker.run();
} finally {
  await client.connection.close();
  await connection.close();
  log.info('worker stopped');
}
