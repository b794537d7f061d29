import { ParentClosePolicy, patched, startChild, uuid4, workflowInfo } from '@temporalio/workflow';
import type { NotificationEvent } from '../shared/notifications.ts';
import type { deliverNotification } from './deliver-notification.ts';

/** Marks histories that raise notifications: runs started before replay without them. */
const NOTIFICATIONS = 'sluice-notifications';

/**
 * Raises a notification from a workflow: starts its delivery as an abandoned child on this
 * workflow's task queue and goes on at once (awaiting only the child's start).
 */
export async function notify(event: NotificationEvent, model: string, summary: string, details: Record<string, unknown>, version?: number): Promise<void> {
  if (!patched(NOTIFICATIONS)) return;
  const { namespace, workflowId, runId } = workflowInfo();
  await startChild<typeof deliverNotification>('deliverNotification', {
    workflowId: `notify-${event}-${uuid4()}`,
    args: [{ event, model, ...(version !== undefined ? { version } : {}), summary, details, occurredAt: new Date().toISOString(), source: { namespace, workflowId, runId } }],
    parentClosePolicy: ParentClosePolicy.ABANDON,
    staticSummary: `${event}: ${summary}`.slice(0, 200),
  });
}
