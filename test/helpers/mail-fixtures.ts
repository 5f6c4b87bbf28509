/**
 * Test users with real (scrypt) passwords, real PGP/MIME messages made by kzymy's own
 * encryptToPgpMime to a key in a throwaway GnuPG home, and the check that a mailbox is empty
 * down to the database.
 */
import { randomBytes } from 'node:crypto';
import { generatePassword, hashPassword } from '../../src/auth/password';
import type { DaemonDeps } from '../../src/daemon-deps';
import { encryptToPgpMime } from '../../src/pgp/pgp-mime';
import type { User } from '../../src/store/types';
import { configuredDatabase } from './engines';
import { GpgHome } from './gpg';

export interface TestAccount {
  user: User;
  password: string;
}

/** An active user with a real (scrypt) password. */
export async function createAccount(
  deps: DaemonDeps,
  key: { fingerprint: string; publicKey: string } = {
    fingerprint: randomBytes(20).toString('hex').toUpperCase(),
    publicKey: '',
  },
): Promise<TestAccount> {
  const password = generatePassword();
  const user = await deps.store.users.create({
    fingerprint: key.fingerprint,
    publicKey: key.publicKey,
    passwordHash: await hashPassword(password),
    state: 'active',
  });
  return { user, password };
}

/** A realistic plaintext message with a distinctive canary line. */
export function plaintextMessage(label: string, bodyBytes = 0): Buffer {
  const canary = `canary-${label}-${randomBytes(6).toString('hex')}`;
  const filler = bodyBytes > 0 ? fillerLines(bodyBytes) : '';
  return Buffer.from(
    [
      'Received: from mx.example.org (mx.example.org [192.0.2.10])',
      '\tby relay.example.net with ESMTPS id 4Xy; Tue, 02 Dec 2025 14:03:09 +0000',
      'From: Alice Example <alice@example.org>',
      `To: ${label}@someone.kzymy.test`,
      `Subject: Test message ${label} =?UTF-8?Q?gr=C3=BC=C3=9Fe?=`,
      'Date: Tue, 02 Dec 2025 14:03:09 +0000',
      `Message-ID: <${randomBytes(8).toString('hex')}@example.org>`,
      'MIME-Version: 1.0',
      'Content-Type: text/plain; charset=utf-8',
      'Content-Transfer-Encoding: 8bit',
      '',
      `Hello ${label}, this is a test. ${canary}`,
      'Grüße aus dem Testlabor.',
      '.a line that starts with a dot',
      filler,
    ].join('\r\n') + '\r\n',
  );
}

function fillerLines(bytes: number): string {
  const line = 'The quick brown fox jumps over the lazy dog 0123456789 abcdefghijklmnopqrstuvwxyz';
  return Array.from({ length: Math.ceil(bytes / (line.length + 2)) }, () => line).join('\r\n');
}

/** A GnuPG home with one Curve25519 key, and kzymy's encryption to it. */
export class PgpFixture {
  private constructor(
    readonly gpg: GpgHome,
    readonly fingerprint: string,
    readonly publicKey: string,
  ) {}

  static async create(): Promise<PgpFixture> {
    const gpg = await GpgHome.create();
    const key = await gpg.generateKey('curve25519');
    const armored = (await gpg.exportPublic(key.fingerprint)).toString('utf8');
    return new PgpFixture(gpg, key.fingerprint, armored);
  }

  /** The stored form: a complete PGP/MIME message, as Haraka's queue plugin writes it. */
  async encrypt(plaintext: Buffer, arrival = new Date()): Promise<Buffer> {
    return encryptToPgpMime({
      raw: plaintext,
      publicKeyArmored: this.publicKey,
      envelopeFrom: 'alice@example.org',
      recipients: ['someone@someone.kzymy.test'],
      arrival,
      domain: 'kzymy.test',
      outerTo: 'undisclosed-recipients:;',
      // The clients' tests compare what they fetch with the original, byte for byte.
      format: 'exact',
    });
  }

  /** gpg --decrypt of a delivered message (gpg finds the armored block inside the MIME text). */
  async decrypt(delivered: Buffer): Promise<Buffer> {
    return this.gpg.decrypt(delivered);
  }

  async dispose(): Promise<void> {
    await this.gpg.dispose();
  }
}

/** What decryption yields: kzymy's delivery headers, then the original bytes. */
export function expectedPlaintext(original: Buffer): Buffer {
  return Buffer.concat([
    Buffer.from('Return-Path: <alice@example.org>\r\nDelivered-To: someone@someone.kzymy.test\r\n'),
    original,
  ]);
}

/** Stores `count` encrypted messages for a user and returns [ciphertext, plaintext] pairs. */
export async function storeMessages(
  deps: DaemonDeps,
  pgp: PgpFixture,
  userId: string,
  count: number,
  label = 'm',
): Promise<Array<{ ciphertext: Buffer; plaintext: Buffer; uid: number }>> {
  const out = [];
  for (let i = 0; i < count; i++) {
    const plaintext = plaintextMessage(`${label}${i}`);
    const ciphertext = await pgp.encrypt(plaintext);
    const stored = await deps.store.messages.add(userId, ciphertext, new Date());
    out.push({ ciphertext, plaintext, uid: stored.uid });
  }
  return out;
}

/** A mailbox whose key is the fixture's (so clients can decrypt), holding `count` messages. */
export async function mailboxWithMail(
  fixture: { deps: DaemonDeps; pgp: PgpFixture },
  count: number,
): Promise<{ account: TestAccount; stored: Awaited<ReturnType<typeof storeMessages>> }> {
  const { deps, pgp } = fixture;
  const account = await createAccount(deps, {
    fingerprint: pgp.fingerprint,
    publicKey: pgp.publicKey,
  });
  return { account, stored: await storeMessages(deps, pgp, account.user.id, count) };
}

/**
 * The server holds nothing for a user: no message, no ciphertext chunk (looked up in the
 * database itself, not through the store), no quota use.
 */
export async function expectMailboxEmpty(deps: DaemonDeps, userId: string): Promise<void> {
  const messages = await deps.store.messages.list(userId);
  if (messages.length > 0) throw new Error(`${messages.length} messages left for the user`);
  const used = await deps.store.messages.usedBytes(userId);
  if (used !== 0) throw new Error(`${used} bytes still counted for the user`);
  const database = configuredDatabase(deps.config);
  try {
    const chunks = await database.chunksOf(userId);
    if (chunks !== 0) throw new Error(`${chunks} ciphertext chunks left for the user`);
  } finally {
    await database.close();
  }
}
