import { expect } from 'chai';
import { randomBytes } from 'node:crypto';
import * as openpgp from 'openpgp';
import { checkPublicKey, type KeyInfo } from '../../src/pgp/key-check';
import {
  composeMessage,
  encryptComposed,
  encryptToPgpMime,
  encryptToPgpMimeParts,
  formatRfc5322Date,
  STREAM_ABOVE_BYTES,
  STUB_SUBJECT,
  type EncryptInput,
} from '../../src/pgp/pgp-mime';
import { expectBytes } from '../helpers/bytes';
import { GpgHome } from '../helpers/gpg';

const DOMAIN = 'kzymy.test';
const ENVELOPE_FROM = 'bounce-7731@sender.example';
const ALIAS = 'secret-alias@u4k2p9.kzymy.test';
const OUTER_TO = 'kzymy@u4k2p9.kzymy.test';

const crlf = (s: string): Buffer => Buffer.from(s.replace(/\n/g, '\r\n'), 'utf8');

/** Original messages the encryption must carry byte for byte. */
const ORIGINALS: Record<string, Buffer> = {
  'an ordinary CRLF message': crlf(
    'From: Alice <alice@sender.example>\nTo: secret-alias@u4k2p9.kzymy.test\n' +
      'Subject: hello\nMessage-ID: <m1@sender.example>\n\nHi.\n',
  ),
  'bare LF line endings': Buffer.from('Subject: lf\nFrom: a@b.example\n\nline one\nline two\n'),
  'NUL bytes': Buffer.from('Subject: nul\r\n\r\nbefore\0after\0\0\r\n\0', 'latin1'),
  'a 10,000-character line': Buffer.from(`Subject: long\r\n\r\n${'x'.repeat(10_000)}\r\nend\r\n`),
  'no header block at all': Buffer.from('just a body, no headers, no blank line'),
  '8-bit bytes that are not UTF-8': Buffer.concat([
    Buffer.from('Subject: =?iso-8859-1?q?8bit?=\r\n\r\n'),
    Buffer.from(Array.from({ length: 256 }, (_, i) => i)),
    Buffer.from([0xc3, 0x28, 0xa0, 0xa1, 0xff, 0xfe, 0x0d]),
  ]),
  'a claim to be multipart/encrypted already': crlf(
    'From: x@sender.example\nSubject: already encrypted, honest\nMIME-Version: 1.0\n' +
      'Content-Type: multipart/encrypted; protocol="application/pgp-encrypted"; boundary="b"\n\n' +
      '--b\nContent-Type: application/pgp-encrypted\n\nVersion: 1\n\n--b\n' +
      'Content-Type: application/octet-stream\n\n-----BEGIN PGP MESSAGE-----\n\nplaintext!\n' +
      '-----END PGP MESSAGE-----\n--b--\n',
  ),
  'lone CRs, dot lines and no final newline': Buffer.from(
    'Subject: cr\r\rx\r\n.\r\n..\r\nFrom me\r',
  ),
  'the empty message': Buffer.alloc(0),
};

interface OuterMessage {
  headerNames: string[];
  headers: Map<string, string>;
  /** The second MIME part's body: the armored ciphertext. */
  armored: string;
  /** The first MIME part: headers and body as text. */
  control: string;
  controlBody: string;
  encryptedPartHeaders: string;
  preamble: string;
  boundary: string;
}

