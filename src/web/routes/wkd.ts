/**
 * The Web Key Directory (draft-koch-openpgp-webkey-service-19 §3.1): senders' mail programs
 * (Thunderbird, GnuPG, Proton) fetch the key of `local@<username>.<domain>` from
 *   https://<username>.<domain>/.well-known/openpgpkey/hu/<hash>?l=<local>              (direct)
 *   https://openpgpkey.<username>.<domain>/.well-known/openpgpkey/<username>.<domain>/hu/<hash>?l=…
 * (advanced), and encrypt to it before the mail leaves them, so kzymy never sees it in clear.
 *
 * An address is published when it is a user ID of the account's key (with a valid
 * self-signature), lies under the account's own subdomain and receives mail (its address policy
 * accepts it). Anything else — another address, another user's host, an unknown or pending
 * account — gets one and the same empty 404, so the directory cannot be used to find out which
 * accounts exist. The policy file is served for every user-shaped host alike, for the same reason.
 *
 * These routes are mounted ahead of the page middleware (app.ts): a key is a public, binary,
 * cross-origin resource, not a page, and gets its own headers.
 */
import { Hono, type Context } from 'hono';
import { wkdHash, wkdKey } from '../../pgp/wkd';
import type { WebContext, WebEnv } from '../context';
import { wkdHost, type WkdHost } from '../wkd-host';
import { publishedAddresses } from '../wkd-published';

const HEADERS = {
  'X-Content-Type-Options': 'nosniff',
  // Web-based OpenPGP clients read keys with fetch() from other origins.
  'Access-Control-Allow-Origin': '*',
  'Cross-Origin-Resource-Policy': 'cross-origin',
  // A replaced key must reach senders soon: caches may keep it, but must ask again first.
  'Cache-Control': 'no-cache',
} as const;

/** A z-base-32 SHA-1: 32 symbols of the draft's alphabet. */
const HASH = /^[ybndrfg8ejkmcpqxot1uwisza345h769]{32}$/;

export function wkdRoutes(ctx: WebContext): Hono<WebEnv> {
  const app = new Hono<WebEnv>();

  const host = (c: Context<WebEnv>): WkdHost | null =>
    wkdHost(c.req.header('host') ?? '', ctx.config.domain);

  const nothing = (c: Context<WebEnv>): Response => c.body(null, 404, HEADERS);

  /**
   * draft §4.5 Policy Flags: a file that may be empty. kzymy offers no Web Key Service
   * (submission by mail), so it announces nothing; its presence says the directory exists.
   */
  const policy = (c: Context<WebEnv>, advanced: boolean, pathDomain?: string): Response => {
    const found = host(c);
    if (!found || found.advanced !== advanced) return nothing(c);
    if (advanced && pathDomain?.toLowerCase() !== found.mailDomain) return nothing(c);
    return c.body('', 200, { ...HEADERS, 'Content-Type': 'text/plain; charset=utf-8' });
  };

  const key = async (
    c: Context<WebEnv>,
    advanced: boolean,
    hash: string,
    pathDomain?: string,
  ): Promise<Response> => {
    const found = host(c);
    if (!found || found.advanced !== advanced || !HASH.test(hash)) return nothing(c);
    // draft §3.1, advanced method: the path names the mail domain again; it must be this one.
    if (advanced && pathDomain?.toLowerCase() !== found.mailDomain) return nothing(c);
    const user = await ctx.store.users.byName(found.username);
    if (!user || user.state !== 'active') return nothing(c);
    const now = ctx.clock();
    // The `l` parameter (the local part as typed) is not needed: the hash names it, and
    // clients differ in how they case and escape `l`.
    for (const address of await publishedAddresses(user, found.mailDomain, now)) {
      if (wkdHash(address.slice(0, address.lastIndexOf('@'))) !== hash) continue;
      const bytes = await wkdKey(user.publicKey, address, now);
      if (!bytes) break;
      // draft §3.1: "SHOULD return application/octet-stream"; HEAD is answered alike (Hono
      // runs GET handlers for HEAD and drops the body), as the draft requires.
      return c.body(new Uint8Array(bytes), 200, {
        ...HEADERS,
        'Content-Type': 'application/octet-stream',
      });
    }
    return nothing(c);
  };

  app.get('/.well-known/openpgpkey/policy', (c) => policy(c, false));
  app.get('/.well-known/openpgpkey/hu/:hash', (c) => key(c, false, c.req.param('hash')));
  app.get('/.well-known/openpgpkey/:domain/policy', (c) => policy(c, true, c.req.param('domain')));
  app.get('/.well-known/openpgpkey/:domain/hu/:hash', (c) =>
    key(c, true, c.req.param('hash'), c.req.param('domain')),
  );
  return app;
}
