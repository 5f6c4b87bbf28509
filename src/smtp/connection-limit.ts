/**
 * How many SMTP connections Haraka holds (docs/threat-model.md, "Denial of service"). Haraka 3.3.4
 * has no limit of its own (smtp.ini has no max_connections; haraka-plugin-limit keeps its
 * per-address counters in Redis, which would put sending hosts' addresses there), so kzymy counts
 * in the SMTP process's memory, from the `connect` hook to the socket's close:
 *
 * - at most `maxConnectionsPerHost` at once from one address (a sending MTA opens a few; a flood
 *   from one host is refused with 421 and the MTA retries later);
 * - at most `maxConnections` in all; when full, the least recently active connection that has no
 *   transaction and waits for a command is closed with 421 to make room (an MTA retries; RFC 5321
 *   §3.8), and only when none is idle is the newcomer refused.
 *
 * The addresses live in a Map for as long as their connections are open, and nowhere else.
 */
import type { Logger } from '../log/logger';
import type { KzymyMetrics } from '../metrics/registry';
import { REPLIES, tempfailAndClose, type Decision } from './decision';
import { CONNECTION_STATE, type HarakaConnection } from './haraka/api';

export interface SmtpLimits {
  maxConnections: number;
  /** 0: no per-host limit. */
  maxConnectionsPerHost: number;
}

export class SmtpConnectionLimit {
  /** Open connections, least recently active first, with the host each is counted under. */
  private readonly open = new Map<HarakaConnection, string>();
  private readonly perHost = new Map<string, number>();

  constructor(
    private readonly limits: SmtpLimits,
    private readonly report: {
      metrics: Pick<KzymyMetrics, 'connectionLimited' | 'connectionsOpen'>;
      logger: Logger;
    },
  ) {}

  get size(): number {
    return this.open.size;
  }

  /** The `connect` hook: admit the connection, or a decision that refuses it and hangs up. */
  admit(connection: HarakaConnection): Decision | undefined {
    const host = connection.remote.ip ?? '';
    const fromHost = this.perHost.get(host) ?? 0;
    if (this.limits.maxConnectionsPerHost > 0 && fromHost >= this.limits.maxConnectionsPerHost) {
      this.event('host_limit');
      return tempfailAndClose(REPLIES.hostBusy, true);
    }
    if (this.open.size >= this.limits.maxConnections) {
      const idle = this.leastRecentlyActiveIdle();
      if (!idle) {
        this.event('refused');
        return tempfailAndClose(REPLIES.serverBusy, false);
      }
      this.event('evicted');
      this.release(idle);
      const reply = REPLIES.idleClosed;
      idle.respond(reply.code, `${reply.enhanced} ${reply.text}`, () => idle.disconnect());
    }
    this.open.set(connection, host);
    this.perHost.set(host, fromHost + 1);
    connection.client.once('close', () => this.release(connection));
    this.report.metrics.connectionsOpen('smtp', this.open.size);
    return undefined;
  }

  /** The client did something (a transaction began): it moves to the back of the order. */
  touch(connection: HarakaConnection): void {
    const host = this.open.get(connection);
    if (host === undefined) return;
    this.open.delete(connection);
    this.open.set(connection, host);
  }

  private release(connection: HarakaConnection): void {
    const host = this.open.get(connection);
    if (host === undefined) return;
    this.open.delete(connection);
    const left = (this.perHost.get(host) ?? 1) - 1;
    if (left > 0) this.perHost.set(host, left);
    else this.perHost.delete(host);
    this.report.metrics.connectionsOpen('smtp', this.open.size);
  }

  /** Waiting for a command with no transaction open: nothing is lost by closing it. */
  private leastRecentlyActiveIdle(): HarakaConnection | undefined {
    for (const connection of this.open.keys()) {
      if (connection.transaction === null && connection.state === CONNECTION_STATE.CMD)
        return connection;
    }
    return undefined;
  }

  private event(action: 'host_limit' | 'refused' | 'evicted'): void {
    this.report.metrics.connectionLimited('smtp', action);
    this.report.logger.debug('connection.limited', { listener: 'smtp', action });
  }
}
