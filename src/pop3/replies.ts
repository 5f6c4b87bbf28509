/**
 * The negative replies kzymy's POP3 server gives, in one table (RFC 1939 §3), with the extended
 * response codes of RFC 2449 §8 (IN-USE) and RFC 3206 (SYS/TEMP, AUTH). `clientCaused` says
 * whose doing a reply is, as in src/imap/replies.ts.
 */
export interface Pop3Reply {
  /** RFC 2449 §8 / RFC 3206 code, without brackets. */
  code?: 'SYS/TEMP' | 'AUTH' | 'IN-USE';
  text: string;
  clientCaused: boolean;
}

export const POP3_REPLIES = {
  // RFC 1939 §3: an unrecognized command gets -ERR and the session goes on.
  unknownCommand: { text: 'unknown command', clientCaused: true },
  noSuchMessage: { text: 'no such message', clientCaused: true },
  notAccepted: { text: 'Command not accepted', clientCaused: true },
  // RFC 1939 §3: a message number (or TOP's line count) that is not a decimal number
  // (src/pop3/engine.ts numbersWellFormed). The engine's own words for arguments it cannot take;
  // it answers `-ERR <text>` and closes the connection.
  malformedCommand: { text: 'malformed command', clientCaused: true },
  // RFC 2595 §4 STLS: "Restrictions: Only permitted in AUTHORIZATION state." After a login in
  // the clear, TLS would protect nothing that matters: the password has already crossed.
  stlsAfterLogin: { text: 'STLS is only permitted before logging in', clientCaused: true },
  // RFC 3206 §4 AUTH: "the failure is due to a problem with the credentials". The same words
  // for a wrong password and an unknown user. The engine writes the code itself: it answers
  // every failed USER/PASS and AUTH as `-ERR [AUTH] <text>`.
  loginFailed: { code: 'AUTH', text: 'Authentication failed', clientCaused: true },
  // The right password of an account the operator disabled (`kzymy user disable`), said only
  // to its owner; the engine writes it as `-ERR [AUTH] <text>` like every failed login. The
  // same words as IMAP's CONTACTADMIN reply (src/imap/replies.ts).
  accountDisabled: {
    code: 'AUTH',
    text: 'This account has been disabled by the server operator',
    clientCaused: true,
  },
  // The store or Redis is down. RFC 3206 §4 SYS/TEMP would say so more exactly, but the
  // engine prefixes [AUTH] to a login error too; the text tells the client to retry.
  unavailable: { code: 'AUTH', text: 'Temporary failure, try again later', clientCaused: false },
  // RFC 1939 §6 QUIT: "-ERR some deleted messages not removed".
  notRemoved: { code: 'SYS/TEMP', text: 'some deleted messages not removed', clientCaused: false },

  // The connection limits (src/pop3/limits.ts, docs/operations/limits.md).
  // RFC 3206 §4 SYS/TEMP: a temporary failure, try again later. Every slot of the listener holds
  // a logged-in session.
  listenerFull: {
    code: 'SYS/TEMP',
    text: 'Too many connections, try again later',
    clientCaused: false,
  },
  // The listener is full and this connection, not logged in, was the least recently active.
  closedIdle: {
    code: 'SYS/TEMP',
    text: 'Server busy, closing an idle connection',
    clientCaused: false,
  },
  // RFC 1939 §3: the autologout timer; here, no login within the login timeout.
  loginTimeout: { text: 'Autologout; no login in time', clientCaused: true },
  // RFC 1939 §3: -ERR for a command the server cannot take; the session ends, never echoed.
  lineTooLong: { text: 'Command line too long', clientCaused: true },
  // RFC 2449 §8.1.2 IN-USE: "the maildrop is in use"; the account already has as many sessions
  // as a daemon allows. Only someone who knows the password can cause it.
  tooManySessions: {
    code: 'IN-USE',
    text: 'Too many sessions for this account',
    clientCaused: true,
  },
} as const satisfies Record<string, Pop3Reply>;

/** `[CODE] text`: what follows `-ERR ` (the engine adds that itself to an error it is handed). */
export function errText(reply: Pop3Reply): string {
  return reply.code ? `[${reply.code}] ${reply.text}` : reply.text;
}

/** `-ERR [CODE] text`, the line a reply is sent as. */
export function errLine(reply: Pop3Reply): string {
  return `-ERR ${errText(reply)}`;
}
