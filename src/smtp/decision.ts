/**
 * What kzymy's SMTP checks return: data, not replies (maddy's check results). One function,
 * toHookResult, turns a decision into what a Haraka hook passes to next(); nothing else in kzymy
 * picks an SMTP code.
 */
import type { RefusalReason } from '../metrics/registry';
import { DSN, HOOK_RESULT, type HookResult } from './haraka/api';

/** RFC 5321 §4.2 basic code plus RFC 3463 enhanced code and a client-safe text. */
export interface SmtpReply {
  code: number;
  /** RFC 3463 class.subject.detail, e.g. '5.1.1'. */
  enhanced: string;
  /** Shown to the SMTP client: never an address, a key, a host or a cause. */
  text: string;
}

export type Decision =
  /** Go on (Haraka OK): recipient accepted, message taken, and so on. */
  | { kind: 'accept'; reply?: SmtpReply }
  /**
   * Try again later (Haraka DENYSOFT, 4xx). `clientCaused`: the sender's own doing (a full
   * mailbox), logged below a failure of ours (the store down, a broken key). With `disconnect`,
   * the connection is then closed (a refused connection).
   */
  | {
      kind: 'tempfail';
      reply: SmtpReply;
      cause?: unknown;
      metric: RefusalReason;
      clientCaused: boolean;
      disconnect?: true;
    }
  /** Never (Haraka DENY, 5xx). `metric` tells the counters why, where the reply must not. */
  | { kind: 'reject'; reply: SmtpReply; metric: RefusalReason };

export function accept(reply?: SmtpReply): Decision {
  return reply ? { kind: 'accept', reply } : { kind: 'accept' };
}

export function tempfail(
  reply: SmtpReply,
  cause?: unknown,
  metric: RefusalReason = 'tempfail',
): Decision {
  return { kind: 'tempfail', reply, cause, metric, clientCaused: metric !== 'tempfail' };
}

/**
 * A 4xx after which the connection is closed (a refused connection; counted apart from mail).
 * `clientCaused`: the sending host's own doing (too many connections of its own), not a full
 * server.
 */
export function tempfailAndClose(reply: SmtpReply, clientCaused: boolean): Decision {
  return { kind: 'tempfail', reply, metric: 'tempfail', clientCaused, disconnect: true };
}

export function reject(reply: SmtpReply, metric: RefusalReason = 'unknown_user'): Decision {
  return { kind: 'reject', reply, metric };
}

/** The replies kzymy gives, in one table. */
export const REPLIES = {
  // RFC 3463 X.1.5 "Destination address valid".
  recipientOk: { code: 250, enhanced: '2.1.5', text: 'Recipient OK' },
  // RFC 3463 X.6.0 is "other media"; X.0.0 is the generic success. Haraka appends the
  // transaction id, "(<uuid>.<n>)", which the smtp.delivered log line carries too.
  messageStored: { code: 250, enhanced: '2.0.0', text: 'Message accepted' },
  // RFC 3463 X.1.1 "Bad destination mailbox address". The same words for unknown, pending and
  // disabled accounts and disabled addresses: the reply must not tell a prober which exist.
  noSuchUser: { code: 550, enhanced: '5.1.1', text: 'No such user here' },
  // RFC 3463 X.2.2 "Mailbox full"; 452 (RFC 5321 §4.2.2 "insufficient system storage") so the
  // sender keeps the message and retries once the user has fetched mail.
  mailboxFull: { code: 452, enhanced: '4.2.2', text: 'Mailbox full, try again later' },
  // RFC 5321 §4.5.3.1.10: a server out of recipients for this transaction "MUST use a response
  // code of 452"; RFC 3463 X.5.3 "Too many recipients". The client sends these in a new one.
  tooManyRecipients: { code: 452, enhanced: '4.5.3', text: 'Too many recipients' },
  // RFC 3463 X.3.0 "Other or undefined mail system status"; RFC 5321 451 "local error".
  localError: { code: 451, enhanced: '4.3.0', text: 'Temporary local problem, try again later' },
  // RFC 3463 X.7.1 "Delivery not authorized": kzymy never relays.
  relayDenied: { code: 550, enhanced: '5.7.1', text: 'Relaying denied' },
  // RFC 5321 §3.8: 421 when the server must close the channel; RFC 3463 X.4.5 "System
  // congestion" for a full server, X.7.0 for a limit on the client's own connections.
  serverBusy: { code: 421, enhanced: '4.4.5', text: 'Too many connections, try again later' },
  hostBusy: {
    code: 421,
    enhanced: '4.7.0',
    text: 'Too many connections from your host, try again later',
  },
  idleClosed: { code: 421, enhanced: '4.4.5', text: 'Server busy, closing an idle connection' },
} as const satisfies Record<string, SmtpReply>;

/** RFC 1870 §6.1 and RFC 3463 X.3.4: permanent, and naming the limit. */
export function tooBig(limitBytes: number): SmtpReply {
  return {
    code: 552,
    enhanced: '5.3.4',
    text: `Message size exceeds fixed maximum message size of ${limitBytes} bytes`,
  };
}

/**
 * RFC 3463 X.6.0. A line longer than Haraka's data_line_length would be split by Haraka (it
 * inserts CR LF SP); kzymy refuses such a message rather than store altered bytes.
 */
export function lineTooLong(limitBytes: number): SmtpReply {
  return {
    code: 550,
    enhanced: '5.6.0',
    text: `Message has a line longer than ${limitBytes} bytes`,
  };
}

/** The one place a decision becomes a Haraka hook result. */
export function toHookResult(decision: Decision | undefined): {
  result: HookResult;
  msg?: DSN;
} {
  if (decision === undefined) return { result: HOOK_RESULT.CONT };
  const msg = decision.reply ? toDsn(decision.reply) : undefined;
  switch (decision.kind) {
    case 'accept':
      return msg ? { result: HOOK_RESULT.OK, msg } : { result: HOOK_RESULT.OK };
    case 'tempfail':
      return {
        result: decision.disconnect ? HOOK_RESULT.DENYSOFTDISCONNECT : HOOK_RESULT.DENYSOFT,
        msg: msg as DSN,
      };
    case 'reject':
      return { result: HOOK_RESULT.DENY, msg: msg as DSN };
  }
}

export function toDsn(reply: SmtpReply): DSN {
  return new DSN(reply.code, `${reply.enhanced} ${reply.text}`);
}

/** `451 4.3.0 ...` as one line, for logs and tests. */
export function formatReply(reply: SmtpReply): string {
  return `${reply.code} ${reply.enhanced} ${reply.text}`;
}
