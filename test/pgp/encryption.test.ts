// The encrypted message itself (src/pgp/encryption.ts, src/pgp/native/), proven with GnuPG 2.2
// and OpenPGP.js decrypting it: every key kind kzymy meets, every size class, every path.
import { expect } from 'chai';
import { createDecipheriv, randomBytes } from 'node:crypto';
import * as openpgp from 'openpgp';
import { armorMessage } from '../../src/pgp/armor';
import {
  encryptBinary,
  encryptBinaryParts,
  encryptTextToKey,
  prepareEncryption,
} from '../../src/pgp/encryption';
import { parsePublicKey } from '../../src/pgp/key-cache';
import { keyValidityDate } from '../../src/pgp/key-validity';
import { PIECE_BYTES } from '../../src/pgp/native/seipd';
import { STREAM_ABOVE_BYTES } from '../../src/pgp/pgp-mime';
import { GpgError, GpgHome, type TestKeyKind } from '../helpers/gpg';

interface Recipient {
  label: string;
  armored: string;
  privateKey: openpgp.PrivateKey;
  /** RFC 9580 §9.1 algorithm gpg reports for the PKESK: 18 ECDH, 1 RSA. */
  algorithm: number;
  /** Key ID of the encryption subkey, uppercase hex, as gpg prints it. */
  subkeyId: string;
  /** Whether kzymy's native path encrypts to it (else OpenPGP.js). */
  native: boolean;
}

interface GpgDecryption {
  plaintext: Buffer;
  status: string[];
  stderr: string;
  /** From SESSION_KEY: "<cipher id>:<hex>". */
  sessionKey: string;
}

/** Binary bytes with every kind of line ending, NULs and 8-bit bytes, of exactly `size` bytes. */
function payloadOf(size: number): Buffer {
  const tricky = Buffer.from('\r\n\0\n\r\r\n.\r\n\xff\x00\x80', 'latin1');
  const bytes = Buffer.concat([tricky, randomBytes(size)]).subarray(0, size);
  return Buffer.from(bytes);
}

/** Cut into uneven pieces, as the SMTP data capture hands them over. */
function cut(bytes: Buffer): Buffer[] {
  const pieces: Buffer[] = [];
  for (let at = 0, n = 0; at < bytes.length; n++) {
    const size = [1, 16 * 1024, 300_001, 57, 256 * 1024][n % 5] as number;
    pieces.push(bytes.subarray(at, at + size));
    at += size;
  }
  return pieces;
}

const seconds = (d: Date): number => Math.floor(d.getTime() / 1000);

