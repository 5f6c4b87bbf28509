// Test helper: a throwaway GnuPG home driven by the real `gpg` binary (GnuPG 2.2 on Debian 12).
//
// Every test that needs to prove "a real OpenPGP client can read this" goes through here: make a
// home, generate a key of the kind under test, hand the exported public key to kzymy, and decrypt
// what kzymy produced with `gpg --decrypt`. Nothing is mocked and nothing touches the user's
// ~/.gnupg. Always call `dispose()` (in `after`) so the agent is stopped and the directory removed.
//
//   const gpg = await GpgHome.create();
//   const key = await gpg.generateKey('curve25519');
//   const armored = await gpg.exportPublic(key.fingerprint);
//   const plain = await gpg.decrypt(ciphertext);
//   await gpg.dispose();
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** The key shapes the tests need. Each is a real key made by `gpg --quick-gen-key`. */
export type TestKeyKind =
  /** RSA-2048 primary (sign, certify) + RSA-2048 encryption subkey. */
  | 'rsa2048'
  /** RSA-4096 primary + RSA-4096 encryption subkey (about 2 s to generate). */
  | 'rsa4096'
  /** Ed25519 primary + Curve25519 (cv25519) encryption subkey: GnuPG's modern default. */
  | 'curve25519'
  /** Like curve25519, made at a faked time in 2020 with a one-day expiry: expired now. */
  | 'expired'
  /** Like curve25519, expiring ten days from now. */
  | 'expiring-soon'
  /** Primary key valid forever, its only encryption subkey expired (made in 2020, one day). */
  | 'expired-subkey'
  /** Like curve25519, then revoked by importing gpg's own revocation certificate. */
  | 'revoked'
  /** Ed25519 primary with sign/certify usage only, no encryption subkey. */
  | 'sign-only'
  /** RSA-1024 primary + RSA-1024 encryption subkey. */
  | 'rsa1024';

export interface TestKey {
  kind: TestKeyKind;
  /** Uppercase hex, as gpg prints it. */
  fingerprint: string;
  userId: string;
}

export interface GpgRunResult {
  stdout: Buffer;
  stderr: string;
}

export interface DecryptResult {
  plaintext: Buffer;
  /** `[GNUPG:]` status lines from `--status-fd`, e.g. 'DECRYPTION_OKAY', 'GOODMDC'. */
  status: string[];
}

export interface RunOptions {
  input?: Buffer | string;
  /** `--faked-system-time`, e.g. '20200101T000000'. */
  fakedTime?: string;
}

/** A GnuPG error with the exit code and stderr, so a failing test says why. */
export class GpgError extends Error {
  constructor(
    readonly args: readonly string[],
    readonly code: number | null,
    readonly stderr: string,
  ) {
    super(`gpg ${args.join(' ')} exited with ${code}: ${stderr.trim()}`);
    this.name = 'GpgError';
  }
}

const BASE_ARGS = ['--batch', '--no-tty', '--pinentry-mode', 'loopback', '--passphrase', ''];
const FAKED_PAST = '20200101T000000';

export class GpgHome {
  private disposed = false;

  private constructor(readonly dir: string) {}

  /** Create an empty, private GnuPG home under the OS temp directory. */
  static async create(): Promise<GpgHome> {
    // Keep the path short: gpg-agent's socket lives in it and Unix socket paths max out at ~107.
    const dir = await mkdtemp(join(tmpdir(), 'kzg-'));
    return new GpgHome(dir);
  }

  /** Run `gpg` in this home with `--batch` and an empty loopback passphrase. */
  run(args: readonly string[], options: RunOptions = {}): Promise<GpgRunResult> {
    const full = [
      '--homedir',
      this.dir,
      ...BASE_ARGS,
      ...(options.fakedTime ? ['--faked-system-time', options.fakedTime] : []),
      ...args,
    ];
    return spawnCollect('gpg', full, options.input, this.env());
  }

  /**
   * Generate a key of the given kind and return its fingerprint. RSA-4096 takes about two
   * seconds, the others a few milliseconds; generate once per file in `before`.
   */
  async generateKey(kind: TestKeyKind, userId = randomUserId(kind)): Promise<TestKey> {
    const spec = KEY_SPECS[kind];
    const t = spec.past ? { fakedTime: FAKED_PAST } : {};
    await this.run(
      ['--quick-gen-key', userId, spec.primary, spec.primaryUsage, spec.primaryExpire],
      t,
    );
    const fingerprint = await this.fingerprintOf(userId);
    if (spec.subkey) {
      await this.run(['--quick-add-key', fingerprint, spec.subkey, 'encr', spec.subkeyExpire], t);
    }
    if (kind === 'revoked') await this.revoke(fingerprint);
    return { kind, fingerprint, userId };
  }

  /** Revoke a key with the certificate gpg wrote to openpgp-revocs.d when it made the key. */
  async revoke(fingerprint: string): Promise<void> {
    const file = join(this.dir, 'openpgp-revocs.d', `${fingerprint}.rev`);
    // gpg puts a ':' before the armor header so the file cannot be imported by accident.
    const cert = (await readFile(file, 'utf8')).replace(/^:-----BEGIN/m, '-----BEGIN');
    await this.run(['--import'], { input: cert });
  }

  /** Primary fingerprint (uppercase hex) of the single key matching `query`. */
  async fingerprintOf(query: string): Promise<string> {
    const { stdout } = await this.run(['--with-colons', '--list-keys', '--', query]);
    const lines = stdout.toString('utf8').split('\n');
    const pub = lines.findIndex((l) => l.startsWith('pub:'));
    const fpr = lines.slice(pub + 1).find((l) => l.startsWith('fpr:'));
    const value = fpr?.split(':')[9];
    if (pub < 0 || !value) throw new Error(`gpg: no key for ${query}`);
    return value;
  }

