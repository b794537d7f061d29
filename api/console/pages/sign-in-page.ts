import { esc } from '../html.ts';
import { layout } from './layout.ts';

/** The sign-in form: an API key exchanged for a session cookie; `next` is where to go after. */
export function signInPage(next: string, problem?: string): string {
  return layout(
    'Sign in',
    undefined,
    `<h1>Sign in</h1>${problem ? `<p class="gaps">${esc(problem)}</p>` : ''}
<form method="post" action="/console/session"><input type="hidden" name="next" value="${esc(next)}">
<p><label>API key <input type="password" name="key" autocomplete="off" size="48" required></label></p>
<p class="note">Reading needs a key with the <code>predict</code> or <code>admin</code> scope; approving and rejecting need <code>admin</code>. The key opens a session of one hour held in an HttpOnly cookie; the key itself is not kept.</p>
<p><button type="submit">Sign in</button></p></form>`,
  );
}