describe('pgp/encryption: the message kzymy writes, read by GnuPG 2.2 and OpenPGP.js', function () {
  this.timeout(120_000);
  let gpg: GpgHome;
  const recipients: Recipient[] = [];
  const arrival = new Date(Math.floor(Date.now() / 1000) * 1000 - 3_600_000);

  async function gpgRecipient(
    label: string,
    kind: TestKeyKind,
    algorithm: number,
  ): Promise<Recipient> {
    const key = await gpg.generateKey(kind);
    return fromGpg(label, key.fingerprint, algorithm, true);
  }

  async function fromGpg(
    label: string,
    fingerprint: string,
    algorithm: number,
    native: boolean,
  ): Promise<Recipient> {
    const armored = (await gpg.exportPublic(fingerprint)).toString('utf8');
    const privateKey = await openpgp.readPrivateKey({
      armoredKey: (await gpg.exportSecret(fingerprint)).toString('utf8'),
    });
    const subkeyId = (await privateKey.getEncryptionKey()).getKeyID().toHex().toUpperCase();
    return { label, armored, privateKey, algorithm, subkeyId, native };
  }

  async function openpgpRecipient(label: string, aeadProtect: boolean): Promise<Recipient> {
    // OpenPGP.js 6's default key: EdDSA primary and an ECDH Curve25519Legacy subkey; with
    // aeadProtect its Features advertise SEIPDv2, which GnuPG 2.2 cannot read.
    const { privateKey, publicKey } = await openpgp.generateKey({
      userIDs: [{ name: label }],
      format: 'object',
      config: { aeadProtect },
    });
    await gpg.importKeys(privateKey.armor());
    const subkeyId = (await publicKey.getEncryptionKey()).getKeyID().toHex().toUpperCase();
    return { label, armored: publicKey.armor(), privateKey, algorithm: 18, subkeyId, native: true };
  }

  /** gpg --decrypt with --show-session-key; rejects (GpgError) if gpg fails. */
  async function gpgDecrypt(armored: Buffer | string): Promise<GpgDecryption> {
    const { stdout, stderr } = await gpg.run(
      ['--status-fd', '2', '--show-session-key', '--decrypt'],
      {
        input: armored,
      },
    );
    const status = stderr
      .split('\n')
      .filter((l) => l.startsWith('[GNUPG:] '))
      .map((l) => l.slice('[GNUPG:] '.length));
    const sessionKey = status.find((l) => l.startsWith('SESSION_KEY '))?.split(' ')[1] ?? '';
    return { plaintext: stdout, status, stderr, sessionKey };
  }

  async function openpgpDecrypt(r: Recipient, binary: Uint8Array): Promise<Buffer> {
    const { data } = await openpgp.decrypt({
      message: await openpgp.readMessage({ binaryMessage: binary }),
      decryptionKeys: r.privateKey,
      format: 'binary',
    });
    return Buffer.from(data as Uint8Array);
  }

  /** The cipher OpenPGP.js's generateSessionKey picks for the key: what kzymy used before. */
  async function expectedCipher(r: Recipient): Promise<number> {
    const key = await openpgp.readKey({ armoredKey: r.armored });
    const suggested = await openpgp.generateSessionKey({
      encryptionKeys: key,
      // The arrival is an hour before the keys were made: judged as kzymy judges it.
      date: keyValidityDate(key, arrival),
      config: { aeadProtect: false },
    });
    return openpgp.enums.symmetric[suggested.algorithm];
  }

  async function encryptAll(r: Recipient, payload: Buffer, streamed: boolean): Promise<Buffer> {
    const e = await prepareEncryption(await parsePublicKey(r.armored), arrival);
    expect(e.recipient !== null, `${r.label}: native path`).to.equal(r.native);
    if (!streamed) return Buffer.from(await encryptBinary(e, [payload]));
    const parts: Uint8Array[] = [];
    for await (const part of encryptBinaryParts(e, cut(payload))) parts.push(part);
    // Produced as encrypted: many parts, none of them near the whole message.
    expect(parts.length).to.be.greaterThan(3);
    expect(Math.max(...parts.map((p) => p.length))).to.be.at.most(PIECE_BYTES + 4096);
    return Buffer.concat(parts);
  }

  before(async function () {
    this.timeout(300_000);
    gpg = await GpgHome.create();
    recipients.push(await gpgRecipient('GnuPG ed25519 + cv25519', 'curve25519', 18));
    recipients.push(await gpgRecipient('GnuPG RSA-2048', 'rsa2048', 1));
    recipients.push(await gpgRecipient('GnuPG RSA-4096', 'rsa4096', 1));
    // No subkey: the primary key itself encrypts (the PKESK names the primary's Key ID).
    const single = 'kzymy test rsa primary only';
    await gpg.run(['--quick-gen-key', single, 'rsa2048', 'sign,cert,encr', 'never']);
    recipients.push(
      await fromGpg('GnuPG RSA-2048 primary only', await gpg.fingerprintOf(single), 1, true),
    );
    recipients.push(await openpgpRecipient('OpenPGP.js curve25519', false));
    recipients.push(await openpgpRecipient('OpenPGP.js curve25519, SEIPDv2 in Features', true));
    // A cv25519 key that prefers AES-128 only: the session key follows its preferences.
    const aes128 = 'kzymy test aes128-only';
    await gpg.run([
      '--default-preference-list',
      'AES SHA256 Uncompressed',
      '--quick-gen-key',
      aes128,
      'ed25519',
      'sign,cert',
      'never',
    ]);
    const aes128Fpr = await gpg.fingerprintOf(aes128);
    await gpg.run(['--quick-add-key', aes128Fpr, 'cv25519', 'encr', 'never']);
    recipients.push(await fromGpg('GnuPG cv25519, AES-128 preferred', aes128Fpr, 18, true));
    // ECDH on NIST P-256 is not native: OpenPGP.js still encrypts to it.
    const p256 = 'kzymy test nistp256';
    await gpg.run(['--quick-gen-key', p256, 'nistp256', 'sign,cert', 'never']);
    const p256Fpr = await gpg.fingerprintOf(p256);
    await gpg.run(['--quick-add-key', p256Fpr, 'nistp256', 'encr', 'never']);
    recipients.push(await fromGpg('GnuPG NIST P-256 (OpenPGP.js path)', p256Fpr, 18, false));
  });

  after(async () => {
    await gpg?.dispose();
  });

  // Around the CFB block (16), the one- and two-octet packet lengths (literal body = 6 + size:
  // 191/192 and 8383/8384), a typical mail, and both sides of the streaming threshold.
  const SIZES = [0, 1, 15, 16, 17, 185, 186, 4096, 8377, 8378, 100 * 1024];
  const STREAMED = [STREAM_ABOVE_BYTES + 1, 3 * 1024 * 1024 + 11];

  describe('exact bytes back from gpg --decrypt and from OpenPGP.js', () => {
    for (const streamed of [false, true]) {
      const sizes = streamed ? STREAMED : SIZES;
      it(`${streamed ? 'streams' : 'encrypts whole'} ${sizes.join(', ')} bytes to each kind of key`, async () => {
        for (const r of recipients) {
          const cipher = await expectedCipher(r);
          for (const size of sizes) {
            const what = `${r.label}, ${size} bytes`;
            const payload = payloadOf(size);
            const binary = await encryptAll(r, payload, streamed);
            const armored = armorMessage(binary);
            const got = await gpgDecrypt(armored);
            expect(got.plaintext.equals(payload), what).to.equal(true);
            expect(got.status, what).to.include.members(['DECRYPTION_OKAY', 'GOODMDC']);
            // Integrity protected, the key's cipher, and no complaint of any kind.
            expect(got.status, what).to.include(`DECRYPTION_INFO 2 ${cipher} 0`);
            expect(got.stderr, what).not.to.match(/WARNING|BADMDC|DECRYPTION_FAILED|NODATA/);
            // A binary literal, dated at arrival, of exactly the payload's size.
            expect(got.status, what).to.include(`PLAINTEXT 62 ${seconds(arrival)} `);
            // (OpenPGP.js streams with partial lengths, so gpg learns the size only at the end.)
            if (r.native || !streamed) {
              expect(got.status, what).to.include(`PLAINTEXT_LENGTH ${size}`);
            }
            expect((await openpgpDecrypt(r, binary)).equals(payload), what).to.equal(true);
          }
        }
      });
    }
  });

  describe('packets, as gpg --list-packets sees them', () => {
    it('a v3 PKESK (ECDH 18 or RSA 1) to the subkey, SEIPD with MDC, a literal b, nothing else', async () => {
      for (const r of recipients) {
        for (const streamed of [false, true]) {
          const size = streamed ? STREAM_ABOVE_BYTES + 1 : 4096;
          const dump = await gpg.listPackets(
            armorMessage(await encryptAll(r, payloadOf(size), streamed)),
          );
          const what = `${r.label}, ${size} bytes\n${dump}`;
          const packets = dump.split('\n').filter((l) => l.startsWith(':'));
          expect(
            packets.map((l) => l.split(':')[1]),
            what,
          ).to.deep.equal(['pubkey enc packet', 'encrypted data packet', 'literal data packet']);
          expect(dump, what).to.include(
            `:pubkey enc packet: version 3, algo ${r.algorithm}, keyid ${r.subkeyId}`,
          );
          expect(dump, what).to.match(
            /:encrypted data packet:\n\s+length: (\d+|unknown)\n\s+mdc_method: 2\n/,
          );
          expect(dump, what).to.match(
            /:literal data packet:\n\s+mode b \(62\), created \d+, name="",/,
          );
          expect(dump, what).not.to.match(/compressed packet|aead encrypted packet/);
          if (r.native) {
            // Native: definite lengths, even for a streamed message (the size is known).
            expect(dump, what).not.to.match(/partial/);
            expect(dump, what).to.include(
              `created ${seconds(arrival)}, name="",\n\traw data: ${size} bytes`,
            );
          }
        }
      }
    });

    it('repeats the last two octets of the random prefix (RFC 9580 §5.13.1)', async () => {
      for (const r of recipients.filter((x) => x.native)) {
        const binary = await encryptAll(r, payloadOf(100), false);
        const { sessionKey } = await gpgDecrypt(armorMessage(binary));
        const [cipherId, hex] = sessionKey.split(':') as [string, string];
        const mode = { '7': 'aes-128-cfb', '8': 'aes-192-cfb', '9': 'aes-256-cfb' }[cipherId];
        if (!mode) expect.fail(`unexpected cipher ${cipherId}`);
        // The SEIPD packet follows the PKESK: version 1, then the CFB ciphertext.
        const [pkesk, seipd] = packetsOf(binary);
        expect([pkesk?.tag, seipd?.tag], r.label).to.deep.equal([1, 18]);
        const body = seipd!.body;
        expect(body[0], r.label).to.equal(1);
        const decipher = createDecipheriv(mode, Buffer.from(hex, 'hex'), Buffer.alloc(16));
        const prefix = decipher.update(body.subarray(1, 19));
        expect(prefix[16], r.label).to.equal(prefix[14]);
        expect(prefix[17], r.label).to.equal(prefix[15]);
      }
    });
  });

  describe('nothing secret is reused', () => {
    it('draws a new ephemeral key and session key for every message, same message, same key', async () => {
      const payload = payloadOf(4096);
      for (const r of recipients) {
        const e = await prepareEncryption(await parsePublicKey(r.armored), arrival);
        const messages = [await encryptBinary(e, [payload]), await encryptBinary(e, [payload])];
        const pkesks = await Promise.all(
          messages.map(async (m) => {
            const [pkesk] = (await openpgp.readMessage({ binaryMessage: m })).packets;
            return (
              pkesk as unknown as {
                encrypted: Record<string, Uint8Array | { write(): Uint8Array }>;
              }
            ).encrypted;
          }),
        );
        const first = Object.values(pkesks[0]!).map(bytesOf);
        const second = Object.values(pkesks[1]!).map(bytesOf);
        // ECDH: the ephemeral point V and the wrapped key C; RSA: m^e mod n. All different.
        expect(first.length, r.label).to.equal(r.algorithm === 18 ? 2 : 1);
        first.forEach((value, i) =>
          expect(value.equals(second[i]!), `${r.label} field ${i}`).to.equal(false),
        );
        const keys = await Promise.all(
          messages.map(async (m) => (await gpgDecrypt(armorMessage(m))).sessionKey),
        );
        expect(keys[0], r.label).to.match(/^\d:[0-9A-F]{32,64}$/);
        expect(keys[0], r.label).not.to.equal(keys[1]);
      }
    });

    it('never repeats an ephemeral point over many messages', async () => {
      const r = recipients[0]!;
      const e = await prepareEncryption(await parsePublicKey(r.armored), arrival);
      const points = new Set<string>();
      for (let i = 0; i < 200; i++) {
        const [pkesk] = (
          await openpgp.readMessage({ binaryMessage: await encryptBinary(e, [Buffer.from('x')]) })
        ).packets;
        points.add(
          Buffer.from((pkesk as unknown as { encrypted: { V: Uint8Array } }).encrypted.V).toString(
            'hex',
          ),
        );
      }
      expect(points.size).to.equal(200);
    });
  });

  describe('key validity, judged at every arrival', () => {
    const rejects = async (p: Promise<unknown>): Promise<void> => {
      const outcome = await p.then(
        () => 'resolved',
        (error: unknown) => (error instanceof Error ? 'rejected' : 'odd'),
      );
      expect(outcome).to.equal('rejected');
    };

    it('refuses expired, revoked and expired-subkey keys', async () => {
      for (const kind of ['expired', 'revoked', 'expired-subkey'] as const) {
        const key = await gpg.generateKey(kind);
        const armored = (await gpg.exportPublic(key.fingerprint)).toString('utf8');
        await rejects(prepareEncryption(await parsePublicKey(armored), new Date()));
        await rejects(encryptTextToKey(armored, 'code', new Date()));
      }
    });

    it('refuses a key once it has expired, though it encrypted to it before (caches warm)', async () => {
      const soon = await gpg.generateKey('expiring-soon');
      const key = await parsePublicKey((await gpg.exportPublic(soon.fingerprint)).toString('utf8'));
      const now = new Date();
      for (let i = 0; i < 3; i++) {
        const e = await prepareEncryption(key, now);
        expect(e.recipient).not.to.equal(null);
        await encryptBinary(e, [Buffer.from('fine')]);
      }
      await rejects(prepareEncryption(key, new Date(now.getTime() + 11 * 86_400_000)));
      // ... and is still fine at an arrival within its lifetime.
      await prepareEncryption(key, now);
    });

    it('refuses a key revoked after kzymy had encrypted to it', async () => {
      const key = await gpg.generateKey('curve25519');
      const before = (await gpg.exportPublic(key.fingerprint)).toString('utf8');
      await encryptBinary(await prepareEncryption(await parsePublicKey(before), new Date()), [
        Buffer.from('a'),
      ]);
      await gpg.revoke(key.fingerprint);
      const after = (await gpg.exportPublic(key.fingerprint)).toString('utf8');
      await rejects(prepareEncryption(await parsePublicKey(after), new Date()));
    });
  });

  describe('activation text (encryptTextToKey)', () => {
    it('is a UTF-8 literal with CRLF line ends that gpg turns back into the text', async () => {
      const text = 'Username: u4k2p9\nCode: 123-456\nÄöü ✓\n';
      for (const r of recipients) {
        const armored = await encryptTextToKey(r.armored, text, arrival);
        expect(armored).to.match(
          /^-----BEGIN PGP MESSAGE-----\n\n[A-Za-z0-9+/=\n]+\n-----END PGP MESSAGE-----\n$/,
        );
        const got = await gpgDecrypt(armored);
        expect(got.plaintext.toString('utf8'), r.label).to.equal(text);
        expect(got.status, r.label).to.include.members(['DECRYPTION_OKAY', 'GOODMDC']);
        expect(got.status, r.label).to.include(`PLAINTEXT 75 ${seconds(arrival)} `);
        // The literal data itself has CRLF line ends (RFC 9580 §5.9), as OpenPGP.js wrote it.
        const { data } = await openpgp.decrypt({
          message: await openpgp.readMessage({ armoredMessage: armored }),
          decryptionKeys: r.privateKey,
          format: 'binary',
        });
        const crlf = Buffer.from(text.replace(/\n/g, '\r\n'), 'utf8');
        expect(Buffer.from(data).equals(crlf), r.label).to.equal(true);
      }
    });

    it('fails with a gpg error for a key gpg does not hold, so the tests above prove something', async () => {
      const other = await openpgp.generateKey({
        userIDs: [{ name: 'stranger' }],
        format: 'armored',
      });
      const armored = await encryptTextToKey(other.publicKey, 'x', arrival);
      const error = await gpgDecrypt(armored).then(
        () => null,
        (e: unknown) => e,
      );
      expect(error).to.be.instanceOf(GpgError);
    });
  });
});

/** Top-level packets of a message with OpenPGP-format headers and definite lengths only. */
function packetsOf(bytes: Uint8Array): { tag: number; body: Uint8Array }[] {
  const packets: { tag: number; body: Uint8Array }[] = [];
  for (let at = 0; at < bytes.length; ) {
    const first = bytes[at] as number;
    expect(first & 0xc0, 'OpenPGP-format header').to.equal(0xc0);
    const o1 = bytes[at + 1] as number;
    let length: number;
    let head: number;
    if (o1 < 192) [length, head] = [o1, 2];
    else if (o1 < 224) [length, head] = [((o1 - 192) << 8) + (bytes[at + 2] as number) + 192, 3];
    else if (o1 === 255) [length, head] = [Buffer.from(bytes).readUInt32BE(at + 2), 6];
    else throw new Error('partial body length');
    packets.push({ tag: first & 0x3f, body: bytes.subarray(at + head, at + head + length) });
    at += head + length;
  }
  return packets;
}

function bytesOf(value: Uint8Array | { write(): Uint8Array }): Buffer {
  return Buffer.from(value instanceof Uint8Array ? value : value.write());
}
