/**
 * Writes the seed keys of the key-check and pgp-mime targets (fuzz/corpus/keys/): run once with
 * `node dist/fuzz/corpus/make-keys.js`, and the files are committed, so that the smoke test in
 * `npm test` replays the same inputs every time. Every user ID carries the word "canary": a
 * refusal message that contains it has echoed the upload. The private key exists only for these
 * tests (decrypting what pgp-mime encrypts, and being refused by key-check).
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import * as openpgp from 'openpgp';

const OUT = join(__dirname, '..', '..', '..', 'fuzz', 'corpus', 'keys');
const userIDs = [{ name: 'fuzz canary', email: 'canary@fuzz.kzymy.test' }];
const past = new Date(Date.UTC(2020, 0, 1));

async function main(): Promise<void> {
  mkdirSync(OUT, { recursive: true });
  const write = (name: string, text: string): void => writeFileSync(join(OUT, name), text);

  const ecc = await openpgp.generateKey({
    userIDs,
    type: 'ecc',
    curve: 'curve25519Legacy',
    date: past,
  });
  write('ed25519-cv25519.pub.asc', ecc.publicKey);
  write('ed25519-cv25519.private.asc', ecc.privateKey);
  write('ed25519-cv25519.revocation.asc', ecc.revocationCertificate);

  const rsa = await openpgp.generateKey({ userIDs, type: 'rsa', rsaBits: 2048, date: past });
  write('rsa2048.pub.asc', rsa.publicKey);

  const p256 = await openpgp.generateKey({ userIDs, type: 'ecc', curve: 'nistP256', date: past });
  write('p256.pub.asc', p256.publicKey);

  const expiring = await openpgp.generateKey({
    userIDs,
    type: 'ecc',
    curve: 'curve25519Legacy',
    date: past,
    keyExpirationTime: 86_400,
  });
  write('expired.pub.asc', expiring.publicKey);

  const revoked = await openpgp.revokeKey({
    key: await openpgp.readPrivateKey({ armoredKey: ecc.privateKey }),
    format: 'armored',
  });
  write('revoked.pub.asc', revoked.publicKey);

  const signing = await openpgp.readKey({ armoredKey: ecc.publicKey });
  signing.subkeys = [];
  write('signing-only.pub.asc', signing.armor());

  const v6 = await openpgp.generateKey({ userIDs, type: 'curve25519', config: { v6Keys: true } });
  write('v6.pub.asc', v6.publicKey);
}

main().catch((error: unknown) => {
  process.stderr.write(`${error instanceof Error ? error.stack : String(error)}\n`);
  process.exit(1);
});
