/**
 * The account's sending switches (docs/sending.md): sending as the nym on or off, and whether
 * her signature stays on what leaves. Offered only when the operator enabled sending.
 */
import { Hono } from 'hono';
import { readAccountForm } from '../account-guard';
import type { WebContext, WebEnv } from '../context';
import { WebError } from '../errors';
import { textField } from '../form';

export function sendingRoutes(ctx: WebContext): Hono<WebEnv> {
  const app = new Hono<WebEnv>();

  const offered = (): void => {
    if (!ctx.config.send.enabled)
      throw new WebError(404, 'This server does not send mail.', 'Not found');
  };

  app.post('/account/sending', async (c) => {
    offered();
    const on = textField(await readAccountForm(ctx, c), 'send', 3) === 'on';
    await ctx.store.users.setSending(c.var.user.id, { enabled: on });
    ctx.logger.info('web.policy_changed', { user: c.var.user.id, change: 'sending' });
    return c.redirect(`/account?done=${on ? 'send-on' : 'send-off'}`, 303);
  });

  app.post('/account/sign-as-nym', async (c) => {
    offered();
    const on = textField(await readAccountForm(ctx, c), 'sign', 3) === 'on';
    await ctx.store.users.setSending(c.var.user.id, { signAsNym: on });
    ctx.logger.info('web.policy_changed', { user: c.var.user.id, change: 'sign-as-nym' });
    return c.redirect(`/account?done=${on ? 'sign-on' : 'sign-off'}`, 303);
  });

  return app;
}
