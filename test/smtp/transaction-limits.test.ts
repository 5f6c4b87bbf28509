/**
 * What one SMTP transaction may cost, through real Haraka: one stored copy per mailbox however
 * many of her aliases are recipients (all of them recorded inside the encryption), the quota
 * checked at DATA against what will be stored (452 4.2.2 and nothing stored for anyone), and
 * caps on recipients (RFC 5321 §4.5.3.1.8: at least 100) and on distinct mailboxes.
 */
import { expect } from 'chai';
import { validateConfig } from '../../src/config/load';
import { forEachEngine } from '../helpers/engines';
import { readAsRfc9788 } from '../helpers/mail-readers';
import { SmtpHarness, type TestUser } from './helpers/harness';
import { SmtpClient } from './helpers/smtp-client';

const TOO_MANY = '452 4.5.3 Too many recipients';
const FULL = '452 4.2.2 Mailbox full, try again later';

function message(subject: string, bodyBytes: number): string {
  return `Subject: ${subject}\r\nFrom: s@example.org\r\n\r\n${'x'.repeat(bodyBytes)}\r\n`;
}

async function rcpt(client: SmtpClient, address: string): Promise<string> {
  return (await client.command(`RCPT TO:<${address}>`)).raw;
}

describe('smtp: limits per transaction', function () {
  this.timeout(60_000);

  describe('with the defaults (100 recipients, 100 mailboxes)', () => {
    let h: SmtpHarness;
    before(async () => {
      h = await SmtpHarness.start();
    });
    after(async () => h?.close());

    it('stores one copy per mailbox however many of her aliases are recipients, each alias inside', async () => {
      const alice = await h.addUser();
      const bob = await h.addUser();
      const aliases = Array.from({ length: 60 }, (_, i) => alice.address(`alias-${i}`));
      const client = await SmtpClient.ready(h.port);
      const to = [
        ...aliases.slice(0, 30),
        bob.address('b1'),
        ...aliases.slice(30),
        bob.address('B2'),
      ];
      const reply = await client.send('s@example.org', to, message('sixty aliases', 100));
      expect(reply.raw).to.match(/^250 2\.0\.0 /);
      await client.quit();
      expect(await h.count(alice.user)).to.equal(1);
      expect(await h.count(bob.user)).to.equal(1);
      const delivered = async (user: TestUser): Promise<string[]> => {
        const plain = await h.gpg.decrypt(await h.onlyCiphertext(user.user));
        return readAsRfc9788(plain)
          .fields.filter(([name]) => name === 'Delivered-To')
          .map(([, value]) => value);
      };
      expect(await delivered(alice)).to.deep.equal(aliases);
      expect(await delivered(bob)).to.deep.equal([bob.address('b1'), bob.address('B2')]);
    });

    it('answers 452 4.5.3 to the 101st RCPT, keeps the first 100, and stores one copy listing them', async () => {
      const carol = await h.addUser();
      const client = await SmtpClient.ready(h.port);
      await client.command('MAIL FROM:<s@example.org>', 250);
      for (let i = 0; i < 100; i++)
        expect(await rcpt(client, carol.address(`r${i}`))).to.equal('250 2.1.5 Recipient OK');
      expect(await rcpt(client, carol.address('r100'))).to.equal(TOO_MANY);
      expect(await rcpt(client, carol.address('r101'))).to.equal(TOO_MANY);
      await client.command('DATA', 354);
      client.write(`${message('hundred', 10)}.\r\n`);
      expect((await client.reply()).raw).to.match(/^250 2\.0\.0 /);
      await client.quit();
      const plain = await h.gpg.decrypt(await h.onlyCiphertext(carol.user));
      expect(plain.toString().match(/^Delivered-To: /gm)).to.have.length(100);
      expect(plain.toString()).not.to.include(carol.address('r100'));
    });
  });

  // The DATA check reads each engine's committed total: sqlite's column, mongodb's usage.
  forEachEngine((engine) => {
    describe('with a quota of 100,000 bytes and at most 2 mailboxes per transaction', () => {
      let h: SmtpHarness;
      before(async () => {
        h = await SmtpHarness.start({
          settings: { store: { engine }, smtp: { quotaBytes: 100_000, maxUsersPerTransaction: 2 } },
        });
      });
      after(async () => h?.close());

      it('answers 452 4.5.3 for the recipients of a third mailbox, and still takes her other aliases', async () => {
        const [a, b, c] = [await h.addUser(), await h.addUser(), await h.addUser()];
        const client = await SmtpClient.ready(h.port);
        await client.command('MAIL FROM:<s@example.org>', 250);
        expect(await rcpt(client, a.address('one'))).to.match(/^250 /);
        expect(await rcpt(client, b.address('one'))).to.match(/^250 /);
        expect(await rcpt(client, c.address('one'))).to.equal(TOO_MANY);
        expect(await rcpt(client, a.address('two'))).to.match(/^250 /);
        await client.command('DATA', 354);
        client.write(`${message('two mailboxes', 10)}.\r\n`);
        expect((await client.reply()).raw).to.match(/^250 2\.0\.0 /);
        // The sender sends the deferred recipient again, in a transaction of its own.
        expect(
          (await client.send('s@example.org', [c.address('one')], message('again', 10))).code,
        ).to.equal(250);
        await client.quit();
        expect([await h.count(a.user), await h.count(b.user), await h.count(c.user)]).to.deep.equal(
          [1, 1, 1],
        );
      });

      it('checks the quota at DATA against the padded ciphertext: over it, 452 4.2.2 and nothing stored for anyone', async () => {
        const [roomy, tight] = [await h.addUser(), await h.addUser({ payloadFormat: 'exact' })];
        const client = await SmtpClient.ready(h.port);
        // 40 KB of text: a 64 KiB padded payload, about 90 KB stored: fits an empty mailbox.
        const first = await client.send(
          's@example.org',
          [roomy.address()],
          message('first', 40_000),
        );
        expect(first.raw).to.match(/^250 2\.0\.0 /);
        const used = await h.deps.store.messages.usedBytes(roomy.user.id);
        expect(used).to.be.within(80_000, 100_000);
        // Without a declared SIZE, RCPT cannot know: the end of DATA refuses, for both mailboxes.
        await client.command('MAIL FROM:<s@example.org>', 250);
        expect(await rcpt(client, tight.address())).to.match(/^250 /);
        expect(await rcpt(client, roomy.address())).to.match(/^250 /);
        await client.command('DATA', 354);
        client.write(`${message('second', 5_000)}.\r\n`);
        expect((await client.reply()).raw).to.equal(FULL);
        expect(await h.count(roomy.user)).to.equal(1);
        expect(await h.count(tight.user)).to.equal(0);
        expect(
          await h.deps.store.messages.removeOrphanChunks(new Date(Date.now() + 3600_000)),
        ).to.equal(0);
        // The exact format is not padded, and counts what it stores: 75 KB of text is over, 60 KB is not.
        expect(
          (await client.send('s@example.org', [tight.address()], message('big', 75_000))).raw,
        ).to.equal(FULL);
        expect(
          (await client.send('s@example.org', [tight.address()], message('fits', 60_000))).code,
        ).to.equal(250);
        await client.quit();
        expect(await h.count(tight.user)).to.equal(1);
        expect(await h.deps.store.messages.usedBytes(tight.user.id)).to.be.within(80_000, 100_000);
      });
    });
  });

  it('refuses a configuration that caps recipients below RFC 5321’s 100', () => {
    const refused = validateConfig({ smtp: { maxRecipients: 99 } });
    expect(refused.ok).to.equal(false);
    if (!refused.ok) expect(refused.problems.join(' ')).to.include('smtp.maxRecipients');
    expect(validateConfig({ smtp: { maxRecipients: 100, maxUsersPerTransaction: 5 } }).ok).to.equal(
      true,
    );
  });
});
