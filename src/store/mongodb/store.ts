/** The MongoDB engine: opens the database, applies the indexes, hands out the collections. */
import { MongoClient } from 'mongodb';
import type { Store } from '../store';
import { MongoForwardClaims } from './forwards';
import { applyIndexes } from './indexes';
import { MongoMessageStore, type UsageCache, type UserLock } from './messages';
import { MongoUserStore } from './users';

/**
 * Every write waits until it is in the journal of a majority of the replica set: SMTP says 250
 * only after the commit write returns, and a message once accepted must survive a crash or a
 * failover (docs/threat-model.md, "Fail closed"). MongoDB's default is weaker where it matters: a standalone
 * server acknowledges w:1 before its journal is flushed (up to 100 ms later), and a write
 * acknowledged by one member can be rolled back after a failover — a commit that survived while a
 * chunk it names did not would be a message that cannot be read. The embedded FerretDB commits
 * each write to SQLite with a full sync anyway.
 */
export const DURABLE_WRITES = { w: 'majority', journal: true } as const;

export interface MongoStoreOptions {
  url: string;
  database: string;
  clock?: () => Date;
  /** How long to wait for the server before an operation fails (and SMTP answers 4xx). */
  serverSelectionTimeoutMs?: number;
  /**
   * Orders UID allocation and the metadata write per user. Processes that store mail (the SMTP
   * nodes) pass a lock shared through Redis, so that messages become visible in UID order; the
   * default only orders the writes of this process.
   */
  userLock?: UserLock;
  /** Every process that stores or deletes mail passes the shared cache of stored bytes. */
  usage?: UsageCache;
}

export class MongoStore implements Store {
  readonly engine = 'mongodb';

  private constructor(
    private readonly client: MongoClient,
    readonly users: MongoUserStore,
    readonly messages: MongoMessageStore,
    readonly forwards: MongoForwardClaims,
  ) {}

  static async open(options: MongoStoreOptions): Promise<MongoStore> {
    const client = new MongoClient(options.url, {
      serverSelectionTimeoutMS: options.serverSelectionTimeoutMs ?? 5000,
      // The driver would otherwise send the application name and OS details in its handshake.
      appName: 'kzymy',
      writeConcern: DURABLE_WRITES,
    });
    await client.connect();
    const db = client.db(options.database);
    await applyIndexes(db);
    const clock = options.clock ?? (() => new Date());
    const users = new MongoUserStore(db, clock);
    const messages = new MongoMessageStore(db, users, options.userLock, options.usage);
    return new MongoStore(client, users, messages, new MongoForwardClaims(db, clock));
  }

  /**
   * Purges a user: every message and chunk, then the user document with its address policy and
   * forwarding setting, then her forwarding leases and refusals.
   */
  async deleteUser(userId: string): Promise<boolean> {
    // First stop new mail (UIDs are only allocated to active users), then purge, remove the
    // user, and purge once more for a delivery that had its UID before the state changed.
    if (!(await this.users.markDeleting(userId))) return false;
    await this.messages.purgeUser(userId);
    const removed = await this.users.removeDocument(userId);
    await this.messages.purgeUser(userId);
    await this.forwards.purgeUser(userId);
    return removed;
  }

  async ping(): Promise<void> {
    await this.client.db('admin').command({ ping: 1 });
  }

  async close(): Promise<void> {
    await this.messages.flush();
    await this.client.close();
  }
}
