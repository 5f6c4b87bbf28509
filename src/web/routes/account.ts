/**
 * Self-service for a logged-in user: catch-all, allowed and disabled addresses, a new password,
 * client settings, deleting the account. (Replacing the key is in rekey.ts.) app.ts puts
 * requireAccount in front of every /account route, so `c.var.user` is always set here.
 */
import { Hono, type Context } from 'hono';
import { parseRecipient } from '../../addresses/recipient';
import { generatePassword, hashPassword } from '../../auth/password';
import { passwordText } from '../activation';
import { encryptTextToKey } from '../../pgp/encryption';
import { readAccountForm } from '../account-guard';
import type { WebContext, WebEnv } from '../context';
import { textField } from '../form';
import { clearSessionCookie } from '../session';
import {
  accountPage,
  deletedPage,
  deletePage,
  encryptedNotePage,
  settingsPage,
} from '../views/account';
import { mailServers } from '../views/client-settings';
import { forwardCard } from '../views/forward';
import { publishedAddresses } from '../wkd-published';

/** Outcomes shown after a redirect, by fixed key: nothing from the request is reflected. */
const NOTICES: Record<string, string> = {
  'catch-all-on': 'The catch-all is on.',
  'catch-all-off': 'The catch-all is off: only allowed addresses receive mail.',
  disabled: 'The address is disabled: mail to it is refused from now on.',
  allowed: 'The address is allowed.',
  forgotten: 'The address is back under the catch-all rule.',
  'key-replaced': 'The new key is in use: mail is encrypted to it from now on.',
  'send-on': 'Sending is on: messages signed with your key are sent.',
  'send-off': 'Sending is off: nothing is sent from your addresses.',
  'sign-on': 'Your signature stays on the messages you send.',
  'sign-off': 'Messages you send leave without your signature.',
  'payload-protected': 'New mail comes with protected headers, sender checks and size padding.',
  'payload-exact':
    'New mail comes as the exact message, after the delivery lines; it is not padded.',
};