/** Parse the outer message strictly: CRLF only, unfolded headers, exactly two MIME parts. */
function parseOuter(msg: Buffer): OuterMessage {
  const text = msg.toString('latin1');
  const split = text.indexOf('\r\n\r\n');
  expect(split).to.be.greaterThan(0);
  const headerNames: string[] = [];
  const headers = new Map<string, string>();
  const unfolded = text.slice(0, split).replace(/\r\n[ \t]/g, ' ');
  for (const line of unfolded.split('\r\n')) {
    const m = /^([A-Za-z-]+): (.*)$/.exec(line);
    if (!m) expect.fail(`bad header line: ${line}`);
    headerNames.push(m[1]!);
    headers.set(m[1]!.toLowerCase(), m[2]!);
  }
  const boundary = /boundary="([^"]+)"/.exec(headers.get('content-type') ?? '')?.[1];
  if (!boundary) expect.fail('no boundary');
  const body = text.slice(split + 4);
  // RFC 2046 §5.1.1: the delimiter is CRLF "--" boundary; the CRLF belongs to the delimiter.
  const [preamble, ...rest] = body.split(`\r\n--${boundary}`);
  expect(rest, 'two parts and a close delimiter').to.have.length(3);
  expect(rest[2]).to.equal('--\r\n');
  const part = (p: string): [string, string] => {
    expect(p.startsWith('\r\n')).to.equal(true);
    const i = p.indexOf('\r\n\r\n');
    return [p.slice(2, i + 2), p.slice(i + 4)];
  };
  const [controlHeaders, controlBody] = part(rest[0]!);
  const [encryptedPartHeaders, armoredBody] = part(rest[1]!);
  return {
    headerNames,
    headers,
    armored: armoredBody,
    control: controlHeaders,
    controlBody,
    encryptedPartHeaders,
    preamble: preamble!,
    boundary,
  };
}

/** The packet's version field (public on the objects, absent from some typings). */
function versionOf(packet: unknown): number | undefined {
  return (packet as { version?: number }).version;
}

function deliveryHeaders(envelopeFrom: string, recipient: string): Buffer {
  return Buffer.from(`Return-Path: <${envelopeFrom}>\r\nDelivered-To: ${recipient}\r\n`);
}

