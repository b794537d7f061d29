import { randomBytes } from 'node:crypto';
import { parseArgs } from 'node:util';
import { readWebhooksConfig } from '../../domain/notifications/webhooks-config.ts';
import { describeIssues } from '../../shared/parse-input.ts';
import { NOTIFICATION_EVENTS, type WebhooksConfig, webhookSchema, webhooksConfigSchema } from '../../shared/notifications.ts';
import { notificationKeys } from '../../shared/storage-keys.ts';
import { EXIT, type StoreEnv, UsageError, subcommands, withoutTemporal } from '../command.ts';

const WHERE = `The webhooks live in the reports bucket (${notificationKeys.webhooks}); workers read them at every delivery, so a change applies to the next notification.`;

const HELP = {
  'webhooks add': `Usage: sluice webhooks add --id NAME --url URL [--events LIST] [--models LIST] [--format sluice|slack] [--no-secret] [--attempts N] [--json]

Adds a webhook that is POSTed a JSON notification for each event it names, for every model or the
ones listed. Unless --no-secret, a signing secret is made and printed once: each body is signed with
it as X-Sluice-Signature: sha256=<hex HMAC-SHA256 of the body>. ${WHERE}
  --events LIST   comma-separated, or * for all (default *): ${NOTIFICATION_EVENTS.join(', ')}
  --models LIST   comma-separated model names (default: every model)
  --format F      sluice (default: the notification JSON) or slack (an incoming-webhook body)
  --attempts N    delivery attempts before the notification is dead-lettered (default 8, backing off from 2 s)
  --json          {"id", "secret"?}`,
  'webhooks list': `Usage: sluice webhooks list [--json]

Lists the webhooks: id, URL, events, models, format; never the secrets. ${WHERE}
  --json   [{id, url, events, models?, format, signed}]`,
  'webhooks remove': `Usage: sluice webhooks remove --id NAME

Removes a webhook; notifications not yet delivered to it are dropped, not dead-lettered.`,
  'webhooks links': `Usage: sluice webhooks links [--temporal-ui URL] [--api URL]

Sets the base URLs that links in notifications are built on, as the people reading them reach them
(e.g. https://temporal.example.com and https://sluice-api.example.com).`,
} as const;

const list = (text: string | undefined) => (text === undefined ? undefined : text.split(',').map((s) => s.trim()).filter(Boolean));

async function edit(env: StoreEnv, change: (config: WebhooksConfig) => WebhooksConfig): Promise<void> {
  const next = webhooksConfigSchema.safeParse(change(await readWebhooksConfig(env.store, env.config.buckets.reports)));
  if (!next.success) throw new UsageError(describeIssues(next.error, 'webhooks').join('\n'));
  await env.store.put(env.config.buckets.reports, notificationKeys.webhooks, JSON.stringify(next.data, null, 2), { contentType: 'application/json' });
}

async function webhooksAdd(env: StoreEnv, args: string[]): Promise<number> {
  const { values } = parseArgs({
    args,
    options: { id: { type: 'string' }, url: { type: 'string' }, events: { type: 'string' }, models: { type: 'string' }, format: { type: 'string' }, 'no-secret': { type: 'boolean' }, attempts: { type: 'string' }, json: { type: 'boolean' } },
  });
  if (values.id === undefined || values.url === undefined) throw new UsageError(HELP['webhooks add']);
  const secret = values['no-secret'] ? undefined : `whsec_${randomBytes(24).toString('base64url')}`;
  const models = list(values.models);
  const parsed = webhookSchema.safeParse({
    id: values.id,
    url: values.url,
    events: list(values.events ?? '*'),
    ...(models ? { models } : {}),
    ...(secret ? { secret } : {}),
    ...(values.format ? { format: values.format } : {}),
    ...(values.attempts ? { retry: { maximumAttempts: Number(values.attempts) } } : {}),
  });
  if (!parsed.success) throw new UsageError(describeIssues(parsed.error, 'webhook').join('\n'));
  const webhook = parsed.data;
  await edit(env, (config) => {
    if (config.webhooks.some((w) => w.id === webhook.id)) throw new UsageError(`a webhook "${webhook.id}" exists already: remove it first (sluice webhooks remove --id ${webhook.id}) or pick another id`);
    return { ...config, webhooks: [...config.webhooks, webhook] };
  });
  if (values.json) env.write(JSON.stringify({ id: webhook.id, ...(secret ? { secret } : {}) }));
  else {
    env.write(`added webhook ${webhook.id}: ${webhook.events.join(', ')} for ${webhook.models?.join(', ') ?? 'every model'} → ${webhook.url}`);
    if (secret) env.write(`signing secret, shown this once (check X-Sluice-Signature with it):\n${secret}`);
  }
  return EXIT.ok;
}

async function webhooksList(env: StoreEnv, args: string[]): Promise<number> {
  const { values } = parseArgs({ args, options: { json: { type: 'boolean' } } });
  const { webhooks, links } = await readWebhooksConfig(env.store, env.config.buckets.reports);
  const shown = webhooks.map(({ secret, retry, ...w }) => ({ ...w, attempts: retry.maximumAttempts, signed: secret !== undefined }));
  if (values.json) env.write(JSON.stringify(shown, null, 2));
  else {
    if (shown.length === 0) env.write('no webhooks (add one with: sluice webhooks add --id NAME --url URL)');
    for (const w of shown) env.write(`${w.id}  ${w.url}  events ${w.events.join(',')}  models ${w.models?.join(',') ?? '*'}  ${w.format}${w.signed ? '  signed' : ''}  ${w.attempts} attempts`);
    if (links.temporalUi || links.api) env.write(`links: Temporal UI ${links.temporalUi ?? '(none)'}, API ${links.api ?? '(none)'}`);
  }
  return EXIT.ok;
}

async function webhooksRemove(env: StoreEnv, args: string[]): Promise<number> {
  const { values } = parseArgs({ args, options: { id: { type: 'string' } } });
  const id = values.id;
  if (id === undefined) throw new UsageError(HELP['webhooks remove']);
  await edit(env, (config) => {
    const kept = config.webhooks.filter((w) => w.id !== id);
    if (kept.length === config.webhooks.length) throw new UsageError(`no webhook "${id}"; the webhooks are: ${config.webhooks.map((w) => w.id).join(', ') || '(none)'}`);
    return { ...config, webhooks: kept };
  });
  env.write(`removed webhook ${id}`);
  return EXIT.ok;
}

async function webhooksLinks(env: StoreEnv, args: string[]): Promise<number> {
  const { values } = parseArgs({ args, options: { 'temporal-ui': { type: 'string' }, api: { type: 'string' } } });
  if (values['temporal-ui'] === undefined && values.api === undefined) throw new UsageError(HELP['webhooks links']);
  await edit(env, (config) => ({ ...config, links: { ...config.links, ...(values['temporal-ui'] ? { temporalUi: values['temporal-ui'] } : {}), ...(values.api ? { api: values.api } : {}) } }));
  env.write('links updated');
  return EXIT.ok;
}

export const WEBHOOKS_COMMANDS = subcommands(HELP, {
  'webhooks add': withoutTemporal(webhooksAdd),
  'webhooks list': withoutTemporal(webhooksList),
  'webhooks remove': withoutTemporal(webhooksRemove),
  'webhooks links': withoutTemporal(webhooksLinks),
});
