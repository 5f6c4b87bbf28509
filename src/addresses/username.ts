/**
 * Random usernames: the user's mail domain is <username>.<domain>, so a username must be a
 * lowercase DNS label (RFC 1035 §2.3.1) and must not be guessable.
 */
import { randomInt } from 'node:crypto';

// 32 symbols, no look-alikes (0/o, 1/l): 5 bits each.
const ALPHABET = 'abcdefghijkmnpqrstuvwxyz23456789';
const LETTERS = 'abcdefghijkmnpqrstuvwxyz';
/** First symbol a letter (log2 24 ≈ 4.58 bits), then 10 of 5 bits: about 54.6 bits in all. */
const TAIL_LENGTH = 10;
export const USERNAME_ENTROPY_BITS =
  Math.log2(LETTERS.length) + TAIL_LENGTH * Math.log2(ALPHABET.length);

/**
 * Names a person could mistake for the service's own (RFC 2142 mailbox names and host names).
 * Random names are almost never these, but "almost" is not a guarantee.
 */
export const RESERVED_USERNAMES: ReadonlySet<string> = new Set([
  'abuse',
  'admin',
  'administrator',
  'api',
  'autoconfig',
  'autodiscover',
  'dmarc',
  'ftp',
  'hostmaster',
  'imap',
  'info',
  'kzymy',
  'localhost',
  'mail',
  'mailer-daemon',
  'marketing',
  'mta-sts',
  'mx',
  'noc',
  'noreply',
  'no-reply',
  'ns',
  'onion',
  // The label of the Web Key Directory's advanced method (src/web/wkd-host.ts).
  'openpgpkey',
  'pop',
  'pop3',
  'postmaster',
  'root',
  'sales',
  'security',
  'smtp',
  'support',
  'tor',
  'webmaster',
  'www',
]);

export function isReservedUsername(name: string): boolean {
  return RESERVED_USERNAMES.has(name.toLowerCase());
}

/** A well-formed username as this server issues them (used to reject garbage early). */
export function isUsernameShaped(name: string): boolean {
  return /^[a-z][a-z0-9-]{0,62}$/.test(name) && !name.endsWith('-');
}

export function randomUsername(): string {
  for (;;) {
    let name = LETTERS[randomInt(LETTERS.length)] as string;
    for (let i = 0; i < TAIL_LENGTH; i++) name += ALPHABET[randomInt(ALPHABET.length)];
    if (!isReservedUsername(name)) return name;
  }
}
