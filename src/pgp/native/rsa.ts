/** RSA encryption of the session key (RFC 9580 §5.1.3), with synchronous node:crypto. */
import { constants, createPublicKey, publicEncrypt, type KeyObject } from 'node:crypto';
import { mpi } from './packet-framing';

/** The recipient's RSA public key (n, e as big-endian octets) as a Node key object. */
export function rsaRecipient(n: Uint8Array, e: Uint8Array): KeyObject {
  return createPublicKey({
    key: {
      kty: 'RSA',
      n: Buffer.from(n).toString('base64url'),
      e: Buffer.from(e).toString('base64url'),
    },
    format: 'jwk',
  });
}

/**
 * RFC 9580 §5.1.3: "MPI of RSA-encrypted value m^e mod n", m encoded with EME-PKCS1-v1_5
 * (§12.1.1: 00 || 02 || PS || 00 || M, PS fresh random non-zero octets), which is what OpenSSL's
 * RSA_PKCS1_PADDING does for a public-key encryption. `m` is symm_alg_ID || key || checksum.
 */
export function rsaEncryptedKey(publicKey: KeyObject, m: Buffer): Buffer {
  return mpi(publicEncrypt({ key: publicKey, padding: constants.RSA_PKCS1_PADDING }, m));
}
