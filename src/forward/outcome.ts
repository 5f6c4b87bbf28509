/**
 * The one decision type of the forwarding edge: what became of one message sent to the
 * destination. Everything the SMTP client, the proxy or DNS can report maps to one of three, by
 * the reply's first digit (RFC 5321 §4.2.1): 2yz delivered, 4yz try again later, 5yz never again.
 * No reply text is kept: it can quote the destination address.
 */

/** Why an attempt is to be retried; a closed set, so it can be logged and counted. */
export const DEFER_REASONS = [
  'dns',
  'proxy',
  'connect',
  'timeout',
  'tls',
  'protocol',
  'reply',
  'private-host',
] as const;
export type DeferReason = (typeof DEFER_REASONS)[number];

export type SendOutcome =
  /** The destination answered 250 to the data: the commit point. */
  | { kind: 'delivered' }
  /** A 4yz reply, or no reply at all: nothing was lost, the message is tried again later. */
  | { kind: 'deferred'; reason: DeferReason; code: number | null }
  /** A 5yz reply: the message stays for pickup, and the user is shown why. */
  | { kind: 'refused'; code: number; status: string | null };

/** RFC 3463 §2: class.subject.detail right after the reply code. */
const ENHANCED = /^\d{3}[ -]([245]\.\d{1,3}\.\d{1,3})\b/;

/** Maps a failed nodemailer call (SMTPConnection's error) to an outcome. */
export function outcomeOfError(error: unknown): SendOutcome {
  const e = error as { responseCode?: unknown; response?: unknown; code?: unknown };
  const code = typeof e.responseCode === 'number' ? e.responseCode : null;
  if (code !== null && code >= 500 && code <= 599) {
    const status = typeof e.response === 'string' ? (ENHANCED.exec(e.response)?.[1] ?? null) : null;
    return { kind: 'refused', code, status: status?.startsWith('5.') ? status : null };
  }
  if (code !== null && code >= 400 && code <= 499)
    return { kind: 'deferred', reason: 'reply', code };
  const kind = typeof e.code === 'string' ? e.code : '';
  const reason: DeferReason =
    kind === 'ETIMEDOUT'
      ? 'timeout'
      : kind === 'ETLS'
        ? 'tls'
        : kind === 'ECONNECTION' || kind === 'ESOCKET'
          ? 'connect'
          : 'protocol';
  return { kind: 'deferred', reason, code };
}

/** How the reply reads on the account page and in `kzymy user`: "550 5.1.1". */
export function formatReply(failure: { code: number; status: string | null }): string {
  return failure.status ? `${failure.code} ${failure.status}` : String(failure.code);
}
