/**
 * Idle connections by the dozen, as a flood would open them: plain TCP sockets that connect and
 * never say a word (not even a TLS ClientHello). The tests then check that a real client is still
 * served, and how many of the flood the listener kept.
 */
import { connect, type Socket } from 'node:net';
import type { KzymyMetrics } from '../../src/metrics/registry';

export class Flood {
  private constructor(
    readonly sockets: Socket[],
    private readonly closedSockets: Set<Socket>,
    /** What the server wrote to each socket before closing it (its greeting and its goodbye). */
    readonly received: Map<Socket, string>,
  ) {}

  /** Opens `count` idle connections, one after another, each once connected. */
  static async open(port: number, count: number): Promise<Flood> {
    const sockets: Socket[] = [];
    const closed = new Set<Socket>();
    const received = new Map<Socket, string>();
    for (let i = 0; i < count; i++) {
      const socket = connect({ host: '127.0.0.1', port });
      socket.on('error', () => undefined);
      socket.on('data', (chunk: Buffer) =>
        received.set(socket, (received.get(socket) ?? '') + chunk.toString('latin1')),
      );
      socket.once('close', () => closed.add(socket));
      await new Promise<void>((resolve) => {
        socket.once('connect', () => resolve());
        socket.once('close', () => resolve());
      });
      sockets.push(socket);
    }
    return new Flood(sockets, closed, received);
  }

  get closed(): number {
    return this.closedSockets.size;
  }

  get open(): number {
    return this.sockets.length - this.closedSockets.size;
  }

  /** Resolves once `test` holds for the number of sockets the server has closed. */
  async closedUntil(test: (closed: number) => boolean, timeoutMs = 10_000): Promise<number> {
    const deadline = Date.now() + timeoutMs;
    while (!test(this.closed)) {
      if (Date.now() > deadline)
        throw new Error(`flood: ${this.closed} of ${this.sockets.length} closed, not as expected`);
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    return this.closed;
  }

  destroy(): void {
    for (const socket of this.sockets) socket.destroy();
  }
}

/** The value of kzymy_connection_limits_total for one listener and action. */
export async function limitCount(
  metrics: KzymyMetrics,
  listener: string,
  action: string,
): Promise<number> {
  const metric = metrics.registry.getSingleMetric('kzymy_connection_limits_total');
  const data = await metric?.get();
  return (
    data?.values.find((v) => v.labels.listener === listener && v.labels.action === action)?.value ??
    0
  );
}

/** kzymy_connections_open for one listener: what its gate holds now. */
export async function openCount(metrics: KzymyMetrics, listener: string): Promise<number> {
  const metric = metrics.registry.getSingleMetric('kzymy_connections_open');
  const data = await metric?.get();
  return data?.values.find((v) => v.labels.listener === listener)?.value ?? 0;
}

/** Resolves once the listener's gate holds `count` connections (a close is seen a moment later). */
export async function untilOpen(
  metrics: KzymyMetrics,
  listener: string,
  count: number,
  timeoutMs = 10_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while ((await openCount(metrics, listener)) !== count) {
    if (Date.now() > deadline)
      throw new Error(`${listener}: ${await openCount(metrics, listener)} open, not ${count}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}
