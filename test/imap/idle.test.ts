/**
 * IDLE (RFC 2177): a message stored and announced on Redis — as Haraka's queue plugin does —
 * reaches idling clients as EXISTS within 2 seconds, on this daemon and on another daemon that
 * shares the store and Redis.
 */
import { expect } from 'chai';
import { ImapFlow } from 'imapflow';
import { startImapServers, type ImapServers } from '../../src/imap/server';
import { makeTestDeps, type TestDeps } from '../helpers/deps';
import {
  createAccount,
  PgpFixture,
  plaintextMessage,
  type TestAccount,
} from '../helpers/mail-fixtures';
import { RawImap } from '../helpers/raw-imap';

describe('IMAP IDLE', function () {
  this.timeout(60_000);
  let first: TestDeps;
  let second: TestDeps;
  let firstServers: ImapServers;
  let secondServers: ImapServers;
  let pgp: PgpFixture;

  before(async function () {
    first = await makeTestDeps({ imap: { port: 0, tlsPort: 0 } });
    // A second daemon: its own connections and servers, the same store (on sqlite, the same
    // data directory: one machine) and Redis prefix.
    second = await makeTestDeps({
      imap: { port: 0, tlsPort: 0 },
      dataDir: first.config.dataDir,
      mongodb: { database: first.config.mongodb.database },
      redis: { prefix: first.config.redis.prefix },
    });
    firstServers = await startImapServers(first);
    secondServers = await startImapServers(second);
    pgp = await PgpFixture.create();
  });

  after(async function () {
    for (const servers of [firstServers, secondServers]) {
      await servers?.plain.close();
      await servers?.tls.close();
    }
    await pgp?.dispose();
    await first?.close();
    await second?.close();
  });

  /** What Haraka does on delivery: store, then publish the new-mail event. */
  async function deliver(deps: TestDeps, account: TestAccount, label: string): Promise<number> {
    const stored = await deps.store.messages.add(
      account.user.id,
      await pgp.encrypt(plaintextMessage(label)),
      new Date(),
    );
    await deps.publisher.publish({ userId: account.user.id, uid: stored.uid });
    return stored.uid;
  }

  async function idling(servers: ImapServers, account: TestAccount): Promise<RawImap> {
    const client = await RawImap.connect({ port: servers.plain.port });
    await client.login(account.user.username, account.password);
    await client.command('SELECT INBOX');
    client.write('idle1 IDLE\r\n');
    await client.waitFor((line) => line.text.startsWith('+'));
    return client;
  }

  it('sends EXISTS to an idling client within 2 s of delivery', async function () {
    const account = await createAccount(first);
    await deliver(first, account, 'a');
    const client = await idling(firstServers, account);
    const start = Date.now();
    await deliver(first, account, 'b');
    await client.waitFor((line) => line.text === '* 2 EXISTS', 2000);
    expect(Date.now() - start).to.be.below(2000);
    client.write('DONE\r\n');
    await client.waitFor((line) => line.text.startsWith('idle1 OK'));
    // The new message is there to fetch at once.
    const fetch = await client.command('FETCH 2 (UID RFC822.SIZE)');
    expect(fetch.untagged[0]?.text).to.match(/^\* 2 FETCH \(UID \d+ RFC822\.SIZE \d+\)$/);
    await client.logout();
  });

  it('across two daemons: mail stored through one reaches idling clients of both', async function () {
    const account = await createAccount(first);
    const onSecond = await idling(secondServers, account);
    const flow = new ImapFlow({
      host: '127.0.0.1',
      port: firstServers.plain.port,
      secure: false,
      auth: { user: account.user.username, pass: account.password },
      tls: { rejectUnauthorized: false },
      logger: false,
    });
    await flow.connect();
    await flow.mailboxOpen('INBOX');
    const flowSaw = new Promise<number>((resolve) =>
      flow.on('exists', (data: { count: number }) => resolve(data.count)),
    );
    // imapflow goes into IDLE on its own once nothing else is running.
    const idleStarted = flow.idle();
    const start = Date.now();
    await deliver(second, account, 'cross');
    await onSecond.waitFor((line) => line.text === '* 1 EXISTS', 2000);
    expect(await flowSaw).to.equal(1);
    expect(Date.now() - start).to.be.below(2000);
    onSecond.write('DONE\r\n');
    await onSecond.logout();
    await flow.logout();
    await idleStarted.catch(() => undefined);
  });

  it('a client that is not idling gets EXISTS with its next command, and EXPUNGE of mail another session removed', async function () {
    const account = await createAccount(first);
    const uid = await deliver(first, account, 'x');
    const watcher = await RawImap.connect({ port: firstServers.plain.port });
    await watcher.login(account.user.username, account.password);
    await watcher.command('SELECT INBOX');
    await deliver(second, account, 'y');
    // Not idling: nothing unsolicited arrives; each NOOP asks (RFC 3501 §6.1.2), until 2 s.
    const deadline = Date.now() + 2000;
    for (;;) {
      const noop = await watcher.command('NOOP');
      if (noop.untagged.some((line) => line.text === '* 2 EXISTS')) break;
      expect(Date.now(), 'EXISTS within 2 s').to.be.below(deadline);
    }
    // Another session on the same daemon fetches the first message and logs out: deleted.
    const other = await RawImap.connect({ port: firstServers.plain.port });
    await other.login(account.user.username, account.password);
    await other.command('SELECT INBOX');
    await other.command(`UID FETCH ${uid} (BODY.PEEK[])`);
    await other.logout();
    watcher.write('idle2 IDLE\r\n');
    await watcher.waitFor((line) => line.text === '* 1 EXPUNGE', 2000);
    watcher.write('DONE\r\n');
    await watcher.waitFor((line) => line.text.startsWith('idle2 OK'));
    await watcher.logout();
  });
});
