/**
 * Bounded resources on the IMAP listeners (docs/threat-model.md, "Denial of service"), around
 * what imap-core does by itself:
 *
 * - imap-core keeps an unfinished command line in memory whole, however long, and re-reads it
 *   on every packet: BoundedImapStream stops keeping it past `maxCommandBytes`, skips the rest of
 *   that line and answers one short BAD;
 * - it answers an unknown command with `<tag> BAD Unknown command: <command>`, echoing whatever
 *   the client sent as a command name (a megabyte, if that is what came): a name longer than any
 *   IMAP command is answered here without the echo, as is a tag too long to be one;
 * - a command may carry any number of small literals, each kept until the command ends: the
 *   bytes of one command, literals included, are bounded too (past the bound the session ends);
 * - every command moves the connection to the back of the listener's eviction order
 *   (src/connection-limits/gate.ts).
 */
import type { Socket } from 'node:net';
import type { IMAPConnection } from '@zone-eu/wildduck/imap-core';
import {
  IMAPStream,
  type StreamCommand,
  type StreamCallback,
} from '@zone-eu/wildduck/imap-core/lib/imap-stream';
import type { CloseReason, ConnectionGate, Ticket } from '../connection-limits/gate';
import type { MailboxListenerLimits } from '../connection-limits/mailbox-listeners';
import { IMAP_REPLIES, imapLine } from './replies';

/** Longer than "AUTHENTICATE PLAIN-CLIENTTOKEN" (30), the longest command name imap-core knows. */
const MAX_COMMAND_NAME = 32;
/** RFC 3501 §9 puts no bound on a tag; no client sends one of more than a few characters. */
const MAX_TAG = 64;
/** imap-core's own bound on protocol errors per session (imap-command.js MAX_BAD_COMMANDS). */
const MAX_BAD_COMMANDS = 50;

/** The engine's reading of a command line's tag and name (imap-command.js append). */
const COMMAND_START = /^([^\s]+)(?:\s+((?:AUTHENTICATE |UID )?[^\s]+)|$)/i;

export interface ImapLineLimits {
  maxCommandBytes: number;
  onTooLong(): void;
}

/** imap-core's socketTimeout is the idle timeout. */
export type ImapListenerLimits = MailboxListenerLimits;

/** An admitted socket's slot, and the connection built on it once there is one. */
export interface ImapSlot {
  ticket: Ticket;
  connection?: IMAPConnection;
}

/**
 * Admits a newly accepted socket (before TLS). Null when the listener is full of logged-in
 * sessions: the socket has been answered and closed. RFC 3501 §7.1.5: BYE may be the greeting
 * of a server that will not serve the connection; on an implicit-TLS listener nothing can be said
 * before the handshake, so the socket is closed.
 */
export function admitSocket(
  gate: ConnectionGate,
  socket: Socket,
  secure: boolean,
): ImapSlot | null {
  socket.on('error', () => undefined);
  // A reply is several writes (untagged lines, then the tagged or final one). With Nagle's
  // algorithm a later small write waits for the client's ACK of the first, which Linux delays by
  // up to 40 ms: measured, 40 ms on every LOGIN and SELECT. Replies go out as they are written.
  socket.setNoDelay(true);
  const slot: Partial<ImapSlot> = {};
  const ticket = gate.admit((reason) => closeSlot(slot, socket, reason));
  if (!ticket) {
    if (secure) socket.destroy();
    else socket.end(`${imapLine(IMAP_REPLIES.listenerFull)}\r\n`);
    return null;
  }
  slot.ticket = ticket;
  socket.once('close', () => ticket.release());
  return slot as ImapSlot;
}

function closeSlot(slot: Partial<ImapSlot>, socket: Socket, reason: CloseReason): void {
  const connection = slot.connection;
  // Not yet a connection: an implicit-TLS handshake that never finished.
  if (!connection) return void socket.destroy();
  connection.send(
    imapLine(reason === 'login_timeout' ? IMAP_REPLIES.loginTimeout : IMAP_REPLIES.closedIdle),
  );
  connection.close();
}

/** The slot each connection holds, for the login handler (src/imap/auth.ts). */
const tickets = new WeakMap<IMAPConnection, Ticket>();

export function ticketOf(connection: IMAPConnection | null): Ticket | undefined {
  return connection ? tickets.get(connection) : undefined;
}

