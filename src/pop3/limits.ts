/**
 * Bounded resources on the POP3 listeners (docs/threat-model.md, "Denial of service"):
 *
 * - a new socket is admitted to its listener's gate before TLS (src/connection-limits/gate.ts);
 * - the engine's read() keeps no part of a line that has not ended (it drops it: a command split
 *   across two packets lost its first half) and, were it kept, nothing would bound it: readBounded
 *   keeps it, up to `maxCommandBytes`, and ends the session on a longer line without echoing it;
 * - every read moves a connection that has not logged in to the back of the eviction order.
 */
import type { Socket } from 'node:net';
import type POP3Connection from '@zone-eu/wildduck/lib/pop3/connection';
import type { CloseReason, ConnectionGate, Ticket } from '../connection-limits/gate';
import type { MailboxListenerLimits } from '../connection-limits/mailbox-listeners';
import { errLine, POP3_REPLIES } from './replies';

/** The engine's socketTimeout is the idle timeout. */
export type Pop3ListenerLimits = MailboxListenerLimits;

/** An admitted socket's slot, and the connection built on it once there is one. */
export interface Pop3Slot {
  ticket: Ticket;
  connection?: Pick<POP3Connection, 'send' | 'close'>;
}

/**
 * Admits a newly accepted socket (before TLS); null when the listener is full of logged-in
 * sessions and the socket has been answered (RFC 3206 SYS/TEMP: try again later) and closed. An
 * implicit-TLS socket is closed without a word: nothing can be said before the handshake.
 */
export function admitSocket(
  gate: ConnectionGate,
  socket: Socket,
  secure: boolean,
): Pop3Slot | null {
  socket.on('error', () => undefined);
  // A reply is several writes (untagged lines, then the tagged or final one). With Nagle's
  // algorithm a later small write waits for the client's ACK of the first, which Linux delays by
  // up to 40 ms: measured, 40 ms on every LOGIN and SELECT. Replies go out as they are written.
  socket.setNoDelay(true);
  const slot: Partial<Pop3Slot> = {};
  const ticket = gate.admit((reason) => closeSlot(slot, socket, reason));
  if (!ticket) {
    if (secure) socket.destroy();
    else socket.end(`${errLine(POP3_REPLIES.listenerFull)}\r\n`);
    return null;
  }
  slot.ticket = ticket;
  socket.once('close', () => ticket.release());
  return slot as Pop3Slot;
}

function closeSlot(slot: Partial<Pop3Slot>, socket: Socket, reason: CloseReason): void {
  const connection = slot.connection;
  if (!connection) return void socket.destroy();
  connection.send(
    errLine(reason === 'login_timeout' ? POP3_REPLIES.loginTimeout : POP3_REPLIES.closedIdle),
  );
  connection.close();
}

/**
 * The engine's read() (lib/pop3/connection.js), with the unfinished line kept and bounded. Like
 * the engine's, it stops reading at the first chunk that completes a line, so a client that
 * pipelines faster than it is answered is held back by TCP rather than queued here.
 */
export function readBounded(
  connection: POP3Connection,
  limits: Pick<Pop3ListenerLimits, 'maxCommandBytes' | 'onTooLong'>,
  ticket: Ticket | undefined,
): void {
  let data = connection._remainder;
  let chunk: Buffer | null;
  while ((chunk = connection._socket.read() as Buffer | null) !== null) {
    ticket?.touch();
    data += chunk.toString('binary');
    if (data.indexOf('\n') < 0) {
      if (data.length > limits.maxCommandBytes) return tooLong(connection, limits);
      continue;
    }
    const lines = data.split(/\r?\n/);
    connection._remainder = lines.pop() ?? '';
    if (
      connection._remainder.length > limits.maxCommandBytes ||
      lines.some((line) => line.length > limits.maxCommandBytes)
    )
      return tooLong(connection, limits);
    connection.queue.push(...lines.map((line) => Buffer.from(line, 'binary').toString()));
    return connection.processQueue();
  }
  connection._remainder = data;
  connection.processing = false;
}

function tooLong(connection: POP3Connection, limits: Pick<Pop3ListenerLimits, 'onTooLong'>): void {
  limits.onTooLong();
  connection._remainder = '';
  connection.queue = [];
  // RFC 1939 §3 answers a command the server cannot take with -ERR; there is no telling where
  // the next command would begin, so the session ends.
  connection.send(errLine(POP3_REPLIES.lineTooLong));
  connection.close();
}
