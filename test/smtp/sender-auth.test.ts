/**
 * Sender authentication at arrival, through real Haraka and a real resolver configuration: the
 * lookups go to a DNS server on loopback (smtp.senderAuth.dnsServers), mail is DKIM-signed and
 * ARC-sealed with mailauth itself, and the verdicts appear as one Authentication-Results field
 * inside the encrypted payload only. DNS failures give temperror and a 250, never a 4xx; the
 * client's IP address appears nowhere.
 */
import { expect } from 'chai';
import { generateKeyPairSync } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { dkimSign, sealMessage } from 'mailauth';
import { formatAuthenticationResults, temperrorVerdicts } from '../../src/smtp/auth-results';
import { readAsRfc9788 } from '../helpers/mail-readers';
import {
  authenticationResultsOf,
  headerSection,
  SmtpHarness,
  type TestUser,
} from './helpers/harness';
import { SmtpClient } from './helpers/smtp-client';

function rsaKey(): { privateKey: string; dnsValue: string } {
  const { privateKey, publicKey } = generateKeyPairSync('rsa', {
    modulusLength: 2048,
    publicKeyEncoding: { type: 'spki', format: 'der' },
    privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
  });
  return { privateKey, dnsValue: `v=DKIM1; k=rsa; p=${publicKey.toString('base64')}` };
}

const dkim = rsaKey();
const arcKey = rsaKey();

/** mailauth's dkimSign: the signature for example.org, selector sel (its header field). */
async function sign(message: Buffer): Promise<Buffer> {
  const key = { signingDomain: 'example.org', selector: 'sel', privateKey: dkim.privateKey };
  // mailauth 4.13.3 signs what signatureData lists (its typings put the fields at the top).
  const { signatures, errors } = await dkimSign(message, { ...key, signatureData: [key] });
  expect(errors).to.deep.equal([]);
  expect(signatures).to.match(/^DKIM-Signature: /);
  return Buffer.concat([Buffer.from(signatures), message]);
}

