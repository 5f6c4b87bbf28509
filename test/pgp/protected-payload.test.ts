/**
 * The protected payload, built from every kind of original and from hostile ones, read the way
 * Thunderbird (153 ESR and up to 115 ESR) and an RFC 9788 receiver read it (test/helpers/
 * mail-readers.ts, reproduced from their sources): the markers are kzymy's, the protected header
 * fields are the original's, the original body part is there byte for byte, and no header
 * field is lost. The same payloads encrypted and decrypted by GnuPG, through real Haraka, are in
 * test/smtp/header-protection.test.ts.
 */
import { expect } from 'chai';
import { randomBytes } from 'node:crypto';
import {
  bucketFor,
  MIN_PADDING_BYTES,
  paddingField,
  paddingFor,
  PADDING_FIELD,
} from '../../src/pgp/padding';
import { findHeaderEnd, splitMessage } from '../../src/pgp/header-section';
import { buildPayload, type PayloadInput } from '../../src/pgp/protected-payload';
import { expectBytes } from '../helpers/bytes';
import { readAsRfc9788, readAsThunderbird, subjectAsThunderbird115 } from '../helpers/mail-readers';

const OUTER = [
  { name: 'From', value: 'kzymy <postmaster@kzymy.test>' },
  { name: 'To', value: 'u1@u1.kzymy.test' },
  { name: 'Subject', value: '...' },
  { name: 'Date', value: 'Tue, 02 Dec 2025 14:03:09 +0000' },
  { name: 'Message-ID', value: '<0123@kzymy.test>' },
];
const AR = 'kzymy.test;\r\n spf=pass smtp.mailfrom=a@example.org;\r\n dkim=none';

function payloadOf(original: Buffer | Buffer[], extra: Partial<PayloadInput> = {}): Buffer {
  const built = buildPayload({
    original: Buffer.isBuffer(original) ? [original] : original,
    envelopeFrom: 'a@example.org',
    recipients: ['shop@u1.kzymy.test'],
    authenticationResults: AR,
    outerFields: OUTER,
    format: 'protected',
    pad: false,
    ...extra,
  });
  const joined = Buffer.concat(built.pieces);
  expect(joined.length).to.equal(built.size);
  return joined;
}

const crlf = (...lines: string[]): Buffer => Buffer.from(lines.join('\r\n'), 'latin1');

/**
 * What every protected payload must satisfy, whatever the original: the markers are kzymy's,
 * the one body part is `part` exactly, and every original header line is somewhere.
 */
function expectProtected(payload: Buffer, part: Buffer, originalHeaderLines: string[] = []) {
  const tb = readAsThunderbird(payload);
  expect(tb.contentType.type).to.equal('multipart/mixed');
  expect(tb.contentType.params.get('protected-headers')).to.equal('v1');
  expect(tb.contentType.params.get('boundary')).to.match(/^kzymy-[0-9a-f]{32}$/);
  expect(tb.protectedHeaders).to.not.equal(null);
  expect(tb.headersShownAsBody).to.equal(false);
  // Thunderbird takes the first Content-Type field, and kzymy's is the only one at the top.
  expect(tb.fields.get('content-type')).to.have.length(1);
  const rfc = readAsRfc9788(payload);
  expect(rfc.hp).to.equal('cipher');
  expect(rfc.hpOuter).to.deep.equal(OUTER.map((f) => `${f.name}: ${f.value}`));
  expect(rfc.fields.filter(([name]) => /^authentication-results$/i.test(name))).to.deep.equal([
    ['Authentication-Results', AR.replace(/\r\n/g, '')],
  ]);
  expect(rfc.parts).to.have.length(1);
  expect(rfc.parts[0]!.toString('latin1')).to.equal(part.toString('latin1'));
  const text = payload.toString('latin1');
  for (const line of originalHeaderLines) expect(text).to.include(line);
  return { tb, rfc };
}

