import { type NativeConnection, Worker } from '@temporalio/worker';
import type { Config } from '../shared/config.ts';
import type { Logger } from '../shared/logger.ts';
import type { ArtifactStore } from '../domain/object-store/artifact-store.ts';
import { ScoringSessions, type ScoringProvider } from '../domain/scoring/onnx-sessions.ts';
import { createScoringActivities } from '../activities/scoring/scoring-activities.ts';
import { WORKFLOWS_PATH } from './pipeline-worker.ts';

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
  providers?: readonly ScoringProvider[];
  maxConcurrentActivities?: number;
}): Promise<{ worker: Worker; sessions: ScoringSessions }> {
  const sessions = new ScoringSessions(
    opts.providers ?? ['cuda', 'cpu'],
    (message, details) => opts.log.warn(message, details),
    0,
    (provider) => opts.log.info('scoring execution provider', { provider }),
  );
  const worker = await Worker.create({
    connection: opts.connection,
    namespace: opts.config.temporal.namespace,
    taskQueue: opts.config.taskQueues.scoring,
    workflowsPath: WORKFLOWS_PATH,
    activities: createScoringActivities({ store: opts.store, buckets: opts.config.buckets, sessions }),
    maxConcurrentActivityTaskExecutions: opts.maxConcurrentActivities ?? 2,
  });
  return { worker, sessions };
}
