/**
 * Load without refusals, with real Haraka on the mongodb engine (FerretDB), the engine that takes
 * the per-user UID lock: 50 SMTP sessions deliver to one user at once while 20 IMAP sessions of
 * hers read the mailbox, and every message is answered 250 — the lock queues
 * (src/redis/user-lock.ts) instead of answering 451 after 5 s — and stored under UIDs 1..n with
 * no gap. (The default sqlite engine: test/smtp/concurrency.test.ts.)
 */
import { expect } from 'chai';
import { startImapServers, type ImapServers } from '../../src/imap/server';
import { RawImap } from '../helpers/raw-imap';
import { hashPassword } from '../../src/auth/password';
import { SmtpHarness } from './helpers/harness';
import { SmtpClient } from './helpers/smtp-client';

describe('smtp: concurrent deliveries to one user (mongodb)', function () {
  this.timeout(300_000);
  let h: SmtpHarness;
  let imap: ImapServers;

  before(async () => {
    h = await SmtpHarness.start({
      settings: {
        store: { engine: 'mongodb' },
        imap: { port: 0, tlsPort: 0 },
        // Every test client is 127.0.0.1; 20 IMAP sessions of one user is more than the default.
        limits: { smtp: { maxConnectionsPerHost: 0 }, imap: { maxSessionsPerUser: 25 } },
      },
    });
    imap = await startImapServers(h.deps);
  });
  after(async () => {
    await imap?.plain.close();
    await imap?.tls.close();
    await h?.close();
  });

  it('50 SMTP sessions × 2 messages while 20 IMAP sessions read: all 250, UIDs 1..100', async () => {
    const SESSIONS = 50;
    const EACH = 2;
    const alice = await h.addUser();
    const password = 'concurrent-test-password';
    await h.deps.store.users.setPasswordHash(alice.user.id, await hashPassword(password));

    // Readers: log in, SELECT, and keep asking what is there until the senders are done.
    let sending = true;
    const readers = Array.from({ length: 20 }, async () => {
      const client = await RawImap.connect({ port: imap.plain.port });
      await client.login(alice.user.username, password);
      let rounds = 0;
      while (sending) {
        expect((await client.command('SELECT INBOX')).status).to.equal('OK');
        expect((await client.command('UID FETCH 1:* (FLAGS RFC822.SIZE)')).status).to.equal('OK');
        rounds += 1;
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
      client.destroy();
      return rounds;
    });

    const codes: number[] = [];
    const senders = Array.from({ length: SESSIONS }, async (_, session) => {
      const client = await SmtpClient.ready(h.port);
      for (let i = 0; i < EACH; i++) {
        const reply = await client.send(
          'sender@example.org',
          [alice.address(`s${session}`)],
          `Subject: load ${session}.${i}\r\n\r\nbody ${session}.${i}\r\n`,
        );
        codes.push(reply.code);
      }
      await client.quit();
    });
    try {
      await Promise.all(senders);
    } finally {
      sending = false;
    }
    const rounds = await Promise.all(readers);

    const refused = codes.filter((code) => code !== 250);
    expect(refused, `refusals: ${refused.join(',')}`).to.deep.equal([]);
    expect(codes).to.have.length(SESSIONS * EACH);
    const uids = (await h.deps.store.messages.list(alice.user.id)).map((m) => m.uid);
    expect(uids).to.deep.equal(Array.from({ length: SESSIONS * EACH }, (_, i) => i + 1));
    expect(rounds.every((n) => n > 0)).to.equal(true);
  });
});
