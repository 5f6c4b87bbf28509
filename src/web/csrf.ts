/**
 * Cross-site request forgery protection, in two layers:
 *   - every POST must come from a page of this site: `Sec-Fetch-Site` (when the browser sends
 *     it) must be same-origin or none, and an `Origin` (when sent) must name the host asked for;
 *   - every form carries a token. Before login there is no cookie to bind it to (kzymy sets no
 *     cookie before login), so the token is stateless: a time-limited HMAC over the form's
 *     purpose. After login it is the session's own random token (session.ts).
 */
import { randomBytes } from 'node:crypto';
import type { Context } from 'hono';
import { WebError } from './errors';
import { safeEqual, sign } from './signing';

export type FormPurpose = 'signup' | 'create' | 'activate' | 'login';

/** A pre-login form stays usable this long (time to read, decrypt, solve the proof of work). */
const FORM_TOKEN_SECONDS = 3 * 3600;

export const FORM_EXPIRED =
  'This form has expired or did not come from this site. Go back, reload the page and try again.';

export class FormTokens {
  constructor(
    private readonly key: Buffer,
    private readonly clock: () => Date,
  ) {}

  issue(purpose: FormPurpose): string {
    const body = `${Math.floor(this.clock().getTime() / 1000)}.${randomBytes(8).toString('hex')}`;
    return `${body}.${sign(this.key, `${purpose}.${body}`)}`;
  }

  valid(purpose: FormPurpose, token: string): boolean {
    const match = /^(\d{1,12})\.([0-9a-f]{16})\.([0-9a-f]{64})$/.exec(token);
    if (!match) return false;
    const [, issued, nonce, mac] = match as unknown as [string, string, string, string];
    if (!safeEqual(sign(this.key, `${purpose}.${issued}.${nonce}`), mac)) return false;
    const age = Math.floor(this.clock().getTime() / 1000) - Number(issued);
    return age >= -60 && age <= FORM_TOKEN_SECONDS;
  }
}

/** Refuses a POST that a browser says came from another site. */
export function assertSameOrigin(c: Context): void {
  const site = c.req.header('sec-fetch-site');
  if (site !== undefined && site !== 'same-origin' && site !== 'none') {
    throw new WebError(403, FORM_EXPIRED, 'Form refused');
  }
  const origin = c.req.header('origin');
  if (origin === undefined || origin === 'null') return;
  let originHost: string;
  try {
    originHost = new URL(origin).host;
  } catch {
    throw new WebError(403, FORM_EXPIRED, 'Form refused');
  }
  if (originHost !== c.req.header('host')) throw new WebError(403, FORM_EXPIRED, 'Form refused');
}

export function sessionTokenMatches(expected: string, given: string): boolean {
  return given.length > 0 && safeEqual(expected, given);
}
