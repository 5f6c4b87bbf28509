/**
 * The typed facade over WildDuck's POP3 engine (lib/pop3), with kzymy's subclasses.
 *
 * The engine's command parser, USER/PASS, AUTH PLAIN, STLS, STAT, RETR, TOP, DELE, RSET and NOOP
 * are used as they are. Replaced here:
 * - the greeting and connection log, which carry the client's IP (src/mailbox-access/engine-privacy);
 * - LIST and UIDL, which renumber the messages after a DELE ("1 2 3", DELE 1, LIST gives "1 2"
 *   for messages 2 and 3), where RFC 1939 §5 keeps every message's number for the session;
 * - RETR, to record a message as received once all of it is written (fetchedAt, docs/fetching.md);
 * - QUIT, the commit point: every message that was RETR'd or DELE'd is deleted, and the reply
 *   says if that failed (RFC 1939 §6: "-ERR some deleted messages not removed"), where the
 *   engine answered +OK regardless and deleted only DELE'd ones.
 */
import type { Socket } from 'node:net';
import POP3Connection from '@zone-eu/wildduck/lib/pop3/connection';
import POP3Server from '@zone-eu/wildduck/lib/pop3/server';
import { anonymousSocketOptions, silenceEngineErrorSink } from '../mailbox-access/engine-privacy';
import { settle } from '../mailbox-access/settle';
import { USER_TLS_POLICY, userTlsContext } from '../tls/policy';
import { admitSocket, readBounded, type Pop3ListenerLimits, type Pop3Slot } from './limits';
import { errLine, errText, POP3_REPLIES } from './replies';

type ListedMessage = POP3Connection.ListedMessage;
type Listing = POP3Connection.Listing;
type Pop3Session = POP3Connection.Pop3Session;
type Next = POP3Connection.Next;

export interface KzymyPop3Hooks {
  /** Whether USER/PASS and AUTH are allowed before STLS on this listener. */
  plaintextAuth: boolean;
  /** After RETR wrote a whole message: confirm it left, then mark it received. */
  received(connection: KzymyPop3Connection, message: ListedMessage): Promise<void>;
  /** QUIT in the TRANSACTION state: delete these messages. */
  commit(session: Pop3Session, messages: ListedMessage[]): Promise<number>;
  /** The connection has closed, after QUIT or not. */
  closed(connection: KzymyPop3Connection): void;
  onError(error: unknown): void;
}

export interface KzymyPop3ServerOptions {
  secure: boolean;
  key: Buffer;
  cert: Buffer;
  hooks: KzymyPop3Hooks;
  /** Connection, command-line and idle limits (src/pop3/limits.ts). */
  limits?: Pop3ListenerLimits;
}

type SocketOptions = { id: string; remoteAddress: string; slot?: Pop3Slot };

export class KzymyPop3Server extends POP3Server {
  readonly kzymy: KzymyPop3Hooks;
  readonly limits: Pop3ListenerLimits | undefined;

  constructor(options: KzymyPop3ServerOptions) {
    // The user-facing TLS policy, for the listener's context and the SNI callback's alike.
    const context = userTlsContext(options.key, options.cert);
    super({
      secure: options.secure,
      ignoreSTARTTLS: options.hooks.plaintextAuth,
      disableVersionString: true,
      key: options.key,
      cert: options.cert,
      ...USER_TLS_POLICY,
      SNICallback: (_servername, callback) => callback(null, context),
      id: { name: 'kzymy' },
      logger: false,
      ...(options.limits ? { socketTimeout: options.limits.idleTimeoutMs } : {}),
    });
    this.kzymy = options.hooks;
    this.limits = options.limits;
    // RETR, TOP and QUIT report to `loggelf`, which the engine does not define (pop3.js does).
    this.loggelf = () => undefined;
    silenceEngineErrorSink();
  }

  /** Also where a new socket is admitted to the listener, before TLS (src/pop3/limits.ts). */
  override _handleProxy(
    socket: Socket,
    callback: (error: Error | null, socketOptions: SocketOptions) => void,
  ): void {
    const socketOptions: SocketOptions = anonymousSocketOptions();
    if (this.limits) {
      const slot = admitSocket(this.limits.gate, socket, this.options.secure === true);
      if (!slot) return;
      socketOptions.slot = slot;
    }
    setImmediate(() => callback(null, socketOptions));
  }

