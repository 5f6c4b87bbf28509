/**
 * The gate of the account pages: a valid session cookie for an active user, and on every POST
 * the session's CSRF token plus the same-origin check.
 */
import type { Context, MiddlewareHandler } from 'hono';
import type { WebContext, WebEnv } from './context';
import { assertSameOrigin, FORM_EXPIRED, sessionTokenMatches } from './csrf';
import { WebError } from './errors';
import { readForm, textField, type FormBody } from './form';
import { clearSessionCookie, readSessionCookie } from './session';

export function requireAccount(ctx: WebContext): MiddlewareHandler<WebEnv> {
  return async (c, next) => {
    const token = readSessionCookie(c);
    const session = token ? await ctx.sessions.load(token) : null;
    const user = session ? await ctx.store.users.byId(session.userId) : null;
    if (!session || !user || user.state !== 'active') {
      if (session) await ctx.sessions.destroy(session);
      if (token) clearSessionCookie(c, ctx.secureCookie);
      if (c.req.method === 'GET') return c.redirect('/login', 303);
      throw new WebError(403, 'Your session has ended. Log in again.', 'Logged out');
    }
    c.set('user', user);
    c.set('session', session);
    await next();
  };
}

/** The posted form of a logged-in page, after the same-origin and session-token checks. */
export async function readAccountForm(ctx: WebContext, c: Context<WebEnv>): Promise<FormBody> {
  assertSameOrigin(c);
  const body = await readForm(c);
  if (!sessionTokenMatches(c.var.session.csrf, textField(body, 'csrf', 200))) {
    ctx.logger.info('web.form_refused', { form: 'account' });
    throw new WebError(403, FORM_EXPIRED, 'Form expired');
  }
  return body;
}
