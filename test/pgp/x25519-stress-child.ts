// Child process of x25519-deadlock.test.ts: wraps `count` session keys to one Curve25519 key,
// as many deliveries would, and prints "done". Run with a tiny young generation; the garbage of
// random size between messages (as a server makes) moves the moment the collector starts over
// every allocation the wrapping makes.
import { generateKeyPairSync } from 'node:crypto';
import { curve25519EncryptedKey, curve25519Recipient } from '../../src/pgp/native/ecdh-curve25519';

const count = Number(process.argv[2] ?? '0');
const { publicKey } = generateKeyPairSync('x25519', {
  publicKeyEncoding: { type: 'spki', format: 'der' },
  privateKeyEncoding: { type: 'pkcs8', format: 'der' },
});
// The last 32 octets of an X25519 SubjectPublicKeyInfo are the key itself.
const point = publicKey.subarray(publicKey.length - 32);
const recipient = curve25519Recipient(point, 8, 7, Buffer.alloc(20, 0x5a));
if (!recipient) throw new Error('no recipient');
const m = Buffer.alloc(19, 7);
let garbage: number[] = [];
for (let i = 0; i < count; i++) {
  curve25519EncryptedKey(recipient, m);
  garbage = new Array<number>(Math.floor(Math.random() * 256)).fill(i);
}
if (garbage.length > 256) throw new Error('unreachable');
process.stdout.write('done\n');
