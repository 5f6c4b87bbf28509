/**
 * ECDH on Curve25519Legacy, GnuPG's cv25519 (RFC 9580 §11.5, formerly RFC 6637 §8): a fresh
 * X25519 key pair per message, the shared secret through the KDF of §11.4, and the session key
 * under RFC 3394 AES key wrap. All of it synchronous node:crypto (OpenSSL), no WebCrypto jobs.
 */
import {
  createCipheriv,
  createPublicKey,
  diffieHellman,
  generateKeyPairSync,
  hash,
  type JsonWebKey,
  type KeyObject,
} from 'node:crypto';
import { aes, kdfHash, type AesAlgorithm } from './algorithms';
import { mpi } from './packet-framing';
import { CURVE25519_OID, PublicKeyAlgorithm } from './public-key';

/**
 * generateKeyPairSync with the public key encoded (as JWK) and the private one a key object,
 * which Node supports and its typings (all encoded or none) do not describe.
 */
const generateEphemeral = generateKeyPairSync as unknown as (
  type: 'x25519',
  options: { publicKeyEncoding: { type: 'spki'; format: 'jwk' } },
) => { publicKey: JsonWebKey; privateKey: KeyObject };

/** What is fixed per recipient key, worked out once. */
export interface Curve25519Recipient {
  publicKey: KeyObject;
  /** RFC 9580 §11.5: the KDF parameters ("Param"), fixed for a given recipient key. */
  param: Buffer;
  kdfHash: string;
  kek: AesAlgorithm;
}

/** RFC 9580 §11.5: "Anonymous Sender" padded with spaces to 20 octets. */
const ANONYMOUS_SENDER = Buffer.from('Anonymous Sender    ', 'ascii');
/** RFC 9580 §11.4: MB = Hash(00 || 00 || 00 || 01 || ZB || Param). */
const KDF_COUNTER = Buffer.from([0, 0, 0, 1]);
/** RFC 3394 §2.2.3.1: the default initial value. */
const KEY_WRAP_IV = Buffer.from('a6a6a6a6a6a6a6a6', 'hex');
/** RFC 9580 §11.2.2: the prefix of a native point on the wire. */
const NATIVE_POINT_PREFIX = Buffer.from([0x40]);

/**
 * The recipient for an ECDH Curve25519Legacy key with these public fields and this (v4,
 * 20-octet) fingerprint; null when its KDF hash or key-wrap cipher is not one handled here.
 */
export function curve25519Recipient(
  point: Uint8Array,
  hashId: number,
  cipherId: number,
  fingerprint: Uint8Array,
): Curve25519Recipient | null {
  const hash = kdfHash(hashId);
  // RFC 9580 §11.5.1: "An implementation SHOULD only use an AES algorithm as a KEK algorithm."
  const kek = aes(cipherId);
  if (!hash || !kek || point.length !== 32 || fingerprint.length !== 20) return null;
  const publicKey = createPublicKey({
    key: { kty: 'OKP', crv: 'X25519', x: Buffer.from(point).toString('base64url') },
    format: 'jwk',
  });
  // RFC 9580 §11.5: Param = curve_OID_len || curve_OID || public_key_alg_ID || 03 || 01 ||
  // KDF_hash_ID || KEK_alg_ID || "Anonymous Sender    " || recipient_fingerprint (56 octets).
  const param = Buffer.concat([
    Buffer.from([CURVE25519_OID.length]),
    CURVE25519_OID,
    Buffer.from([PublicKeyAlgorithm.ecdh, 3, 1, hashId, cipherId]),
    ANONYMOUS_SENDER,
    fingerprint,
  ]);
  return { publicKey, param, kdfHash: hash, kek };
}

/**
 * RFC 9580 §5.1.5: the algorithm-specific fields of the PKESK, "MPI of an EC point representing
 * an ephemeral public key" then "a 1-octet size, followed by a symmetric key encoded using the
 * method described in Section 11.5". `m` is symm_alg_ID || session key || checksum.
 */
export function curve25519EncryptedKey(recipient: Curve25519Recipient, m: Buffer): Buffer {
  // RFC 9580 §11.5: "Generate an ephemeral, single-use key pair {v, V=vG}": made here, for this
  // one session key, and dropped when this returns. Never cached, never reused.
  // V comes out of the key generation itself, as JWK: Node 20 deadlocks if a key made by
  // generateKeyPairSync is exported while the collector frees the job that made it (both take
  // the key's lock; seen here after some thousands of messages, test/pgp/x25519-deadlock.test.ts).
  // v stays a key object that only diffieHellman uses, which takes no lock.
  const ephemeral = generateEphemeral('x25519', {
    publicKeyEncoding: { type: 'spki', format: 'jwk' },
  });
  // "Compute the shared point S = vR". OpenSSL refuses an all-zero result (a low-order
  // recipient point), so a broken key throws instead of yielding a guessable secret.
  const shared = diffieHellman({
    privateKey: ephemeral.privateKey,
    publicKey: recipient.publicKey,
  });
  // RFC 9580 §11.4: "return oBits leftmost bits of MB"; Z_len is the KEK's key size.
  const input = Buffer.concat([KDF_COUNTER, shared, recipient.param]);
  const digest = hash(recipient.kdfHash, input, 'buffer');
  const kek = digest.subarray(0, recipient.kek.keyBytes);
  const padded = pkcs5Pad(m);
  const wrap = createCipheriv(recipient.kek.wrap, kek, KEY_WRAP_IV);
  const wrapped = Buffer.concat([wrap.update(padded), wrap.final()]);
  // "Wipe the memory that contained S, v, and Z": S and Z are ours to wipe; v lives in OpenSSL,
  // which frees it with the KeyObject.
  shared.fill(0);
  input.fill(0);
  digest.fill(0);
  padded.fill(0);
  const x = ephemeral.publicKey.x;
  if (typeof x !== 'string') throw new Error('X25519 key generation returned no public key');
  const v = Buffer.concat([NATIVE_POINT_PREFIX, Buffer.from(x, 'base64url')]);
  if (v.length !== 33) throw new Error('X25519 public key of the wrong size');
  // "the value 255 is reserved for future extensions": wrapped keys here are 32 to 48 octets.
  return Buffer.concat([mpi(v), Buffer.from([wrapped.length]), wrapped]);
}

/**
 * RFC 9580 §11.5: "padded to an 8-octet granularity using the method described in [RFC8018]"
 * (PKCS #5: n octets of value n, 1 <= n <= 8). An AES-256 key becomes 40 octets, ending 05 x 5.
 */
function pkcs5Pad(m: Buffer): Buffer {
  const n = 8 - (m.length % 8);
  const padded = Buffer.alloc(m.length + n, n);
  m.copy(padded);
  return padded;
}
