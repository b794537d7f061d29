import { Worker, bundleWorkflowCode } from '@temporalio/worker';
import type { NotificationActivities } from '../../activities/notifications/notification-activities.ts';
import type { Config } from '../../shared/config.ts';
import { WORKFLOWS_PATH } from '../../workers/pipeline-worker.ts';
import { type TemporalHandles, connectToStack } from '../support/stack.ts';

/** Keeps the workflow bundler's progress lines out of test output. */
export const quietLogger = { log() {}, trace() {}, debug() {}, info() {}, warn() {}, error() {} };

export interface FakeActivityWorker {
  stack: TemporalHandles;
  /** The bundle the worker runs, for replaying the histories a test produced. */
  workflowBundle: Awaited<ReturnType<typeof bundleWorkflowCode>>;
  /** Stops the worker, waits for it, then closes the stack connections. */
  stop(): Promise<void>;
}

/**
 * The shipped workflows on the test stack's Temporal dev server, with typed fake activities: what
 * every workflow test file sets up once in `before` and tears down in `after`.
 */
export async function startFakeActivityWorker(config: Config, taskQueue: string, activities: object): Promise<FakeActivityWorker> {
  const stack = await connectToStack(config);
  const workflowBundle = await bundleWorkflowCode({ workflowsPath: WORKFLOWS_PATH, logger: quietLogger });
  // Notifications the workflows raise find no webhooks here, as on a stack where none is configured.
  const noWebhooks: Pick<NotificationActivities, 'matchingWebhooks'> = { matchingWebhooks: () => Promise.resolve([]) };
  const worker = await Worker.create({ connection: stack.nativeConnection, namespace: config.temporal.namespace, taskQueue, workflowBundle, activities: { ...noWebhooks, ...activities } });
  const running = worker.run();
  return {
    stack,
    workflowBundle,
    async stop() {
      worker.shutdown();
      await running;
      await stack[Symbol.asyncDispose]();
    },
  };
}
