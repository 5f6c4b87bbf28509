/**
 * The web application: security headers and the body limit on everything, the account gate in
 * front of /account, then the page families. Errors become pages in one place (errors.ts).
 */
import { Hono } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import { requireAccount } from './account-guard';
import type { WebContext, WebEnv } from './context';
import { errorPage, handleError, notFound } from './errors';
import { MAX_BODY_BYTES } from './form';
import { securityHeaders } from './headers';
import { accountRoutes } from './routes/account';
import { forwardRoutes } from './routes/forward';
import { loginRoutes } from './routes/login';
import { pageRoutes } from './routes/pages';
import { rekeyRoutes } from './routes/rekey';
import { sendingRoutes } from './routes/sending';
import { signupRoutes } from './routes/signup';
import { wkdRoutes } from './routes/wkd';

export function createWebApp(ctx: WebContext): Hono<WebEnv> {
  const app = new Hono<WebEnv>();
  // Ahead of the page middleware: keys for senders are public and cross-origin (routes/wkd.ts).
  app.route('/', wkdRoutes(ctx));
  app.use('*', securityHeaders(ctx.logger, ctx.clock));
  app.use(
    '*',
    bodyLimit({
      maxSize: MAX_BODY_BYTES,
      // The rest of the body is not read, so the connection cannot carry another request.
      onError: (c) =>
        c.html(
          errorPage(
            'Too large',
            'That was more data than this form takes. A public key is normally a few KiB.',
          ),
          413,
          { Connection: 'close' },
        ),
    }),
  );
  // Hono's '/account/*' covers '/account' itself too.
  app.use('/account/*', requireAccount(ctx));

  app.route('/', pageRoutes(ctx));
  app.route('/', signupRoutes(ctx));
  app.route('/', loginRoutes(ctx));
  app.route('/', accountRoutes(ctx));
  app.route('/', rekeyRoutes(ctx));
  app.route('/', forwardRoutes(ctx));
  app.route('/', sendingRoutes(ctx));

  app.notFound(notFound);
  app.onError(handleError(ctx.logger));
  return app;
}
