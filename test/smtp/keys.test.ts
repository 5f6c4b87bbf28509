/**
 * The key types users actually bring, made by GnuPG itself, and read back by `gpg --decrypt`
 * (GnuPG 2.2 cannot read SEIPDv2: the MDC-protected SEIPDv1 packet is what it must get).
 */
import { expect } from 'chai';
import { expectBytes } from '../helpers/bytes';
import { expectedPlaintext, SmtpHarness } from './helpers/harness';
import { SmtpClient } from './helpers/smtp-client';

describe('smtp: users’ keys', function () {
  this.timeout(60_000);
  let h: SmtpHarness;

  before(async () => {
    // Messages are compared byte for byte: the exact payload is the original after the delivery headers.
    h = await SmtpHarness.start({ payloadFormat: 'exact' });
  });
  after(async () => h?.close());

  for (const kind of ['rsa4096', 'curve25519'] as const) {
    it(`delivers to a ${kind} key so that gpg decrypts it with an intact MDC`, async () => {
      const user = await h.addUser({ kind });
      const original = Buffer.from(`Subject: to ${kind}\r\n\r\nünïcödé body\r\n`);
      const client = await SmtpClient.ready(h.port);
      expect((await client.send('', [user.address()], original)).code).to.equal(250);
      await client.quit();
      const { plaintext, status } = await h.gpg.decryptWithStatus(
        await h.onlyCiphertext(user.user),
      );
      expectBytes(plaintext, expectedPlaintext('', user.address(), original), 'the payload');
      expect(status.some((line) => line.startsWith('DECRYPTION_OKAY'))).to.equal(true);
      expect(status.some((line) => line.startsWith('GOODMDC'))).to.equal(true);
    });
  }

  it('answers 451 and stores nothing when the key is replaced between RCPT and DATA; the retry uses the new key', async () => {
    // RCPT hands the mailbox to DATA, which no longer looks it up: the commit must notice.
    const user = await h.addUser({ kind: 'curve25519' });
    const original = Buffer.from('Subject: rotated\r\n\r\nbody\r\n');
    const client = await SmtpClient.ready(h.port);
    await client.command('MAIL FROM:<a@example.org>', 250);
    await client.command(`RCPT TO:<${user.address()}>`, 250);
    const rsa = await h.gpg.generateKey('rsa4096');
    const newKey = (await h.gpg.exportPublic(rsa.fingerprint)).toString('utf8');
    expect(await h.deps.store.users.setKey(user.user.id, rsa.fingerprint, newKey)).to.equal(true);
    await client.command('DATA', 354);
    client.write(`${original.toString()}.\r\n`);
    expect((await client.reply()).code).to.equal(451);
    expect(await h.count(user.user)).to.equal(0);
    expect(
      await h.deps.store.messages.removeOrphanChunks(new Date(Date.now() + 3600_000)),
    ).to.equal(0);

    expect((await client.send('a@example.org', [user.address()], original)).code).to.equal(250);
    await client.quit();
    const { plaintext, status } = await h.gpg.decryptWithStatus(await h.onlyCiphertext(user.user));
    expectBytes(plaintext, expectedPlaintext('a@example.org', user.address(), original));
    // Encrypted to the RSA key that replaced the Curve25519 one (public-key algorithm 1).
    expect(status.filter((line) => line.startsWith('ENC_TO '))).to.satisfy(
      (lines: string[]) => lines.length === 1 && lines[0]!.split(' ')[2] === '1',
    );
  });
});
