/**
 * What the submission checks return: data, not replies (maddy's check results). One function,
 * toSmtpError, turns a refusal into what an smtp-server handler passes to its callback; nothing
 * else in src/submission picks an SMTP code.
 *
 * The client is the authenticated user herself (over Tor), so a reply may name her own mail
 * domain or her limits; it never quotes the message, a recipient, the relay's host or a cause.
 */
import type { SubmissionRefusal } from '../metrics/registry';

/** RFC 5321 §4.2 basic code plus RFC 3463 enhanced code and a client-safe text. */
export interface SmtpReply {
  code: number;
  /** RFC 3463 class.subject.detail, e.g. '5.7.1'. */
  enhanced: string;
  text: string;
}

/**
 * Why a submission was refused: a closed set, kept beside the metric it labels
 * (src/metrics/registry.ts, SUBMISSION_REFUSALS), as the SMTP refusal reasons are.
 */
export type Refusal = SubmissionRefusal;

export type Decision =
  | { kind: 'accept' }
  | { kind: 'refuse'; reply: SmtpReply; reason: Refusal; cause?: unknown };

export const ACCEPT: Decision = { kind: 'accept' };

export function refuse(reply: SmtpReply, reason: Refusal, cause?: unknown): Decision {
  return cause === undefined
    ? { kind: 'refuse', reply, reason }
    : { kind: 'refuse', reply, reason, cause };
}

/** The replies of the submission listener, in one table. */
export const REPLIES = {
  // RFC 3463 X.0.0 generic success; nothing about the message is kept once this is said.
  sent: { code: 250, enhanced: '2.0.0', text: 'Sent' },
  // RFC 3463 X.7.1 "Delivery not authorized, message refused".
  sendingOff: {
    code: 550,
    enhanced: '5.7.1',
    text: 'Sending is off for this account; turn it on in the account settings',
  },
  // RFC 5321 §4.2.3: 553 "mailbox name not allowed"; RFC 6409 §6.1 lets an MSA refuse a
  // sender the client is not entitled to.
  senderNotYours: {
    code: 553,
    enhanced: '5.7.1',
    text: 'The sender address must be under your own mail domain',
  },
  // RFC 3463 X.7.1. RFC 3156 §5 is the format: multipart/signed, application/pgp-signature.
  unsigned: {
    code: 550,
    enhanced: '5.7.1',
    text: 'Only messages signed with your key (PGP/MIME, RFC 3156) are sent; nothing was sent',
  },
  wrongKey: {
    code: 550,
    enhanced: '5.7.1',
    text: 'The message is signed with a key that is not the one on file; nothing was sent',
  },
  badSignature: {
    code: 550,
    enhanced: '5.7.1',
    text: 'The signature does not match the message (changed after signing?); nothing was sent',
  },
  staleSignature: {
    code: 550,
    enhanced: '5.7.1',
    text: 'The signature was not made within the last day (check the clock); nothing was sent',
  },
  // RFC 3463 X.6.0 "Other or undefined media error".
  malformed: {
    code: 550,
    enhanced: '5.6.0',
    text: 'The message could not be read as a MIME message; nothing was sent',
  },
  // RFC 3463 X.3.0 "Other or undefined mail system status"; RFC 5321 451 "local error".
  localError: {
    code: 451,
    enhanced: '4.3.0',
    text: 'Temporary local problem, nothing was sent; try again later',
  },
  // RFC 3463 X.4.1 "No answer from host": the relay was unreachable or timed out.
  relayUnavailable: {
    code: 451,
    enhanced: '4.4.1',
    text: 'The relay could not be reached; nothing was sent, try again later',
  },
  // RFC 3463 X.4.0 "Other or undefined network or routing status".
  relayDeferred: {
    code: 451,
    enhanced: '4.4.0',
    text: 'The relay deferred the message; nothing was sent, try again later',
  },
  relayRefused: {
    code: 554,
    enhanced: '5.0.0',
    text: 'The relay refused the message; nothing was sent',
  },
  // RFC 3463 X.1.0 "Other address status".
  relayRefusedRecipient: {
    code: 550,
    enhanced: '5.1.0',
    text: 'The relay refused a recipient; nothing was sent to anyone',
  },
  relayDeferredRecipient: {
    code: 451,
    enhanced: '4.1.0',
    text: 'The relay deferred a recipient; nothing was sent to anyone, try again later',
  },
} as const satisfies Record<string, SmtpReply>;

/** RFC 5321 §4.5.3.1.10: 452 for too many recipients; the client sends the rest later. */
export function tooManyRecipients(limit: number): SmtpReply {
  return { code: 452, enhanced: '4.5.3', text: `Too many recipients: at most ${limit} a message` };
}

/** From: RFC 5322 §3.6.2 allows a list; kzymy sends as exactly one address of hers. */
export function fromNotYours(mailDomain: string): SmtpReply {
  return {
    code: 550,
    enhanced: '5.7.1',
    text: `From must be exactly one address under ${mailDomain}; nothing was sent`,
  };
}

/** A field inside the signed part that kzymy would remove but cannot without the signature. */
export function identifyingSignedHeader(field: string): SmtpReply {
  return {
    code: 550,
    enhanced: '5.7.1',
    text: `The signed part carries a ${field} header, which kzymy cannot remove without breaking your signature; turn it off in your mail program or turn sign-as-nym off; nothing was sent`,
  };
}

/**
 * The hourly cap is temporary (4xx: a client that retries gets through later); the daily one
 * is permanent for today (5xx, X.4.5 as large mailbox providers answer it), so the user sees it
 * at once rather than after a day of retries.
 */
export function capReached(
  unit: 'messages' | 'recipients',
  per: 'hour' | 'day',
  limit: number,
): SmtpReply {
  const text = `Sending limit reached: ${limit} ${unit} ${per === 'hour' ? 'an hour' : 'a day'}; nothing was sent`;
  return per === 'hour'
    ? { code: 451, enhanced: '4.7.0', text: `${text}, try again later` }
    : { code: 550, enhanced: '5.4.5', text: `${text}, try again tomorrow` };
}

/** An Error smtp-server turns into the reply: `code enhanced text`. */
export interface SmtpServerError extends Error {
  responseCode: number;
}

/**
 * The one place a refusal becomes an SMTP reply. smtp-server hides its own enhanced status codes
 * (its default), so kzymy writes them itself, in front of the text.
 */
export function toSmtpError(reply: SmtpReply): SmtpServerError {
  return Object.assign(new Error(`${reply.enhanced} ${reply.text}`), { responseCode: reply.code });
}

/** The text of a success reply (smtp-server puts the code in front). */
export function successText(reply: SmtpReply): string {
  return `${reply.enhanced} ${reply.text}`;
}
