/**
 * Signup: key upload and check → key review and proof of work → pending account with the
 * activation message → activation code → active account. No cookie anywhere on the way: each
 * form carries a signed token, the next step carries what it needs in the form itself.
 */
import { Hono, type Context } from 'hono';
import { generatePassword, hashPassword } from '../../auth/password';
import { checkPublicKey, MAX_KEY_BYTES, type KeyInfo } from '../../pgp/key-check';
import { hashActivationCode, newActivationCode } from '../../auth/activation-code';
import { activationText } from '../activation';
import { encryptTextToKey } from '../../pgp/encryption';
import type { WebContext, WebEnv } from '../context';
import { assertSameOrigin, FORM_EXPIRED, type FormPurpose } from '../csrf';
import { WebError } from '../errors';
import { keyUpload, readForm, textField, type FormBody } from '../form';
import { POW_MESSAGES, type Challenge } from '../pow';
import { mailServers } from '../views/client-settings';
import { activatedPage, activatePage, pendingPage, reviewPage, signupPage } from '../views/signup';

const NO_KEY = 'Paste your public key into the box, or choose the exported key file.';

export function signupRoutes(ctx: WebContext): Hono<WebEnv> {
  const app = new Hono<WebEnv>();
  const pendingMinutes = Math.ceil(ctx.config.retention.pendingSeconds / 60);

  const formPage = async (problem?: string): Promise<string> =>
    signupPage({
      csrf: ctx.forms.issue('signup'),
      problem,
      open: await ctx.signups.open(),
      minutesToOpen: ctx.signups.minutesToNextWindow(),
    });

  const review = (key: KeyInfo, challenge: Challenge, problem?: string): string =>
    reviewPage({ key, csrf: ctx.forms.issue('create'), challenge, problem });

  const readChecked = async (c: Context, purpose: FormPurpose): Promise<FormBody> => {
    assertSameOrigin(c);
    const body = await readForm(c);
    if (!ctx.forms.valid(purpose, textField(body, 'csrf', 200))) {
      ctx.logger.info('web.form_refused', { form: purpose });
      throw new WebError(403, FORM_EXPIRED, 'Form expired');
    }
    return body;
  };

  app.get('/signup', async (c) => c.html(await formPage()));
  // Reloading or going back to a step that was a form post starts over.
  app.get('/signup/key', (c) => c.redirect('/signup', 303));
  app.get('/signup/create', (c) => c.redirect('/signup', 303));

  app.post('/signup/key', async (c) => {
    const body = await readChecked(c, 'signup');
    const upload = await keyUpload(body, 'keyfile', 'key');
    if (upload.kind === 'none') return c.html(await formPage(NO_KEY), 422);
    const result = await checkPublicKey(upload.data, ctx.clock());
    if (!result.ok) {
      // The problem's name only: never the upload, which may be a private key.
      ctx.logger.info('web.key_refused', { problem: result.problem });
      return c.html(await formPage(result.message), 422);
    }
    return c.html(review(result.key, ctx.pow.issue()));
  });

  app.post('/signup/create', async (c) => {
    const body = await readChecked(c, 'create');
    const checked = await checkPublicKey(textField(body, 'key', 2 * MAX_KEY_BYTES), ctx.clock());
    if (!checked.ok) {
      ctx.logger.info('web.key_refused', { problem: checked.problem });
      return c.html(await formPage(checked.message), 422);
    }
    const key = checked.key;
    const challenge = textField(body, 'challenge', 200);
    const solution = textField(body, 'pow', 200);
    if (solution === '') {
      return c.html(
        review(
          key,
          ctx.pow.reissue(challenge),
          'Solve the proof of work first, then create the account.',
        ),
        422,
      );
    }
    const pow = await ctx.pow.redeem(challenge, solution);
    if (!pow.ok) {
      ctx.logger.info('web.pow_refused', { reason: pow.reason });
      ctx.metrics.powFailed(
        pow.reason === 'too-easy'
          ? 'too_easy'
          : pow.reason === 'wrong-solution'
            ? 'wrong_solution'
            : pow.reason,
      );
      // A typo keeps its puzzle; anything else (used, expired, forged) needs a new one.
      const next = pow.reason === 'wrong-solution' ? ctx.pow.reissue(challenge) : ctx.pow.issue();
      return c.html(review(key, next, POW_MESSAGES[pow.reason]), 422);
    }
    if (!(await ctx.signups.take())) {
      ctx.logger.warn('web.signup_limited', {});
      throw new WebError(
        429,
        `This server has taken all the signups it accepts this hour. Try again in about ${ctx.signups.minutesToNextWindow()} minutes.`,
        'Signups paused',
      );
    }

    const password = generatePassword();
    const user = await ctx.store.users.create({
      fingerprint: key.fingerprint,
      publicKey: key.armored,
      passwordHash: await hashPassword(password),
      state: 'pending',
    });
    const code = newActivationCode();
    let message: string;
    try {
      await ctx.pending.putActivation(user.id, hashActivationCode(code));
      const text = activationText({
        username: user.username,
        mailDomain: `${user.username}.${ctx.config.domain}`,
        code,
        password,
        validMinutes: pendingMinutes,
      });
      message = await encryptTextToKey(key.armored, text, ctx.clock());
    } catch (error) {
      await ctx.store.deleteUser(user.id);
      throw error;
    }
    ctx.logger.info('web.signup', { user: user.id, algorithm: key.algorithm });
    ctx.metrics.signupCreated();
    return c.html(
      pendingPage({
        username: user.username,
        message,
        csrf: ctx.forms.issue('activate'),
        minutes: pendingMinutes,
      }),
    );
  });

  app.get('/activate', (c) => c.html(activatePage({ csrf: ctx.forms.issue('activate') })));

  app.post('/activate', async (c) => {
    const body = await readChecked(c, 'activate');
    const username = textField(body, 'username', 63).toLowerCase();
    const code = textField(body, 'code', 64);
    const again = (problem: string): Response =>
      c.html(activatePage({ csrf: ctx.forms.issue('activate'), username, problem }), 422);

    const user = username ? await ctx.store.users.byName(username) : null;
    if (!user || user.state !== 'pending') {
      return again(
        `No account is waiting for activation under this name. Pending accounts are deleted after ${pendingMinutes} minutes; if yours was, sign up again.`,
      );
    }
    const check = await ctx.pending.checkActivation(user.id, code);
    if (!check.ok) {
      if (check.reason === 'wrong') {
        return again(
          'That activation code is not right. Copy it from the decrypted message (dashes and case do not matter).',
        );
      }
      if (check.reason === 'too-many') await ctx.store.deleteUser(user.id);
      return again(
        check.reason === 'too-many'
          ? 'Too many wrong codes: this signup has been cancelled. Sign up again.'
          : `This account's activation has expired. Sign up again.`,
      );
    }
    if (!(await ctx.store.users.activate(user.id))) {
      return again('This account can no longer be activated. Sign up again.');
    }
    ctx.logger.info('web.activated', { user: user.id });
    const sameKey = await ctx.store.users.countWithFingerprint(user.fingerprint);
    return c.html(
      activatedPage({
        username: user.username,
        mailDomain: `${user.username}.${ctx.config.domain}`,
        servers: mailServers(ctx.config, c.req.header('host') ?? ''),
        sharedKey: sameKey - 1,
      }),
    );
  });

  return app;
}
