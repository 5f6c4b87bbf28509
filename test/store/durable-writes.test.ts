/**
 * Conformance: a write the store has acknowledged survives a crash — what SMTP's 250 promises.
 * mongodb: every write a delivery and a deletion send carries a journaled majority write concern
 * (src/store/mongodb/store.ts DURABLE_WRITES), read off the wire between the driver and the
 * embedded FerretDB, so that it cannot be dropped or overridden per call without a test failing.
 * sqlite: every connection the engine opens syncs the log at each commit and overwrites what is
 * deleted; the file is in WAL mode with incremental auto-vacuum (test/store/sqlite/crash.test.ts
 * then kills a process right after a commit, and in the middle of one).
 */
import { expect } from 'chai';
import { createServer, connect, type Server, type Socket } from 'node:net';
import Database from 'better-sqlite3';
import { BSON } from 'mongodb';
import { MongoStore } from '../../src/store/mongodb/store';
import { openConnection } from '../../src/store/sqlite/schema';
import { SqliteStore } from '../../src/store/sqlite/store';
import {
  createTestUser,
  testMongoUrl,
  uniqueDatabaseName,
  uniqueSqliteFile,
} from '../helpers/services';

/** A TCP relay that keeps a copy of what the client sends. */
async function startRelay(target: URL): Promise<{ server: Server; port: number; sent: Buffer[] }> {
  const sent: Buffer[] = [];
  const sockets = new Set<Socket>();
  const server = createServer((client) => {
    const upstream = connect(Number(target.port), target.hostname);
    sockets.add(client).add(upstream);
    client.on('data', (data) => sent.push(Buffer.from(data)));
    client.pipe(upstream).pipe(client);
    const close = () => {
      client.destroy();
      upstream.destroy();
    };
    client.on('error', close).on('close', close);
    upstream.on('error', close).on('close', close);
  });
  server.on('close', () => sockets.forEach((socket) => socket.destroy()));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  if (!address || typeof address === 'string') throw new Error('no relay address');
  return { server, port: address.port, sent };
}

/** The commands in a stream of OP_MSG messages (MongoDB wire protocol, opcode 2013, section 0). */
function commandsIn(stream: Buffer): Record<string, unknown>[] {
  const commands: Record<string, unknown>[] = [];
  for (let at = 0; at + 16 <= stream.length; ) {
    const length = stream.readInt32LE(at);
    if (length < 16 || at + length > stream.length) break;
    if (stream.readInt32LE(at + 12) === 2013 && stream[at + 20] === 0) {
      const bodyLength = stream.readInt32LE(at + 21);
      commands.push(BSON.deserialize(stream.subarray(at + 21, at + 21 + bodyLength)));
    }
    at += length;
  }
  return commands;
}

describe('store: durable writes', () => {
  describe('[mongodb]', () => {
    it('sends every write of a delivery and a deletion with w: majority and j: true', async () => {
      const relay = await startRelay(new URL(testMongoUrl()));
      const store = await MongoStore.open({
        url: `mongodb://127.0.0.1:${relay.port}/`,
        database: uniqueDatabaseName(),
      });
      try {
        const user = await createTestUser(store);
        relay.sent.length = 0;
        const message = await store.messages.add(user.id, Buffer.alloc(1500, 1), new Date());
        await store.messages.remove(user.id, [message.id]);
        await store.messages.flush();
        const writes = commandsIn(Buffer.concat(relay.sent)).filter((command) =>
          ['insert', 'update', 'delete', 'findAndModify'].some((name) => name in command),
        );
        // Marker, chunk, UID, metadata, marker removal; then the metadata and chunk deletes.
        expect(writes.length).to.be.at.least(7);
        for (const write of writes)
          expect(write.writeConcern, JSON.stringify(Object.keys(write))).to.deep.equal({
            w: 'majority',
            j: true,
          });
      } finally {
        await store.close();
        await new Promise((resolve) => relay.server.close(resolve));
      }
    });
  });

  describe('[sqlite]', () => {
    it('opens every connection with a full sync per commit and secure delete, on a WAL file', async () => {
      const file = uniqueSqliteFile();
      // What the writer thread and each reader run (src/store/sqlite/schema.ts).
      const writer = openConnection(file, { busyTimeoutMs: 1000, create: true });
      const reader = openConnection(file, { busyTimeoutMs: 0, create: false });
      try {
        for (const db of [writer, reader]) {
          // 2 = FULL: the log is synced at every commit (NORMAL, 1, may lose the last ones).
          expect(db.pragma('synchronous', { simple: true })).to.equal(2);
          expect(db.pragma('secure_delete', { simple: true })).to.equal(1);
          expect(db.pragma('journal_mode', { simple: true })).to.equal('wal');
          // 1 = FILE: a message staged while it is encrypted is not held in memory.
          expect(db.pragma('temp_store', { simple: true })).to.equal(1);
        }
        expect(reader.pragma('query_only', { simple: true })).to.equal(1);
      } finally {
        writer.close();
        reader.close();
      }
    });

    it('creates the file in WAL mode with incremental auto-vacuum, readable by its owner only', async () => {
      const file = uniqueSqliteFile();
      const store = await SqliteStore.open({ file });
      try {
        await createTestUser(store);
        const raw = new Database(file, { readonly: true });
        try {
          // Persistent settings of the file itself, whoever opens it next.
          expect(raw.pragma('journal_mode', { simple: true })).to.equal('wal');
          // 2 = INCREMENTAL: set before the first table, or it could never be turned on.
          expect(raw.pragma('auto_vacuum', { simple: true })).to.equal(2);
        } finally {
          raw.close();
        }
        const { statSync } = await import('node:fs');
        for (const suffix of ['', '-wal', '-shm'])
          expect((statSync(file + suffix).mode & 0o777).toString(8), suffix).to.equal('600');
      } finally {
        await store.close();
      }
    });
  });
});
