/**
 * Load without refusals, with real Haraka on the mongodb engine (FerretDB): 50 SMTP sessions
 * deliver to one user at once while 20 IMAP sessions of hers read the mailbox, and every message
 * is answered 250 — the per-user UID lock queues (src/redis/user-lock.ts) instead of answering
 * 451 after 5 s — and stored under UIDs 1..n with no gap. And a message pipelined after the final
 * dot of the one before is taken (RFC 2920 §3.1; src/smtp/haraka/pipelining-patch.ts), where Haraka
 * alone answered 503.
 */
import { expect } from 'chai';
import { startImapServers, type ImapServers } from '../../src/imap/server';
import { RawImap } from '../helpers/clients';
import { hashPassword } from '../../src/auth/password';
import { SmtpHarness } from './helpers/harness';
import { SmtpClient } from './helpers/smtp-client';

describe('smtp: concurrent deliveries to one user', function () {
  this.timeout(300_000);
  let h: SmtpHarness;
  let imap: ImapServers;

  before(async () => {
    h = await SmtpHarness.start({
      settings: {
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

  it('takes a message pipelined after the final dot of the one before (RFC 2920 §3.1)', async () => {
    const bob = await h.addUser();
    const client = await SmtpClient.ready(h.port);
    await client.command('MAIL FROM:<a@example.org>', 250);
    await client.command(`RCPT TO:<${bob.address('one')}>`, 250);
    await client.command('DATA', 354);
    // The end of the first message and the second one's envelope, in one write.
    client.write(
      'Subject: first\r\n\r\none\r\n.\r\n' +
        `MAIL FROM:<a@example.org>\r\nRCPT TO:<${bob.address('two')}>\r\nDATA\r\n`,
    );
    expect((await client.reply()).code).to.equal(250);
    expect((await client.reply()).code).to.equal(250);
    expect((await client.reply()).code).to.equal(250);
    expect((await client.reply()).code).to.equal(354);
    client.write('Subject: second\r\n\r\ntwo\r\n.\r\n');
    expect((await client.reply()).raw).to.match(/^250 2\.0\.0 Message accepted/);
    await client.quit();
    expect(await h.count(bob.user)).to.equal(2);
  });
});
