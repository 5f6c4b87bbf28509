/**
 * The tagged replies kzymy's IMAP handlers give, in one table (RFC 3501 §7.1), with RFC 5530
 * response codes. The engine (imap-core) turns `{response, code, message}` into
 * `<tag> NO [CODE] message`. `clientCaused` says whose doing a reply is: a client asking for
 * what a receive-only mailbox does not have is logged below a failure of ours.
 */
import type { CommandResult } from '@zone-eu/wildduck/imap-core';

export interface ImapReply {
  response: 'OK' | 'NO';
  /** RFC 5530 §3 response code, without brackets. */
  code?: 'CANNOT' | 'NONEXISTENT' | 'UNAVAILABLE' | 'SERVERBUG';
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
  // RFC 5530 SERVERBUG: "the server encountered a bug in itself".
  serverBug: { response: 'NO', code: 'SERVERBUG', message: 'Internal error', clientCaused: false },
} as const satisfies Record<string, ImapReply>;

/** The engine's reply object (a handler's callback(null, …)). */
export function engineReply(reply: ImapReply): CommandResult & { code?: string } {
  return reply.code
    ? { response: reply.response, code: reply.code, message: reply.message }
    : { response: reply.response, message: reply.message };
}

/** The same reply as an Error, for the engine callbacks that answer through errors (onAuth). */
export function engineError(reply: ImapReply): Error & CommandResult & { code?: string } {
  return Object.assign(new Error(reply.message), engineReply(reply));
}
