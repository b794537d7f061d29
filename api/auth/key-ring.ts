import { hash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import type { IncomingMessage } from 'node:http';
import type { Config } from '../../shared/config.ts';
import { type ApiKeysFile, apiKeysFileSchema } from '../../shared/api/keys.ts';
import type { ApiScope } from '../../shared/api/key-scopes.ts';
import { ApiError } from '../errors.ts';
import { EVERY_MODEL, KeyGrants, type ModelReach, missingScope } from './key-grants.ts';
import { TokenBucket } from './token-bucket.ts';
import { SluiceError } from '../../shared/errors.ts';
import { describeIssues } from '../../shared/parse-input.ts';

export interface Principal {
  /** The key holder's id from the keys file. */
  id: string;
  grants: KeyGrants;
  bucket: TokenBucket;
}

export class KeysFileError extends SluiceError {
  override readonly name = 'KeysFileError';
  readonly kind = 'ConfigInvalid';
}

// The one-shot digest: a third of createHash's cost, and it runs for every request.
export const hashApiKey = (key: string) => hash('sha256', key, 'hex');

/** The key a request presents: `Authorization: Bearer <key>` or `X-API-Key: <key>`. */
function presentedKey(req: IncomingMessage): string | undefined {
  const auth = req.headers.authorization;
  if (auth !== undefined) {
    const match = /^Bearer\s+(\S+)\s*$/i.exec(auth);
    if (!match) throw new ApiError('Unauthenticated', 'Authorization header must be "Bearer <API key>"', { field: 'headers.authorization' });
    return match[1];
  }
  const header = req.headers['x-api-key'];
  return typeof header === 'string' && header.length > 0 ? header : undefined;
}

/**
 * The API keys the server accepts, by hash: a presented key is hashed and looked up, so the server
 * never holds a key in the clear beyond the request that carries it. Each key has its own token
 * bucket, which is how rate limits are per key.
 */
/** Reads and checks the keys file; every problem is a `KeysFileError` naming the file and what is wrong. */
export async function readKeysFile(path: string): Promise<ApiKeysFile> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    throw new KeysFileError(`Cannot read the API keys file ${path} (SLUICE_API_KEYS_FILE): ${(err as Error).message}`);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw new KeysFileError(`The API keys file ${path} is not JSON: ${(err as Error).message}`);
  }
  const parsed = apiKeysFileSchema.safeParse(json);
  if (!parsed.success) {
    throw new KeysFileError(`The API keys file ${path} is invalid: ${describeIssues(parsed.error, '(file)').join('; ')}`);
  }
  return parsed.data;
}

/**
 * The API keys the server accepts, by hash: a presented key is hashed and looked up, so the server
 * never holds a key in the clear beyond the request that carries it. Each key has its own token
 * bucket, which is how rate limits are per key. `replace` swaps in a new keys file at once (key
 * rotation without a restart); a key present before and after keeps its bucket, so a reload never
 * resets a rate limit.
 */
export class KeyRing {
  private byHash = new Map<string, Principal>();

  constructor(
    file: ApiKeysFile,
    private readonly defaults: Config['api']['rateLimit'],
    private readonly now?: () => number,
  ) {
    this.replace(file);
  }

  static async fromConfig(api: Config['api']): Promise<KeyRing> {
    return new KeyRing(api.keysFile === undefined ? { keys: [] } : await readKeysFile(api.keysFile), api.rateLimit);
  }

  replace(file: ApiKeysFile): void {
    const next = new Map<string, Principal>();
    for (const key of file.keys) {
      const limit = key.rateLimit ?? this.defaults;
      const kept = this.byHash.get(key.sha256)?.bucket;
      const bucket = kept?.hasLimit(limit.perSecond, limit.burst) ? kept : new TokenBucket(limit.perSecond, limit.burst, this.now);
      next.set(key.sha256, { id: key.id, grants: new KeyGrants(key.scopes), bucket });
    }
    this.byHash = next;
  }

  get size(): number {
    return this.byHash.size;
  }

  /**
   * The principal behind the request's key if it may use `scope` (one of them, given several) on
   * `reach` (a model, every model, or any one) and is within its rate limit; otherwise throws 401 (no
   * or unknown key), 403 (scope) or 429 (rate).
   */
  authorize(req: IncomingMessage, scope: ApiScope | readonly ApiScope[], reach: ModelReach): Principal {
    const key = presentedKey(req);
    if (key === undefined) {
      throw new ApiError('Unauthenticated', this.byHash.size === 0 ? 'no API keys are configured on this server (SLUICE_API_KEYS_FILE)' : 'missing API key: send "Authorization: Bearer <key>" or "X-API-Key: <key>"', {
        field: 'headers.authorization',
      });
    }
    return this.authorizeDigest(hashApiKey(key), typeof scope === 'string' ? [scope] : scope, reach);
  }

  /**
   * The principal of the key with this SHA-256 if it has one of `scopes` on `reach` and is within its rate limit.
   * A console session holds the digest of the key it was opened with, so every request of the session
   * is judged by the keys file as it is now: a removed key or a dropped scope ends the session's rights at once.
   */
  authorizeDigest(digest: string, scopes: readonly ApiScope[], reach: ModelReach, field = 'headers.authorization'): Principal {
    const principal = this.byHash.get(digest);
    if (principal === undefined) throw new ApiError('Unauthenticated', 'unknown API key', { field });
    const { grants } = principal;
    if (!grants.allows(scopes, reach)) {
      const why = reach === EVERY_MODEL && scopes.some((scope) => grants.limited(scope)) ? '; this request names no one model, so only a scope on every model reaches it' : '';
      throw new ApiError('Forbidden', `API key "${principal.id}" lacks the ${missingScope(scopes, reach)} (it has: ${grants.scopes.join(', ')})${why}`, { field });
    }
    const wait = principal.bucket.take();
    if (wait > 0) throw new ApiError('RateLimited', `API key "${principal.id}" is over its rate limit; retry after the Retry-After seconds`, { retryAfterSeconds: wait });
    return principal;
  }
}
