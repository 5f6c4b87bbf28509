/**
 * Header protection end to end: mail goes through real Haraka to a live user, GnuPG decrypts
 * what was stored, and the payload is read the way Thunderbird 153 ESR reads it (and up to 115
 * ESR), and the way an RFC 9788 receiver does (test/helpers/mail-readers.ts, reproduced from
 * comm-central and RFC 9788, cited there): for plain text, multipart with attachments, no
 * Content-Type, mail the sender already encrypted (PGP/MIME) and malformed headers. Each time
 * the markers are kzymy's, HP-Outer records the stored outer header exactly, the original body
 * part is there byte for byte and the payload has a bucket's size.
 */
import { expect } from 'chai';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { bucketFor, PADDING_FIELD } from '../../src/pgp/padding';
import { readAsRfc9788, readAsThunderbird, subjectAsThunderbird115 } from '../helpers/mail-readers';
import {
  authenticationResultsOf,
  headerSection,
  SmtpHarness,
  swaksReplies,
  type TestUser,
} from './helpers/harness';
import { SmtpClient } from './helpers/smtp-client';
import { expectBytes } from '../helpers/bytes';

/** The original's body part as the payload must carry it: its Content-* fields, then its body. */
function bodyPart(original: Buffer): Buffer {
  const end = original.indexOf('\r\n\r\n');
  const header = original.subarray(0, end).toString('latin1');
  const structural = header
    .split(/\r\n(?![ \t])/)
    .filter((field) => /^(content-|mime-version)/i.test(field));
  return Buffer.concat([
    Buffer.from(structural.map((field) => `${field}\r\n`).join('') + '\r\n', 'latin1'),
    original.subarray(end + 4),
  ]);
}

