import { randomBytes } from 'node:crypto';
import { open, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { hashApiKey, readKeysFile } from '../api/auth/key-ring.ts';
import { type ApiKeysFile, apiKeysFileSchema } from '../shared/api/keys.ts';
import { describeIssues } from '../shared/parse-input.ts';
import { UsageError } from './command.ts';

/**
 * Edits of the API keys file, each one whole or not at all: a lock file (created exclusively) keeps two
 * edits from interleaving, and the new content is written beside the file and renamed over it, so the
 * API's reload (which watches the file) never reads half a file. The result is checked against the
 * same schema the API reads it with before anything is written.
 */

async function exists(path: string): Promise<boolean> {
  return readFile(path).then(
    () => true,
    (err: NodeJS.ErrnoException) => {
      if (err.code === 'ENOENT') return false;
      throw err;
    },
  );
}

export async function editKeysFile<T>(path: string, change: (file: ApiKeysFile) => { file: ApiKeysFile; result: T }, options: { createIfMissing: boolean }): Promise<T> {
  const lock = `${path}.lock`;
  const held = await open(lock, 'wx').catch((err: NodeJS.ErrnoException) => {
    if (err.code === 'EEXIST') throw new UsageError(`${lock} exists: another edit of the keys file is under way (or one crashed: remove the lock file if no sluice keys command is running)`);
    throw err;
  });
  try {
    const current: ApiKeysFile = options.createIfMissing && !(await exists(path)) ? { keys: [] } : await readKeysFile(path);
    const { file, result } = change(current);
    const checked = apiKeysFileSchema.safeParse(file);
    if (!checked.success) throw new UsageError(describeIssues(checked.error, '(keys file)').join('; '));
    const staged = `${path}.${process.pid}.tmp`;
    await writeFile(staged, `${JSON.stringify(checked.data, null, 2)}\n`, { mode: 0o600 });
    await rename(staged, path);
    return result;
  } finally {
    await held.close();
    await rm(lock, { force: true });
  }
}

/** A new key in the clear (shown once) and its hash, the only form stored. */
export function newApiKey(): { key: string; sha256: string } {
  const key = `sk_${randomBytes(24).toString('base64url')}`;
  return { key, sha256: hashApiKey(key) };
}