describe('pgp/protected-payload: the payload clients read', () => {
  it('text/plain only: the Subject is protected, the part is the original body part', () => {
    const original = crlf(
      'From: Sender <sender@example.org>',
      'To: shop@u1.kzymy.test',
      'Cc: other@example.net',
      'Reply-To: replies@example.org',
      'Subject: quarterly numbers',
      'Date: Mon, 02 Dec 2024 10:00:00 +0000',
      'Message-ID: <orig-1@example.org>',
      'MIME-Version: 1.0',
      'Content-Type: text/plain; charset=utf-8',
      'Content-Transfer-Encoding: 8bit',
      '',
      'Hello,',
      '',
      'bye',
      '',
    );
    const payload = payloadOf(original);
    const { tb, rfc } = expectProtected(
      payload,
      crlf(
        'MIME-Version: 1.0',
        'Content-Type: text/plain; charset=utf-8',
        'Content-Transfer-Encoding: 8bit',
        '',
        'Hello,',
        '',
        'bye',
        '',
      ),
    );
    expect(tb.protectedHeaders).to.deep.equal({
      subject: 'quarterly numbers',
      date: 'Mon, 02 Dec 2024 10:00:00 +0000',
    });
    expect(subjectAsThunderbird115(payload)).to.equal('quarterly numbers');
    expect(rfc.fields).to.deep.equal([
      ['Return-Path', '<a@example.org>'],
      ['Delivered-To', 'shop@u1.kzymy.test'],
      ['Authentication-Results', AR.replace(/\r\n/g, '')],
      ['From', 'Sender <sender@example.org>'],
      ['To', 'shop@u1.kzymy.test'],
      ['Cc', 'other@example.net'],
      ['Reply-To', 'replies@example.org'],
      ['Subject', 'quarterly numbers'],
      ['Date', 'Mon, 02 Dec 2024 10:00:00 +0000'],
      ['Message-ID', '<orig-1@example.org>'],
    ]);
  });

  it('multipart with attachments: the whole MIME tree is the one part, byte for byte', () => {
    const body = crlf(
      'This is a multi-part message in MIME format.',
      '--b1',
      'Content-Type: multipart/alternative; boundary="b2"',
      '',
      '--b2',
      'Content-Type: text/plain',
      '',
      'plain',
      '--b2',
      'Content-Type: text/html',
      '',
      '<p>html</p>',
      '--b2--',
      '--b1',
      'Content-Type: application/pdf; name="a.pdf"',
      'Content-Disposition: attachment; filename="a.pdf"',
      'Content-Transfer-Encoding: base64',
      '',
      randomBytes(3000)
        .toString('base64')
        .replace(/(.{76})/g, '$1\r\n'),
      '--b1--',
      'epilogue',
      '',
    );
    const original = Buffer.concat([
      crlf(
        'Subject: with files',
        'MIME-Version: 1.0',
        'Content-Type: multipart/mixed;',
        ' boundary="b1"',
        '',
        '',
      ),
      body,
    ]);
    expectProtected(
      payloadOf(original),
      Buffer.concat([
        crlf('MIME-Version: 1.0', 'Content-Type: multipart/mixed;', ' boundary="b1"', '', ''),
        body,
      ]),
    );
  });

  it('HTML only, and a body split across many pieces (the capture slabs), views kept', () => {
    const original = crlf(
      'Subject: html',
      'Content-Type: text/html; charset=utf-8',
      '',
      '<html><body><p>' + 'x'.repeat(100_000) + '</p></body></html>',
      '',
    );
    const pieces: Buffer[] = [];
    for (let at = 0; at < original.length; at += 7_000)
      pieces.push(original.subarray(at, at + 7_000));
    const built = buildPayload({
      original: pieces,
      envelopeFrom: '',
      recipients: ['x@u1.kzymy.test'],
      outerFields: OUTER,
      format: 'protected',
      pad: false,
    });
    // The body is handed on as views of the caller's pieces, not copied.
    expect(built.pieces.slice(2, -1).every((piece) => pieces.includes(piece))).to.equal(true);
    const payload = Buffer.concat(built.pieces);
    expect(readAsThunderbird(payload).protectedHeaders?.subject).to.equal('html');
    expect(readAsRfc9788(payload).parts[0]!.toString()).to.equal(
      original.subarray(original.indexOf('Content-Type')).toString(),
    );
  });

  it('no Content-Type: the part has no header fields, and Thunderbird no longer shows headers as body', () => {
    const original = crlf('From: a@example.org', 'Subject: bare', '', 'just text', '');
    const payload = payloadOf(original);
    expectProtected(payload, crlf('', 'just text', ''));
    expect(readAsThunderbird(payload).protectedHeaders?.subject).to.equal('bare');
    // The byte-exact payload of the same original is what Thunderbird showed as body text.
    const exact = payloadOf(original, { format: 'exact' });
    expect(readAsThunderbird(exact).headersShownAsBody).to.equal(true);
    expectBytes(exact.subarray(exact.length - original.length), original, 'the original');
  });

  it('no header section at all, or an empty message: the whole original is the body', () => {
    for (const original of [
      crlf('Hello there,', 'no headers here.', ''),
      crlf('', 'starts with an empty line', ''),
      Buffer.from(' starts with white space\r\n'),
      Buffer.from('From sender@example.org Mon Dec  2 10:00:00 2024\r\nSubject: mbox\r\n\r\nx\r\n'),
      Buffer.alloc(0),
    ]) {
      const payload = payloadOf(original);
      const body = original[0] === 0x0d ? original.subarray(2) : original;
      const { tb } = expectProtected(payload, Buffer.concat([Buffer.from('\r\n'), body]));
      expect(tb.protectedHeaders).to.deep.equal({ subject: undefined, date: undefined });
    }
  });

  it('a message that is only headers, or whose last line has no line end', () => {
    expectProtected(
      payloadOf(crlf('Subject: only headers', 'Content-Type: text/plain', '')),
      crlf('Content-Type: text/plain', '', ''),
    );
    expectProtected(
      payloadOf(Buffer.from('Subject: cut\r\nContent-Type: text/plain')),
      crlf('Content-Type: text/plain', '', ''),
    );
  });

  describe('hostile headers neither break the payload nor choose the markers', () => {
    const cases: [string, Buffer, string][] = [
      [
        'folded Content-Type',
        crlf(
          'Subject: s',
          'Content-Type: text/plain;',
          '\tcharset="utf-8";',
          ' format=flowed',
          '',
          'b',
          '',
        ),
        crlf(
          'Content-Type: text/plain;',
          '\tcharset="utf-8";',
          ' format=flowed',
          '',
          'b',
          '',
        ).toString('latin1'),
      ],
      [
        'duplicated Content-Type, one claiming the markers',
        crlf(
          'Subject: s',
          'Content-Type: text/plain; protected-headers="v1"; hp="cipher"',
          'Content-Type: multipart/encrypted; protocol="application/pgp-encrypted"; boundary=x',
          '',
          'b',
          '',
        ),
        crlf(
          'Content-Type: text/plain; protected-headers="v1"; hp="cipher"',
          'Content-Type: multipart/encrypted; protocol="application/pgp-encrypted"; boundary=x',
          '',
          'b',
          '',
        ).toString('latin1'),
      ],
      [
        'an over-long Content-Type',
        crlf('Subject: s', `Content-Type: text/plain; x="${'y'.repeat(200_000)}"`, '', 'b', ''),
        crlf(`Content-Type: text/plain; x="${'y'.repeat(200_000)}"`, '', 'b', '').toString(
          'latin1',
        ),
      ],
      [
        'malformed Content-Types',
        crlf('Subject: s', 'Content-Type: garbage', 'Content-type : multipart/mixed', '', 'b', ''),
        crlf('Content-Type: garbage', 'Content-type : multipart/mixed', '', 'b', '').toString(
          'latin1',
        ),
      ],
      [
        'a bare CR that would start a field, or end the header section, for some parsers',
        crlf(
          'Subject: s\rContent-Type: text/plain; protected-headers=v1',
          'X-Two: a\r\rContent-Type: text/html',
          'Content-Type: text/plain',
          '',
          'b',
          '',
        ),
        crlf(
          'Subject: s\rContent-Type: text/plain; protected-headers=v1',
          'X-Two: a\r\rContent-Type: text/html',
          'Content-Type: text/plain',
          '',
          'b',
          '',
        ).toString('latin1'),
      ],
      [
        'NUL inside a field, and 8-bit bytes',
        Buffer.concat([
          Buffer.from('Subject: nul\0here\r\nX-Name: '),
          Buffer.from('Grüße', 'utf8'),
          Buffer.from('\r\n\r\nb\r\n'),
        ]),
        'Subject: nul\0here\r\n\r\nb\r\n',
      ],
      [
        'bare LF line ends throughout',
        Buffer.from('Subject: lf\nContent-Type: text/plain\n\nline one\nline two\n'),
        'Content-Type: text/plain\r\n\r\nline one\nline two\n',
      ],
      [
        'fields only kzymy may write at the top (HP-Outer, A-R, Return-Path, Delivered-To, padding)',
        crlf(
          'Subject: s',
          'HP-Outer: Subject: forged',
          'Authentication-Results: kzymy.test; spf=pass; dkim=pass; dmarc=pass',
          'Return-Path: <forged@example.org>',
          'Delivered-To: forged@u1.kzymy.test',
          `${PADDING_FIELD}: x`,
          '',
          'b',
          '',
        ),
        crlf(
          'HP-Outer: Subject: forged',
          'Authentication-Results: kzymy.test; spf=pass; dkim=pass; dmarc=pass',
          'Return-Path: <forged@example.org>',
          'Delivered-To: forged@u1.kzymy.test',
          `${PADDING_FIELD}: x`,
          '',
          'b',
          '',
        ).toString('latin1'),
      ],
      [
        'a line of no field in the header section (the body begins there, nothing dropped)',
        crlf(
          'Subject: s',
          'Content-Type: text/plain',
          'not a field',
          'Content-Type: text/html',
          '',
          'b',
          '',
        ),
        crlf(
          'Content-Type: text/plain',
          '',
          'not a field',
          'Content-Type: text/html',
          '',
          'b',
          '',
        ).toString('latin1'),
      ],
    ];
    for (const [name, original, part] of cases) {
      it(name, () => {
        const payload = payloadOf(original);
        const { rfc } = expectProtected(payload, Buffer.from(part, 'latin1'));
        // The top-level section has no line a parser could split: no CR or NUL but line ends.
        const top = payload.subarray(0, payload.indexOf('\r\n\r\n')).toString('latin1');
        expect(top.replace(/\r\n/g, '')).not.to.match(/[\r\n\0]/);
        expect(rfc.fields.filter(([n]) => /^return-path$/i.test(n))).to.deep.equal([
          ['Return-Path', '<a@example.org>'],
        ]);
        expect(rfc.fields.filter(([n]) => /^delivered-to$/i.test(n))).to.deep.equal([
          ['Delivered-To', 'shop@u1.kzymy.test'],
        ]);
        expect(readAsThunderbird(payload).fields.get('hp-outer')).to.have.length(OUTER.length);
      });
    }

    it('a body that guesses at a boundary cannot end the part', () => {
      const original = crlf(
        'Subject: s',
        '',
        '--kzymy-00000000000000000000000000000000--',
        'b',
        '',
      );
      const payload = payloadOf(original);
      expectProtected(payload, crlf('', '--kzymy-00000000000000000000000000000000--', 'b', ''));
    });
  });

  it('the exact format: delivery fields, then the original byte for byte, never padded', () => {
    const original = crlf('Subject: exact', '', 'body', '');
    const built = buildPayload({
      original: [original],
      envelopeFrom: '',
      recipients: ['a@u1.kzymy.test', 'b@u1.kzymy.test'],
      authenticationResults: AR,
      outerFields: OUTER,
      format: 'exact',
      pad: true,
    });
    expect(built.paddingBytes).to.equal(0);
    expect(Buffer.concat(built.pieces).toString('latin1')).to.equal(
      'Return-Path: <>\r\nDelivered-To: a@u1.kzymy.test\r\nDelivered-To: b@u1.kzymy.test\r\n' +
        `Authentication-Results: ${AR}\r\n` +
        original.toString('latin1'),
    );
  });

  it('findHeaderEnd and splitMessage agree across piece boundaries', () => {
    const original = crlf('Subject: a', ' folded', 'X: y', '', 'body', '');
    for (let cut = 0; cut <= original.length; cut++) {
      const pieces = [original.subarray(0, cut), original.subarray(cut)];
      expect(findHeaderEnd(pieces)).to.deep.equal({ headerEnd: 27, bodyStart: 29 });
      const split = splitMessage(pieces);
      expect(split.fields.map((f) => f.name)).to.deep.equal(['subject', 'x']);
      expect(Buffer.concat(split.body).toString()).to.equal('body\r\n');
    }
  });
});