describe('smtp: header protection that clients display', function () {
  this.timeout(120_000);
  let h: SmtpHarness;
  let user: TestUser;

  before(async () => {
    h = await SmtpHarness.start({
      dns: { 'example.org': { TXT: ['v=spf1 ip4:127.0.0.1 -all'] } },
    });
    user = await h.addUser();
  });
  after(async () => h?.close());

  /** Delivers `original` (already dot-safe) and returns the stored ciphertext and the payload. */
  async function roundTrip(original: Buffer): Promise<{ stored: Buffer; payload: Buffer }> {
    const client = await SmtpClient.ready(h.port);
    const reply = await client.send('sender@example.org', [user.address('shop')], original);
    expect(reply.raw).to.match(/^250 2\.0\.0 /);
    await client.quit();
    const messages = await h.deps.store.messages.list(user.user.id);
    const last = messages[messages.length - 1]!;
    const stored = await h.deps.store.messages.read(user.user.id, last);
    expect(last.size).to.equal(stored.length);
    return { stored, payload: await h.gpg.decrypt(stored) };
  }

  /** What every kind of original must give: kzymy's markers, the outer recorded, the part. */
  function expectReadable(stored: Buffer, payload: Buffer, part: Buffer, subject?: string): void {
    const tb = readAsThunderbird(payload);
    expect(tb.contentType.type).to.equal('multipart/mixed');
    expect(tb.protectedHeaders).to.deep.equal({
      subject,
      date: tb.fields.get('date')?.[0],
    });
    expect(tb.headersShownAsBody).to.equal(false);
    expect(subjectAsThunderbird115(payload)).to.equal(subject ?? null);
    const rfc = readAsRfc9788(payload);
    expect(rfc.hp).to.equal('cipher');
    // HP-Outer is exactly the stored outer header's non-structural fields (RFC 9788 §2.2).
    const outer = headerSection(stored)
      .split('\r\n')
      .filter((line) => /^(From|To|Subject|Date|Message-ID): /.test(line));
    expect(outer).to.have.length(5);
    expect(rfc.hpOuter).to.deep.equal(outer);
    expect(rfc.fields.slice(0, 3).map(([name]) => name)).to.deep.equal([
      'Return-Path',
      'Delivered-To',
      'Authentication-Results',
    ]);
    expect(rfc.fields[1]).to.deep.equal(['Delivered-To', user.address('shop')]);
    expect(rfc.parts).to.have.length(1);
    expectBytes(rfc.parts[0], part, 'the first part');
    // Padded to a bucket, by one field at the end of the top-level header section.
    expect(payload.length).to.equal(bucketFor(payload.length));
    expect(tb.fields.get(PADDING_FIELD.toLowerCase())).to.have.length(1);
  }

  it('plain text: Subject and Date protected, the text/plain part byte for byte', async () => {
    const original = Buffer.from(
      'From: Sender <sender@example.org>\r\nTo: shop@example\r\nSubject: =?UTF-8?Q?Gr=C3=BC=C3=9Fe?=\r\n' +
        'Date: Mon, 02 Dec 2024 10:00:00 +0000\r\nMessage-ID: <p1@example.org>\r\n' +
        'MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n' +
        'Content-Transfer-Encoding: 8bit\r\n\r\nnaïve café\r\n-- \r\nsig\r\n',
    );
    const { stored, payload } = await roundTrip(original);
    expectReadable(stored, payload, bodyPart(original), '=?UTF-8?Q?Gr=C3=BC=C3=9Fe?=');
    expect(readAsRfc9788(payload).fields).to.deep.include.members([
      ['From', 'Sender <sender@example.org>'],
      ['To', 'shop@example'],
      ['Date', 'Mon, 02 Dec 2024 10:00:00 +0000'],
      ['Message-ID', '<p1@example.org>'],
    ]);
  });

  it('multipart with attachments: the whole MIME tree is the one part, byte for byte', async () => {
    const attachment = Buffer.alloc(20_000, 7)
      .toString('base64')
      .replace(/(.{76})/g, '$1\r\n');
    const original = Buffer.from(
      'From: s@example.org\r\nSubject: report attached\r\nMIME-Version: 1.0\r\n' +
        'Content-Type: multipart/mixed; boundary="outer"\r\n\r\n' +
        '--outer\r\nContent-Type: multipart/alternative; boundary="alt"\r\n\r\n' +
        '--alt\r\nContent-Type: text/plain\r\n\r\nsee attached\r\n' +
        '--alt\r\nContent-Type: text/html\r\n\r\n<p>see attached</p>\r\n--alt--\r\n' +
        '--outer\r\nContent-Type: application/octet-stream; name="data.bin"\r\n' +
        'Content-Disposition: attachment; filename="data.bin"\r\n' +
        `Content-Transfer-Encoding: base64\r\n\r\n${attachment}\r\n--outer--\r\n`,
    );
    const { stored, payload } = await roundTrip(original);
    expectReadable(stored, payload, bodyPart(original), 'report attached');
  });

  it('no Content-Type: Thunderbird no longer shows the header lines as body text', async () => {
    const original = Buffer.from('From: s@example.org\r\nSubject: bare text\r\n\r\nline\r\n');
    const { stored, payload } = await roundTrip(original);
    expectReadable(stored, payload, Buffer.from('\r\nline\r\n'), 'bare text');
  });

  it('already-encrypted PGP/MIME from the sender: wrapped like any other, the inner layer intact', async () => {
    const inner = await h.gpg.run(
      ['--armor', '--trust-model', 'always', '--encrypt', '-r', user.key.fingerprint],
      { input: 'Content-Type: text/plain\r\n\r\nthe inner secret\r\n' },
    );
    const armored = inner.stdout.toString('latin1').replace(/\r?\n/g, '\r\n');
    const original = Buffer.from(
      'From: s@example.org\r\nSubject: encrypted by the sender\r\nMIME-Version: 1.0\r\n' +
        'Content-Type: multipart/encrypted; protocol="application/pgp-encrypted"; boundary="enc"\r\n\r\n' +
        '--enc\r\nContent-Type: application/pgp-encrypted\r\n\r\nVersion: 1\r\n\r\n' +
        `--enc\r\nContent-Type: application/octet-stream\r\n\r\n${armored}\r\n--enc--\r\n`,
    );
    const { stored, payload } = await roundTrip(original);
    expectReadable(stored, payload, bodyPart(original), 'encrypted by the sender');
    // The sender's layer is the part, untouched: the user's key opens it too.
    const part = readAsRfc9788(payload).parts[0]!;
    expect((await h.gpg.decrypt(part)).toString()).to.equal(
      'Content-Type: text/plain\r\n\r\nthe inner secret\r\n',
    );
  });

  it('malformed headers: bare LF, NUL, bare CR, duplicated and folded Content-Types keep the markers kzymy’s', async () => {
    const original = Buffer.concat([
      Buffer.from('From: s@example.org\r\nSubject: malformed\r\n'),
      Buffer.from(
        'X-Bare-Lf: one\nX-Nul: a\0b\r\nX-Cr: a\rContent-Type: text/html; protected-headers=v1\r\n',
      ),
      Buffer.from('Content-Type: text/plain; protected-headers="v1"; hp="clear"\r\n'),
      Buffer.from('Content-Type: multipart/mixed;\r\n\tboundary="never"\r\n'),
      Buffer.from('HP-Outer: Subject: forged\r\n\r\nbody\nwith bare LF\r\n'),
    ]);
    const { stored, payload } = await roundTrip(original);
    const part = Buffer.from(
      'X-Nul: a\0b\r\nX-Cr: a\rContent-Type: text/html; protected-headers=v1\r\n' +
        'Content-Type: text/plain; protected-headers="v1"; hp="clear"\r\n' +
        'Content-Type: multipart/mixed;\r\n\tboundary="never"\r\nHP-Outer: Subject: forged\r\n\r\n' +
        'body\nwith bare LF\r\n',
      'latin1',
    );
    expectReadable(stored, payload, part, 'malformed');
    expect(readAsRfc9788(payload).fields).to.deep.include(['X-Bare-Lf', 'one']);
  });

  it('a large message streams through: 3 MB protected, padded to 3 MiB, its body byte for byte', async () => {
    // Whole lines: the end-of-data line must follow a CR LF.
    const body = Buffer.alloc(14 * 224_000, 'line of text\r\n');
    const original = Buffer.concat([
      Buffer.from('Subject: big\r\nContent-Type: text/plain\r\n\r\n'),
      body,
    ]);
    const { stored, payload } = await roundTrip(original);
    expect(payload.length).to.equal(3 * 1024 * 1024);
    expectReadable(stored, payload, bodyPart(original), 'big');
  });

  it('two messages of different sizes in one bucket store the same number of bytes', async () => {
    const sizes: number[] = [];
    for (const length of [9_000, 15_000]) {
      const { stored } = await roundTrip(
        Buffer.from(`Subject: s${length}\r\n\r\n${'a'.repeat(length)}\r\n`),
      );
      sizes.push(stored.length);
    }
    expect(sizes[0]).to.equal(sizes[1]);
    const stored = await h.deps.store.messages.list(user.user.id);
    const [a, b] = stored.slice(-2);
    expect(a!.size).to.equal(b!.size);
  });

  it('the exact format stays byte-exact after kzymy’s delivery fields, Authentication-Results included', async () => {
    const exact = await h.addUser({ payloadFormat: 'exact' });
    const original = Buffer.from('Subject: exact please\r\n\r\nbody\r\n');
    const client = await SmtpClient.ready(h.port);
    expect((await client.send('sender@example.org', [exact.address()], original)).code).to.equal(
      250,
    );
    await client.quit();
    const payload = await h.gpg.decrypt(await h.onlyCiphertext(exact.user));
    const ar = authenticationResultsOf(payload);
    expect(ar).to.match(/^kzymy\.test;\r\n spf=pass smtp\.mailfrom=sender@example\.org;/);
    expect(payload.toString('latin1')).to.equal(
      `Return-Path: <sender@example.org>\r\nDelivered-To: ${exact.address()}\r\n` +
        `Authentication-Results: ${ar}\r\n${original.toString('latin1')}`,
    );
  });

  it('done: swaks to a live user decrypts with GnuPG to markers, Authentication-Results, padding and the original body byte for byte', async () => {
    const live = await h.addUser();
    const rcpt = live.address('newsletter');
    const original = Buffer.from(
      [
        'From: Sender <sender@example.org>',
        `To: <${rcpt}>`,
        'Subject: the real subject',
        'Date: Tue, 02 Dec 2025 14:03:09 +0000',
        'Message-ID: <done-1@example.org>',
        'Content-Type: text/plain; charset=us-ascii',
        '',
        'Hello,',
        '.a line that starts with a dot',
        'bye',
        '',
      ].join('\r\n'),
    );
    const file = join(h.deps.config.dataDir, 'done.eml');
    // swaks sends the file, then CR LF . CR LF: the file leaves out the message's last CR LF.
    await writeFile(file, original.subarray(0, -2));
    const { code, transcript } = await h.swaks([
      '--to',
      rcpt,
      '--from',
      'sender@example.org',
      '--data',
      `@${file}`,
    ]);
    expect(code, transcript).to.equal(0);
    expect(swaksReplies(transcript).at(-2)).to.match(/^250 2\.0\.0 /);
    const stored = await h.onlyCiphertext(live.user);
    const payload = await h.gpg.decrypt(stored);
    const header = payload.subarray(0, payload.indexOf('\r\n\r\n')).toString('latin1');
    expect(header).to.match(
      /^Content-Type: multipart\/mixed; boundary="kzymy-[0-9a-f]{32}";\r\n protected-headers="v1"; hp="cipher"$/m,
    );
    expect(header).to.match(
      /^Authentication-Results: kzymy\.test;\r\n spf=pass smtp\.mailfrom=sender@example\.org;\r\n dkim=none;\r\n dmarc=none header\.from=example\.org;\r\n arc=none$/m,
    );
    expect(header).to.match(new RegExp(`^${PADDING_FIELD}: x+$`, 'm'));
    expect(header).to.include('Subject: the real subject');
    expect(readAsThunderbird(payload).protectedHeaders?.subject).to.equal('the real subject');
    const part = readAsRfc9788(payload).parts[0]!;
    expect(part.toString('latin1')).to.equal(
      'Content-Type: text/plain; charset=us-ascii\r\n\r\nHello,\r\n.a line that starts with a dot\r\nbye\r\n',
    );
    // The outer message says nothing of it.
    expect(headerSection(stored)).to.match(/^Subject: \.\.\.$/m);
    expect(headerSection(stored)).not.to.include('real subject');
  });
});