describe('smtp: sender authentication', function () {
  this.timeout(60_000);
  let h: SmtpHarness;
  let user: TestUser;

  before(async () => {
    h = await SmtpHarness.start({
      dns: {
        // The test's client connects from 127.0.0.1.
        'example.org': { TXT: ['v=spf1 ip4:127.0.0.1 -all'] },
        'sel._domainkey.example.org': { TXT: [dkim.dnsValue] },
        '_dmarc.example.org': { TXT: ['v=DMARC1; p=reject'] },
        'bank.example': { TXT: ['v=spf1 ip4:192.0.2.1 -all'] },
        '_dmarc.bank.example': { TXT: ['v=DMARC1; p=reject'] },
        'arc._domainkey.forwarder.example': { TXT: [arcKey.dnsValue] },
        'broken.example': { fail: 'servfail' },
        '_dmarc.broken.example': { fail: 'servfail' },
        'silent.example': { fail: 'drop' },
        '_dmarc.silent.example': { fail: 'drop' },
      },
    });
    user = await h.addUser();
  });
  after(async () => h?.close());

  /** Sends `message` from `from`; returns the reply and the decrypted payload. */
  async function deliver(from: string, message: Buffer): Promise<{ code: number; plain: Buffer }> {
    const before = (await h.deps.store.messages.list(user.user.id)).length;
    const client = await SmtpClient.ready(h.port);
    const reply = await client.send(from, [user.address()], message);
    await client.quit();
    const messages = await h.deps.store.messages.list(user.user.id);
    expect(messages).to.have.length(before + 1);
    const ciphertext = await h.deps.store.messages.read(user.user.id, messages[before]!);
    // Inside only: the stored outer message has its seven fields and nothing else.
    expect(headerSection(ciphertext)).not.to.match(/Authentication-Results|spf=|dkim=/i);
    return { code: reply.code, plain: await h.gpg.decrypt(ciphertext) };
  }

  const mail = (from: string, subject: string): Buffer =>
    Buffer.from(
      `From: ${from}\r\nTo: ${user.address()}\r\nSubject: ${subject}\r\n` +
        `Date: Mon, 02 Dec 2024 10:00:00 +0000\r\nMessage-ID: <${subject}@x>\r\n\r\nHello.\r\n`,
    );

  it('records spf, dkim and dmarc pass for mail signed by mailauth (dkimSign) from a permitted host', async () => {
    const signed = await sign(mail('Sender <sender@example.org>', 'signed'));
    const { code, plain } = await deliver('sender@example.org', signed);
    expect(code).to.equal(250);
    const ar = authenticationResultsOf(plain)!;
    expect(ar).to.match(
      new RegExp(
        '^kzymy\\.test;\\r\\n spf=pass smtp\\.mailfrom=sender@example\\.org;' +
          '\\r\\n dkim=pass header\\.d=example\\.org header\\.s=sel header\\.b="[A-Za-z0-9+/=]{8}";' +
          '\\r\\n dmarc=pass header\\.from=example\\.org;\\r\\n arc=none$',
      ),
    );
    // One field, at the top of the payload (RFC 9788: a protected header field), the
    // signature's own field kept (DKIM-Signature is the original's), the body untouched.
    const fields = readAsRfc9788(plain).fields;
    expect(fields.filter(([n]) => n === 'Authentication-Results')).to.have.length(1);
    expect(fields.filter(([n]) => n === 'DKIM-Signature')).to.have.length(1);
    // The lookups went to the configured resolver.
    expect(h.dns!.queries).to.include.members([
      'example.org TXT',
      'sel._domainkey.example.org TXT',
      '_dmarc.example.org TXT',
    ]);
  });

  it('records failures and still delivers: a forged From, and a body changed after signing', async () => {
    const forged = await deliver('ceo@bank.example', mail('CEO <ceo@bank.example>', 'forged'));
    expect(forged.code).to.equal(250);
    expect(authenticationResultsOf(forged.plain)).to.match(
      /spf=fail smtp\.mailfrom=ceo@bank\.example;\r\n dkim=none;\r\n dmarc=fail header\.from=bank\.example;/,
    );

    const signed = await sign(mail('sender@example.org', 'tampered'));
    const tampered = Buffer.from(signed.toString().replace('Hello.', 'Pay me.'));
    const changed = await deliver('sender@example.org', tampered);
    expect(changed.code).to.equal(250);
    expect(authenticationResultsOf(changed.plain)).to.match(
      / dkim=(neutral|fail) header\.d=example\.org/,
    );
  });

  it('records an ARC chain sealed by a forwarder (mailauth sealMessage)', async () => {
    const original = mail('sender@example.org', 'forwarded');
    const seal = await sealMessage(original, {
      signingDomain: 'forwarder.example',
      selector: 'arc',
      privateKey: arcKey.privateKey,
      ...({ authResults: 'forwarder.example; spf=pass', cv: 'none' } as object),
    });
    const { plain } = await deliver('sender@example.org', Buffer.concat([seal, original]));
    expect(authenticationResultsOf(plain)).to.match(/;\r\n arc=pass$/);
  });

  it('answers 250 with temperror verdicts when DNS fails or does not answer, never a 4xx', async () => {
    for (const domain of ['broken.example', 'silent.example']) {
      const started = Date.now();
      const { code, plain } = await deliver(`a@${domain}`, mail(`a@${domain}`, domain));
      expect(code).to.equal(250);
      expect(authenticationResultsOf(plain)).to.match(/spf=temperror smtp\.mailfrom=a@/);
      expect(authenticationResultsOf(plain)).to.match(/dmarc=temperror/);
      // Bounded by the resolver's timeouts (500 ms, twice) and smtp.senderAuth.timeoutMs.
      expect(Date.now() - started).to.be.below(15_000);
    }
  });

  it('keeps the client IP address out of the payload, the logs and the store', async () => {
    const { plain } = await deliver('sender@example.org', mail('sender@example.org', 'ip'));
    expect(plain.toString('latin1')).not.to.include('127.0.0.1');
    expect(plain.toString('latin1')).not.to.include('client.example');
    const client = await SmtpClient.ready(h.port);
    await client.quit();
    const log = await readFile(h.haraka.logFile, 'utf8');
    const lines = log.split('\n').filter((line) => !/"message":"Listening on /.test(line));
    expect(lines.join('\n')).not.to.include('127.0.0.1');
  });

  it('formats every verdict within RFC 8601 and leaves out what does not fit its grammar', () => {
    expect(formatAuthenticationResults('kzymy.test', temperrorVerdicts())).to.equal(
      'kzymy.test;\r\n spf=temperror;\r\n dkim=temperror;\r\n dmarc=temperror;\r\n arc=none',
    );
    const hostile = formatAuthenticationResults('kzymy.test', {
      spf: { result: 'pass\r\nBcc: x', mailFrom: '"a b"@example.org' },
      dkim: [{ result: 'pass', domain: 'exa mple.org', selector: 's;1', signature: 'ab\r\ncd==' }],
      dmarc: { result: 'temperr', from: 'Example.ORG' },
      arc: { result: 'pass' },
    });
    expect(hostile).to.equal(
      'kzymy.test;\r\n spf=none smtp.mailfrom=@example.org;\r\n dkim=pass header.b="abcd==";' +
        '\r\n dmarc=temperror header.from=example.org;\r\n arc=pass',
    );
    expect(() => formatAuthenticationResults('bad id', temperrorVerdicts())).to.throw(TypeError);
  });
});
