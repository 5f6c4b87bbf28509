/** The start page, the user documentation and the static assets. */
import { Hono } from 'hono';
import type { WebContext, WebEnv } from '../context';
import { WebError } from '../errors';
import { docPage, homePage } from '../views/pages';

export function pageRoutes(ctx: WebContext): Hono<WebEnv> {
  const app = new Hono<WebEnv>();

  app.get('/', (c) => c.html(homePage(ctx.config.domain)));

  app.get('/docs/signup', (c) => {
    if (!ctx.signupDoc)
      throw new WebError(404, 'This documentation is not installed.', 'Not found');
    return c.html(docPage('How signing up works', ctx.signupDoc));
  });

  app.get('/static/:name', (c) => {
    const asset = ctx.assets.get(c.req.param('name'));
    if (!asset) throw new WebError(404, 'There is no such file.', 'Not found');
    return c.body(new Uint8Array(asset.body), 200, {
      'Content-Type': asset.type,
      'Cache-Control': 'public, max-age=3600',
    });
  });

  return app;
}
