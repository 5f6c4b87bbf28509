/**
 * What both WildDuck engines (imap-core and lib/pop3) would otherwise reveal about clients.
 *
 * - Each reads the peer address from the socket, puts it in its greeting ("ready for requests
 *   from <IP>"), its log lines and its error reports; imap-core also reverse-resolves it with
 *   dns.reverse. The servers in src/imap and src/pop3 hand the engines ANONYMOUS_PEER instead,
 *   through their `_handleProxy` hook; dns.reverse rejects it synchronously, so no lookup runs.
 * - Protocol errors (a BAD command, a TLS failure) go to lib/errors.js, whose default sink
 *   prints the whole report, `_remoteAddress` / `ip` included, to stderr.
 */
import { randomBytes } from 'node:crypto';
import engineErrors from '@zone-eu/wildduck/lib/errors';

/** What the engines are told the client's address is. Never an IP, never resolvable. */
export const ANONYMOUS_PEER = 'anonymous';

/** Socket options for a new connection: a random session id and no address. */
export function anonymousSocketOptions(): { id: string; remoteAddress: string } {
  return { id: randomBytes(8).toString('hex'), remoteAddress: ANONYMOUS_PEER };
}

let sinkSilenced = false;

/** Replaces lib/errors.js's sink (process-wide, once): kzymy logs errors itself, safely. */
export function silenceEngineErrorSink(): void {
  if (sinkSilenced) return;
  sinkSilenced = true;
  engineErrors.setGelf({ emit: () => undefined });
}
