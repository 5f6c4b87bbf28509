/**
 * How many connections a listener holds at once, and what happens when it is full
 * (docs/threat-model.md, "Denial of service").
 *
 * A connection is admitted when it is accepted, before TLS and before a word is read, and holds
 * its slot until its socket closes. Until it logs in it must keep moving: it is closed when it has
 * not logged in within the login timeout, and when the listener is full a newcomer takes the slot
 * of the least recently active connection that has not logged in. So a flood of idle connections
 * cannot lock clients out: each new client pushes the flood's oldest connection out, and a client
 * is pushed out itself only after as many newer connections as the listener holds arrived while
 * it was still logging in. Only when every slot belongs to a logged-in session is a newcomer
 * refused. Nothing here knows or counts client addresses: kzymy's user listeners are reached over
 * Tor, where every client comes from 127.0.0.1.
 *
 * Logged-in sessions are also counted per user (one counter per protocol, shared by its plain and
 * TLS listeners): a login past the cap is refused, not queued, and the refusal can only be caused
 * by someone who knows the account's password.
 */
import type { Logger } from '../log/logger';
import type { KzymyMetrics, ListenerName } from '../metrics/registry';

/** Why the gate closes a connection it had admitted. */
export type CloseReason = 'evicted' | 'login_timeout';

/** What the gate reports, for metrics and logs. */
export type GateEvent = 'refused' | 'evicted' | 'login_timeout' | 'user_limit';

export interface GateOptions {
  maxConnections: number;
  /** A connection that has not logged in after this long is closed (0: never). */
  loginTimeoutMs: number;
  /** Sessions per user, shared with the protocol's other listener; absent: no per-user cap. */
  users?: UserSessions;
  onEvent?: (event: GateEvent) => void;
  /** The number of connections held, after every change (a gauge). */
  onSize?: (size: number) => void;
}

/** Logged-in sessions per user id, in this process. */
export class UserSessions {
  private readonly counts = new Map<string, number>();

  constructor(readonly maxPerUser: number) {}

  tryAdd(userId: string): boolean {
    const count = this.counts.get(userId) ?? 0;
    if (count >= this.maxPerUser) return false;
    this.counts.set(userId, count + 1);
    return true;
  }

  remove(userId: string): void {
    const count = (this.counts.get(userId) ?? 0) - 1;
    if (count > 0) this.counts.set(userId, count);
    else this.counts.delete(userId);
  }

  count(userId: string): number {
    return this.counts.get(userId) ?? 0;
  }
}

export class ConnectionGate {
  /** Not logged in, least recently active first (a Map keeps insertion order). */
  private readonly waiting = new Map<Ticket, true>();
  private readonly loggedIn = new Set<Ticket>();

  constructor(readonly options: GateOptions) {}

  get size(): number {
    return this.waiting.size + this.loggedIn.size;
  }

  /**
   * Takes a slot for a new connection, first closing the least recently active one that has not
   * logged in if the listener is full. Null when every slot is a logged-in session: the caller
   * refuses the newcomer. `close` is called at most once, when the gate closes the connection.
   */
  admit(close: (reason: CloseReason) => void): Ticket | null {
    if (this.size >= this.options.maxConnections) {
      const oldest = this.waiting.keys().next().value;
      if (!oldest) {
        this.options.onEvent?.('refused');
        return null;
      }
      this.options.onEvent?.('evicted');
      oldest.close('evicted');
    }
    const ticket = new Ticket(this, close);
    this.waiting.set(ticket, true);
    this.options.onSize?.(this.size);
    return ticket;
  }

  /** @internal Ticket's side of the bookkeeping. */
  moved(ticket: Ticket, to: 'waiting' | 'loggedIn' | 'gone'): void {
    this.waiting.delete(ticket);
    this.loggedIn.delete(ticket);
    if (to === 'waiting') this.waiting.set(ticket, true);
    if (to === 'loggedIn') this.loggedIn.add(ticket);
    if (to === 'gone') this.options.onSize?.(this.size);
  }
}

/** One admitted connection's slot. */
export class Ticket {
  private userId: string | null = null;
  private released = false;
  private closing = false;
  private readonly timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly gate: ConnectionGate,
    private readonly closeConnection: (reason: CloseReason) => void,
  ) {
    const ms = gate.options.loginTimeoutMs;
    if (ms > 0) {
      this.timer = setTimeout(() => {
        gate.options.onEvent?.('login_timeout');
        this.close('login_timeout');
      }, ms);
      this.timer.unref();
    }
  }

  get loggedIn(): boolean {
    return this.userId !== null;
  }

  /** The client sent something: before login, it moves to the back of the eviction order. */
  touch(): void {
    if (!this.released && this.userId === null) this.gate.moved(this, 'waiting');
  }

  /**
   * The connection logged in as `userId`. False when the user already has as many sessions as
   * allowed: the caller refuses the login and the connection stays as it was.
   */
  login(userId: string): boolean {
    if (this.released) return false;
    if (this.userId !== null) return true;
    const users = this.gate.options.users;
    if (users && !users.tryAdd(userId)) {
      this.gate.options.onEvent?.('user_limit');
      return false;
    }
    this.userId = userId;
    clearTimeout(this.timer);
    this.gate.moved(this, 'loggedIn');
    return true;
  }

  /** The connection has closed (idempotent): its slot and its user's session count are free. */
  release(): void {
    if (this.released) return;
    this.released = true;
    clearTimeout(this.timer);
    if (this.userId !== null) this.gate.options.users?.remove(this.userId);
    this.gate.moved(this, 'gone');
  }

  /** Frees the slot now and asks the connection to close (once). */
  close(reason: CloseReason): void {
    if (this.closing) return;
    this.closing = true;
    this.release();
    this.closeConnection(reason);
  }
}

/** A gate whose events are counted under the listener's name and logged (at debug). */
export function listenerGate(
  listener: ListenerName,
  options: Omit<GateOptions, 'onEvent' | 'onSize'>,
  report: { metrics: Pick<KzymyMetrics, 'connectionLimited' | 'connectionsOpen'>; logger: Logger },
): ConnectionGate {
  return new ConnectionGate({
    ...options,
    onEvent: (action) => {
      report.metrics.connectionLimited(listener, action);
      report.logger.debug('connection.limited', { listener, action });
    },
    onSize: (size) => report.metrics.connectionsOpen(listener, size),
  });
}
