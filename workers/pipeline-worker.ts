import { fileURLToPath } from 'node:url';
import { type NativeConnection, Worker } from '@temporalio/worker';
import type { Config } from '../shared/config.ts';
import type { ArtifactStore } from '../activities/object-store/artifact-store.ts';
import { createDeploymentActivities } from '../activities/deployment/deployment-activities.ts';
import { createPipelineActivities } from '../activities/pipeline/pipeline-activities.ts';
import { createProbeActivities } from '../activities/stack-check/probe-activities.ts';

export const WORKFLOWS_PATH = fileURLToPath(new URL('../workflows/index.ts', import.meta.url));

/** The activities of the CPU pipeline task queue, wired to their dependencies. */
export function createPipelineQueueActivities(deps: { store: ArtifactStore; buckets: Config['buckets'] }) {
  return {
    ...createProbeActivities(deps),
    ...createPipelineActivities(deps),
    ...createDeploymentActivities(deps),
  };
}

/**
 * Builds the worker of the pipeline task queue. Callers own the connection so tests can run several
 * workers over one and close it themselves.
 */
export async function createPipelineWorker(opts: { config: Config; connection: NativeConnection; store: ArtifactStore }): Promise<Worker> {
  return Worker.create({
    connection: opts.connection,
    namespace: opts.config.temporal.namespace,
    taskQueue: opts.config.taskQueues.pipeline,
    workflowsPath: WORKFLOWS_PATH,
    activities: createPipelineQueueActivities({ store: opts.store, buckets: opts.config.buckets }),
  });
}
