/**
 * The negative replies kzymy's POP3 server gives, in one table (RFC 1939 §3), with the extended
 * response codes of RFC 2449 §8 (SYS/TEMP, SYS/PERM) and RFC 3206 (AUTH). `clientCaused` says
 * whose doing a reply is, as in src/imap/replies.ts.
 */
export interface Pop3Reply {
  /** RFC 2449 §8 / RFC 3206 code, without brackets. */
  code?: 'SYS/TEMP' | 'AUTH';
  text: string;
  clientCaused: boolean;
}

export const POP3_REPLIES = {
  // RFC 1939 §3: an unrecognized command gets -ERR and the session goes on.
  unknownCommand: { text: 'unknown command', clientCaused: true },
  noSuchMessage: { text: 'no such message', clientCaused: true },
  notAccepted: { text: 'Command not accepted', clientCaused: true },
  // RFC 3206 §4 AUTH: "the failure is due to a problem with the credentials". The same words
  // for a wrong password and an unknown user. The engine writes the code itself: it answers
  // every failed USER/PASS and AUTH as `-ERR [AUTH] <text>`.
  loginFailed: { code: 'AUTH', text: 'Authentication failed', clientCaused: true },
  // The store or Redis is down. RFC 2449 §8.1.2 SYS/TEMP would say so more exactly, but the
  // engine prefixes [AUTH] to a login error too; the text tells the client to retry.
  unavailable: { code: 'AUTH', text: 'Temporary failure, try again later', clientCaused: false },
  // RFC 1939 §6 QUIT: "-ERR some deleted messages not removed".
  notRemoved: { code: 'SYS/TEMP', text: 'some deleted messages not removed', clientCaused: false },
} as const satisfies Record<string, Pop3Reply>;

/** `-ERR [CODE] text`, the line a reply is sent as. */
export function errLine(reply: Pop3Reply): string {
  return reply.code ? `-ERR [${reply.code}] ${reply.text}` : `-ERR ${reply.text}`;
}