/** RFC 5321 §4.1.2 Dot-string, RFC 5321 §4.5.3.1.1: at most 64 octets. */
const DOT_STRING = /^[a-z0-9!#$%&'*+/=?^_`{|}~-]+(\.[a-z0-9!#$%&'*+/=?^_`{|}~-]+)*$/;

export type AddressAction = 'disable' | 'allow' | 'forget';

export function accountRoutes(ctx: WebContext): Hono<WebEnv> {
  const app = new Hono<WebEnv>();

  const mailDomain = (username: string): string => `${username}.${ctx.config.domain}`;

  const dashboard = async (
    c: Context<WebEnv>,
    extra: { notice?: string; problem?: string } = {},
  ): Promise<string> => {
    const { user } = c.var;
    const domain = mailDomain(user.username);
    const published = await publishedAddresses(user, domain, ctx.clock());
    return accountPage({
      user,
      csrf: c.var.session.csrf,
      mailDomain: domain,
      rekeyPending: await ctx.pending.hasRekey(user.id),
      sharedKey: (await ctx.store.users.countWithFingerprint(user.fingerprint)) - 1,
      published,
      forward: ctx.forward ? forwardCard(await ctx.forward.status(user)) : undefined,
      ...(ctx.config.send.enabled
        ? { sending: { csrf: c.var.session.csrf, mailDomain: domain, settings: user.sending } }
        : {}),
      ...extra,
    });
  };

  app.get('/account', async (c) => {
    const done = c.req.query('done');
    return c.html(await dashboard(c, { notice: done ? NOTICES[done] : undefined }));
  });

  app.get('/account/settings', (c) =>
    c.html(
      settingsPage({
        user: c.var.user,
        csrf: c.var.session.csrf,
        mailDomain: mailDomain(c.var.user.username),
        servers: mailServers(ctx.config, c.req.header('host') ?? ''),
      }),
    ),
  );

  app.post('/account/catch-all', async (c) => {
    const body = await readAccountForm(ctx, c);
    const on = textField(body, 'catchall', 3) === 'on';
    await ctx.store.users.setCatchAll(c.var.user.id, on);
    ctx.logger.info('web.policy_changed', { user: c.var.user.id, change: 'catch-all' });
    return c.redirect(`/account?done=${on ? 'catch-all-on' : 'catch-all-off'}`, 303);
  });

  app.post('/account/payload', async (c) => {
    const body = await readAccountForm(ctx, c);
    const format = textField(body, 'payload', 9);
    if (format !== 'protected' && format !== 'exact') {
      return c.html(await dashboard(c, { problem: 'Unknown choice.' }), 422);
    }
    await ctx.store.users.setPayloadFormat(c.var.user.id, format);
    ctx.logger.info('web.policy_changed', { user: c.var.user.id, change: 'payload' });
    return c.redirect(`/account?done=payload-${format}`, 303);
  });

  app.post('/account/addresses', async (c) => {
    const body = await readAccountForm(ctx, c);
    const action = textField(body, 'action', 10) as AddressAction;
    if (!['disable', 'allow', 'forget'].includes(action)) {
      return c.html(await dashboard(c, { problem: 'Unknown action.' }), 422);
    }
    const local = localPart(
      textField(body, 'address', 320),
      c.var.user.username,
      ctx.config.domain,
    );
    if (!local.ok) return c.html(await dashboard(c, { problem: local.problem }), 422);
    const users = ctx.store.users;
    const id = c.var.user.id;
    if (action === 'disable') await users.disableAddress(id, local.local);
    else if (action === 'allow') await users.allowAddress(id, local.local);
    else await users.forgetAddress(id, local.local);
    // The address itself is the user's business, not the log's.
    ctx.logger.info('web.policy_changed', { user: id, change: action });
    const done = action === 'disable' ? 'disabled' : action === 'allow' ? 'allowed' : 'forgotten';
    return c.redirect(`/account?done=${done}`, 303);
  });

  app.post('/account/password', async (c) => {
    await readAccountForm(ctx, c);
    const user = c.var.user;
    const password = generatePassword();
    // Encrypt first: if that fails, the old password stays valid.
    const message = await encryptTextToKey(
      user.publicKey,
      passwordText(user.username, password),
      ctx.clock(),
    );
    await ctx.store.users.setPasswordHash(user.id, await hashPassword(password));
    await ctx.sessions.destroyAll(user.id, c.var.session);
    ctx.logger.info('web.password_changed', { user: user.id });
    return c.html(
      encryptedNotePage({
        user,
        csrf: c.var.session.csrf,
        title: 'Your new password',
        intro:
          'Your password has been changed and your other sessions have ended. The new one is in this message, encrypted to your key:',
        message,
      }),
    );
  });

  app.get('/account/delete', (c) =>
    c.html(deletePage({ user: c.var.user, csrf: c.var.session.csrf })),
  );

  app.post('/account/delete', async (c) => {
    const body = await readAccountForm(ctx, c);
    const user = c.var.user;
    if (textField(body, 'confirm', 63).toLowerCase() !== user.username) {
      return c.html(
        deletePage({
          user,
          csrf: c.var.session.csrf,
          problem: 'That is not your username; nothing was deleted.',
        }),
        422,
      );
    }
    await ctx.store.deleteUser(user.id);
    await ctx.pending.clear('rekey', user.id);
    await ctx.sessions.destroyAll(user.id);
    clearSessionCookie(c, ctx.secureCookie);
    ctx.logger.info('user.deleted', { user: user.id, via: 'web' });
    return c.html(deletedPage());
  });

  return app;
}

export type LocalPart = { ok: true; local: string } | { ok: false; problem: string };

/** The local part of "name" or "name@<username>.<domain>", lowercased and checked. */
export function localPart(input: string, username: string, domain: string): LocalPart {
  let local = input.trim().toLowerCase();
  if (local === '') return { ok: false, problem: 'Enter an address.' };
  if (local.includes('@')) {
    const recipient = parseRecipient(local, domain);
    if (!recipient || recipient.username !== username) {
      return {
        ok: false,
        problem: `That address is not one of yours: yours end in @${username}.${domain}.`,
      };
    }
    local = recipient.local;
  }
  if (local.length > 64 || !DOT_STRING.test(local)) {
    return {
      ok: false,
      problem:
        'That is not a usable address: use letters, digits and . _ - + (no spaces), at most 64 characters.',
    };
  }
  return { ok: true, local };
}
