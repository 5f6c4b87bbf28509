/**
 * The committed seed keys (fuzz/corpus/keys/, made by fuzz/corpus/make-keys.ts) and what the
 * encryption targets need from them: the public key kzymy encrypts to, and the private key to
 * decrypt the result and compare it with what went in.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as openpgp from 'openpgp';

const KEYS_DIR = join(__dirname, '..', '..', '..', 'fuzz', 'corpus', 'keys');

/** Every seed file by name, as text. */
export function seedKeys(): Map<string, string> {
  const keys = new Map<string, string>();
  for (const file of readdirSync(KEYS_DIR)
    .filter((f) => f.endsWith('.asc'))
    .sort()) {
    keys.set(file, readFileSync(join(KEYS_DIR, file), 'utf8'));
  }
  return keys;
}

export interface RecipientKeys {
  publicKeyArmored: string;
  privateKey: openpgp.PrivateKey;
}

/** The Curve25519 pair kzymy encrypts to in the encryption targets. */
export async function recipientKeys(): Promise<RecipientKeys> {
  const keys = seedKeys();
  const publicKeyArmored = keys.get('ed25519-cv25519.pub.asc');
  const privateArmored = keys.get('ed25519-cv25519.private.asc');
  if (!publicKeyArmored || !privateArmored) throw new Error(`seed keys missing in ${KEYS_DIR}`);
  const privateKey = await openpgp.readPrivateKey({ armoredKey: privateArmored });
  return { publicKeyArmored, privateKey };
}

/** The plaintext inside the armored OpenPGP message found in `message` (a PGP/MIME message). */
export async function decryptArmored(
  message: Buffer,
  privateKey: openpgp.PrivateKey,
): Promise<Buffer> {
  const text = message.toString('latin1');
  const begin = text.indexOf('-----BEGIN PGP MESSAGE-----');
  const endMarker = '-----END PGP MESSAGE-----';
  const end = text.indexOf(endMarker, begin);
  if (begin < 0 || end < 0) throw new Error('no armored OpenPGP message');
  const armored = text.slice(begin, end + endMarker.length);
  const { data } = await openpgp.decrypt({
    message: await openpgp.readMessage({ armoredMessage: armored }),
    decryptionKeys: privateKey,
    format: 'binary',
  });
  return Buffer.from(data);
}
