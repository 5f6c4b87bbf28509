import { expect } from 'chai';
import * as openpgp from 'openpgp';
import {
  checkPublicKey,
  clearKeyCache,
  keyCacheSize,
  MAX_KEY_BYTES,
  parsePublicKey,
  type KeyCheckResult,
  type KeyInfo,
  type KeyProblem,
} from '../../src/pgp/key-check';
import { GpgHome, type TestKey, type TestKeyKind } from '../helpers/gpg';

const DAY = 86_400_000;

function expectOk(result: KeyCheckResult): KeyInfo {
  if (!result.ok) expect.fail(`expected ok, got ${result.problem}: ${result.message}`);
  return result.key;
}

function expectProblem(result: KeyCheckResult, problem: KeyProblem): string {
  if (result.ok) expect.fail(`expected ${problem}, got an accepted key`);
  expect(result.problem, result.message).to.equal(problem);
  expect(result.message).to.be.a('string').and.have.length.greaterThan(40);
  expect(Object.keys(result).sort()).to.deep.equal(['message', 'ok', 'problem']);
  return result.message;
}

/** Every 12-character window of the base64 lines of an armored block. */
function armorWindows(armored: string): string[] {
  const body = armored
    .split(/\r?\n/)
    .filter((l) => /^[A-Za-z0-9+/=]{20,}$/.test(l))
    .join('');
  const windows: string[] = [];
  for (let i = 0; i + 12 <= body.length; i += 6) windows.push(body.slice(i, i + 12));
  return windows;
}

