/**
 * The web listener's share of the connection limits (docs/threat-model.md, "Denial of service"):
 * at most `limits.web.maxConnections` sockets, and when full the least recently active one is
 * closed to make room (src/connection-limits/gate.ts; nobody logs in at the socket level, so
 * every socket can be pushed out). A request must arrive whole within
 * `limits.web.requestTimeoutSeconds` (Node's headersTimeout and requestTimeout), so a client that
 * sends its headers a byte at a time holds its socket no longer than that.
 */
import type { Server, ServerOptions } from 'node:http';
import type { Socket } from 'node:net';
import type { DaemonDeps } from '../daemon-deps';
import { listenerGate, type Ticket } from '../connection-limits/gate';

/** Node's own timeouts for the web listener, checked every second (Node's default: 30 s). */
export function webServerOptions(deps: Pick<DaemonDeps, 'config'>): ServerOptions {
  const ms = deps.config.limits.web.requestTimeoutSeconds * 1000;
  return { headersTimeout: ms, requestTimeout: ms, connectionsCheckingInterval: 1000 };
}

/** The connection cap: one gate on the server's sockets. */
export function limitConnections(server: Server, deps: DaemonDeps): void {
  const limits = deps.config.limits.web;
  const gate = listenerGate(
    'web',
    { maxConnections: limits.maxConnections, loginTimeoutMs: 0 },
    deps,
  );
  const tickets = new WeakMap<Socket, Ticket>();
  server.on('connection', (socket: Socket) => {
    const ticket = gate.admit(() => socket.destroy());
    if (!ticket) return void socket.destroy();
    tickets.set(socket, ticket);
    socket.once('close', () => ticket.release());
  });
  server.on('request', (request: { socket: Socket }) => tickets.get(request.socket)?.touch());
}
