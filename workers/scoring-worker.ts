import { type NativeConnection, Worker } from '@temporalio/worker';
import type { Config } from '../shared/config.ts';
import type { Logger } from '../shared/logger.ts';
import type { ArtifactStore } from '../domain/object-store/artifact-store.ts';
import { ExecutionProviders, onnxSessionLoader } from '../domain/scoring/execution-providers.ts';
import type { ExecutionProvider } from '../shared/config.ts';
import { createScoringActivities, type ScoringSessions } from '../activities/scoring/scoring-activities.ts';
import { WORKFLOWS_PATH } from './pipeline-worker.ts';
import { activityMetrics } from './telemetry/activity-metrics.ts';

/**
 * The worker of the scoring task queue (`SLUICE_TASK_QUEUE_SCORING`): batch-scoring workflows and
 * their chunk activities. It tries the CUDA execution provider first and falls back to CPU with one
 * warning; `sessions.report()` says which it uses.
 */
export async function createScoringWorker(opts: {
  config: Config;
  connection: NativeConnection;
  store: ArtifactStore;
  log: Logger;
  providers?: readonly ExecutionProvider[];
  maxConcurrentActivities?: number;
}): Promise<{ worker: Worker; sessions: ScoringSessions }> {
  // Intra-op threads 0: ONNX Runtime's default, one per core, since chunk runs are the worker's whole job.
  const sessions: ScoringSessions = new ExecutionProviders(opts.providers ?? ['cuda', 'cpu'], opts.log, onnxSessionLoader({ intraOpNumThreads: 0 }));
  const worker = await Worker.create({
    connection: opts.connection,
    namespace: opts.config.temporal.namespace,
    taskQueue: opts.config.taskQueues.scoring,
    workflowsPath: WORKFLOWS_PATH,
    activities: createScoringActivities({ store: opts.store, buckets: opts.config.buckets, sessions }),
    maxConcurrentActivityTaskExecutions: opts.maxConcurrentActivities ?? 2,
    // By default the SDK forwards heartbeats every 0.8 × the heartbeat timeout: 16 s of a chunk's 20 s,
    // so one slow call would time out a live chunk. Every 2 s leaves the whole timeout as margin.
    maxHeartbeatThrottleInterval: '2 seconds',
    interceptors: { activity: [activityMetrics] },
  });
  return { worker, sessions };
}
