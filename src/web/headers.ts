/**
 * Headers on every response: a strict Content Security Policy (only this origin; no inline
 * script or style, no plugins, no framing, forms post only here) and the usual hardening.
 * Also the one request log line, which names the route and status, never a client address.
 */
import type { MiddlewareHandler } from 'hono';
import type { Logger } from '../log/logger';

export const CONTENT_SECURITY_POLICY = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self'",
  "connect-src 'none'",
  "object-src 'none'",
  "base-uri 'none'",
  "form-action 'self'",
  "frame-ancestors 'none'",
].join('; ');

const FIXED_HEADERS: Record<string, string> = {
  'Content-Security-Policy': CONTENT_SECURITY_POLICY,
  'X-Content-Type-Options': 'nosniff',
  'X-Frame-Options': 'DENY',
  // same-origin, not no-referrer: with no-referrer browsers send "Origin: null" on POST, and
  // csrf.ts wants the real origin. Nothing is sent to other sites either way (there are no links).
  'Referrer-Policy': 'same-origin',
  'Cross-Origin-Opener-Policy': 'same-origin',
  'Cross-Origin-Resource-Policy': 'same-origin',
  'Permissions-Policy': 'camera=(), microphone=(), geolocation=(), interest-cohort=()',
};

export function securityHeaders(logger: Logger, clock: () => Date): MiddlewareHandler {
  return async (c, next) => {
    const started = clock().getTime();
    await next();
    for (const [name, value] of Object.entries(FIXED_HEADERS)) c.res.headers.set(name, value);
    // Pages can hold an account's details or an encrypted password: never cached anywhere.
    if (!c.res.headers.has('Cache-Control')) c.res.headers.set('Cache-Control', 'no-store');
    logger.debug('web.request', {
      method: c.req.method,
      route: c.req.routePath,
      status: c.res.status,
      ms: clock().getTime() - started,
    });
  };
}
