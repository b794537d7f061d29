import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import type { IncomingMessage } from 'node:http';
import type { Config } from '../../shared/config.ts';
import { type ApiKeysFile, type ApiScope, apiKeysFileSchema } from '../../shared/api/keys.ts';
import { ApiError } from '../errors.ts';
import { TokenBucket } from './token-bucket.ts';

export interface Principal {
  /** The key holder's id from the keys file. */
  id: string;
  scopes: ReadonlySet<ApiScope>;
  bucket: TokenBucket;
}

export class KeysFileError extends Error {
  override readonly name = 'KeysFileError';
}

export const hashApiKey = (key: string) => createHash('sha256').update(key, 'utf8').digest('hex');

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
export class KeyRing {
  private readonly byHash = new Map<string, Principal>();

  constructor(
    file: ApiKeysFile,
    defaults: Config['api']['rateLimit'],
    now?: () => number,
  ) {
    for (const key of file.keys) {
      const limit = key.rateLimit ?? defaults;
      this.byHash.set(key.sha256, { id: key.id, scopes: new Set(key.scopes), bucket: new TokenBucket(limit.perSecond, limit.burst, now) });
    }
  }

  static async fromConfig(api: Config['api']): Promise<KeyRing> {
    if (api.keysFile === undefined) return new KeyRing({ keys: [] }, api.rateLimit);
    let text: string;
    try {
      text = await readFile(api.keysFile, 'utf8');
    } catch (err) {
      throw new KeysFileError(`Cannot read the API keys file ${api.keysFile} (SLUICE_API_KEYS_FILE): ${(err as Error).message}`);
    }
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch (err) {
      throw new KeysFileError(`The API keys file ${api.keysFile} is not JSON: ${(err as Error).message}`);
    }
    const parsed = apiKeysFileSchema.safeParse(json);
    if (!parsed.success) {
      throw new KeysFileError(`The API keys file ${api.keysFile} is invalid: ${parsed.error.issues.map((i) => `${i.path.join('.') || '(file)'}: ${i.message}`).join('; ')}`);
    }
    return new KeyRing(parsed.data, api.rateLimit);
  }

  get size(): number {
    return this.byHash.size;
  }

  /**
   * The principal behind the request's key if it may use `scope` and is within its rate limit;
   * otherwise throws 401 (no or unknown key), 403 (scope) or 429 (rate).
   */
  authorize(req: IncomingMessage, scope: ApiScope): Principal {
    const key = presentedKey(req);
    if (key === undefined) {
      throw new ApiError('Unauthenticated', this.byHash.size === 0 ? 'no API keys are configured on this server (SLUICE_API_KEYS_FILE)' : 'missing API key: send "Authorization: Bearer <key>" or "X-API-Key: <key>"', {
        field: 'headers.authorization',
      });
    }
    const principal = this.byHash.get(hashApiKey(key));
    if (principal === undefined) throw new ApiError('Unauthenticated', 'unknown API key', { field: 'headers.authorization' });
    if (!principal.scopes.has(scope)) {
      throw new ApiError('Forbidden', `API key "${principal.id}" lacks the "${scope}" scope (it has: ${[...principal.scopes].join(', ')})`, { field: 'headers.authorization' });
    }
    const wait = principal.bucket.take();
    if (wait > 0) throw new ApiError('RateLimited', `API key "${principal.id}" is over its rate limit; retry after the Retry-After seconds`, { retryAfterSeconds: wait });
    return principal;
  }
}
