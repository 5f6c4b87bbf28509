/**
 * The public material of a v4 encryption (sub)key, read from its packet body (RFC 9580 §5.5.2.2)
 * for the two kinds kzymy encrypts to natively: RSA and ECDH on Curve25519 (GnuPG's cv25519).
 * Anything else is 'other' and goes through OpenPGP.js.
 */
import { readMpi } from './packet-framing';

/** RFC 9580 §9.1 public-key algorithm IDs. */
export const PublicKeyAlgorithm = {
  rsaEncryptSign: 1,
  rsaEncrypt: 2,
  ecdh: 18,
} as const;

/** RFC 9580 §9.2: the OID of Curve25519Legacy, 1.3.6.1.4.1.3029.1.5.1, as its octets. */
export const CURVE25519_OID = Buffer.from('2b060104019755010501', 'hex');

/** RFC 9580 §11.2.2: Curve25519Legacy points are "40 || p", p the native (RFC 7748) key. */
const CURVE25519_POINT_PREFIX = 0x40;

export type KeyMaterial =
  | { kind: 'rsa'; algorithm: number; n: Uint8Array; e: Uint8Array }
  | {
      kind: 'ecdh-curve25519';
      algorithm: number;
      /** The recipient's X25519 public key, 32 octets as RFC 7748 encodes it. */
      point: Uint8Array;
      /** RFC 9580 §9.5 hash ID of the KDF. */
      kdfHash: number;
      /** RFC 9580 §9.3 symmetric algorithm ID of the key wrap. */
      kdfCipher: number;
    }
  | { kind: 'other' };

/** Reads the public part of a v4 key packet body; 'other' for whatever is not handled here. */
export function readV4KeyMaterial(body: Uint8Array): KeyMaterial {
  // RFC 9580 §5.5.2.2: version 4, four-octet creation time, one-octet algorithm, then fields.
  if (body.length < 6 || body[0] !== 4) return { kind: 'other' };
  const algorithm = body[5] as number;
  const fields = 6;
  if (
    algorithm === PublicKeyAlgorithm.rsaEncryptSign ||
    algorithm === PublicKeyAlgorithm.rsaEncrypt
  ) {
    // RFC 9580 §5.5.5.1: "MPI of RSA public modulus n; MPI of RSA public encryption exponent e."
    const n = readMpi(body, fields);
    const e = readMpi(body, n.next);
    return { kind: 'rsa', algorithm, n: n.value, e: e.value };
  }
  if (algorithm === PublicKeyAlgorithm.ecdh) return readEcdh(body, fields, algorithm);
  return { kind: 'other' };
}

function readEcdh(body: Uint8Array, at: number, algorithm: number): KeyMaterial {
  // RFC 9580 §5.5.5.6: a one-octet size, then the curve OID ...
  const oidLength = body[at];
  if (oidLength === undefined || oidLength === 0 || oidLength === 0xff) return { kind: 'other' };
  const oid = body.subarray(at + 1, at + 1 + oidLength);
  if (!CURVE25519_OID.equals(oid)) return { kind: 'other' };
  // ... "MPI of an EC point representing a public key" ...
  const point = readMpi(body, at + 1 + oidLength);
  // RFC 9580 §11.2.3: 263 bits, the 0x40 prefix and the 32-octet native public key.
  if (point.value.length !== 33 || point.value[0] !== CURVE25519_POINT_PREFIX) {
    return { kind: 'other' };
  }
  // ... and the KDF parameters: size (3), the reserved value 1, hash ID, symmetric algorithm ID.
  const kdf = body.subarray(point.next, point.next + 4);
  if (kdf.length !== 4 || kdf[0] !== 3 || kdf[1] !== 1) return { kind: 'other' };
  return {
    kind: 'ecdh-curve25519',
    algorithm,
    point: point.value.subarray(1),
    kdfHash: kdf[2] as number,
    kdfCipher: kdf[3] as number,
  };
}
