/**
 * The replies kzymy's IMAP server gives, in one table (RFC 3501 §7.1), with RFC 5530 response
 * codes. The engine (imap-core) turns a handler's `{response, code, message}` into
 * `<tag> NO [CODE] message`; the lines kzymy writes itself (the connection limits' BYE and BAD,
 * src/imap/limits.ts) are built by imapLine. `clientCaused` says whose doing a reply is: a client
 * asking for what a receive-only mailbox does not have is logged below a failure of ours.
 */
import type { CommandResult } from '@zone-eu/wildduck/imap-core';

export interface ImapReply {
  /** OK and NO answer a command (tagged); BAD too, or untagged; BYE is always untagged. */
  response: 'OK' | 'NO' | 'BAD' | 'BYE';
  /** RFC 5530 §3 response code, without brackets. */
  code?: 'CANNOT' | 'NONEXISTENT' | 'UNAVAILABLE' | 'SERVERBUG' | 'LIMIT' | 'CLIENTBUG';
  /** Shown to the client: never an address, a key, a host or a cause. */
  message: string;
  clientCaused: boolean;
}

export const RECEIVE_ONLY = 'kzymy is receive-only';

export const IMAP_REPLIES = {
  // RFC 5530 CANNOT: "the operation violates some invariant of the server".
  appendRefused: {
    response: 'NO',
    code: 'CANNOT',
    message: `${RECEIVE_ONLY}: mail arrives by SMTP only, APPEND is not available`,
    clientCaused: true,
  },
  onlyInbox: {
    response: 'NO',
    code: 'CANNOT',
    message: `${RECEIVE_ONLY}: INBOX is the only mailbox`,
    clientCaused: true,
  },
  copyRefused: {
    response: 'NO',
    code: 'CANNOT',
    message: `${RECEIVE_ONLY}: INBOX is the only mailbox, nothing can be copied or moved`,
    clientCaused: true,
  },
  notAvailable: {
    response: 'NO',
    code: 'CANNOT',
    message: 'Not available on kzymy',
    clientCaused: true,
  },
  // RFC 5530 NONEXISTENT: "the operation attempts to ... a mailbox that does not exist".
  noSuchMailbox: {
    response: 'NO',
    code: 'NONEXISTENT',
    message: 'INBOX is the only mailbox',
    clientCaused: true,
  },
  // RFC 3501 §6.2.1 (RFC 9051 §6.2.1): STARTTLS is valid only in the not authenticated state;
  // after a login in the clear it would protect nothing that matters. BAD: a command not valid
  // in this state (RFC 3501 §7.1.5).
  starttlsAfterLogin: {
    response: 'BAD',
    message: 'STARTTLS is only allowed before logging in',
    clientCaused: true,
  },
  alwaysSubscribed: { response: 'OK', message: 'INBOX is always subscribed', clientCaused: true },
  // RFC 5161: nothing kzymy serves needs enabling (no CONDSTORE, no UTF8=ACCEPT).
  nothingToEnable: { response: 'OK', message: 'Nothing to enable', clientCaused: true },
  // RFC 5530 UNAVAILABLE: "temporary failure because a subsystem is down" — the store or Redis.
  // Not AUTHENTICATIONFAILED: the client must retry, not believe its password is wrong.
  unavailable: {
    response: 'NO',
    code: 'UNAVAILABLE',
    message: 'Temporary failure, try again later',
    clientCaused: false,
  },
  // RFC 5530 §3 CONTACTADMIN: "the user should contact the system administrator" — said only to
  // whoever gave the right password of an account the operator disabled (`kzymy user disable`).
  // The code is written into the text: the engine prints a reply's code after LOGIN but not
  // after AUTHENTICATE, and the owner should read it after either.
  accountDisabled: {
    response: 'NO',
    message: '[CONTACTADMIN] This account has been disabled by the server operator',
    clientCaused: true,
  },
  // RFC 5530 LIMIT: "the operation ... would exceed a limit"; the account already has as many
  // sessions as a daemon allows. Only someone who knows the password can cause it.
  tooManySessions: {
    response: 'NO',
    code: 'LIMIT',
    message: 'Too many sessions for this account',
    clientCaused: true,
  },
  // RFC 5530 SERVERBUG: "the server encountered a bug in itself".
  serverBug: { response: 'NO', code: 'SERVERBUG', message: 'Internal error', clientCaused: false },

  // The connection limits (src/imap/limits.ts, docs/operations/limits.md). None of them echoes
  // what the client sent.
  // RFC 3501 §7.1.5: BYE as the greeting of a server that will not serve the connection; RFC 5530
  // UNAVAILABLE: try again later. Every slot of the listener holds a logged-in session.
  listenerFull: {
    response: 'BYE',
    code: 'UNAVAILABLE',
    message: 'Too many connections, try again later',
    clientCaused: false,
  },
  // The listener is full and this connection, not logged in, was the least recently active.
  closedIdle: {
    response: 'BYE',
    code: 'UNAVAILABLE',
    message: 'Server busy, closing an idle connection',
    clientCaused: false,
  },
  // RFC 3501 §5.4: the server's autologout timer; here, no login within the login timeout.
  loginTimeout: { response: 'BYE', message: 'Autologout; no login in time', clientCaused: true },
  // RFC 3501 §7.1.3: BAD for a line the server cannot take; tagged when the tag is sane.
  lineTooLong: { response: 'BAD', message: 'Command line too long', clientCaused: true },
  // One command's lines and literals together: the literals are sent, no point to resume at.
  commandTooLong: { response: 'BYE', message: 'Command too long', clientCaused: true },
  // A tag or command name longer than any real one: answered without the echo imap-core gives.
  invalidTag: { response: 'BAD', message: 'Invalid tag', clientCaused: true },
  unknownCommand: { response: 'BAD', message: 'Unknown command', clientCaused: true },
  // imap-core's own bound on protocol errors per session, with its words.
  tooManyErrors: { response: 'BYE', message: 'Too many protocol errors', clientCaused: true },

  // Arguments an imap-core command module cannot handle (src/imap/argument-guard.ts). RFC 3501
  // §7.1.3: BAD, "the client command ... contains invalid arguments". Nothing of them is echoed.
  invalidArguments: { response: 'BAD', message: 'Invalid arguments', clientCaused: true },
  // A SEARCH date that fits imap-core's pattern but is no date (src/imap/search-dates.ts). RFC
  // 5530 CLIENTBUG: "the server has detected a client bug" — not TEMPFAIL, which would invite a
  // retry. The engine writes this reply itself from the code alone, as
  // `<tag> NO [CLIENTBUG] <command> completed`: the message here is what it says.
  invalidSearchDate: {
    response: 'NO',
    code: 'CLIENTBUG',
    message: 'SEARCH completed',
    clientCaused: true,
  },
} as const satisfies Record<string, ImapReply>;

/** A reply that answers a command through the engine (not BYE, which ends the connection). */
export type CommandReply = ImapReply & { response: 'OK' | 'NO' | 'BAD' };

/** The engine's reply object (a handler's callback(null, …)). */
export function engineReply(reply: CommandReply): CommandResult & { code?: string } {
  return reply.code
    ? { response: reply.response, code: reply.code, message: reply.message }
    : { response: reply.response, message: reply.message };
}

/** The same reply as an Error, for the engine callbacks that answer through errors (onAuth). */
export function engineError(reply: CommandReply): Error & CommandResult & { code?: string } {
  return Object.assign(new Error(reply.message), engineReply(reply));
}

/** `<tag> BYE [CODE] message`, a line kzymy sends itself (untagged, `*`, unless a tag is given). */
export function imapLine(reply: ImapReply, tag = '*'): string {
  const code = reply.code ? `[${reply.code}] ` : '';
  return `${tag} ${reply.response} ${code}${reply.message}`;
}
