/**
 * What arrives on the wire, exactly: malformed mail is kept byte for byte, SMTP smuggling
 * sequences never end DATA, 8-bit and UTF-8 mail passes (8BITMIME, SMTPUTF8) and STARTTLS works.
 * Raw sockets where swaks would normalise the bytes.
 */
import { expect } from 'chai';
import { expectedPlaintext, SmtpHarness, swaksReplies, type TestUser } from './helpers/harness';
import { dotStuff, SmtpClient } from './helpers/smtp-client';
import { expectBytes } from '../helpers/bytes';

describe('smtp: on the wire', function () {
  this.timeout(60_000);
  let h: SmtpHarness;

  before(async () => {
    // Every byte on the wire is checked: the exact payload is the original after the delivery headers.
    h = await SmtpHarness.start({ payloadFormat: 'exact' });
  });
  after(async () => h?.close());

  /** Sends `original` (dot-stuffed) to a fresh user; returns what gpg decrypts and the user. */
  async function roundTrip(original: Buffer, from = 'a@example.org'): Promise<Buffer> {
    const user = await h.addUser();
    const client = await SmtpClient.ready(h.port);
    const reply = await client.send(from, [user.address()], dotStuff(original));
    expect(reply.raw).to.match(/^250 2\.0\.0 /);
    await client.quit();
    const plain = await h.gpg.decrypt(await h.onlyCiphertext(user.user));
    expect(plain.toString('latin1')).to.equal(
      expectedPlaintext(from, user.address(), original).toString('latin1'),
    );
    return plain;
  }

  const malformed: Array<[string, Buffer]> = [
    ['bare LF line endings', Buffer.from('Subject: lf\n\nline one\nline two\n\r\n')],
    ['NUL bytes', Buffer.from('Subject: nul\r\n\r\nbefore\0after\0\r\n', 'latin1')],
    ['a 10,000-character line', Buffer.from(`Subject: long\r\n\r\n${'L'.repeat(10_000)}\r\n`)],
    ['no headers at all', Buffer.from('just a body line\r\n.leading dot\r\nand another\r\n')],
    ['no header/body separator', Buffer.from('Subject: only headers\r\nX-Other: y\r\n')],
    [
      'broken MIME',
      Buffer.from(
        [
          'MIME-Version: 1.0',
          'Content-Type: multipart/mixed; boundary="never-closed',
          'Content-Transfer-Encoding: base64',
          '',
          '--never-closed',
          'Content-Type: text/plain; charset=x-unknown',
          '',
          '%%% not base64 %%%',
          '',
        ].join('\r\n'),
      ),
    ],
    [
      '8-bit bytes in headers and body',
      Buffer.from('Subject: caf\xe9 \xff\r\n\r\n\x80\x81\xfe\r\n', 'latin1'),
    ],
    ['a bare CR inside a header', Buffer.from('Subject: a\rb\r\nX: y\r\n\r\nbody\r\n')],
    [
      'mail that claims to be encrypted already',
      Buffer.from(
        'Content-Type: multipart/encrypted; protocol="application/pgp-encrypted"; boundary=b\r\n\r\n--b\r\nplain text after all\r\n--b--\r\n',
      ),
    ],
    ['an empty message', Buffer.alloc(0)],
  ];
  for (const [name, original] of malformed) {
    it(`keeps ${name} byte for byte`, async () => {
      await roundTrip(original);
    });
  }

  describe('SMTP smuggling', () => {
    let victim: TestUser;
    before(async () => {
      victim = await h.addUser();
    });

    for (const [name, sequence] of [
      ['<LF>.<LF>', '\n.\n'],
      ['<LF>.<CRLF>', '\n.\r\n'],
      ['<CR>.<CR>', '\r.\r'],
      ['<CRLF>.<LF>', '\r\n.\n'],
      ['<CR>.<CRLF>', '\r.\r\n'],
    ] as const) {
      it(`does not end DATA at ${name}: the smuggled commands stay message content`, async () => {
        const user = await h.addUser();
        const smuggled =
          `MAIL FROM:<ceo@bank.example>\r\nRCPT TO:<${victim.address()}>\r\nDATA\r\n` +
          'Subject: forged\r\n\r\nsend money\r\n';
        const wire = Buffer.from(`Subject: innocent\r\n\r\nhello${sequence}${smuggled}`);
        const client = await SmtpClient.ready(h.port);
        const reply = await client.send('a@example.org', [user.address()], wire);
        expect(reply.raw).to.match(/^250 2\.0\.0 /);
        // The very next reply is the one to QUIT: no command was run from inside the data.
        expect((await client.command('QUIT')).code).to.equal(221);
        client.destroy();
        const plain = await h.gpg.decrypt(await h.onlyCiphertext(user.user));
        // RFC 5321 §4.5.2: a dot at the start of a CRLF line is transparency, nothing else is.
        const content =
          name === '<CRLF>.<LF>' ? Buffer.from(wire.toString().replace('\r\n.\n', '\r\n\n')) : wire;
        expect(plain.toString('latin1')).to.equal(
          expectedPlaintext('a@example.org', user.address(), content).toString('latin1'),
        );
        expect(await h.count(victim.user)).to.equal(0);
      });
    }
  });

  it('takes SMTPUTF8 and 8BITMIME envelopes and UTF-8 addresses', async () => {
    const user = await h.addUser();
    const client = await SmtpClient.ready(h.port);
    const from = 'jürgen@bücher.example';
    const to = user.address('postfächle');
    await client.command(`MAIL FROM:<${from}> SMTPUTF8 BODY=8BITMIME`, 250);
    await client.command(`RCPT TO:<${to}>`, 250);
    await client.command('DATA', 354);
    const original = Buffer.from('Subject: grüße\r\n\r\nnaïve café\r\n');
    client.write(Buffer.concat([original, Buffer.from('.\r\n')]));
    expect((await client.reply()).code).to.equal(250);
    await client.quit();
    const plain = await h.gpg.decrypt(await h.onlyCiphertext(user.user));
    expectBytes(plain, expectedPlaintext(from, to, original));
  });

  it('offers STARTTLS with the configured certificate and delivers over it', async () => {
    const user = await h.addUser();
    const { code, transcript } = await h.swaks([
      '--tls',
      '--to',
      user.address(),
      '--from',
      'tls@example.org',
      '--body',
      'over TLS',
    ]);
    expect(code, transcript).to.equal(0);
    expect(transcript).to.match(/TLS started with cipher TLSv1\.[23]/);
    expect(transcript).to.include(`peer DN="/CN=${h.domain}"`);
    expect(swaksReplies(transcript)).to.include('220 Go ahead.');
    expect(await h.count(user.user)).to.equal(1);
  });

  it('refuses INTERNALCMD from loopback (every Tor client is on loopback)', async () => {
    const client = await SmtpClient.ready(h.port);
    const reply = await client.command('INTERNALCMD performShutdown');
    expect(reply.code).to.equal(501);
    // Still alive.
    await client.command('NOOP', 250);
    await client.quit();
  });
});