  /** As the engine's, with kzymy's connection class, bound to its slot. */
  override connect(socket: Socket, socketOptions: SocketOptions): void {
    const connection = new KzymyPop3Connection(this, socket, socketOptions);
    if (socketOptions.slot) {
      socketOptions.slot.connection = connection;
      connection.slot = socketOptions.slot;
    }
    this.connections.add(connection);
    // The slot is freed when the socket closes (src/pop3/limits.ts admitSocket), but STLS takes
    // every listener off the socket (KzymyPop3Connection.upgrade): without these, a session that
    // used STLS kept its slot and its user's session count for good, and three STLS sessions
    // (maxSessionsPerUser) shut the owner out of POP3 until a restart. release() is idempotent.
    const release = (): void => socketOptions.slot?.ticket.release();
    connection.once('error', (error: Error) => {
      this.connections.delete(connection);
      release();
      this._onError(error);
    });
    connection.once('close', () => {
      this.connections.delete(connection);
      release();
      this.kzymy.closed(connection);
    });
    connection.init();
  }
}

/** How long a client has to complete the TLS handshake after STLS. */
const TLS_HANDSHAKE_MS = 30_000;

/** Unknown commands a session may send before it is closed. */
const MAX_UNKNOWN_COMMANDS = 10;

export class KzymyPop3Connection extends POP3Connection {
  /** QUIT reached the UPDATE state and its commit finished (successfully or not). */
  quitCommitted = false;
  /** The connection's place in its listener's gate (src/connection-limits/gate.ts). */
  slot: Pop3Slot | undefined;
  /** Messages RETR'd whole in this session. */
  received = 0;

  private get hooks(): KzymyPop3Hooks {
    return (this._server as KzymyPop3Server).kzymy;
  }

  /** Unknown commands so far in this session (see processQueue). */
  private unknownCommands = 0;

  /**
   * RFC 1939 §3: an unrecognized command gets "-ERR" and the session goes on. The engine closes
   * the connection instead, which breaks fetchmail's default POP3 poll: it sends the obsolete
   * LAST (RFC 1460) and, on -ERR, falls back to UIDL. A client sending nothing but unknown
   * commands is still cut off after MAX_UNKNOWN_COMMANDS.
   */
  override processQueue(): void {
    const line = this.queue[0];
    if (line !== undefined && typeof this._nextHandler !== 'function') {
      const name = (line.trim().split(' ')[0] ?? '').toUpperCase();
      const handler = (this as unknown as Record<string, unknown>)[`command_${name}`];
      if (typeof handler !== 'function') {
        this.queue.shift();
        this.unknownCommands++;
        this.send(errLine(POP3_REPLIES.unknownCommand));
        if (this.unknownCommands >= MAX_UNKNOWN_COMMANDS) {
          this.close();
          return;
        }
        this._resetSocketTimeout();
        this.processQueue();
        return;
      }
    }
    super.processQueue();
  }

  /** Bounded line reading (src/pop3/limits.ts readBounded). */
  override read(): void {
    const limits = (this._server as KzymyPop3Server).limits;
    if (!limits) return super.read();
    readBounded(this, limits, this.slot?.ticket);
  }

  /**
   * After a successful login: the per-user session cap (POP3_REPLIES.tooManySessions, RFC 2449
   * §8.1.2 IN-USE); the engine answers "-ERR <message>" and closes the connection.
   */
  override openMailbox(next: Next): void {
    const user = this.session ? this.session.user : undefined;
    const ticket = this.slot?.ticket;
    if (this.session && ticket && user && typeof user !== 'string' && !ticket.login(user.id)) {
      this.session.user = false;
      return next(new Error(errText(POP3_REPLIES.tooManySessions)));
    }
    super.openMailbox(next);
  }

  override init(): void {
    this._setListeners();
    // RFC 1939 §4: the greeting. No client address, no software version.
    this.send('+OK kzymy POP3 server ready');
  }

  override command_LIST(args: string, next: Next): void {
    const listing = this.listing();
    if (!listing) return this.refuse(next);
    if (args.trim()) {
      const found = this.numbered(listing, args);
      this.send(
        found ? `+OK ${found.index} ${found.message.size}` : errLine(POP3_REPLIES.noSuchMessage),
      );
      return next();
    }
    // RFC 1939 §5 LIST: one line per message not marked as deleted, under its own number.
    this.send([
      `+OK ${listing.count} messages (${listing.size} octets)`,
      ...numberedLines(listing, (message) => String(message.size)),
    ]);
    next();
  }

  override command_UIDL(args: string, next: Next): void {
    const listing = this.listing();
    if (!listing) return this.refuse(next);
    if (args.trim()) {
      const found = this.numbered(listing, args);
      this.send(
        found ? `+OK ${found.index} ${found.message.uidl}` : errLine(POP3_REPLIES.noSuchMessage),
      );
      return next();
    }
    this.send(['+OK', ...numberedLines(listing, (message) => message.uidl)]);
    next();
  }

