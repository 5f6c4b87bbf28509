/**
 * The key types users actually bring, made by GnuPG itself, and read back by `gpg --decrypt`
 * (GnuPG 2.2 cannot read SEIPDv2: the MDC-protected SEIPDv1 packet is what it must get).
 */
import { expect } from 'chai';
import { expectedPlaintext, SmtpHarness } from './helpers/harness';
import { SmtpClient } from './helpers/smtp-client';

describe('smtp: users’ keys', function () {
  this.timeout(60_000);
  let h: SmtpHarness;

  before(async () => {
    h = await SmtpHarness.start();
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
      expect(plaintext.equals(expectedPlaintext('', user.address(), original))).to.equal(true);
      expect(status.some((line) => line.startsWith('DECRYPTION_OKAY'))).to.equal(true);
      expect(status.some((line) => line.startsWith('GOODMDC'))).to.equal(true);
    });
  }
});