  /** `gpg --export` of one or several keys; armored text unless `armor` is false. */
  async exportPublic(fingerprints: string | readonly string[], armor = true): Promise<Buffer> {
    const fprs = typeof fingerprints === 'string' ? [fingerprints] : [...fingerprints];
    const { stdout } = await this.run([...(armor ? ['--armor'] : []), '--export', ...fprs]);
    if (stdout.length === 0) throw new Error(`gpg: nothing exported for ${fprs.join(' ')}`);
    return stdout;
  }

  /** `gpg --armor --export-secret-keys`: the private key, unprotected (empty passphrase). */
  async exportSecret(fingerprint: string): Promise<Buffer> {
    const { stdout } = await this.run(['--armor', '--export-secret-keys', fingerprint]);
    return stdout;
  }

  /** Import keys (public or secret, armored or binary). */
  async importKeys(data: Buffer | string): Promise<void> {
    await this.run(['--import'], { input: data });
  }

  /** `gpg --decrypt` with status lines; rejects with GpgError if gpg fails. */
  async decryptWithStatus(ciphertext: Buffer | string): Promise<DecryptResult> {
    const { stdout, stderr } = await this.run(['--status-fd', '2', '--decrypt'], {
      input: ciphertext,
    });
    const status = stderr
      .split('\n')
      .filter((l) => l.startsWith('[GNUPG:] '))
      .map((l) => l.slice('[GNUPG:] '.length));
    return { plaintext: stdout, status };
  }

  /** `gpg --decrypt`: the plaintext bytes exactly as gpg writes them. */
  async decrypt(ciphertext: Buffer | string): Promise<Buffer> {
    return (await this.decryptWithStatus(ciphertext)).plaintext;
  }

  /** `gpg --list-packets` output for a message or key (handy in assertions about formats). */
  async listPackets(data: Buffer | string): Promise<string> {
    const { stdout } = await this.run(['--list-packets'], { input: data });
    return stdout.toString('utf8');
  }

  /** Stop this home's gpg-agent and delete the directory. Safe to call twice. */
  async dispose(): Promise<void> {
    if (this.disposed) return;
    this.disposed = true;
    try {
      await spawnCollect('gpgconf', ['--kill', 'all'], undefined, this.env());
    } finally {
      await rm(this.dir, { recursive: true, force: true });
    }
  }

  private env(): NodeJS.ProcessEnv {
    return { ...process.env, GNUPGHOME: this.dir, LC_ALL: 'C', LANGUAGE: '' };
  }
}

interface KeySpec {
  primary: string;
  primaryUsage: string;
  primaryExpire: string;
  subkey?: string;
  subkeyExpire: string;
  /** Generate at FAKED_PAST so that a one-day expiry is long over. */
  past?: boolean;
}

const KEY_SPECS: Record<TestKeyKind, KeySpec> = {
  rsa2048: {
    primary: 'rsa2048',
    primaryUsage: 'sign,cert',
    primaryExpire: 'never',
    subkey: 'rsa2048',
    subkeyExpire: 'never',
  },
  rsa4096: {
    primary: 'rsa4096',
    primaryUsage: 'sign,cert',
    primaryExpire: 'never',
    subkey: 'rsa4096',
    subkeyExpire: 'never',
  },
  curve25519: {
    primary: 'ed25519',
    primaryUsage: 'sign,cert',
    primaryExpire: 'never',
    subkey: 'cv25519',
    subkeyExpire: 'never',
  },
  expired: {
    primary: 'ed25519',
    primaryUsage: 'sign,cert',
    primaryExpire: '1d',
    subkey: 'cv25519',
    subkeyExpire: '1d',
    past: true,
  },
  'expiring-soon': {
    primary: 'ed25519',
    primaryUsage: 'sign,cert',
    primaryExpire: '10d',
    subkey: 'cv25519',
    subkeyExpire: '10d',
  },
  'expired-subkey': {
    primary: 'ed25519',
    primaryUsage: 'sign,cert',
    primaryExpire: 'never',
    subkey: 'cv25519',
    subkeyExpire: '1d',
    past: true,
  },
  revoked: {
    primary: 'ed25519',
    primaryUsage: 'sign,cert',
    primaryExpire: 'never',
    subkey: 'cv25519',
    subkeyExpire: 'never',
  },
  'sign-only': {
    primary: 'ed25519',
    primaryUsage: 'sign,cert',
    primaryExpire: 'never',
    subkeyExpire: 'never',
  },
  rsa1024: {
    primary: 'rsa1024',
    primaryUsage: 'sign,cert',
    primaryExpire: 'never',
    subkey: 'rsa1024',
    subkeyExpire: 'never',
  },
};

function randomUserId(kind: TestKeyKind): string {
  return `kzymy test ${kind} ${randomBytes(6).toString('hex')}`;
}

/** Spawn a process, feed it `input`, collect stdout as bytes; reject on a non-zero exit. */
function spawnCollect(
  cmd: string,
  args: readonly string[],
  input: Buffer | string | undefined,
  env: NodeJS.ProcessEnv,
): Promise<GpgRunResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { env, stdio: ['pipe', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (c: Buffer) => out.push(c));
    child.stderr.on('data', (c: Buffer) => err.push(c));
    // gpg may exit (e.g. on bad input) before reading all of stdin; the exit code says why.
    child.stdin.on('error', () => undefined);
    child.on('error', reject);
    child.on('close', (code) => {
      const stderr = Buffer.concat(err).toString('utf8');
      if (code === 0) resolve({ stdout: Buffer.concat(out), stderr });
      else reject(new GpgError(args, code, stderr));
    });
    child.stdin.end(input ?? '');
  });
}
