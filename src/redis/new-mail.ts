/**
 * New-mail events between processes over Redis pub/sub: Haraka publishes after a message is
 * stored; every kzymy daemon subscribes and wakes its idling IMAP sessions. Events carry only the
 * owner's id and the UID — never content or addresses.
 */
import { Redis } from 'ioredis';

export interface NewMailEvent {
  userId: string;
  uid: number;
}

export function newMailChannel(prefix: string): string {
  return `${prefix}new-mail`;
}

export class NewMailPublisher {
  constructor(
    private readonly redis: Redis,
    private readonly prefix: string,
  ) {}

  async publish(event: NewMailEvent): Promise<void> {
    await this.redis.publish(newMailChannel(this.prefix), JSON.stringify(event));
  }
}

export type NewMailListener = (event: NewMailEvent) => void;

/** One subscriber connection per process, fanned out to local listeners. */
export class NewMailSubscriber {
  private readonly listeners = new Set<NewMailListener>();

  private constructor(private readonly redis: Redis) {}

  static async connect(url: string, prefix: string): Promise<NewMailSubscriber> {
    const redis = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: null });
    // ioredis reconnects and resubscribes by itself (a restarted Redis, src/embedded/supervisor.ts);
    // without a listener it would print every connection error, the server's address in it.
    redis.on('error', () => undefined);
    const subscriber = new NewMailSubscriber(redis);
    await redis.connect();
    await redis.subscribe(newMailChannel(prefix));
    redis.on('message', (_channel: string, payload: string) => subscriber.dispatch(payload));
    return subscriber;
  }

  on(listener: NewMailListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  async close(): Promise<void> {
    this.listeners.clear();
    await this.redis.quit().catch(() => undefined);
  }

  private dispatch(payload: string): void {
    let event: NewMailEvent;
    try {
      const parsed = JSON.parse(payload) as Partial<NewMailEvent>;
      if (typeof parsed.userId !== 'string' || typeof parsed.uid !== 'number') return;
      event = { userId: parsed.userId, uid: parsed.uid };
    } catch {
      return;
    }
    for (const listener of this.listeners) listener(event);
  }
}
