import { Context } from '@temporalio/activity';
import type { ArtifactStore } from '../../domain/object-store/artifact-store.ts';
import { notificationPayload, webhookRequest } from '../../domain/notifications/webhook-request.ts';
import type { Config } from '../../shared/config.ts';
import { kindFailure } from '../../shared/failure.ts';
import { readWebhooksConfig } from '../../domain/notifications/webhooks-config.ts';
import { type NotificationEvent, type NotificationInput, type Webhook, notificationMatches } from '../../shared/notifications.ts';
import { notificationKeys } from '../../shared/storage-keys.ts';

/** A receiver gets this long to answer before the attempt counts as failed (and is retried). */
const DELIVERY_TIMEOUT_MS = 10_000;

export interface MatchedWebhook {
  id: string;
  retry: Webhook['retry'];
}

export interface NotificationActivities {
  /** The webhooks that want this event for this model (none when no webhooks are configured). */
  matchingWebhooks(input: { event: NotificationEvent; model: string }): Promise<MatchedWebhook[]>;
  /** POSTs the notification to one webhook; a failed or refused delivery throws, and Temporal retries it by the webhook's policy. */
  deliverWebhook(input: { webhookId: string; notificationId: string; notification: NotificationInput }): Promise<{ status: number; attempt: number }>;
  /** Files a notification given up on in the reports bucket, with the last error. */
  recordDeadLetter(input: { webhookId: string; notificationId: string; notification: NotificationInput; error: string }): Promise<{ key: string }>;
}

export function createNotificationActivities(deps: { store: ArtifactStore; buckets: Config['buckets'] }): NotificationActivities {
  const config = () => readWebhooksConfig(deps.store, deps.buckets.reports);
  return {
    async matchingWebhooks({ event, model }) {
      return (await config()).webhooks.filter((w) => notificationMatches(w, event, model)).map((w) => ({ id: w.id, retry: w.retry }));
    },

    async deliverWebhook({ webhookId, notificationId, notification }) {
      const { webhooks, links } = await config();
      const webhook = webhooks.find((w) => w.id === webhookId);
      // Removed since the notification was raised: nobody wants it any more.
      if (!webhook) throw kindFailure('WebhookRefused', `webhook ${webhookId} is no longer configured`);
      const { body, headers } = webhookRequest(webhook, notificationPayload(notificationId, notification, links));
      const attempt = Context.current().info.attempt;
      let response: Response;
      try {
        response = await fetch(webhook.url, { method: 'POST', body, headers, signal: AbortSignal.timeout(DELIVERY_TIMEOUT_MS), redirect: 'error' });
      } catch (err) {
        throw new Error(`webhook ${webhookId} (${webhook.url}) not reached on attempt ${attempt}: ${err instanceof Error ? err.message : String(err)}`);
      }
      const answer = (await response.text().catch(() => '')).slice(0, 200);
      if (response.ok) return { status: response.status, attempt };
      const refused = response.status >= 400 && response.status < 500 && response.status !== 408 && response.status !== 429;
      const message = `webhook ${webhookId} answered ${response.status} on attempt ${attempt}${answer ? `: ${answer}` : ''}`;
      if (refused) throw kindFailure('WebhookRefused', message);
      throw new Error(message);
    },

    async recordDeadLetter({ webhookId, notificationId, notification, error }) {
      const key = notificationKeys.deadLetter(notification.occurredAt.slice(0, 10), notificationId, webhookId);
      const record = { kind: 'sluice.notification-dead-letter', webhookId, notificationId, notification, error, recordedAt: new Date().toISOString() };
      await deps.store.put(deps.buckets.reports, key, JSON.stringify(record, null, 2), { contentType: 'application/json' });
      return { key };
    },
  };
}
