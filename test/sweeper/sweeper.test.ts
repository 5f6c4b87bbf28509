/**
 * The sweeper against the real store: fetched-but-uncommitted messages go after the grace
 * period, every message after the retention period, orphan chunks after an hour (the mongodb
 * engine's, whose deliveries write in several steps), pending accounts after theirs. The clock is
 * moved forward instead of waiting.
 */
import { expect } from 'chai';
import { MongoClient, ObjectId } from 'mongodb';
import { ChunkStore } from '../../src/store/mongodb/chunks';
import { startImapServers } from '../../src/imap/server';
import { startPop3Servers } from '../../src/pop3/server';
import { startSweeper } from '../../src/sweeper/sweeper';
import { makeTestDeps, type TestDeps } from '../helpers/deps';
import {
  createAccount,
  expectMailboxEmpty,
  PgpFixture,
  plaintextMessage,
  storeMessages,
} from '../helpers/mail-fixtures';
import { RawImap } from '../helpers/raw-imap';
import { RawPop3 } from '../helpers/raw-pop3';
import { waitForLog } from '../helpers/deps';
import { expectBytes } from '../helpers/bytes';

const GRACE = 600;
const RETENTION = 7200;
const PENDING = 900;

describe('sweeper', function () {
  this.timeout(60_000);
  let deps: TestDeps;
  let pgp: PgpFixture;
  let offsetMs = 0;

  before(async function () {
    deps = await makeTestDeps({
      imap: { port: 0, tlsPort: 0 },
      pop3: { port: 0, tlsPort: 0 },
      retention: {
        fetchedGraceSeconds: GRACE,
        unfetchedSeconds: RETENTION,
        pendingSeconds: PENDING,
        sweepIntervalSeconds: 3600,
      },
    });
    // Every component reads deps.clock at call time; the tests move it forward.
    deps.clock = () => new Date(Date.now() + offsetMs);
    pgp = await PgpFixture.create();
  });

  beforeEach(function () {
    offsetMs = 0;
  });

  after(async function () {
    await pgp?.dispose();
    await deps?.close();
  });

  async function sweepAt(secondsAhead: number, on: TestDeps = deps) {
    offsetMs = secondsAhead * 1000;
    const sweeper = startSweeper(on);
    try {
      return await sweeper.runOnce();
    } finally {
      await sweeper.stop();
      offsetMs = 0;
    }
  }

  it('removes a message received but never committed once the grace period is over', async function () {
    const servers = await startImapServers(deps);
    try {
      const account = await createAccount(deps);
      const [message] = await storeMessages(deps, pgp, account.user.id, 1);
      const from = deps.logLines.length;
      const client = await RawImap.connect({ port: servers.plain.port });
      await client.login(account.user.username, account.password);
      await client.command('SELECT INBOX');
      await client.command('FETCH 1 (BODY.PEEK[])');
      client.destroy();
      await waitForLog(deps.logLines, 'imap.session_closed', (r) => r.received === 1, { from });
      expect((await sweepAt(GRACE - 5)).graceExpired).to.equal(0);
      expect(await deps.store.messages.byUid(account.user.id, message!.uid)).to.not.equal(null);
      expect((await sweepAt(GRACE + 5)).graceExpired).to.equal(1);
      await expectMailboxEmpty(deps, account.user.id);
    } finally {
      await servers.plain.close();
      await servers.tls.close();
    }
  });

  it('a POP3 client killed in the middle of a 12 MB RETR: the message stays, unfetched, until retention', async function () {
    const servers = await startPop3Servers(deps);
    try {
      const account = await createAccount(deps);

      const big = await pgp.encrypt(plaintextMessage('big', 12 * 1024 * 1024));
      const stored = await deps.store.messages.add(account.user.id, big, new Date());
      const from = deps.logLines.length;
      const { client } = await RawPop3.connect({ port: servers.plain.port });
      await client.command(`USER ${account.user.username}`);
      await client.command(`PASS ${account.password}`);
      let received = 0;
      const started = new Promise<void>((resolve) =>
        client.socket.on('data', (chunk: Buffer) => {
          received += chunk.length;
          if (received > 64 * 1024) {
            client.socket.pause();
            resolve();
          }
        }),
      );
      client.socket.write('RETR 1\r\n');
      await started;
      client.destroy();
      const closed = await waitForLog(deps.logLines, 'pop3.session_closed', () => true, { from });
      expect(closed).to.include({ quit: false, received: 0 });
      const after = await deps.store.messages.byUid(account.user.id, stored.uid);
      expect(after?.fetchedAt).to.equal(null);
      expect((await sweepAt(GRACE + 5)).graceExpired).to.equal(0);
      expect(await deps.store.messages.count(account.user.id)).to.equal(1);
      expect((await sweepAt(RETENTION + 5)).retention).to.be.at.least(1);
      await expectMailboxEmpty(deps, account.user.id);
    } finally {
      await servers.plain.close();
      await servers.tls.close();
    }
  });

  it('retention removes messages older than the limit, fetched or not, and keeps younger ones', async function () {
    const account = await createAccount(deps);
    const now = Date.now();
    const old = await deps.store.messages.add(
      account.user.id,
      await pgp.encrypt(plaintextMessage('old')),
      new Date(now - (RETENTION + 60) * 1000),
    );
    const young = await deps.store.messages.add(
      account.user.id,
      await pgp.encrypt(plaintextMessage('young')),
      new Date(now - 60 * 1000),
    );
    const report = await sweepAt(0);
    expect(report.retention).to.be.at.least(1);
    expect((await deps.store.messages.list(account.user.id)).map((m) => m.uid)).to.deep.equal([
      young.uid,
    ]);
    expect(await deps.store.messages.byUid(account.user.id, old.uid)).to.equal(null);
  });

  it('removes chunks left without a message (a mongodb delivery that died) once they are an hour old', async function () {
    // Only the mongodb engine writes a delivery in several steps; on sqlite it is one transaction.
    const mongo = await makeTestDeps({ store: { engine: 'mongodb' } });
    mongo.clock = () => new Date(Date.now() + offsetMs);
    const client = new MongoClient(mongo.config.mongodb.url);
    try {
      const account = await createAccount(mongo);
      const [live] = await storeMessages(mongo, pgp, account.user.id, 1);
      const chunks = client.db(mongo.config.mongodb.database).collection('chunks');
      const orphan = new ObjectId();
      // What a delivery leaves when it dies before its metadata write: an upload marker and chunks.
      await new ChunkStore(client.db(mongo.config.mongodb.database)).write(
        new ObjectId(account.user.id),
        orphan,
        [Buffer.from('x')],
        mongo.clock(),
      );
      expect((await sweepAt(0, mongo)).orphanChunks).to.equal(0);
      expect((await sweepAt(3700, mongo)).orphanChunks).to.equal(1);
      expect(await chunks.countDocuments({ message: orphan })).to.equal(0);
      // The live message is whole.
      const message = await mongo.store.messages.byUid(account.user.id, live!.uid);
      expectBytes(await mongo.store.messages.read(account.user.id, message!), live!.ciphertext);
    } finally {
      await client.close();
      await mongo.close();
    }
  });

  it('deletes pending accounts after their time, with everything they had; active ones stay', async function () {
    const pending = await deps.store.users.create({
      fingerprint: 'AB',
      publicKey: '',
      passwordHash: 'x',
      state: 'pending',
    });
    const active = await createAccount(deps);
    expect((await sweepAt(PENDING - 5)).pendingUsers).to.equal(0);
    expect((await sweepAt(PENDING + 5)).pendingUsers).to.be.at.least(1);
    expect(await deps.store.users.byId(pending.id)).to.equal(null);
    expect(await deps.store.users.byId(active.user.id)).to.not.equal(null);
  });

  it('runs by itself on its interval, and stops', async function () {
    const timed = await makeTestDeps({
      retention: { unfetchedSeconds: 60, sweepIntervalSeconds: 1 },
    });
    try {
      const account = await createAccount(timed);
      await timed.store.messages.add(
        account.user.id,
        await pgp.encrypt(plaintextMessage('t')),
        new Date(Date.now() - 3600_000),
      );
      const sweeper = startSweeper(timed);
      await waitForLog(timed.logLines, 'sweep.deleted', (r) => r.reason === 'retention', {
        timeoutMs: 5000,
      });
      await sweeper.stop();
      await expectMailboxEmpty(timed, account.user.id);
    } finally {
      await timed.close();
    }
  });
});
