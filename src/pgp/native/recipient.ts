/**
 * The encryption (sub)key OpenPGP.js chose, as the native path needs it: its key ID and a way to
 * encrypt a session key to it. Worked out once per key packet and cached with it.
 */
import { curve25519EncryptedKey, curve25519Recipient } from './ecdh-curve25519';
import { readV4KeyMaterial } from './public-key';
import { rsaEncryptedKey, rsaRecipient } from './rsa';

/** What the native path reads of an OpenPGP.js public (sub)key packet. */
export interface KeyPacketView {
  version: number;
  /** The packet body (RFC 9580 §5.5.2): only its public part is read. */
  write(): Uint8Array;
  getFingerprintBytes(): Uint8Array | null;
}

export interface Recipient {
  /** RFC 9580 §5.5.4.2: a v4 Key ID is the low-order 64 bits of the fingerprint. */
  keyId: Buffer;
  /** RFC 9580 §9.1 public-key algorithm ID, as written into the PKESK. */
  algorithm: number;
  /** The algorithm-specific PKESK fields (RFC 9580 §5.1.3, §5.1.5) carrying `m`. */
  encryptSessionKey(m: Buffer): Buffer;
}

const recipients = new WeakMap<KeyPacketView, Recipient | null>();

/**
 * The native recipient for a v4 RSA or ECDH Curve25519Legacy key packet; null for anything
 * else (NIST and Brainpool curves, ElGamal, unusual KDF parameters), which OpenPGP.js encrypts.
 * Only public material is cached; every call of `encryptSessionKey` draws its own randomness.
 */
export function nativeRecipient(packet: KeyPacketView): Recipient | null {
  const cached = recipients.get(packet);
  if (cached !== undefined) return cached;
  let recipient: Recipient | null;
  try {
    recipient = buildRecipient(packet);
  } catch {
    // Material OpenSSL will not load (an odd RSA modulus, say): OpenPGP.js gets to try it, as
    // it did before there was a native path.
    recipient = null;
  }
  recipients.set(packet, recipient);
  return recipient;
}

function buildRecipient(packet: KeyPacketView): Recipient | null {
  const fingerprint = packet.getFingerprintBytes();
  if (packet.version !== 4 || !fingerprint || fingerprint.length !== 20) return null;
  const keyId = Buffer.from(fingerprint.subarray(12));
  const material = readV4KeyMaterial(packet.write());
  switch (material.kind) {
    case 'rsa': {
      const publicKey = rsaRecipient(material.n, material.e);
      return {
        keyId,
        algorithm: material.algorithm,
        encryptSessionKey: (m) => rsaEncryptedKey(publicKey, m),
      };
    }
    case 'ecdh-curve25519': {
      const ecdh = curve25519Recipient(
        material.point,
        material.kdfHash,
        material.kdfCipher,
        fingerprint,
      );
      if (!ecdh) return null;
      return {
        keyId,
        algorithm: material.algorithm,
        encryptSessionKey: (m) => curve25519EncryptedKey(ecdh, m),
      };
    }
    default:
      return null;
  }
}