describe('pgp/padding: size buckets inside the encryption', () => {
  it('buckets are powers of two from 4 KiB to 1 MiB, then whole MiB', () => {
    const KiB = 1024;
    const MiB = 1024 * KiB;
    expect(bucketFor(1)).to.equal(4 * KiB);
    expect(bucketFor(4 * KiB)).to.equal(4 * KiB);
    expect(bucketFor(4 * KiB + 1)).to.equal(8 * KiB);
    expect(bucketFor(300 * KiB)).to.equal(512 * KiB);
    expect(bucketFor(MiB)).to.equal(MiB);
    expect(bucketFor(MiB + 1)).to.equal(2 * MiB);
    expect(bucketFor(25 * MiB - 5)).to.equal(25 * MiB);
  });

  it('a padding field is exactly as long as asked, folded into lines of at most 78 characters', () => {
    for (let bytes = MIN_PADDING_BYTES; bytes < 3000; bytes++) {
      const field = paddingField(bytes);
      expect(field.length).to.equal(bytes);
      const lines = field.toString('ascii').split('\r\n');
      expect(lines.pop()).to.equal('');
      expect(lines[0]).to.match(new RegExp(`^${PADDING_FIELD}: x+$`));
      for (const line of lines) expect(line.length).to.be.at.most(78);
      for (const line of lines.slice(1)) expect(line).to.match(/^ x+$/);
    }
    expect(() => paddingField(MIN_PADDING_BYTES - 1)).to.throw(RangeError);
    expect(paddingField(1024 * 1024).length).to.equal(1024 * 1024);
  });

  it('two originals of different sizes in one bucket give payloads of the same size', () => {
    const small = payloadOf(crlf('Subject: a', '', 'x'.repeat(5_000), ''), { pad: true });
    const large = payloadOf(crlf('Subject: a longer one', '', 'y'.repeat(7_000), ''), {
      pad: true,
    });
    expect(small.length).to.equal(8 * 1024);
    expect(large.length).to.equal(8 * 1024);
  });

  it('removing the padding field leaves exactly the unpadded payload', () => {
    for (const size of [0, 3_000, 4_000, 70_000]) {
      const original = crlf(
        'Subject: pad me',
        'Content-Type: text/plain',
        '',
        'z'.repeat(size),
        '',
      );
      const padded = payloadOf(original, { pad: true, boundary: 'kzymy-fixed' });
      const unpadded = payloadOf(original, { pad: false, boundary: 'kzymy-fixed' });
      expect(padded.length).to.equal(bucketFor(unpadded.length + MIN_PADDING_BYTES));
      expect(padded.length - unpadded.length).to.equal(paddingFor(unpadded.length));
      const text = padded.toString('latin1');
      const withoutField = text.replace(new RegExp(`${PADDING_FIELD}: x+\\r\\n(?: x+\\r\\n)*`), '');
      expect(withoutField).to.equal(unpadded.toString('latin1'));
      // Clients do not show it: it is a header field of its own, after the markers.
      expect(readAsThunderbird(padded).protectedHeaders?.subject).to.equal('pad me');
    }
  });
});
