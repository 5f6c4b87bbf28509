/**
 * Fail closed (docs/architecture.md, invariants): whatever breaks on the way — the database, Redis, a user's key —
 * SMTP answers 4xx and nothing stays written; once the fault is gone the same mail goes through.
 * The database and Redis here are private ones, so stopping them does not disturb other tests.
 */
import { expect } from 'chai';
import { randomBytes } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { join } from 'node:path';
import { startFerretDb, startRedis, type RunningService } from '../../src/embedded/services';
import { configuredDatabase } from '../helpers/engines';
import { testDataDir } from '../helpers/services';
import { expectedPlaintext, SmtpHarness } from './helpers/harness';
import { dotStuff, SmtpClient } from './helpers/smtp-client';

const LOCAL_ERROR = '451 4.3.0 Temporary local problem, try again later';

function message(subject: string): string {
  return `From: a@example.org\r\nSubject: ${subject}\r\n\r\nbody of ${subject}\r\n`;
}

/** A message of about `bytes`: base64 lines, so its ciphertext spans many chunks. */
function largeMessage(subject: string, bytes: number): Buffer {
  const lines = randomBytes(Math.ceil((bytes * 3) / 4))
    .toString('base64')
    .match(/.{1,76}/g) as string[];
  return Buffer.from(`From: a@example.org\r\nSubject: ${subject}\r\n\r\n${lines.join('\r\n')}\r\n`);
}

/** Chunks written but never given a message document (what a half-done delivery leaves). */
async function orphanChunks(h: SmtpHarness): Promise<number> {
  return h.deps.store.messages.removeOrphanChunks(new Date(Date.now() + 3600_000));
}

