/**
 * What the fetch loop needs from a mailbox, whichever protocol serves it. IMAP and POP3 differ
 * in one way that matters here: IMAP can delete a message at once (UID EXPUNGE), POP3 only at
 * QUIT, and QUIT also makes a kzymy server delete every message that was RETR'd in the session
 * (docs/fetching.md). So a session that hit a delivery failure is abandoned without QUIT, and
 * the local state file keeps what was delivered from being delivered again.
 */
import type { Wire } from './wire';

export interface RemoteMessage {
  /** Stable identity for the local state: `imap:<uidvalidity>:<uid>` or `pop3:<uidl>`. */
  key: string;
  /** Size the server announced (RFC822.SIZE / LIST), for the progress bar. */
  size: number;
}

export interface MailSession {
  /** Every message waiting, oldest first. */
  list(): Promise<RemoteMessage[]>;
  /** The whole message as the server holds it; `onBytes` reports progress. */
  fetch(message: RemoteMessage, onBytes?: (received: number) => void): Promise<Buffer>;
  /** Marks a message for deletion (IMAP \Deleted; POP3 DELE). */
  markDeleted(message: RemoteMessage): Promise<void>;
  /**
   * Removes marked messages now if the protocol can (IMAP UID EXPUNGE) and returns their keys;
   * POP3 returns [] — its deletions happen at commit().
   */
  expungeMarked(): Promise<string[]>;
  /** Ends the session normally (LOGOUT / QUIT): the server deletes what was marked and fetched. */
  commit(): Promise<string[]>;
  /** Drops the connection without LOGOUT/QUIT: the server deletes nothing in response. */
  abort(): void;
  /**
   * Waits for new mail (IMAP IDLE, RFC 2177) at most `maxMs`, or until `signal` fires. Resolves
   * true when the server announced new mail. Undefined when the protocol has no push.
   */
  waitForMail?(maxMs: number, signal: AbortSignal): Promise<boolean>;
}

/** Everything a protocol client needs to log in. */
export interface LoginInfo {
  wire: Wire;
  user: string;
  password: string;
  /** STARTTLS/STLS before login; null when the stream is already TLS or needs none (onion). */
  startTls: import('node:tls').ConnectionOptions | null;
  timeoutMs: number;
}