describe('pgp/pgp-mime: encryptToPgpMime', function () {
  this.timeout(60_000);
  let gpg: GpgHome;
  let rsa: KeyInfo;
  let cv: KeyInfo;

  const input = (
    key: KeyInfo,
    raw: EncryptInput['raw'],
    extra: Partial<EncryptInput> = {},
  ): EncryptInput => ({
    raw,
    publicKeyArmored: key.armored,
    envelopeFrom: ENVELOPE_FROM,
    recipients: [ALIAS],
    arrival: new Date(),
    domain: DOMAIN,
    outerTo: OUTER_TO,
    // These tests are about the encryption: the byte-exact payload shows every byte went through.
    // The protected payload has its own tests (test/pgp/protected-payload.test.ts).
    format: 'exact',
    ...extra,
  });

  const checked = async (armored: Buffer | string): Promise<KeyInfo> => {
    const result = await checkPublicKey(armored);
    if (!result.ok) expect.fail(result.message);
    return result.key;
  };

  before(async function () {
    gpg = await GpgHome.create();
    const rsaKey = await gpg.generateKey('rsa4096');
    const cvKey = await gpg.generateKey('curve25519');
    // What the store holds is KeyInfo.armored, so encrypt to that, as production does.
    rsa = await checked(await gpg.exportPublic(rsaKey.fingerprint));
    cv = await checked(await gpg.exportPublic(cvKey.fingerprint));
  });

  after(async () => {
    await gpg?.dispose();
  });

  describe('byte-exact round trip through gpg --decrypt', () => {
    for (const [name, raw] of Object.entries(ORIGINALS)) {
      it(`carries ${name} unchanged (Curve25519 and RSA-4096)`, async () => {
        const expected = Buffer.concat([deliveryHeaders(ENVELOPE_FROM, ALIAS), raw]);
        for (const key of [cv, rsa]) {
          const out = await encryptToPgpMime(input(key, raw));
          const { plaintext, status } = await gpg.decryptWithStatus(parseOuter(out).armored);
          expectBytes(plaintext, expected, `${name} to ${key.algorithm}`);
          expect(status).to.include('DECRYPTION_OKAY');
          expect(status).to.include('GOODMDC');
        }
      });
    }

    it('writes Return-Path <> for the null sender', async () => {
      const raw = ORIGINALS['an ordinary CRLF message']!;
      const out = await encryptToPgpMime(input(cv, raw, { envelopeFrom: '' }));
      const plaintext = await gpg.decrypt(parseOuter(out).armored);
      expectBytes(plaintext, Buffer.concat([deliveryHeaders('', ALIAS), raw]), 'the payload');
      expect(plaintext.subarray(0, 17).toString()).to.equal('Return-Path: <>\r\n');
    });

    it('round-trips a 25 MB message', async function () {
      this.timeout(60_000);
      const raw = Buffer.concat([
        crlf('Subject: big\nContent-Type: application/octet-stream\n\n'),
        randomBytes(25 * 1024 * 1024),
      ]);
      const out = await encryptToPgpMime(input(cv, raw));
      expect(out.length).to.be.greaterThan(raw.length * 1.3);
      const plaintext = await gpg.decrypt(parseOuter(out).armored);
      expect(plaintext.length).to.equal(raw.length + deliveryHeaders(ENVELOPE_FROM, ALIAS).length);
      expectBytes(plaintext, Buffer.concat([deliveryHeaders(ENVELOPE_FROM, ALIAS), raw]));
    });
  });

  describe('large messages, encrypted as a stream', () => {
    /** `raw` cut into pieces of uneven sizes, as DataCapture hands them over. */
    function cut(raw: Buffer): Buffer[] {
      const pieces: Buffer[] = [];
      for (let at = 0, n = 0; at < raw.length; n++) {
        const size = [1, 16 * 1024, 300_001, 57, 256 * 1024][n % 5]!;
        pieces.push(raw.subarray(at, at + size));
        at += size;
      }
      return pieces;
    }

    for (const size of [STREAM_ABOVE_BYTES - 200, STREAM_ABOVE_BYTES + 1, 3 * 1024 * 1024 + 11]) {
      it(`carries ${size} bytes given in pieces unchanged (gpg --decrypt)`, async () => {
        const raw = Buffer.concat([crlf('Subject: pieces\n\n'), randomBytes(size)]);
        const parts: Buffer[] = [];
        for await (const part of await encryptToPgpMimeParts(input(cv, cut(raw)))) parts.push(part);
        const out = Buffer.concat(parts);
        // A streamed message is produced in parts, none of them the whole message.
        if (size > STREAM_ABOVE_BYTES) {
          expect(parts.length).to.be.greaterThan(3);
          expect(Math.max(...parts.map((part) => part.length))).to.be.below(512 * 1024);
        } else {
          expect(parts).to.have.length(1);
        }
        const outer = parseOuter(out);
        expect(outer.headerNames).to.include('Content-Type');
        expect(/^[\x20-\x7e\r\n]*$/.test(out.toString('latin1'))).to.equal(true);
        const { plaintext, status } = await gpg.decryptWithStatus(outer.armored);
        expectBytes(plaintext, Buffer.concat([deliveryHeaders(ENVELOPE_FROM, ALIAS), raw]));
        // Streamed, and still SEIPDv1 with MDC, integrity-protected for GnuPG 2.2.
        expect(status).to.include.members(['DECRYPTION_OKAY', 'GOODMDC']);
      });
    }

    it('streams a message given in one Buffer in slices too, never as one part', async () => {
      const raw = randomBytes(5 * 1024 * 1024);
      const sizes: number[] = [];
      const parts: Buffer[] = [];
      for await (const part of await encryptToPgpMimeParts(input(cv, raw))) {
        sizes.push(part.length);
        parts.push(part);
      }
      expect(sizes.length).to.be.greaterThan(10);
      expect(Math.max(...sizes)).to.be.below(512 * 1024);
      const plaintext = await gpg.decrypt(parseOuter(Buffer.concat(parts)).armored);
      expectBytes(plaintext, Buffer.concat([deliveryHeaders(ENVELOPE_FROM, ALIAS), raw]));
    });

    it('one padded size always stores the same number of bytes, whatever the pieces', async () => {
      // OpenPGP.js writes a partial body length per chunk it is handed: the chunks must not
      // follow the capture's slabs, or the padding would leak through the stored size.
      const sizes = new Set<number>();
      for (const [size, slab] of [
        [1_200_000, 16 * 1024],
        [1_700_000, 300_001],
        [2_000_000, 7_777],
      ] as const) {
        const raw = Buffer.concat([crlf('Subject: b\n\n'), randomBytes(size)]);
        const pieces: Buffer[] = [];
        for (let at = 0; at < raw.length; at += slab) pieces.push(raw.subarray(at, at + slab));
        const out = await encryptToPgpMime(input(cv, pieces, { format: 'protected' }));
        sizes.add(out.length);
      }
      expect(sizes.size).to.equal(1);
    });

    it('knows an upper bound of the stored size before encrypting', async () => {
      for (const key of [rsa, cv]) {
        for (const size of [0, 3_000, 70_000, STREAM_ABOVE_BYTES + 5, 2_500_000]) {
          for (const format of ['protected', 'exact'] as const) {
            const raw = Buffer.concat([crlf('Subject: bound\n\n'), randomBytes(size)]);
            const composed = composeMessage(input(key, raw, { format }));
            let stored = 0;
            for await (const part of await encryptComposed(composed)) stored += part.length;
            expect(composed.storedBytesAtMost).to.be.at.least(stored);
            // And close to it: a quota is not refused for kilobytes that will never be stored.
            expect(composed.storedBytesAtMost - stored).to.be.below(4_096 + stored * 0.01);
          }
        }
      }
    });

    it('refuses an expired key before producing anything, streamed or not', async () => {
      const raw = randomBytes(STREAM_ABOVE_BYTES + 1);
      const later = new Date(Date.now() + 11 * 86_400_000);
      const expiring = await gpg.generateKey('expiring-soon');
      const key = await checked(await gpg.exportPublic(expiring.fingerprint));
      const failure = await encryptToPgpMimeParts(input(key, raw, { arrival: later })).then(
        () => 'produced',
        (error: Error) => error.message,
      );
      expect(failure).not.to.equal('produced');
    });
  });

  describe('outer message', () => {
    const original = ORIGINALS['an ordinary CRLF message']!;
    const secrets = [
      'Alice',
      'alice@sender.example',
      'hello',
      'm1@sender.example',
      ENVELOPE_FROM,
      ALIAS,
      'secret-alias',
    ];

    it('has exactly the neutral RFC 5322 headers, in order', async () => {
      const arrival = new Date(Math.floor(Date.now() / 1000) * 1000);
      const out = await encryptToPgpMime(input(cv, original, { arrival }));
      const outer = parseOuter(out);
      expect(outer.headerNames).to.deep.equal([
        'From',
        'To',
        'Subject',
        'Date',
        'Message-ID',
        'MIME-Version',
        'Content-Type',
      ]);
      expect(outer.headers.get('from')).to.equal(`kzymy <postmaster@${DOMAIN}>`);
      expect(outer.headers.get('to')).to.equal(OUTER_TO);
      expect(outer.headers.get('subject')).to.equal(STUB_SUBJECT).and.equal('...');
      expect(outer.headers.get('date')).to.equal(formatRfc5322Date(arrival));
      expect(new Date(outer.headers.get('date')!).getTime()).to.equal(arrival.getTime());
      expect(outer.headers.get('message-id')).to.match(/^<[0-9a-f]{32}@kzymy\.test>$/);
      expect(outer.headers.get('mime-version')).to.equal('1.0');
    });

    it('is RFC 3156 multipart/encrypted with a Version: 1 control part', async () => {
      const outer = parseOuter(await encryptToPgpMime(input(cv, original)));
      expect(outer.headers.get('content-type')).to.equal(
        `multipart/encrypted; protocol="application/pgp-encrypted"; boundary="${outer.boundary}"`,
      );
      expect(outer.control).to.match(/^Content-Type: application\/pgp-encrypted\r\n/);
      expect(outer.controlBody).to.equal('Version: 1\r\n');
      expect(outer.encryptedPartHeaders).to.match(
        /^Content-Type: application\/octet-stream; name="encrypted\.asc"\r\n/,
      );
      expect(outer.armored).to.match(/^-----BEGIN PGP MESSAGE-----\r\n/);
      expect(outer.armored).to.match(/\r\n-----END PGP MESSAGE-----\r\n$/);
    });

    it('is 7-bit ASCII with CRLF line endings only, whatever the original', async () => {
      for (const raw of Object.values(ORIGINALS)) {
        const out = await encryptToPgpMime(input(cv, raw));
        expect(out.every((b) => b < 0x80)).to.equal(true);
        expect(/(^|[^\r])\n/.test(out.toString('latin1')), 'bare LF').to.equal(false);
        expect(/\r(?!\n)/.test(out.toString('latin1')), 'bare CR').to.equal(false);
        expect(
          out
            .toString('latin1')
            .split('\r\n')
            .every((l) => l.length <= 78),
        ).to.equal(true);
      }
    });

    it('carries nothing of the original headers, envelope sender or alias', async () => {
      const out = (await encryptToPgpMime(input(cv, original))).toString('latin1');
      for (const s of secrets) expect(out.toLowerCase()).not.to.include(s.toLowerCase());
    });

    it('ignores a Content-Type that claims the message is encrypted already', async () => {
      const raw = ORIGINALS['a claim to be multipart/encrypted already']!;
      const out = await encryptToPgpMime(input(cv, raw));
      const text = out.toString('latin1');
      expect(text).not.to.include('plaintext!');
      expect(text).not.to.include('already encrypted, honest');
      expect(text).not.to.include('boundary="b"');
      expect(parseOuter(out).headers.get('subject')).to.equal('...');
    });

    it('uses a fresh Message-ID, boundary and session key every time', async () => {
      const a = await encryptToPgpMime(input(cv, original));
      const b = await encryptToPgpMime(input(cv, original));
      const pa = parseOuter(a);
      const pb = parseOuter(b);
      expect(pa.headers.get('message-id')).not.to.equal(pb.headers.get('message-id'));
      expect(pa.boundary).not.to.equal(pb.boundary);
      expect(pa.armored).not.to.equal(pb.armored);
    });
  });

  describe('OpenPGP packet format (GnuPG 2.2 compatibility)', () => {
    const packetsOf = async (armored: string): Promise<openpgp.PacketList<openpgp.AnyPacket>> =>
      (await openpgp.readMessage({ armoredMessage: armored })).packets;

    it('emits a v3 PKESK and a SEIPDv1 (MDC) packet, with a binary literal inside', async () => {
      const outer = parseOuter(await encryptToPgpMime(input(rsa, Buffer.from('x'))));
      const packets = [...(await packetsOf(outer.armored))];
      expect(packets).to.have.length(2);
      expect(packets[0]).to.be.instanceOf(openpgp.PublicKeyEncryptedSessionKeyPacket);
      expect(packets[1]).to.be.instanceOf(openpgp.SymEncryptedIntegrityProtectedDataPacket);
      expect(versionOf(packets[0])).to.equal(3);
      expect(versionOf(packets[1])).to.equal(1);
      const dump = await gpg.listPackets(outer.armored);
      expect(dump).to.match(/mdc_method: 2/);
      expect(dump).to.match(/literal data packet:\s+mode b /);
      expect(dump).not.to.match(/compressed packet/);
    });

    it('still emits SEIPDv1 for a key whose Features advertise SEIPDv2 (AEAD)', async () => {
      // An OpenPGP.js v4 key made with aeadProtect advertises SEIPDv2 in its Features.
      const generated = await openpgp.generateKey({
        userIDs: [{ name: 'aead prefs' }],
        format: 'object',
        config: { aeadProtect: true },
      });
      // (getPrimarySelfSignature and enums.features exist but are missing from the typings.)
      const withSelfSig = generated.publicKey as unknown as {
        getPrimarySelfSignature(): Promise<openpgp.SignaturePacket>;
      };
      const selfSig = await withSelfSig.getPrimarySelfSignature();
      const SEIPDV2_FEATURE = 0x08; // RFC 9580 §5.2.3.32
      expect((selfSig.features?.[0] ?? 0) & SEIPDV2_FEATURE).to.equal(SEIPDV2_FEATURE);
      // Control: left to itself, OpenPGP.js would use SEIPDv2, which GnuPG 2.2 cannot read.
      const naive = await openpgp.encrypt({
        message: await openpgp.createMessage({ binary: new Uint8Array([1]) }),
        encryptionKeys: generated.publicKey,
        config: { aeadProtect: false },
      });
      const naiveSeipd = [...(await packetsOf(naive))][1];
      expect(versionOf(naiveSeipd), 'OpenPGP.js default for such keys').to.equal(2);

      const key = await checked(generated.publicKey.armor());
      const raw = ORIGINALS['NUL bytes']!;
      const outer = parseOuter(await encryptToPgpMime(input(key, raw)));
      const seipd = [...(await packetsOf(outer.armored))][1];
      expect(seipd).to.be.instanceOf(openpgp.SymEncryptedIntegrityProtectedDataPacket);
      expect(versionOf(seipd)).to.equal(1);
      // And GnuPG 2.2 reads it with the OpenPGP.js-made secret key.
      await gpg.importKeys(generated.privateKey.armor());
      const plaintext = await gpg.decrypt(outer.armored);
      expectBytes(plaintext, Buffer.concat([deliveryHeaders(ENVELOPE_FROM, ALIAS), raw]));
    });
  });

  describe('fails closed', () => {
    const raw = Buffer.from('Subject: s\r\n\r\nb\r\n');
    const rejects = async (p: Promise<unknown>, pattern?: RegExp): Promise<Error> => {
      let error: unknown;
      try {
        await p;
      } catch (err) {
        error = err;
      }
      expect(error, 'expected a rejection').to.be.instanceOf(Error);
      if (pattern) expect((error as Error).message).to.match(pattern);
      return error as Error;
    };

    it('rejects a key that has expired by the arrival time', async () => {
      const soon = await gpg.generateKey('expiring-soon');
      const key = await checked(await gpg.exportPublic(soon.fingerprint));
      const late = new Date(Date.now() + 11 * 86_400_000);
      await rejects(encryptToPgpMime(input(key, raw, { arrival: late })));
      // ... but encrypts while it is still valid.
      await encryptToPgpMime(input(key, raw));
    });

    it('rejects garbage and private keys in place of the public key', async () => {
      await rejects(encryptToPgpMime({ ...input(cv, raw), publicKeyArmored: 'nope' }));
      const secret = (await gpg.exportSecret(await gpg.fingerprintOf(cv.userIds[0]!))).toString();
      const err = await rejects(encryptToPgpMime({ ...input(cv, raw), publicKeyArmored: secret }));
      expect(err.message).not.to.include(secret.split('\n')[3]!.slice(0, 16));
    });

    it('rejects a v6 key', async () => {
      const { publicKey } = await openpgp.generateKey({
        userIDs: [{ name: 'v6' }],
        type: 'curve25519',
        format: 'armored',
        config: { v6Keys: true },
      });
      await rejects(encryptToPgpMime({ ...input(cv, raw), publicKeyArmored: publicKey }), /v4/);
    });

    it('rejects header injection through the envelope, outer To or domain, without echoing it', async () => {
      const evil = 'a@b.example\r\nBcc: victim@else.example';
      for (const field of ['envelopeFrom', 'outerTo', 'domain'] as const) {
        const err = await rejects(encryptToPgpMime(input(cv, raw, { [field]: evil })), /not/);
        expect(err.message).not.to.include('victim');
      }
      const viaRecipient = await rejects(encryptToPgpMime(input(cv, raw, { recipients: [evil] })));
      expect(viaRecipient.message).not.to.include('victim');
      const viaResults = await rejects(
        encryptToPgpMime(input(cv, raw, { authenticationResults: `x; spf=pass\r\nBcc: victim` })),
      );
      expect(viaResults.message).not.to.include('victim');
      await rejects(encryptToPgpMime(input(cv, raw, { outerTo: 'two words@x.example' })));
      await rejects(encryptToPgpMime(input(cv, raw, { arrival: new Date(NaN) })), /arrival/);
    });
  });
});

describe('pgp/pgp-mime: formatRfc5322Date', () => {
  it('formats UTC with a numeric zone and two-digit day', () => {
    expect(formatRfc5322Date(new Date(Date.UTC(2025, 0, 2, 3, 4, 5)))).to.equal(
      'Thu, 02 Jan 2025 03:04:05 +0000',
    );
    expect(formatRfc5322Date(new Date(Date.UTC(2024, 11, 31, 23, 59, 59)))).to.equal(
      'Tue, 31 Dec 2024 23:59:59 +0000',
    );
  });
});
