/**
 * One typed HTTP error for the web service, turned into a page in one place (`onError`).
 * `message` is shown to the user, so it is fixed text written here, never echoed input;
 * `cause` is only logged as its kind (`errorKind`), never as its text.
 */
import type { Context } from 'hono';
import type { ContentfulStatusCode } from 'hono/utils/http-status';
import { errorKind, type Logger } from '../log/logger';
import { h, type Html } from './html';
import { page } from './views/layout';

export class WebError extends Error {
  override name = 'WebError';

  constructor(
    readonly status: ContentfulStatusCode,
    /** A sentence for the user: what went wrong and what to do. */
    readonly userMessage: string,
    readonly title = 'Something is not right',
  ) {
    super(userMessage);
  }
}

export function errorPage(title: string, message: string): Html {
  return page({
    title,
    body: h`<h1>${title}</h1>
      <p class="problem">${message}</p>
      <p><a href="/">Back to the start page</a></p>`,
  });
}

export function handleError(logger: Logger) {
  return (error: Error, c: Context): Response => {
    if (error instanceof WebError) {
      // A client's mistake: debug level, and the route rather than the full URL.
      logger.debug('web.error', { status: error.status, route: c.req.routePath });
      return c.html(errorPage(error.title, error.userMessage), error.status);
    }
    logger.error('web.error', { status: 500, route: c.req.routePath, error: errorKind(error) });
    return c.html(
      errorPage(
        'Server error',
        'Something went wrong on our side. Nothing you sent was kept; please try again later.',
      ),
      500,
    );
  };
}

export function notFound(c: Context): Response {
  return c.html(errorPage('Not found', 'There is no page at this address.'), 404);
}
