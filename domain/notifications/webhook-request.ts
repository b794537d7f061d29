import { createHmac } from 'node:crypto';
import type { NotificationInput, NotificationPayload, Webhook, WebhooksConfig } from '../../shared/notifications.ts';

export interface WebhookRequest {
  body: string;
  headers: Record<string, string>;
}

/** The payload of a notification, its links built on the configured base URLs. */
export function notificationPayload(id: string, input: NotificationInput, links: WebhooksConfig['links']): NotificationPayload {
  const { namespace, workflowId } = input.source;
  return {
    schema: 'sluice.notification/v1',
    id,
    event: input.event,
    occurredAt: input.occurredAt,
    model: input.model,
    ...(input.version !== undefined ? { version: input.version } : {}),
    summary: input.summary,
    details: input.details,
    links: {
      workflow: input.source,
      ...(links.temporalUi ? { temporalUi: `${links.temporalUi.replace(/\/$/, '')}/namespaces/${encodeURIComponent(namespace)}/workflows/${encodeURIComponent(workflowId)}` } : {}),
      ...(links.api ? { timeline: `${links.api.replace(/\/$/, '')}/v1/models/${encodeURIComponent(input.model)}/timeline` } : {}),
    },
  };
}

/** A Slack incoming-webhook body: the summary as text, with the links as a context line. */
function slackBody(payload: NotificationPayload): unknown {
  const title = `*${payload.event}* · ${payload.model}${payload.version !== undefined ? ` v${payload.version}` : ''}`;
  const links = [payload.links.temporalUi && `<${payload.links.temporalUi}|Temporal UI>`, payload.links.timeline && `<${payload.links.timeline}|timeline>`].filter(Boolean);
  return {
    text: `${title}: ${payload.summary}`,
    blocks: [
      { type: 'section', text: { type: 'mrkdwn', text: `${title}\n${payload.summary}` } },
      ...(links.length > 0 ? [{ type: 'context', elements: [{ type: 'mrkdwn', text: links.join(' · ') }] }] : []),
    ],
  };
}

/** `sha256=<hex>`: HMAC-SHA256 of the exact body bytes, as GitHub's and Stripe's receivers check theirs. */
export const webhookSignature = (secret: string, body: string): string => `sha256=${createHmac('sha256', secret).update(body).digest('hex')}`;

export function webhookRequest(webhook: Webhook, payload: NotificationPayload): WebhookRequest {
  const body = JSON.stringify(webhook.format === 'slack' ? slackBody(payload) : payload);
  return {
    body,
    headers: {
      'content-type': 'application/json',
      'user-agent': 'sluice-webhooks/1',
      'x-sluice-event': payload.event,
      'x-sluice-delivery': payload.id,
      ...(webhook.secret ? { 'x-sluice-signature': webhookSignature(webhook.secret, body) } : {}),
    },
  };
}
