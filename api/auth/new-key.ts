import { randomBytes } from 'node:crypto';
import { parseArgs } from 'node:util';
import { type ApiKeyEntry, apiKeyEntrySchema } from '../../shared/api/keys.ts';
import { hashApiKey } from './key-ring.ts';
import { describeIssues } from '../../shared/parse-input.ts';

/**
 * Makes an API key: prints the key (shown once; give it to the caller) and the entry to add to the
 * keys file, which holds only its hash.
 *   npx tsx api/auth/new-key.ts --id ana@example.com --scopes predict,feedback
 */
const USAGE = `Usage: npx tsx api/auth/new-key.ts --id NAME --scopes predict,feedback,admin

Prints a new API key once (give it to the caller; it is stored nowhere) and the entry to add to the
keys file (SLUICE_API_KEYS_FILE), which holds only its SHA-256; the API reloads the file by itself.`;

let values: { id?: string | undefined; scopes?: string | undefined; help?: boolean | undefined };
try {
  ({ values } = parseArgs({ options: { id: { type: 'string' }, scopes: { type: 'string' }, help: { type: 'boolean', short: 'h' } } }));
} catch (err) {
  console.error(`${(err as Error).message}\n\n${USAGE}`);
  process.exit(1);
}
if (values.help) {
  console.log(USAGE);
  process.exit(0);
}
if (!values.id || !values.scopes) {
  console.error(USAGE);
  process.exit(1);
}
const key = `sk_${randomBytes(24).toString('base64url')}`;
const parsed = apiKeyEntrySchema.safeParse({ id: values.id, sha256: hashApiKey(key), scopes: values.scopes.split(',').map((s) => s.trim()) });
if (!parsed.success) {
  console.error(describeIssues(parsed.error, '').join('\n'));
  process.exit(1);
}
const entry: ApiKeyEntry = parsed.data;
console.log(`key (give this to the caller; it is not stored anywhere): ${key}`);
console.log(`entry for the keys file: ${JSON.stringify(entry)}`);
