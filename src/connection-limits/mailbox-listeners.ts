/**
 * The limits of the IMAP and POP3 listeners, built the same way for both protocols from the
 * `limits.imap` / `limits.pop3` section: one gate per listener (plain and TLS), one count of
 * logged-in sessions per user shared by the protocol's two listeners.
 */
import type { KzymyConfig } from '../config/schema';
import type { Logger } from '../log/logger';
import type { KzymyMetrics, ListenerName } from '../metrics/registry';
import { listenerGate, UserSessions, type ConnectionGate } from './gate';

/** A listener's limits: its gate, the command-line bound and the idle timeout. */
export interface MailboxListenerLimits {
  gate: ConnectionGate;
  /** The longest command line taken; a longer one is refused, never echoed. */
  maxCommandBytes: number;
  /** Silence after which a logged-in session is closed. */
  idleTimeoutMs: number;
  onTooLong(): void;
}

type MailboxProtocol = 'imap' | 'pop3';
type ListenerOf<P extends MailboxProtocol> = P extends 'imap' ? 'imap' | 'imaps' : 'pop3' | 'pop3s';

/** Returns the limits of each of the protocol's listeners; call it once per listener. */
export function mailboxListenerLimits<P extends MailboxProtocol>(
  protocol: P,
  deps: {
    config: Readonly<KzymyConfig>;
    metrics: Pick<KzymyMetrics, 'connectionLimited' | 'connectionsOpen'>;
    logger: Logger;
  },
): (listener: ListenerOf<P> & ListenerName) => MailboxListenerLimits {
  const limits = deps.config.limits[protocol];
  const users = new UserSessions(limits.maxSessionsPerUser);
  return (listener) => ({
    gate: listenerGate(
      listener,
      {
        maxConnections: limits.maxConnections,
        loginTimeoutMs: limits.loginTimeoutSeconds * 1000,
        users,
      },
      deps,
    ),
    maxCommandBytes: limits.maxCommandBytes,
    idleTimeoutMs: limits.idleTimeoutSeconds * 1000,
    onTooLong: () => deps.metrics.connectionLimited(listener, 'line_too_long'),
  });
}