describe('pgp/key-check: checkPublicKey', function () {
  this.timeout(60_000);
  let gpg: GpgHome;
  const keys = {} as Record<TestKeyKind, TestKey>;
  const armored = {} as Record<TestKeyKind, string>;

  before(async function () {
    gpg = await GpgHome.create();
    const kinds: TestKeyKind[] = [
      'rsa2048',
      'rsa4096',
      'curve25519',
      'expired',
      'expiring-soon',
      'expired-subkey',
      'revoked',
      'sign-only',
      'rsa1024',
    ];
    // Generated one after the other: they share one gpg-agent.
    for (const kind of kinds) {
      keys[kind] = await gpg.generateKey(kind);
      armored[kind] = (await gpg.exportPublic(keys[kind].fingerprint)).toString('utf8');
    }
  });

  after(async () => {
    await gpg?.dispose();
  });

  describe('accepted keys', () => {
    it('accepts RSA-2048 with an RSA-2048 encryption subkey', async () => {
      const info = expectOk(await checkPublicKey(armored.rsa2048));
      expect(info.fingerprint).to.equal(keys.rsa2048.fingerprint.toLowerCase());
      expect(info.algorithm).to.equal('rsa2048');
      expect(info.userIds).to.deep.equal([keys.rsa2048.userId]);
      expect(info.expiresAt).to.equal(null);
      expect(Math.abs(info.createdAt.getTime() - Date.now())).to.be.lessThan(10 * 60_000);
    });

    it('accepts RSA-4096', async () => {
      const info = expectOk(await checkPublicKey(armored.rsa4096));
      expect(info.fingerprint).to.equal(keys.rsa4096.fingerprint.toLowerCase());
      expect(info.algorithm).to.equal('rsa4096');
    });

    it('accepts Ed25519 + Curve25519 and names both parts', async () => {
      const info = expectOk(await checkPublicKey(armored.curve25519));
      expect(info.fingerprint).to.equal(keys.curve25519.fingerprint.toLowerCase());
      expect(info.algorithm).to.equal('ed25519+cv25519');
      expect(info.expiresAt).to.equal(null);
    });

    it('re-armors only the public key, and the result is accepted again unchanged', async () => {
      const info = expectOk(await checkPublicKey(armored.curve25519));
      expect(info.armored).to.match(/^-----BEGIN PGP PUBLIC KEY BLOCK-----\r?\n/);
      expect(info.armored).not.to.include('PRIVATE');
      const parsed = await openpgp.readKey({ armoredKey: info.armored });
      expect(parsed.isPrivate()).to.equal(false);
      expect(parsed.getFingerprint()).to.equal(info.fingerprint);
      const again = expectOk(await checkPublicKey(info.armored));
      expect(again.armored).to.equal(info.armored);
    });

    it('accepts binary (gpg --export without --armor) and armored text given as bytes', async () => {
      const binary = await gpg.exportPublic(keys.curve25519.fingerprint, false);
      expect(binary[0]! & 0x80).to.equal(0x80);
      const fromBinary = expectOk(await checkPublicKey(new Uint8Array(binary)));
      expect(fromBinary.fingerprint).to.equal(keys.curve25519.fingerprint.toLowerCase());
      const fromBytes = expectOk(await checkPublicKey(Buffer.from(armored.curve25519, 'utf8')));
      expect(fromBytes.fingerprint).to.equal(fromBinary.fingerprint);
    });

    it('accepts armor with text around it and CRLF line endings', async () => {
      const pasted = `Here is my key:\r\n\r\n${armored.rsa2048.replace(/\n/g, '\r\n')}\r\nthanks\r\n`;
      expect(expectOk(await checkPublicKey(pasted)).algorithm).to.equal('rsa2048');
    });

    it('accepts NIST P-256 (ECDSA + ECDH), which GnuPG 2.2 also supports', async () => {
      const { publicKey } = await openpgp.generateKey({
        userIDs: [{ name: 'p256' }],
        type: 'ecc',
        curve: 'nistP256',
        format: 'armored',
      });
      expect(expectOk(await checkPublicKey(publicKey)).algorithm).to.equal('nistp256');
    });

    it('draws no warning for a user ID without an address, such as the "nym" it recommends', async () => {
      const { publicKey } = await openpgp.generateKey({
        userIDs: [{ name: 'nym' }],
        format: 'armored',
      });
      expect(expectOk(await checkPublicKey(publicKey)).warnings).to.deep.equal([]);
      for (const w of expectOk(await checkPublicKey(armored.rsa2048)).warnings)
        expect(w).not.to.include(keys.rsa2048.userId);
    });

    it('warns specifically when the user ID holds an email address', async () => {
      const { publicKey } = await openpgp.generateKey({
        userIDs: [{ name: 'Alice Example', email: 'alice@example.org' }],
        format: 'armored',
      });
      const info = expectOk(await checkPublicKey(publicKey));
      const text = info.warnings.join(' ');
      expect(text).to.match(/email address/);
      expect(text).not.to.include('alice@example.org');
      expect(text).not.to.include('Alice');
    });
  });

  describe('expiry and revocation', () => {
    it('refuses a key whose primary key has expired, saying when and how to extend it', async () => {
      const message = expectProblem(await checkPublicKey(armored.expired), 'expired');
      expect(message).to.include('2020-01-02');
      expect(message).to.include('--quick-set-expire');
    });

    it('accepts a key expiring within 30 days, with a dated warning', async () => {
      const info = expectOk(await checkPublicKey(armored['expiring-soon']));
      expect(info.expiresAt).to.be.instanceOf(Date);
      const days = (info.expiresAt!.getTime() - Date.now()) / DAY;
      expect(days).to.be.within(9, 10.01);
      const warning = info.warnings.find((w) => w.includes('expires on'));
      expect(warning, info.warnings.join(' | ')).to.include(
        info.expiresAt!.toISOString().slice(0, 10),
      );
    });

    it('judges validity as of the given `now`', async () => {
      const later = new Date(Date.now() + 11 * DAY);
      expectProblem(await checkPublicKey(armored['expiring-soon'], later), 'expired');
      const far = new Date(Date.now() + 40 * DAY);
      const info = expectOk(await checkPublicKey(armored.curve25519, far));
      expect(info.warnings.some((w) => w.includes('expires'))).to.equal(false);
    });

    it('does not warn about expiry for a key that never expires', async () => {
      const info = expectOk(await checkPublicKey(armored.rsa4096));
      expect(info.warnings.some((w) => w.includes('expires'))).to.equal(false);
    });

    it("accepts a key made by a clock running a few hours ahead of the server's", async () => {
      const ahead = new Date(Date.now() + 3 * 3_600_000);
      const { publicKey } = await openpgp.generateKey({
        userIDs: [{ name: 'fast clock' }],
        date: ahead,
        format: 'armored',
      });
      const info = expectOk(await checkPublicKey(publicKey));
      expect(info.createdAt.getTime()).to.be.greaterThan(Date.now());
    });

    it('refuses a key created days in the future, pointing at the clock', async () => {
      const { publicKey } = await openpgp.generateKey({
        userIDs: [{ name: 'wrong clock' }],
        date: new Date(Date.now() + 10 * DAY),
        format: 'armored',
      });
      const message = expectProblem(await checkPublicKey(publicKey), 'not-a-key');
      expect(message).to.match(/in the future/);
    });

    it('refuses a revoked key', async () => {
      expectProblem(await checkPublicKey(armored.revoked), 'revoked');
    });

    it('refuses a key whose only encryption subkey has expired', async () => {
      const message = expectProblem(
        await checkPublicKey(armored['expired-subkey']),
        'no-encryption-key',
      );
      expect(message).to.match(/encryption subkey has expired/);
    });
  });

  describe('unusable keys', () => {
    it('refuses a sign-only key and says how to add an encryption subkey', async () => {
      const message = expectProblem(
        await checkPublicKey(armored['sign-only']),
        'no-encryption-key',
      );
      expect(message).to.match(/signing-only/);
      expect(message).to.include('--quick-add-key');
    });

    it('refuses RSA-1024', async () => {
      const message = expectProblem(await checkPublicKey(armored.rsa1024), 'weak-rsa');
      expect(message).to.include('RSA-1024');
    });

    it('refuses a v6 (RFC 9580) key, which GnuPG 2.2 cannot use', async () => {
      const { publicKey } = await openpgp.generateKey({
        userIDs: [{ name: 'v6' }],
        type: 'curve25519',
        format: 'armored',
        config: { v6Keys: true },
      });
      const message = expectProblem(await checkPublicKey(publicKey), 'unsupported-algorithm');
      expect(message).to.match(/version 6/);
    });

    it('refuses a v4 key using the RFC 9580 Ed25519/X25519 algorithms', async () => {
      const { publicKey } = await openpgp.generateKey({
        userIDs: [{ name: 'v4 x25519' }],
        type: 'curve25519',
        format: 'object',
      });
      expect(publicKey.keyPacket.version).to.equal(4);
      expectProblem(await checkPublicKey(publicKey.armor()), 'unsupported-algorithm');
    });

    it('refuses an X25519 (RFC 9580) encryption subkey under a legacy Ed25519 primary', async () => {
      const { publicKey } = await openpgp.generateKey({
        userIDs: [{ name: 'mixed' }],
        type: 'ecc',
        curve: 'ed25519Legacy',
        subkeys: [{ type: 'curve25519' }],
        format: 'armored',
      });
      const message = expectProblem(await checkPublicKey(publicKey), 'unsupported-algorithm');
      expect(message).to.match(/X25519/);
    });
  });

  describe('private keys', () => {
    it('refuses an armored private key, says it is exposed, and quotes none of it', async () => {
      const secret = (await gpg.exportSecret(keys.curve25519.fingerprint)).toString('utf8');
      expect(secret).to.include('BEGIN PGP PRIVATE KEY BLOCK');
      const result = await checkPublicKey(secret);
      const message = expectProblem(result, 'private-key');
      expect(message).to.match(/exposed/);
      expect(message).to.match(/revoke/);
      const serialized = JSON.stringify(result);
      const windows = armorWindows(secret);
      expect(windows.length).to.be.greaterThan(20);
      for (const w of windows) expect(serialized).not.to.include(w);
      expect(serialized.toLowerCase()).not.to.include(keys.curve25519.fingerprint.toLowerCase());
    });

    it('refuses a binary private key, and one disguised under a public-key armor header', async () => {
      const binary = (await gpg.run(['--export-secret-keys', keys.rsa2048.fingerprint])).stdout;
      expectProblem(await checkPublicKey(new Uint8Array(binary)), 'private-key');
      const secret = (await gpg.exportSecret(keys.rsa2048.fingerprint)).toString('utf8');
      const disguised = secret.replace(/PRIVATE KEY BLOCK/g, 'PUBLIC KEY BLOCK');
      expectProblem(await checkPublicKey(disguised), 'private-key');
    });

    it('refuses a private key pasted next to a public key, or quoted in an email', async () => {
      const secret = (await gpg.exportSecret(keys.rsa2048.fingerprint)).toString('utf8');
      expectProblem(await checkPublicKey(armored.curve25519 + secret), 'private-key');
      const quoted = secret.replace(/^/gm, '> ');
      expectProblem(await checkPublicKey(quoted), 'private-key');
    });
  });

  describe('malformed and oversized input', () => {
    it('refuses two keys exported in one armored block', async () => {
      const both = await gpg.exportPublic([keys.rsa2048.fingerprint, keys.curve25519.fingerprint]);
      expect(both.toString('utf8').match(/BEGIN PGP PUBLIC KEY BLOCK/g)).to.have.length(1);
      expectProblem(await checkPublicKey(both.toString('utf8')), 'several-keys');
    });

    it('refuses two armored blocks concatenated, and two binary keys concatenated', async () => {
      expectProblem(await checkPublicKey(armored.rsa2048 + armored.curve25519), 'several-keys');
      const a = await gpg.exportPublic(keys.rsa2048.fingerprint, false);
      const b = await gpg.exportPublic(keys.curve25519.fingerprint, false);
      expectProblem(await checkPublicKey(Buffer.concat([a, b])), 'several-keys');
    });

    it(`refuses input over ${MAX_KEY_BYTES} bytes before parsing it`, async () => {
      const padded = armored.rsa2048 + '\n' + 'x'.repeat(MAX_KEY_BYTES);
      const message = expectProblem(await checkPublicKey(padded), 'too-large');
      expect(message).to.include('export-minimal');
      expectProblem(await checkPublicKey(new Uint8Array(MAX_KEY_BYTES + 1)), 'too-large');
    });

    it('refuses things that are not keys', async () => {
      const notKeys: Array<string | Uint8Array> = [
        '',
        'hello',
        'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIG2mLyQGbwS2sw+8p6GvYxRWmpHPpSGzrZtYHg1Rz0zA me@host',
        '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n',
        new Uint8Array([0x99, 0x00]), // a truncated public-key packet header
        new Uint8Array([0xc2, 0x01, 0x04]), // a lone (new-format) signature packet
      ];
      for (const input of notKeys) expectProblem(await checkPublicKey(input), 'not-a-key');
    });

    it('says so when given an encrypted message instead of a key', async () => {
      const { stdout } = await gpg.run(
        ['--armor', '--trust-model', 'always', '--encrypt', '-r', keys.curve25519.fingerprint],
        { input: 'hi' },
      );
      const message = expectProblem(await checkPublicKey(stdout.toString('utf8')), 'not-a-key');
      expect(message).to.match(/encrypted OpenPGP message/);
    });

    it('refuses a damaged armored key', async () => {
      const lines = armored.rsa2048.split('\n');
      const i = Math.floor(lines.length / 2);
      const line = lines[i]!;
      lines[i] = (line[0] === 'A' ? 'B' : 'A') + line.slice(1);
      const result = await checkPublicKey(lines.join('\n'));
      expectProblem(result, 'not-a-key');
      const truncated = armored.rsa2048.slice(0, armored.rsa2048.length / 2);
      expectProblem(await checkPublicKey(truncated), 'not-a-key');
    });
  });
});