/** Binds a new connection to its slot and bounds its command lines (before init()). */
export function attachSlot(
  connection: IMAPConnection,
  slot: ImapSlot,
  limits: ImapLineLimits,
): void {
  slot.connection = connection;
  tickets.set(connection, slot.ticket);
  const parser = new BoundedImapStream(connection, limits);
  connection._parser = parser;
  guardCommands(connection, parser, slot.ticket, limits);
}

/** imap-core's IMAPStream, keeping at most `maxCommandBytes` of an unfinished line. */
export class BoundedImapStream extends IMAPStream {
  /** Skipping the rest of an over-long line until its LF; holds the line's first bytes. */
  private skipping: string | null = null;

  constructor(
    private readonly connection: IMAPConnection,
    private readonly limits: ImapLineLimits,
  ) {
    super();
  }

  override _write(
    chunk: Buffer,
    encoding: BufferEncoding,
    done: (error?: Error | null) => void,
  ): void {
    if (this.skipping !== null) {
      const lf = chunk.indexOf(0x0a);
      if (lf < 0) return done();
      const head = this.skipping;
      this.skipping = null;
      this.refuseLine(head);
      chunk = chunk.subarray(lf + 1);
      if (chunk.length === 0) return done();
    }
    super._write(chunk, encoding, (error) => {
      // In literal mode the engine counts the bytes it expects (bounded by imap-core: 1 KiB, or
      // the message size for APPEND); the unfinished line is what must not grow.
      if (!error && this._expecting === 0 && this._remainder.length > this.limits.maxCommandBytes) {
        this.skipping = this._remainder.slice(0, MAX_TAG + 1);
        this._remainder = '';
      }
      done(error);
    });
  }

  private refuseLine(head: string): void {
    this.limits.onTooLong();
    refuseLongLine(this.connection, head);
  }
}

/** RFC 3501 §7.1.3: BAD for a command the server cannot accept; tagged when the tag is sane. */
function refuseLongLine(connection: IMAPConnection, head: string): void {
  const tag = /^[^\s(){%*"\\\]+]{1,64}(?=\s)/.exec(head)?.[0];
  // The command this line belonged to (if it began before a literal) is abandoned with it.
  connection._currentCommand = false;
  connection.send(imapLine(IMAP_REPLIES.lineTooLong, tag));
  countBad(connection);
}

/**
 * Wraps the connection's command handler: answers an over-long tag or command name without
 * echoing it, bounds the bytes of one command across its literals, and touches the ticket.
 */
export function guardCommands(
  connection: IMAPConnection,
  parser: IMAPStream,
  ticket: Ticket | undefined,
  limits: ImapLineLimits,
): void {
  const { maxCommandBytes } = limits;
  const handle = connection._onCommand.bind(connection);
  let commandBytes = 0;
  parser.oncommand = (command: StreamCommand, callback?: StreamCallback) => {
    ticket?.touch();
    if (command.value.length > maxCommandBytes) {
      // A long line that arrived with its LF in the same read as the rest of it.
      limits.onTooLong();
      refuseLongLine(connection, command.value.slice(0, MAX_TAG + 1));
      callback?.(command.final ? null : new Error('Command line too long'));
      return;
    }
    const fresh = !connection._currentCommand && typeof connection._nextHandler !== 'function';
    if (fresh) commandBytes = 0;
    commandBytes += command.value.length + (command.expecting ?? 0);
    if (commandBytes > maxCommandBytes) {
      // Literals have been sent already; there is no safe point to resume the session at.
      connection.send(imapLine(IMAP_REPLIES.commandTooLong));
      connection.close();
      return;
    }
    if (fresh) {
      const match = COMMAND_START.exec(command.value);
      const tag = match?.[1] ?? '';
      const name = (match?.[2] ?? '').trim();
      if (tag.length > MAX_TAG || name.length > MAX_COMMAND_NAME) {
        connection.send(
          tag.length > MAX_TAG
            ? imapLine(IMAP_REPLIES.invalidTag)
            : imapLine(IMAP_REPLIES.unknownCommand, tag),
        );
        countBad(connection);
        // As the engine does for an unknown command: a literal announced with it is not awaited.
        callback?.(command.final ? null : new Error('Unknown command'));
        return;
      }
    }
    handle(command, callback);
  };
}

/** imap-command.js countBadResponses: too many protocol errors end the session. */
function countBad(connection: IMAPConnection): void {
  connection._badCount = (connection._badCount ?? 0) + 1;
  if (connection._badCount > MAX_BAD_COMMANDS) {
    connection.send(imapLine(IMAP_REPLIES.tooManyErrors));
    setImmediate(() => connection.close(true));
  }
}
