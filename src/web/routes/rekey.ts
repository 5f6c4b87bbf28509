/**
 * Replacing the key: the current password, then the new key is checked like at signup, and it
 * takes over only once a code encrypted to it comes back — so nobody can point a mailbox at a
 * key they do not hold, not even the owner by mistake.
 */
import { Hono } from 'hono';
import { checkPublicKey } from '../../pgp/key-check';
import { hashActivationCode, newActivationCode } from '../../auth/activation-code';
import { activationText } from '../activation';
import { encryptTextToKey } from '../../pgp/encryption';
import { readAccountForm } from '../account-guard';
import type { WebContext, WebEnv } from '../context';
import { keyUpload, textField } from '../form';
import { rekeyCodePage, rekeyPage } from '../views/account';

export function rekeyRoutes(ctx: WebContext): Hono<WebEnv> {
  const app = new Hono<WebEnv>();
  const minutes = Math.ceil(ctx.config.retention.pendingSeconds / 60);

  app.get('/account/key', async (c) => {
    const page = (await ctx.pending.hasRekey(c.var.user.id))
      ? rekeyCodePage({ user: c.var.user, csrf: c.var.session.csrf })
      : rekeyPage({ user: c.var.user, csrf: c.var.session.csrf });
    return c.html(page);
  });

  app.post('/account/key', async (c) => {
    const body = await readAccountForm(ctx, c);
    const user = c.var.user;
    const again = (problem: string, status: 401 | 422 = 422): Response =>
      c.html(rekeyPage({ user, csrf: c.var.session.csrf, problem }), status);

    const password = textField(body, 'password', 200);
    if (!(await ctx.passwords.check(user.id, password, user.passwordHash))) {
      return again('That is not your current password.', 401);
    }
    const upload = await keyUpload(body, 'keyfile', 'key');
    if (upload.kind === 'none') return again('Paste the new public key, or choose its file.');
    const checked = await checkPublicKey(upload.data, ctx.clock());
    if (!checked.ok) {
      ctx.logger.info('web.key_refused', { problem: checked.problem });
      return again(checked.message);
    }
    const key = checked.key;
    const code = newActivationCode();
    const message = await encryptTextToKey(
      key.armored,
      activationText({
        username: user.username,
        mailDomain: `${user.username}.${ctx.config.domain}`,
        code,
        validMinutes: minutes,
      }),
      ctx.clock(),
    );
    await ctx.pending.putRekey(user.id, {
      codeHash: hashActivationCode(code),
      fingerprint: key.fingerprint,
      armored: key.armored,
    });
    return c.html(rekeyCodePage({ user, csrf: c.var.session.csrf, key, message }));
  });

  app.post('/account/key/confirm', async (c) => {
    const body = await readAccountForm(ctx, c);
    const user = c.var.user;
    const check = await ctx.pending.checkRekey(user.id, textField(body, 'code', 64));
    if (!check.ok) {
      const problem =
        check.reason === 'wrong'
          ? 'That code is not right. Decrypt the message with the new key and copy the code.'
          : 'There is no key replacement waiting (it expired, or too many wrong codes). Start again.';
      const page =
        check.reason === 'wrong'
          ? rekeyCodePage({ user, csrf: c.var.session.csrf, problem })
          : rekeyPage({ user, csrf: c.var.session.csrf, problem });
      return c.html(page, 422);
    }
    await ctx.store.users.setKey(user.id, check.value.fingerprint, check.value.armored);
    await ctx.sessions.destroyAll(user.id, c.var.session);
    ctx.logger.info('web.key_replaced', { user: user.id });
    return c.redirect('/account?done=key-replaced', 303);
  });

  return app;
}