describe('pgp/key-check: parsePublicKey', () => {
  let a: string;
  let b: string;

  before(async () => {
    a = (await openpgp.generateKey({ userIDs: [{ name: 'a' }], format: 'armored' })).publicKey;
    b = (await openpgp.generateKey({ userIDs: [{ name: 'b' }], format: 'armored' })).publicKey;
  });

  beforeEach(() => clearKeyCache());

  it('parses once and returns the same object for the same armored key', async () => {
    const first = await parsePublicKey(a);
    const second = await parsePublicKey(a);
    expect(second).to.equal(first);
    expect(keyCacheSize()).to.equal(1);
    const other = await parsePublicKey(b);
    expect(other).not.to.equal(first);
    expect(other.getFingerprint()).not.to.equal(first.getFingerprint());
    expect(keyCacheSize()).to.equal(2);
  });

  it('shares one parse between concurrent callers', async () => {
    const [x, y] = await Promise.all([parsePublicKey(a), parsePublicKey(a)]);
    expect(x).to.equal(y);
    expect(keyCacheSize()).to.equal(1);
  });

  it('rejects a private key and garbage, and does not cache failures', async () => {
    const { privateKey } = await openpgp.generateKey({
      userIDs: [{ name: 'p' }],
      format: 'armored',
    });
    let error: unknown;
    try {
      await parsePublicKey(privateKey);
    } catch (err) {
      error = err;
    }
    expect(error).to.be.instanceOf(Error);
    expect(String(error)).to.match(/private/);
    expect(String(error)).not.to.include(privateKey.split('\n')[3]!.slice(0, 16));
    let garbage: unknown;
    await parsePublicKey('not a key').catch((err: unknown) => (garbage = err));
    expect(garbage).to.be.instanceOf(Error);
    await new Promise((resolve) => setImmediate(resolve));
    expect(keyCacheSize()).to.equal(0);
  });
});
