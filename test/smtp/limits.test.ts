/**
 * The message size limit (RFC 1870 SIZE; 25 MB by default): a message of exactly the limit goes
 * through byte-exact, anything more is refused with 552 5.3.4 naming the limit, whether the
 * client declared its size or not. Over-long lines are refused rather than altered.
 */
import { expect } from 'chai';
import { randomBytes } from 'node:crypto';
import { expectBytes } from '../helpers/bytes';
import { expectedPlaintext, SmtpHarness, type TestUser } from './helpers/harness';
import { dotStuff, SmtpClient } from './helpers/smtp-client';

const LIMIT = 25 * 1024 * 1024;
const TOO_BIG = `552 5.3.4 Message size exceeds fixed maximum message size of ${LIMIT} bytes`;

/** A message of exactly `size` bytes: headers, then base64 lines of 76 characters. */
function messageOfSize(size: number): Buffer {
  const head = Buffer.from('From: big@example.org\r\nSubject: big\r\n\r\n');
  const lineCount = Math.floor((size - head.length) / 78);
  const base64 = randomBytes(Math.ceil((lineCount * 76 * 3) / 4)).toString('base64');
  const lines: string[] = [];
  for (let i = 0; i < lineCount; i++) lines.push(base64.slice(i * 76, (i + 1) * 76) + '\r\n');
  const body = Buffer.from(lines.join(''));
  const rest = size - head.length - body.length;
  // The remainder as one short last line (at least CR LF).
  const tail = Buffer.from('z'.repeat(Math.max(0, rest - 2)) + '\r\n');
  const message = Buffer.concat([head, body, tail]);
  if (message.length !== size) throw new Error(`built ${message.length} bytes, wanted ${size}`);
  return message;
}

describe('smtp: limits', function () {
  this.timeout(120_000);
  let h: SmtpHarness;
  let alice: TestUser;

  before(async () => {
    // Messages are compared byte for byte: the exact payload is the original after the delivery headers.
    h = await SmtpHarness.start({ payloadFormat: 'exact' });
    alice = await h.addUser();
  });
  after(async () => h?.close());

  it('advertises SIZE with the limit (RFC 1870)', async () => {
    const client = await SmtpClient.connect(h.port);
    await client.expect(220);
    const ehlo = await client.command('EHLO client.example', 250);
    expect(ehlo.lines).to.include(`SIZE ${LIMIT}`);
    await client.quit();
  });

  it('takes a message of exactly 25 MB and gpg gives it back byte for byte', async () => {
    const original = messageOfSize(LIMIT);
    const client = await SmtpClient.ready(h.port);
    const reply = await client.send('big@example.org', [alice.address('big')], dotStuff(original));
    expect(reply.raw).to.match(/^250 2\.0\.0 /);
    await client.quit();
    const plain = await h.gpg.decrypt(await h.onlyCiphertext(alice.user));
    const expected = expectedPlaintext('big@example.org', alice.address('big'), original);
    expectBytes(plain, expected, 'the payload');
  });

  it('encrypts a large message separately for each recipient, as a stream, each copy whole', async () => {
    // Above 1 MiB the captured message is streamed through OpenPGP.js once per recipient.
    const bob = await h.addUser({ kind: 'rsa4096' });
    const original = messageOfSize(3 * 1024 * 1024 + 7);
    const client = await SmtpClient.ready(h.port);
    const to = [alice.address('twice'), bob.address('twice')];
    const reply = await client.send('big@example.org', to, dotStuff(original));
    expect(reply.raw).to.match(/^250 2\.0\.0 /);
    await client.quit();
    for (const [user, address] of [
      [bob, to[1]!],
      [alice, to[0]!],
    ] as const) {
      const messages = await h.deps.store.messages.list(user.user.id);
      const last = messages[messages.length - 1]!;
      const plain = await h.gpg.decrypt(await h.deps.store.messages.read(user.user.id, last));
      expectBytes(plain, expectedPlaintext('big@example.org', address, original), address);
    }
  });

  it('refuses 25 MB + 1 KB at the end of data with 552 5.3.4 and stays usable', async () => {
    const bob = await h.addUser();
    const client = await SmtpClient.ready(h.port);
    const reply = await client.send(
      'big@example.org',
      [bob.address()],
      messageOfSize(LIMIT + 1024),
    );
    expect(reply.raw).to.equal(TOO_BIG);
    const small = await client.send(
      'a@example.org',
      [bob.address()],
      'Subject: small\r\n\r\nhi\r\n',
    );
    expect(small.code).to.equal(250);
    await client.quit();
    expect(await h.count(bob.user)).to.equal(1);
  });

  it('refuses a declared SIZE above the limit at MAIL FROM (RFC 1870 §6.1)', async () => {
    const client = await SmtpClient.ready(h.port);
    const reply = await client.command(`MAIL FROM:<a@example.org> SIZE=${LIMIT + 1}`);
    expect(reply.raw).to.equal(TOO_BIG);
    await client.command(`MAIL FROM:<a@example.org> SIZE=${LIMIT}`, 250);
    await client.quit();
  });

  it('refuses a message with a line longer than 1 MiB instead of storing it altered', async () => {
    const carol = await h.addUser();
    const client = await SmtpClient.ready(h.port);
    const longLine = 'Subject: long\r\n\r\n' + 'y'.repeat(1024 * 1024 + 10) + '\r\n';
    const reply = await client.send('a@example.org', [carol.address()], longLine);
    expect(reply.raw).to.equal('550 5.6.0 Message has a line longer than 1048576 bytes');
    await client.quit();
    expect(await h.count(carol.user)).to.equal(0);
  });
});
