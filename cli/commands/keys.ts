import { parseArgs } from 'node:util';
import { readKeysFile } from '../../api/auth/key-ring.ts';
import type { ApiKeyEntry } from '../../shared/api/keys.ts';
import { SCOPE_GRAMMAR, parseKeyScope } from '../../shared/api/key-scopes.ts';
import { EXIT, type StoreEnv, UsageError, subcommands, withoutTemporal } from '../command.ts';
import { editKeysFile, newApiKey } from '../keys-file-edit.ts';

const FILE_OPTION = `  --file PATH   the keys file (default: SLUICE_API_KEYS_FILE); the API reloads it by itself`;

const HELP = {
  'keys create': `Usage: sluice keys create --id NAME --scopes predict,feedback[:MODEL],admin[:PATTERN] [--rate PER_SECOND --burst N] [--file PATH] [--json]

Adds an API key to the keys file and prints the key once: it is stored nowhere, only its SHA-256 is.
Give it to the caller; a lost key is revoked and created again. Creates the file if it does not exist.
  --id NAME            who holds the key (recorded as approver and on feedback); unique in the file
  --scopes LIST        comma-separated; each is ${SCOPE_GRAMMAR}
  --rate, --burst      this key's own rate limit (default: SLUICE_API_RATE_LIMIT_*)
${FILE_OPTION}
  --json               {"id", "key", "scopes"}`,
  'keys list': `Usage: sluice keys list [--file PATH] [--json]

Lists the keys in the keys file: id, scopes, rate limit and the start of the key's hash.
${FILE_OPTION}
  --json        [{id, scopes, sha256, rateLimit?}]`,
  'keys revoke': `Usage: sluice keys revoke --id NAME [--file PATH]

Removes the key of NAME from the keys file; the API refuses it from its next reload (a second or two).
${FILE_OPTION}`,
} as const;

function keysFilePath(env: StoreEnv, file: string | undefined, help: string): string {
  const path = file ?? env.config.api.keysFile;
  if (path === undefined) throw new UsageError(`no keys file: pass --file PATH or set SLUICE_API_KEYS_FILE\n\n${help}`);
  return path;
}

function scopesOf(list: string): ApiKeyEntry['scopes'] {
  return list.split(',').map((raw) => {
    const text = raw.trim();
    const parsed = parseKeyScope(text);
    if ('problem' in parsed) throw new UsageError(`--scopes: ${parsed.problem}`);
    return text;
  });
}

function rateLimitOf(rate: string | undefined, burst: string | undefined): ApiKeyEntry['rateLimit'] {
  if (rate === undefined && burst === undefined) return undefined;
  const perSecond = Number(rate);
  const size = Number(burst);
  if (!(perSecond > 0) || !Number.isInteger(size) || size < 1) throw new UsageError(`--rate must be a positive number and --burst a positive whole number, both given; got --rate ${rate ?? '(none)'} --burst ${burst ?? '(none)'}`);
  return { perSecond, burst: size };
}

async function keysCreate(env: StoreEnv, args: string[]): Promise<number> {
  const { values } = parseArgs({ args, options: { id: { type: 'string' }, scopes: { type: 'string' }, rate: { type: 'string' }, burst: { type: 'string' }, file: { type: 'string' }, json: { type: 'boolean' } } });
  if (values.id === undefined || values.scopes === undefined) throw new UsageError(HELP['keys create']);
  const path = keysFilePath(env, values.file, HELP['keys create']);
  const id = values.id;
  const scopes = scopesOf(values.scopes);
  const rateLimit = rateLimitOf(values.rate, values.burst);
  const { key, sha256 } = newApiKey();
  await editKeysFile(
    path,
    (file) => {
      if (file.keys.some((k) => k.id === id)) throw new UsageError(`${path} already has a key for "${id}": revoke it first (sluice keys revoke --id ${id}) or pick another id`);
      return { file: { keys: [...file.keys, { id, sha256, scopes, ...(rateLimit && { rateLimit }) }] }, result: undefined };
    },
    { createIfMissing: true },
  );
  if (values.json) env.write(JSON.stringify({ id, key, scopes }));
  else {
    env.write(`key for ${id} (${scopes.join(', ')}), shown this once; it is stored nowhere:`);
    env.write(key);
    env.write(`added to ${path}`);
  }
  return EXIT.ok;
}

async function keysList(env: StoreEnv, args: string[]): Promise<number> {
  const { values } = parseArgs({ args, options: { file: { type: 'string' }, json: { type: 'boolean' } } });
  const path = keysFilePath(env, values.file, HELP['keys list']);
  const { keys } = await readKeysFile(path);
  if (values.json) {
    env.write(JSON.stringify(keys, null, 2));
    return EXIT.ok;
  }
  if (keys.length === 0) env.write(`no keys in ${path}`);
  for (const k of keys) {
    const limit = k.rateLimit ? `  ${k.rateLimit.perSecond}/s burst ${k.rateLimit.burst}` : '';
    env.write(`${k.id}  ${k.scopes.join(',')}${limit}  sha256 ${k.sha256.slice(0, 12)}…`);
  }
  return EXIT.ok;
}

async function keysRevoke(env: StoreEnv, args: string[]): Promise<number> {
  const { values } = parseArgs({ args, options: { id: { type: 'string' }, file: { type: 'string' } } });
  if (values.id === undefined) throw new UsageError(HELP['keys revoke']);
  const path = keysFilePath(env, values.file, HELP['keys revoke']);
  const id = values.id;
  await editKeysFile(
    path,
    (file) => {
      const kept = file.keys.filter((k) => k.id !== id);
      if (kept.length === file.keys.length) throw new UsageError(`${path} has no key for "${id}"; its ids are: ${file.keys.map((k) => k.id).join(', ') || '(none)'}`);
      return { file: { keys: kept }, result: undefined };
    },
    { createIfMissing: false },
  );
  env.write(`revoked the key of ${id} in ${path}`);
  return EXIT.ok;
}

export const KEYS_COMMANDS = subcommands(HELP, {
  'keys create': withoutTemporal(keysCreate),
  'keys list': withoutTemporal(keysList),
  'keys revoke': withoutTemporal(keysRevoke),
});
