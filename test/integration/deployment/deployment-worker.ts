import { Worker, bundleWorkflowCode } from '@temporalio/worker';
import { createDeploymentActivities } from '../../../activities/deployment/deployment-activities.ts';
import type { ArtifactStore } from '../../../domain/object-store/artifact-store.ts';
import type { Config } from '../../../shared/config.ts';
import { WORKFLOWS_PATH } from '../../../workers/pipeline-worker.ts';
import { type TemporalHandles, connectToStack } from '../../support/stack.ts';
import { quietLogger } from '../../workflow/fake-activity-worker.ts';

/** The shipped workflows with the real deployment activities on the test stack, polling `config`'s pipeline task queue. */
export async function startDeploymentWorker(config: Config, store: ArtifactStore): Promise<{ stack: TemporalHandles; stop(): Promise<void> }> {
  const stack = await connectToStack(config);
  const workflowBundle = await bundleWorkflowCode({ workflowsPath: WORKFLOWS_PATH, logger: quietLogger });
  const worker = await Worker.create({
    connection: stack.nativeConnection,
    namespace: config.temporal.namespace,
    taskQueue: config.taskQueues.pipeline,
    workflowBundle,
    activities: createDeploymentActivities({ store, buckets: config.buckets }),
  });
  const running = worker.run();
  return {
    stack,
    async stop() {
      worker.shutdown();
      await running;
      await stack[Symbol.asyncDispose]();
    },
  };
}
