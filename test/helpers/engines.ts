/**
 * The store conformance suite's harness: `forEachEngine` runs a block of tests once per engine,
 * each on a database of its own — a new SQLite file under the run's data directory, or a new
 * database on the run's FerretDB. A test opens as many stores on one database as it needs (two
 * SMTP nodes and a daemon are three stores), each wired as production wires it (on mongodb: the
 * quota cache in Redis, and the shared UID lock for stores that deliver), and looks at what is
 * stored through the engine's own view of its tables, to check that nothing is left behind.
 */
import { randomBytes } from 'node:crypto';
import Database from 'better-sqlite3';
import type { Redis } from 'ioredis';
import { MongoClient, ObjectId } from 'mongodb';
import type { KzymyConfig, StoreEngineName } from '../../src/config/schema';
import { sqliteStoreFile } from '../../src/embedded/paths';
import { connectRedis } from '../../src/redis/connection';
import { redisUsageCache } from '../../src/redis/usage-cache';
import { redisUserLock } from '../../src/redis/user-lock';
import { openStore } from '../../src/store/open';
import type { Store } from '../../src/store/store';
import { testMongoUrl, testRedisUrl, uniqueDatabaseName, uniqueSqliteFile } from './services';

export const ENGINES: readonly StoreEngineName[] = ['sqlite', 'mongodb'];

/** What is stored, counted where the engine keeps it. */
export interface RawCounts {
  users: number;
  messages: number;
  /** Pieces of ciphertext (rows on sqlite, chunk documents on mongodb). */
  chunks: number;
}

export interface TestDatabase {
  engine: StoreEngineName;
  /** sqlite: the file; mongodb: the database name. */
  where: string;
  /**
   * Another store on this database: another process, as far as the store can tell. `delivers`:
   * an SMTP node's (on mongodb it then takes the shared per-user UID lock). `clock`: the
   * store's idea of now (the forwarding claims' lease times).
   */
  open(options?: { delivers?: boolean; clock?: () => Date }): Promise<Store>;
  /** Counts of everything stored. */
  counts(): Promise<RawCounts>;
  /** Pieces of ciphertext of the user's messages, or of no message at all (left behind). */
  chunksOf(userId: string): Promise<number>;
  /** Every stored value as text, to search for what must not be there any more. */
  dump(): Promise<string>;
  /** Lets go of what the harness itself holds (not the stores a test opened). */
  close(): Promise<void>;
}

export function testDatabase(engine: StoreEngineName): TestDatabase {
  return existingDatabase(engine, engine === 'sqlite' ? uniqueSqliteFile() : uniqueDatabaseName());
}

/** The database a process with this config uses. */
export function configuredDatabase(config: Readonly<KzymyConfig>): TestDatabase {
  return existingDatabase(
    config.store.engine,
    config.store.engine === 'sqlite' ? sqliteStoreFile(config.dataDir) : config.mongodb.database,
  );
}

/** A database some other part of a test created: a sqlite file, or a database on the FerretDB. */
export function existingDatabase(engine: StoreEngineName, where: string): TestDatabase {
  return engine === 'sqlite' ? sqliteDatabase(where) : mongoDatabase(where);
}

/** Runs `body` once per engine, inside a describe block named after it. */
export function forEachEngine(body: (engine: StoreEngineName) => void): void {
  for (const engine of ENGINES) describe(`[${engine}]`, () => body(engine));
}

function sqliteDatabase(file: string): TestDatabase {
  const query = <T>(run: (db: Database.Database) => T): T => {
    const db = new Database(file, { readonly: true, fileMustExist: true });
    try {
      return run(db);
    } finally {
      db.close();
    }
  };
  return {
    engine: 'sqlite',
    where: file,
    open: (options = {}) =>
      openStore({ engine: 'sqlite', file, ...(options.clock ? { clock: options.clock } : {}) }),
    close: async () => undefined,
    async counts() {
      return query((db) => {
        const one = (sql: string): number => (db.prepare(sql).get() as { n: number }).n;
        return {
          users: one('SELECT COUNT(*) AS n FROM users'),
          messages: one('SELECT COUNT(*) AS n FROM messages'),
          chunks: one('SELECT COUNT(*) AS n FROM chunks'),
        };
      });
    },
    async chunksOf(userId) {
      return query(
        (db) =>
          (
            db
              .prepare(
                `SELECT COUNT(*) AS n FROM chunks WHERE message_id NOT IN (SELECT id FROM messages)
                  OR message_id IN (SELECT id FROM messages WHERE user_id = ?)`,
              )
              .get(Buffer.from(userId, 'hex')) as { n: number }
          ).n,
      );
    },
    async dump() {
      return query((db) =>
        (
          db.prepare(`SELECT name FROM sqlite_master WHERE type = 'table'`).all() as {
            name: string;
          }[]
        )
          .map(({ name }) => name)
          .map((table) =>
            JSON.stringify(db.prepare(`SELECT * FROM ${table}`).all(), (_key, value: unknown) =>
              value && typeof value === 'object' && (value as { type?: string }).type === 'Buffer'
                ? Buffer.from((value as { data: number[] }).data).toString('hex')
                : value,
            ),
          )
          .join('\n'),
      );
    },
  };
}

function mongoDatabase(database: string): TestDatabase {
  const query = async <T>(run: (client: MongoClient) => Promise<T>): Promise<T> => {
    const client = await MongoClient.connect(testMongoUrl());
    try {
      return await run(client);
    } finally {
      await client.close();
    }
  };
  const prefix = `kzymy-${randomBytes(4).toString('hex')}:`;
  let redis: Promise<Redis> | undefined;
  return {
    engine: 'mongodb',
    where: database,
    async open(options = {}) {
      const shared = await (redis ??= connectRedis(testRedisUrl()));
      return openStore({
        engine: 'mongodb',
        url: testMongoUrl(),
        database,
        ...(options.clock ? { clock: options.clock } : {}),
        usage: redisUsageCache(shared, prefix),
        ...(options.delivers ? { userLock: redisUserLock(shared, prefix) } : {}),
      });
    },
    async close() {
      (await redis)?.disconnect();
    },
    counts: () =>
      query(async (client) => {
        const db = client.db(database);
        return {
          users: await db.collection('users').countDocuments({}),
          messages: await db.collection('messages').countDocuments({}),
          chunks: await db.collection('chunks').countDocuments({}),
        };
      }),
    chunksOf: (userId) =>
      query((client) =>
        client
          .db(database)
          .collection('chunks')
          .countDocuments({ user: new ObjectId(userId) }),
      ),
    dump: () =>
      query(async (client) => {
        const db = client.db(database);
        const texts: string[] = [];
        for (const { name } of await db.listCollections().toArray())
          texts.push(JSON.stringify(await db.collection(name).find({}).toArray()));
        return texts.join('\n');
      }),
  };
}
