/**
 * Forwarding for a logged-in user (when the operator enabled it): name a destination, type back
 * the code mailed there, stop, or try refused messages again. The work is the ForwardService's,
 * shared with `kzymy user set`; the destination address is never logged.
 */
import { Hono, type Context } from 'hono';
import { readAccountForm } from '../account-guard';
import type { WebContext, WebEnv } from '../context';
import { WebError } from '../errors';
import { textField } from '../form';
import { forwardPage } from '../views/forward';
import type { ForwardService } from '../../forward/service';

/** Outcomes shown after a redirect, by fixed key. */
const NOTICES: Record<string, string> = {
  'code-sent':
    'A code is on its way to the destination, encrypted to your key. Type it below when it arrives.',
  active: 'Forwarding is on. Mail waiting here goes out now.',
  stopped: 'Forwarding is off: mail waits here for pickup again.',
  retry: 'The kept messages will be offered to the destination again.',
};

const CONFIRM_PROBLEMS = {
  wrong: 'That is not the code mailed to the destination. Nothing was changed.',
  expired: 'That code has expired. Mail a new one.',
  'not-pending': 'No destination is waiting for a code.',
} as const;

export function forwardRoutes(ctx: WebContext): Hono<WebEnv> {
  const app = new Hono<WebEnv>();

  const service = (): ForwardService => {
    if (!ctx.forward) throw new WebError(404, 'Forwarding is not offered here.', 'Not found');
    return ctx.forward;
  };

  const render = async (
    c: Context<WebEnv>,
    extra: { notice?: string; problem?: string } = {},
    status: 200 | 422 | 429 = 200,
  ): Promise<Response> =>
    c.html(
      forwardPage({
        user: c.var.user,
        csrf: c.var.session.csrf,
        status: await service().status(c.var.user),
        ...extra,
      }),
      status,
    );

  app.get('/account/forward', async (c) => {
    const done = c.req.query('done');
    return render(c, { notice: done ? NOTICES[done] : undefined });
  });

  app.post('/account/forward', async (c) => {
    const forward = service();
    const body = await readAccountForm(ctx, c);
    const result = await forward.propose(
      c.var.user,
      textField(body, 'address', 254),
      textField(body, 'host', 260),
    );
    if (!result.ok) return render(c, { problem: result.problem }, result.limited ? 429 : 422);
    return c.redirect('/account/forward?done=code-sent', 303);
  });

  app.post('/account/forward/confirm', async (c) => {
    const forward = service();
    const body = await readAccountForm(ctx, c);
    const result = await forward.confirm(c.var.user, textField(body, 'code', 64));
    if (result !== 'active') return render(c, { problem: CONFIRM_PROBLEMS[result] }, 422);
    return c.redirect('/account/forward?done=active', 303);
  });

  app.post('/account/forward/stop', async (c) => {
    const forward = service();
    await readAccountForm(ctx, c);
    await forward.stop(c.var.user);
    return c.redirect('/account/forward?done=stopped', 303);
  });

  app.post('/account/forward/retry', async (c) => {
    const forward = service();
    await readAccountForm(ctx, c);
    await forward.retryRefused(c.var.user);
    return c.redirect('/account/forward?done=retry', 303);
  });

  return app;
}
