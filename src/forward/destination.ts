/**
 * A forwarding destination as the user types it: an address, and optionally the MX host to use
 * (an onion name, with a port if not 25). Checked here once, before anything is sent; problems
 * are sentences for the account page and the CLI, and never echo the input.
 */
import { isIP } from 'node:net';

export interface Destination {
  /** The mailbox, local part as given, domain lowercased. */
  address: string;
  domain: string;
  /** The host given explicitly, or for an onion domain the domain itself; null: look up the MX. */
  host: string | null;
  port: number;
}

export type ParsedDestination =
  | { ok: true; destination: Destination }
  | { ok: false; problem: string };

/** RFC 5321 §2.3.11 SMTP port, and §4.5.3.1.1-3 lengths: local part 64, domain 255, path 256. */
export const SMTP_PORT = 25;
const MAX_LOCAL = 64;
const MAX_ADDRESS = 254;

/** RFC 5321 §4.1.2 Dot-string (no quoted strings, no SMTPUTF8: every MTA takes these). */
const DOT_STRING = /^[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*$/;
/** A host name (RFC 1035 §2.3.1 letters, digits, hyphens), at least two labels. */
const DOMAIN = /^(?!-)[a-z0-9-]{1,63}(?<!-)(\.(?!-)[a-z0-9-]{1,63}(?<!-))+$/;
/** A v3 onion address (rend-spec-v3: 56 base32 characters). */
const ONION = /^([a-z0-9-]+\.)*[a-z2-7]{56}\.onion$/;

export function isOnion(host: string): boolean {
  return ONION.test(host);
}

/** The `host[:port]` field; '' means none. */
export function parseHost(input: string):
  | { ok: true; host: string | null; port: number }
  | {
      ok: false;
      problem: string;
    } {
  const text = input.trim().toLowerCase();
  if (text === '') return { ok: true, host: null, port: SMTP_PORT };
  const match = /^([^:\s]+)(?::(\d{1,5}))?$/.exec(text);
  const host = match?.[1] ?? '';
  const port = match?.[2] === undefined ? SMTP_PORT : Number(match[2]);
  if (!match || port < 1 || port > 65535) {
    return { ok: false, problem: 'The MX host is not a host name with an optional :port.' };
  }
  if (host.endsWith('.onion') && !isOnion(host)) {
    return {
      ok: false,
      problem: 'That .onion name is not a v3 onion address (56 characters before .onion).',
    };
  }
  if (isIP(host) !== 4 && (host.length > 253 || !DOMAIN.test(host))) {
    return {
      ok: false,
      problem: 'The MX host must be a host name (or an onion address), with an optional :port.',
    };
  }
  return { ok: true, host, port };
}

/**
 * Checks a destination. `mailDomain` is kzymy's own: forwarding into it would loop (each pass
 * encrypts the ciphertext again), so it is refused.
 */
export function parseDestination(
  addressInput: string,
  hostInput: string,
  mailDomain: string,
): ParsedDestination {
  const address = addressInput.trim();
  if (address === '') return { ok: false, problem: 'Enter the address to forward to.' };
  const at = address.lastIndexOf('@');
  const local = address.slice(0, at);
  const domain = address.slice(at + 1).toLowerCase();
  if (
    at <= 0 ||
    address.length > MAX_ADDRESS ||
    local.length > MAX_LOCAL ||
    !DOT_STRING.test(local) ||
    domain.length > 253 ||
    !DOMAIN.test(domain)
  ) {
    return {
      ok: false,
      problem:
        'That is not an address kzymy can forward to: name@domain, in ASCII letters, digits and . _ - +, at most 254 characters.',
    };
  }
  if (domain.endsWith('.onion') && !isOnion(domain)) {
    return { ok: false, problem: 'That .onion domain is not a v3 onion address.' };
  }
  if (domain === mailDomain || domain.endsWith(`.${mailDomain}`)) {
    return {
      ok: false,
      problem: `Forwarding to an address at ${mailDomain} would send the mail in a circle.`,
    };
  }
  const host = parseHost(hostInput);
  if (!host.ok) return host;
  if (host.host !== null && (host.host === mailDomain || host.host.endsWith(`.${mailDomain}`))) {
    return { ok: false, problem: `The MX host cannot be one of ${mailDomain}'s own.` };
  }
  // An onion domain has no MX records to look up: the onion service is the mail server.
  const explicit = host.host ?? (isOnion(domain) ? domain : null);
  return {
    ok: true,
    destination: { address: `${local}@${domain}`, domain, host: explicit, port: host.port },
  };
}

/** How a stored setting is shown: "host" or "host:port". */
export function formatHost(host: string | null, port: number): string | null {
  if (host === null) return null;
  return port === SMTP_PORT ? host : `${host}:${port}`;
}
