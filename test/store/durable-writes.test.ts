/**
 * Every write the store sends carries a journaled majority write concern (store.ts
 * DURABLE_WRITES): read off the wire, between the driver and the embedded FerretDB, so that the
 * setting cannot be dropped or overridden per call without a test failing.
 */
import { expect } from 'chai';
import { createServer, connect, type Server, type Socket } from 'node:net';
import { BSON } from 'mongodb';
import { Store } from '../../src/store/store';
import { createTestUser, testMongoUrl, uniqueDatabaseName } from '../helpers/services';

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
  it('sends every write of a delivery and a deletion with w: majority and j: true', async () => {
    const relay = await startRelay(new URL(testMongoUrl()));
    const store = await Store.open({
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
