import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';

/**
 * Browser sessions of the console. Signing in exchanges an API key for a cookie holding a token the
 * server signed (HMAC-SHA256): the key's SHA-256 (never the key), the holder's id, an expiry and a
 * random nonce. The server keeps no session table, so any request is judged by the token and the keys
 * file as it is now (`KeyRing.authorizeDigest`). The signing secret is SLUICE_CONSOLE_SESSION_SECRET,
 * shared by every replica; without it one is drawn at start-up, and a restart signs everyone out.
 *
 * The CSRF token of a session is an HMAC of its nonce under the same secret (a synchronizer token no
 * table has to hold): approve and reject forms carry it, and a cross-site page cannot read it.
 */

export const SESSION_COOKIE = 'sluice_console';
/** Short-lived by design: a working session, after which the key is presented again. */
export const SESSION_TTL_MS = 60 * 60 * 1000;

export interface ConsoleSession {
  /** SHA-256 of the API key the session was opened with. */
  keyDigest: string;
  keyId: string;
  expiresAt: number;
  csrfToken: string;
}

interface TokenBody {
  k: string;
  i: string;
  e: number;
  n: string;
}

const b64 = (bytes: Buffer) => bytes.toString('base64url');

export class ConsoleSessions {
  private readonly secret: Buffer;

  constructor(
    private readonly now: () => number = Date.now,
    secret: Buffer = randomBytes(32),
  ) {
    this.secret = secret;
  }

  private mac(text: string): Buffer {
    return createHmac('sha256', this.secret).update(text).digest();
  }

  /** A new session's cookie value and what it stands for. */
  open(keyDigest: string, keyId: string): { token: string; session: ConsoleSession } {
    const body: TokenBody = { k: keyDigest, i: keyId, e: this.now() + SESSION_TTL_MS, n: b64(randomBytes(16)) };
    const payload = b64(Buffer.from(JSON.stringify(body)));
    return { token: `${payload}.${b64(this.mac(payload))}`, session: this.sessionOf(body) };
  }

  /** The session a cookie value stands for; undefined when it is forged, altered or expired. */
  read(token: string): ConsoleSession | undefined {
    const [payload, signature, ...rest] = token.split('.');
    if (payload === undefined || signature === undefined || rest.length > 0) return undefined;
    const expected = this.mac(payload);
    const given = Buffer.from(signature, 'base64url');
    if (given.length !== expected.length || !timingSafeEqual(given, expected)) return undefined;
    let body: TokenBody;
    try {
      body = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as TokenBody;
    } catch {
      return undefined;
    }
    if (typeof body.k !== 'string' || typeof body.i !== 'string' || typeof body.e !== 'number' || typeof body.n !== 'string' || body.e <= this.now()) return undefined;
    return this.sessionOf(body);
  }

  /** Whether `presented` is the session's CSRF token, compared in constant time. */
  csrfMatches(session: ConsoleSession, presented: unknown): boolean {
    if (typeof presented !== 'string') return false;
    const a = Buffer.from(presented);
    const b = Buffer.from(session.csrfToken);
    return a.length === b.length && timingSafeEqual(a, b);
  }

  private sessionOf(body: TokenBody): ConsoleSession {
    return { keyDigest: body.k, keyId: body.i, expiresAt: body.e, csrfToken: b64(this.mac(`csrf:${body.n}`)) };
  }
}

/** The value of the session cookie the request carries, if any. */
export function sessionCookie(req: IncomingMessage): string | undefined {
  for (const part of (req.headers.cookie ?? '').split(';')) {
    const [name, ...value] = part.trim().split('=');
    if (name === SESSION_COOKIE) return value.join('=');
  }
  return undefined;
}

/**
 * The Set-Cookie value for a session: HttpOnly (no script reads it), SameSite=Strict (no cross-site
 * request carries it), Path=/ (the console's pages and its JSON routes under /v1/console), Secure when
 * the request came over TLS. `token` empty and `maxAgeSeconds` 0 clear it.
 */
export function sessionCookieHeader(token: string, maxAgeSeconds: number, secure: boolean): string {
  return `${SESSION_COOKIE}=${token}; HttpOnly; SameSite=Strict; Path=/; Max-Age=${maxAgeSeconds}${secure ? '; Secure' : ''}`;
}
