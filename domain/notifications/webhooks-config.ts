import { type WebhooksConfig, webhooksConfigSchema } from '../../shared/notifications.ts';
import { parseInput } from '../../shared/parse-input.ts';
import { notificationKeys } from '../../shared/storage-keys.ts';
import type { ArtifactStore } from '../object-store/artifact-store.ts';

/** Reads the webhooks config; absent means none. Read at every call, so `sluice webhooks` changes apply to the next delivery. */
export async function readWebhooksConfig(store: ArtifactStore, reports: string): Promise<WebhooksConfig> {
  if (!(await store.stat(reports, notificationKeys.webhooks))) return { links: {}, webhooks: [] };
  const raw = JSON.parse((await store.get(reports, notificationKeys.webhooks)).toString()) as unknown;
  return parseInput(webhooksConfigSchema, raw, () => `Invalid webhooks config (${reports}/${notificationKeys.webhooks})`);
}
