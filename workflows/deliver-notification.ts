import { type ActivityOptions, proxyActivities, workflowInfo } from '@temporalio/workflow';
import type { NotificationActivities } from '../activities/notifications/notification-activities.ts';
import { ErrorType } from '../shared/errors.ts';
import { innermostMessage } from '../shared/failure.ts';
import { type NotificationInput, notificationInputSchema } from '../shared/notifications.ts';
import { parseInput } from '../shared/parse-input.ts';

const io = proxyActivities<NotificationActivities>({ startToCloseTimeout: '30 seconds', retry: { maximumAttempts: 5 } });

export interface DeliveryOutcome {
  notificationId: string;
  delivered: { webhookId: string; attempt: number; status: number }[];
  deadLettered: { webhookId: string; key: string; error: string }[];
}

/**
 * One notification to every webhook that wants it, each delivered by its own activity under the
 * webhook's retry policy; one given up on (out of attempts, or refused by its receiver) is filed as a
 * dead letter in the reports bucket. Runs as an abandoned child of the workflow that raised it, so a
 * slow or broken receiver never holds up a pipeline, rollout or monitor. Its workflow id is the
 * notification's id, which every attempt sends as `X-Sluice-Delivery`.
 */
export async function deliverNotification(raw: unknown): Promise<DeliveryOutcome> {
  const notification: NotificationInput = parseInput(notificationInputSchema, raw, () => 'Invalid deliverNotification input');
  const notificationId = workflowInfo().workflowId;
  const targets = await io.matchingWebhooks({ event: notification.event, model: notification.model });
  const outcome: DeliveryOutcome = { notificationId, delivered: [], deadLettered: [] };
  await Promise.all(
    targets.map(async ({ id: webhookId, retry }) => {
      const options: ActivityOptions = {
        startToCloseTimeout: '30 seconds',
        summary: `POST ${notification.event} to webhook ${webhookId}`,
        retry: { ...retry, backoffCoefficient: 2, maximumInterval: '10 minutes', nonRetryableErrorTypes: [ErrorType.WebhookRefused] },
      };
      try {
        const { attempt, status } = await io.deliverWebhook.executeWithOptions(options, [{ webhookId, notificationId, notification }]);
        outcome.delivered.push({ webhookId, attempt, status });
      } catch (err) {
        const error = innermostMessage(err);
        const { key } = await io.recordDeadLetter({ webhookId, notificationId, notification, error });
        outcome.deadLettered.push({ webhookId, key, error });
      }
    }),
  );
  return outcome;
}