  override command_RETR(args: string, next: Next): void {
    if (!this.numbersWellFormed(args))
      return next(new Error(errText(POP3_REPLIES.malformedCommand)));
    const listing = this.listing();
    const found = listing ? this.numbered(listing, args) : null;
    super.command_RETR(args, (error) => {
      if (error || !found?.message.fetched || !this.session) return next(error);
      settle(
        () => this.hooks.received(this, found.message),
        () => next(),
        (failure) => this.hooks.onError(failure),
      );
    });
  }

  override command_DELE(args: string, next: Next): void {
    if (!this.numbersWellFormed(args))
      return next(new Error(errText(POP3_REPLIES.malformedCommand)));
    super.command_DELE(args, next);
  }

  override command_TOP(args: string, next: Next): void {
    if (!this.numbersWellFormed(args))
      return next(new Error(errText(POP3_REPLIES.malformedCommand)));
    super.command_TOP(args, next);
  }

  override command_QUIT(): void {
    const session = this.session;
    const listing = session ? session.listing : undefined;
    if (!session || session.state !== 'TRANSACTION' || !listing) {
      this.session = false;
      this.send('+OK kzymy signing off');
      this.close();
      return;
    }
    // RFC 1939 §6: QUIT in the TRANSACTION state enters UPDATE and removes what is marked.
    session.state = 'UPDATE';
    const doomed = listing.messages.filter((message) => message.popped || message.fetched);
    settle(
      () => this.hooks.commit(session, doomed),
      (outcome) => {
        this.quitCommitted = true;
        this.session = false;
        if (outcome.ok) this.send(`+OK kzymy signing off (${outcome.value} messages deleted)`);
        else this.send(errLine(POP3_REPLIES.notRemoved));
        this.close();
      },
      (failure) => this.hooks.onError(failure),
    );
  }

  /** RFC 2595 §4: STLS only in the AUTHORIZATION state; the engine took it in any state. */
  override command_STLS(args: string, next: Next): void {
    if (this.session && this.session.state !== 'AUTHORIZATION') {
      this.send(errLine(POP3_REPLIES.stlsAfterLogin));
      return next();
    }
    super.command_STLS(args, next);
  }

  /**
   * RFC 2595 §4 STLS. The engine takes every listener off the socket for the handshake and
   * ends the connection only when the handshake succeeds or the socket fails with an error: a
   * client that said STLS and then closed cleanly (or never started the handshake) left a
   * connection that never closed, with no timeout, still counted by the server (found by
   * fuzzing, docs/fuzzing.md). Here the socket closing, or the handshake taking longer than
   * TLS_HANDSHAKE_MS, ends it like a reset.
   */
  override upgrade(callback: (error?: Error | null) => void): void {
    const raw = this._socket;
    let settled = false;
    const abandon = (): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      raw.destroy();
      // The engine treats ECONNRESET as the client's going: it closes without an error report.
      callback(
        Object.assign(new Error('Socket closed while initiating TLS'), { code: 'ECONNRESET' }),
      );
    };
    const timer = setTimeout(abandon, TLS_HANDSHAKE_MS);
    super.upgrade((error) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      raw.removeListener('close', abandon);
      callback(error);
    });
    // After super.upgrade, which removes every listener from the socket.
    raw.once('close', abandon);
  }

  /** The socket the connection writes to now (after STLS, the TLS socket). */
  currentSocket(): Socket {
    return this._socket;
  }

  private listing(): Listing | null {
    const session = this.session;
    return session && session.state === 'TRANSACTION' && session.listing ? session.listing : null;
  }

  private refuse(next: Next): void {
    this.send(errLine(POP3_REPLIES.notAccepted));
    next();
  }

  /**
   * RFC 1939 §3: a message number (and TOP's line count) is a decimal number. The engine reads
   * them with Number(), so "RETR 1.5" looked up message 0.5, found none, and the TypeError that
   * followed escaped its socket handler and ended the whole process (found by fuzzing,
   * docs/fuzzing.md). Malformed arguments get the engine's own answer for them (-ERR, close);
   * outside the TRANSACTION state the engine's state check answers first, as before.
   */
  private numbersWellFormed(args: string): boolean {
    if (!this.listing()) return true;
    return args
      .trim()
      .split(' ')
      .every((part) => /^[0-9]{1,10}$/.test(part));
  }

  /** A message by its number (RFC 1939 §3 msg), unless it does not exist or is marked deleted. */
  private numbered(
    listing: Listing,
    args: string,
  ): { index: number; message: ListedMessage } | null {
    const text = args.trim();
    if (!/^[1-9][0-9]{0,8}$/.test(text)) return null;
    const index = Number(text);
    const message = listing.messages[index - 1];
    return message && !message.popped ? { index, message } : null;
  }
}

function numberedLines(listing: Listing, value: (message: ListedMessage) => string): string[] {
  const lines: string[] = [];
  listing.messages.forEach((message, i) => {
    if (!message.popped) lines.push(`${i + 1} ${value(message)}`);
  });
  return lines;
}
