/** Log in (the only place a cookie is set) and log out. */
import { Hono } from 'hono';
import type { WebContext, WebEnv } from '../context';
import { assertSameOrigin, FORM_EXPIRED, sessionTokenMatches } from '../csrf';
import { WebError } from '../errors';
import { readForm, textField } from '../form';
import { clearSessionCookie, readSessionCookie, writeSessionCookie } from '../session';
import { loginPage } from '../views/account';

const WRONG = 'Wrong username or password.';

export function loginRoutes(ctx: WebContext): Hono<WebEnv> {
  const app = new Hono<WebEnv>();
  const form = (problem?: string): string => loginPage({ csrf: ctx.forms.issue('login'), problem });

  app.get('/login', async (c) => {
    const token = readSessionCookie(c);
    if (token && (await ctx.sessions.load(token))) return c.redirect('/account', 303);
    return c.html(form());
  });

  app.post('/login', async (c) => {
    assertSameOrigin(c);
    const body = await readForm(c);
    if (!ctx.forms.valid('login', textField(body, 'csrf', 200))) {
      ctx.logger.info('web.form_refused', { form: 'login' });
      throw new WebError(403, FORM_EXPIRED, 'Form expired');
    }
    const username = textField(body, 'username', 63).toLowerCase();
    const password = textField(body, 'password', 200);
    if (!username || !password) return c.html(form('Enter your username and password.'), 422);
    // The same gate as IMAP and POP3: no lock-out, a wrong answer held (src/auth/password-gate).
    const user = await ctx.store.users.byName(username);
    const good = await ctx.passwords.check(user?.id ?? '', password, user?.passwordHash ?? null);
    if (!user || !good) {
      ctx.metrics.loginFailed('web');
      ctx.logger.info('web.login_failed', {});
      return c.html(form(WRONG), 401);
    }
    if (user.state === 'disabled') {
      return c.html(form('This account has been disabled by the server operator.'), 403);
    }
    if (user.state !== 'active') {
      return c.html(
        form('This account is not active yet: enter its activation code on the Activate page.'),
        403,
      );
    }
    const { token } = await ctx.sessions.create(user.id);
    writeSessionCookie(c, token, ctx.secureCookie);
    ctx.logger.info('web.login', { user: user.id });
    return c.redirect('/account', 303);
  });

  app.post('/logout', async (c) => {
    assertSameOrigin(c);
    const token = readSessionCookie(c);
    const session = token ? await ctx.sessions.load(token) : null;
    if (session) {
      const body = await readForm(c);
      if (!sessionTokenMatches(session.csrf, textField(body, 'csrf', 200))) {
        throw new WebError(403, FORM_EXPIRED, 'Form expired');
      }
      await ctx.sessions.destroy(session);
      ctx.logger.info('web.logout', { user: session.userId });
    }
    if (token) clearSessionCookie(c, ctx.secureCookie);
    return c.redirect('/', 303);
  });

  return app;
}
