import type { IncomingMessage } from 'node:http';

/**
 * Whether a state-changing request comes from the console's own pages (OWASP's "verify origin with
 * standard headers"): a browser names the page's origin in `Origin` on every POST, and in
 * `Sec-Fetch-Site`; either must say this server. A request with neither is not from a browser that
 * could be tricked into sending the session cookie, and the CSRF token still has to match.
 */
export function fromSameOrigin(req: IncomingMessage, secure: boolean): boolean {
  const host = req.headers.host;
  const origin = req.headers.origin;
  if (origin !== undefined) return host !== undefined && origin === `${secure ? 'https' : 'http'}://${host}`;
  const site = req.headers['sec-fetch-site'];
  return site === undefined || site === 'same-origin';
}
