import { z } from 'zod';
import { parseKeyScope } from './key-scopes.ts';

/**
 * The API keys file (`SLUICE_API_KEYS_FILE`). Only SHA-256 hashes of keys are stored, so the file can
 * be read by operators and shipped in config without exposing a key; `sluice keys create` makes a
 * key, adds its hash and prints the key once.
 */

/** A scope as the file holds it (`predict`, `admin:flights-*`); its grammar is shared/api/key-scopes.ts. */
export const keyScopeSchema = z.string().superRefine((text, ctx) => {
  const parsed = parseKeyScope(text);
  if ('problem' in parsed) ctx.addIssue({ code: 'custom', message: parsed.problem });
});

export const apiKeyEntrySchema = z.strictObject({
  /** Who holds the key: recorded as the approver and on every feedback label the key sends. */
  id: z.string().regex(/^[A-Za-z0-9._@+-]{1,128}$/, 'expected an id of 1-128 letters, digits or ._@+-'),
  sha256: z.string().regex(/^[0-9a-f]{64}$/, 'expected the lowercase hex SHA-256 of the key'),
  scopes: z.array(keyScopeSchema).min(1, 'expected at least one scope'),
  /** Overrides SLUICE_API_RATE_LIMIT_PER_SECOND / _BURST for this key. */
  rateLimit: z.strictObject({ perSecond: z.number().positive(), burst: z.number().int().positive() }).optional(),
});
export type ApiKeyEntry = z.infer<typeof apiKeyEntrySchema>;

export const apiKeysFileSchema = z
  .strictObject({ keys: z.array(apiKeyEntrySchema) })
  .superRefine((file, ctx) => {
    const ids = new Set<string>();
    const hashes = new Set<string>();
    file.keys.forEach((key, i) => {
      if (ids.has(key.id)) ctx.addIssue({ code: 'custom', path: ['keys', i, 'id'], message: `id "${key.id}" appears twice` });
      if (hashes.has(key.sha256)) ctx.addIssue({ code: 'custom', path: ['keys', i, 'sha256'], message: 'this key hash appears twice' });
      ids.add(key.id);
      hashes.add(key.sha256);
    });
  });
export type ApiKeysFile = z.infer<typeof apiKeysFileSchema>;
