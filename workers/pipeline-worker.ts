import { fileURLToPath } from 'node:url';
import { type NativeConnection, Worker } from '@temporalio/worker';
import { Client, Connection } from '@temporalio/client';
import type { Config } from '../shared/config.ts';
import type { ArtifactStore } from '../domain/object-store/artifact-store.ts';
import { createDeploymentActivities } from '../activities/deployment/deployment-activities.ts';
import { createPipelineActivities } from '../activities/pipeline/pipeline-activities.ts';
import { createProbeActivities } from '../activities/stack-check/probe-activities.ts';
import { createMonitoringActivities } from '../activities/monitoring/monitoring-activities.ts';
import { createPredictionLogActivities } from '../activities/prediction-log/prediction-log-activities.ts';
import { createErasureActivities } from '../activities/prediction-log/erasure-activities.ts';
import { createRetentionActivities } from '../activities/prediction-log/retention-activities.ts';
import { startTrainingPipeline } from '../control/start-training-pipeline.ts';
import { followServedModel } from '../control/feature-refresh.ts';
import { temporalClientOptions } from '../control/temporal-connection.ts';
import { createRefreshActivities } from '../activities/features/refresh-activities.ts';
import { createNotificationActivities } from '../activities/notifications/notification-activities.ts';
import { activityMetrics } from './telemetry/activity-metrics.ts';

export const WORKFLOWS_PATH = fileURLToPath(new URL('../workflows/index.ts', import.meta.url));

/** The activities of the CPU pipeline task queue, wired to their dependencies. */
export function createPipelineQueueActivities(deps: { store: ArtifactStore; buckets: Config['buckets']; config?: Config; client?: () => Client }) {
  const { config, client } = deps;
  return {
    ...createProbeActivities(deps),
    ...createPipelineActivities(deps),
    ...createPredictionLogActivities(deps),
    ...createErasureActivities(deps),
    ...createRetentionActivities(deps),
    ...createRefreshActivities(deps),
    ...createNotificationActivities(deps),
    ...createDeploymentActivities({
      ...deps,
      ...(config && client ? { followServedModel: (model: string) => followServedModel({ client: client(), config, store: deps.store }, model) } : {}),
    }),
    // The drift monitor's retraining trigger starts pipelines through a Temporal client.
    ...createMonitoringActivities({
      store: deps.store,
      buckets: deps.buckets,
      logHashKey: config?.logHashKey,
      ...(config && client
        ? {
            startPipeline: (request) => startTrainingPipeline({ client: client(), config, store: deps.store }, request),
            isRunning: async (workflowId) => (await client().workflow.getHandle(workflowId).describe()).status.name === 'RUNNING',
          }
        : {}),
    }),
  };
}

/**
 * Builds the worker of the pipeline task queue. Callers own the connection so tests can run several
 * workers over one and close it themselves.
 */
export async function createPipelineWorker(opts: { config: Config; connection: NativeConnection; store: ArtifactStore; client?: Client }): Promise<Worker> {
  // A lazy connection: opened on the first retraining, never by a worker that does not retrain.
  let client = opts.client;
  const lazyClient = () => (client ??= new Client({ connection: Connection.lazy(temporalClientOptions(opts.config.temporal)), namespace: opts.config.temporal.namespace }));
  return Worker.create({
    connection: opts.connection,
    namespace: opts.config.temporal.namespace,
    taskQueue: opts.config.taskQueues.pipeline,
    workflowsPath: WORKFLOWS_PATH,
    activities: createPipelineQueueActivities({ store: opts.store, buckets: opts.config.buckets, config: opts.config, client: lazyClient }),
    // Heartbeats carry training progress (iteration, losses) that the Temporal UI and `sluice pipeline`
    // show; by default the SDK forwards them only every 0.8 × the heartbeat timeout, so a progress bar
    // would jump and the server would hear from a live activity only 2.4 s before a 12 s timeout.
    // One call per 2 s per activity is cheap.
    maxHeartbeatThrottleInterval: '2 seconds',
    interceptors: { activity: [activityMetrics] },
  });
}
