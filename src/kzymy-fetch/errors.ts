/**
 * kzymy-fetch's one error type. Every failure a user can act on is a FetchError with a kind; the
 * kind decides the exit code (sysexits(3)), so a cron job or a script can tell "the proxy is
 * down" from "the password is wrong" without parsing text. The message never carries the
 * password and never the content of a message.
 */

export type FetchErrorKind =
  /** Bad command line. */
  | 'usage'
  /** The configuration file, the password file or the password command. */
  | 'config'
  /** The SOCKS proxy did not answer (Tor not running?). */
  | 'proxy-down'
  /** The proxy (or, with --no-proxy, the network) could not reach the server. */
  | 'server-unreachable'
  /** The server refused the user name or password. */
  | 'auth'
  /** The server broke the protocol, or TLS failed. */
  | 'protocol'
  /** Local delivery failed (MDA exit status, Maildir or mbox write); the message stays on the server. */
  | 'delivery'
  /** gpg could not decrypt a message; it stays on the server. */
  | 'decrypt'
  /** Another kzymy-fetch holds the lock on this account's state. */
  | 'busy';

/** sysexits(3) codes; documented in docs/clients/kzymy-fetch.md. */
export const EXIT_CODES: Readonly<Record<FetchErrorKind, number>> = {
  usage: 64, // EX_USAGE
  decrypt: 65, // EX_DATAERR
  'server-unreachable': 68, // EX_NOHOST
  'proxy-down': 69, // EX_UNAVAILABLE
  busy: 73, // EX_CANTCREAT: the lock file exists
  delivery: 75, // EX_TEMPFAIL: run again later, nothing was lost
  protocol: 76, // EX_PROTOCOL
  auth: 77, // EX_NOPERM
  config: 78, // EX_CONFIG
};

/** An unexpected failure (a bug): EX_SOFTWARE. */
export const EXIT_SOFTWARE = 70;

export class FetchError extends Error {
  constructor(
    readonly kind: FetchErrorKind,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'FetchError';
  }

  get exitCode(): number {
    return EXIT_CODES[this.kind];
  }
}