describe('smtp: fail closed', function () {
  this.timeout(90_000);

  describe('when the database goes away', () => {
    let ferret: RunningService;
    let h: SmtpHarness;
    let dataDir: string;

    before(async () => {
      dataDir = mkdtempSync(join(testDataDir(), 'ferret-down-'));
      ferret = await startFerretDb({ dataDir, port: 0 });
      h = await SmtpHarness.start({
        settings: { store: { engine: 'mongodb' }, mongodb: { url: ferret.url } },
        haraka: { storeTimeoutMs: 1000 },
        // What arrives after the restart is compared with what was sent, byte for byte.
        payloadFormat: 'exact',
      });
    });
    after(async () => {
      await h?.close();
      await ferret?.stop();
    });

    it('answers 4xx at end of data and at RCPT, stores nothing, and takes the mail once it is back', async () => {
      const alice = await h.addUser();
      const client = await SmtpClient.ready(h.port);
      await client.command('MAIL FROM:<a@example.org>', 250);
      await client.command(`RCPT TO:<${alice.address()}>`, 250);

      await ferret.stop();
      await client.command('DATA', 354);
      client.write(message('while down') + '.\r\n');
      expect((await client.reply()).raw).to.equal(LOCAL_ERROR);

      await client.command('MAIL FROM:<a@example.org>', 250);
      expect((await client.command(`RCPT TO:<${alice.address()}>`)).raw).to.equal(LOCAL_ERROR);
      await client.quit();

      ferret = await startFerretDb({ dataDir, port: ferret.port });
      const again = await SmtpClient.ready(h.port);
      const original = message('after restart');
      expect((await again.send('a@example.org', [alice.address()], original)).code).to.equal(250);
      await again.quit();

      // Exactly the one message, decrypting to what was sent after the restart.
      const plain = await h.gpg.decrypt(await h.onlyCiphertext(alice.user));
      expect(plain.toString()).to.equal(
        expectedPlaintext('a@example.org', alice.address(), Buffer.from(original)).toString(),
      );
      expect(await orphanChunks(h)).to.equal(0);
    });
  });

  describe('when Redis goes away', () => {
    let redis: RunningService;
    let h: SmtpHarness;
    let dataDir: string;

    before(async () => {
      dataDir = mkdtempSync(join(testDataDir(), 'redis-down-'));
      redis = await startRedis({ dataDir, port: 0 });
      h = await SmtpHarness.start({ settings: { redis: { url: redis.url } } });
      // The test's own Redis connection sees the outage too; it reconnects by itself.
      h.deps.redis.on('error', () => undefined);
    });
    after(async () => {
      await h?.close();
      await redis?.stop();
    });

    it('rolls back the stored message when the new-mail event cannot be published', async () => {
      const bob = await h.addUser();
      const client = await SmtpClient.ready(h.port);
      expect((await client.send('a@example.org', [bob.address()], message('one'))).code).to.equal(
        250,
      );
      expect(await h.count(bob.user)).to.equal(1);

      await redis.stop();
      expect((await client.send('a@example.org', [bob.address()], message('two'))).raw).to.equal(
        LOCAL_ERROR,
      );
      expect(await h.count(bob.user)).to.equal(1);
      expect(await orphanChunks(h)).to.equal(0);
      await client.quit();

      redis = await startRedis({ dataDir, port: redis.port });
      // Haraka's Redis client reconnects on its own schedule; the sender simply retries, and
      // every refused attempt must have left nothing behind.
      let attempts = 0;
      for (;;) {
        attempts++;
        const again = await SmtpClient.ready(h.port);
        const reply = await again.send('a@example.org', [bob.address()], message('three'));
        await again.quit();
        if (reply.code === 250) break;
        expect(reply.raw).to.equal(LOCAL_ERROR);
        expect(attempts, 'Redis reconnection').to.be.below(100);
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
      expect(await h.count(bob.user)).to.equal(2);
      expect(await orphanChunks(h)).to.equal(0);
    });
  });

  describe('when a key is unusable', () => {
    let h: SmtpHarness;

    before(async () => {
      h = await SmtpHarness.start();
    });
    after(async () => h?.close());

    const corrupt = [
      '-----BEGIN PGP PUBLIC KEY BLOCK-----',
      '',
      'mQINBGNvdCBhIGtleQ==',
      '=abcd',
      '-----END PGP PUBLIC KEY BLOCK-----',
      '',
    ].join('\n');

    it('answers 451 4.3.0 and stores nothing for a user whose stored key is corrupt', async () => {
      const mallory = await h.addUser({ publicKey: corrupt });
      const client = await SmtpClient.ready(h.port);
      expect((await client.send('a@example.org', [mallory.address()], message('x'))).raw).to.equal(
        LOCAL_ERROR,
      );
      await client.quit();
      expect(await h.count(mallory.user)).to.equal(0);
      expect(await orphanChunks(h)).to.equal(0);
    });

    it('undoes the copies already stored for other recipients of the same message', async () => {
      const good = await h.addUser();
      const bad = await h.addUser({ publicKey: corrupt });
      const client = await SmtpClient.ready(h.port);
      const reply = await client.send(
        'a@example.org',
        [good.address('first'), bad.address(), good.address('third')],
        message('y'),
      );
      expect(reply.raw).to.equal(LOCAL_ERROR);
      // The connection is still usable afterwards.
      expect((await client.send('a@example.org', [good.address()], message('z'))).code).to.equal(
        250,
      );
      await client.quit();
      expect(await h.count(good.user)).to.equal(1);
      expect(await h.count(bad.user)).to.equal(0);
      expect(await orphanChunks(h)).to.equal(0);
    });

    it('answers 451 when the user was suspended between RCPT and the end of data', async () => {
      const dave = await h.addUser();
      const client = await SmtpClient.ready(h.port);
      await client.command('MAIL FROM:<a@example.org>', 250);
      await client.command(`RCPT TO:<${dave.address()}>`, 250);
      await h.deps.store.users.markDeleting(dave.user.id);
      await client.command('DATA', 354);
      client.write(message('late') + '.\r\n');
      expect((await client.reply()).raw).to.equal(LOCAL_ERROR);
      await client.quit();
      expect(await h.count(dave.user)).to.equal(0);
    });

    it('answers 451 for a large message, stored while it was encrypted, to a user suspended between RCPT and the end of data, and leaves not one chunk', async () => {
      const erin = await h.addUser();
      const frank = await h.addUser();
      const database = configuredDatabase(h.deps.config);
      const before = await database.counts();
      // 3 MB: encrypted as a stream, its chunks sent to the store (staged, on sqlite) as they are made.
      const large = largeMessage('large and late', 3 * 1024 * 1024);
      const client = await SmtpClient.ready(h.port);
      await client.command('MAIL FROM:<a@example.org>', 250);
      await client.command(`RCPT TO:<${erin.address()}>`, 250);
      await h.deps.store.users.markDeleting(erin.user.id);
      await client.command('DATA', 354);
      client.write(Buffer.concat([dotStuff(large), Buffer.from('.\r\n')]));
      expect((await client.reply()).raw).to.equal(LOCAL_ERROR);
      expect(await h.count(erin.user)).to.equal(0);
      await h.deps.store.messages.flush();
      expect(await database.counts()).to.deep.equal(before);
      expect(await orphanChunks(h)).to.equal(0);

      // The same message to an active mailbox: stored whole, every chunk of it and nothing else.
      const reply = await client.send('a@example.org', [frank.address()], dotStuff(large));
      expect(reply.code).to.equal(250);
      await client.quit();
      const [stored] = await h.deps.store.messages.list(frank.user.id);
      const after = await database.counts();
      expect(after.messages - before.messages).to.equal(1);
      expect(after.chunks - before.chunks).to.equal(
        Math.ceil((stored?.size ?? 0) / h.deps.store.messages.chunkBytes),
      );
      await database.close();
    });
  });
});
