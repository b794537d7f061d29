import { z } from 'zod';
import { durationSchema } from './duration.ts';

/**
 * What sluice tells people about, by webhook. The names are part of the payload's stable schema:
 * add, never rename.
 */
export const NOTIFICATION_EVENTS = [
  'approval.requested',
  'approval.decided',
  'approval.escalated',
  'gate.failed',
  'rollout.step',
  'rollout.promoted',
  'rollout.rolled-back',
  'drift.alert',
  'retraining.started',
  'features.refresh-failed',
] as const;
export const notificationEventSchema = z.enum(NOTIFICATION_EVENTS, { error: `expected one of ${NOTIFICATION_EVENTS.join(', ')}` });
export type NotificationEvent = z.output<typeof notificationEventSchema>;

export const webhookSchema = z.strictObject({
  id: z.string().regex(/^[A-Za-z0-9._-]{1,64}$/, 'expected 1-64 of A-Za-z0-9._-'),
  url: z.url({ protocol: /^https?$/, error: 'expected an http(s) URL' }),
  /** `*` is every event, including ones added later. */
  events: z.array(z.union([notificationEventSchema, z.literal('*')], { error: `expected * or one of ${NOTIFICATION_EVENTS.join(', ')}` })).min(1),
  /** The models it is about; absent, every model (a global webhook). */
  models: z.array(z.string().min(1)).min(1).optional(),
  /** Signs each body: `X-Sluice-Signature: sha256=<hex HMAC-SHA256 of the body>`. */
  secret: z.string().min(16, 'expected at least 16 characters').optional(),
  /** `slack`: a Slack incoming-webhook body (`text`, `blocks`) instead of sluice's JSON. */
  format: z.enum(['sluice', 'slack']).default('sluice'),
  /** Attempts before the notification is dead-lettered, and the wait before the first retry (doubling after). */
  retry: z.strictObject({ maximumAttempts: z.number().int().min(1).max(50).default(8), initialInterval: durationSchema.default('2 seconds') }).prefault({}),
});
export type Webhook = z.output<typeof webhookSchema>;

export const webhooksConfigSchema = z
  .strictObject({
    /** Base URLs that links in payloads are built on, as people reach them (not as workers do). */
    links: z.strictObject({ temporalUi: z.url().optional(), api: z.url().optional() }).prefault({}),
    webhooks: z.array(webhookSchema),
  })
  .superRefine((config, ctx) => {
    const seen = new Set<string>();
    config.webhooks.forEach((w, i) => {
      if (seen.has(w.id)) ctx.addIssue({ code: 'custom', path: ['webhooks', i, 'id'], message: `duplicate webhook id ${JSON.stringify(w.id)}` });
      seen.add(w.id);
    });
  });
export type WebhooksConfig = z.output<typeof webhooksConfigSchema>;

/** What a workflow raises: the event, the model it is about, a one-line summary and the figures behind it. */
export const notificationInputSchema = z.strictObject({
  event: notificationEventSchema,
  model: z.string(),
  version: z.number().int().positive().optional(),
  summary: z.string(),
  details: z.record(z.string(), z.unknown()),
  occurredAt: z.iso.datetime(),
  source: z.strictObject({ namespace: z.string(), workflowId: z.string(), runId: z.string() }),
});
export type NotificationInput = z.output<typeof notificationInputSchema>;

/** The body a `sluice`-format webhook receives. `schema` changes only if a field changes meaning. */
export interface NotificationPayload {
  schema: 'sluice.notification/v1';
  /** The same on every retry: receivers deduplicate by it. */
  id: string;
  event: NotificationEvent;
  occurredAt: string;
  model: string;
  version?: number;
  summary: string;
  details: Record<string, unknown>;
  links: { workflow: NotificationInput['source']; temporalUi?: string; timeline?: string };
}

export const notificationMatches = (webhook: Webhook, event: NotificationEvent, model: string): boolean =>
  (webhook.events.includes('*') || webhook.events.includes(event)) && (webhook.models === undefined || webhook.models.includes(model));
