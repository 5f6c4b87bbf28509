/** The Public-Key Encrypted Session Key packet, version 3 (RFC 9580 §5.1.1). */
import type { AesAlgorithm } from './algorithms';
import { PacketTag, packetHeader } from './packet-framing';
import type { Recipient } from './recipient';

/** RFC 9580 §5.1.1: "A version 3 PKESK packet precedes a v1 SEIPD packet". */
const PKESK_VERSION = 3;

/** A v3 PKESK packet carrying `sessionKey` (for `cipher`) encrypted to `recipient`. */
export function pkeskPacket(
  recipient: Recipient,
  cipher: AesAlgorithm,
  sessionKey: Buffer,
): Buffer {
  // RFC 9580 §5.1.3 / §11.5: m = the 1-octet algorithm identifier || the session key || "a
  // 2-octet checksum of the session key, equal to the sum of the session key octets, modulo
  // 65536".
  const m = Buffer.allocUnsafe(1 + sessionKey.length + 2);
  m[0] = cipher.id;
  sessionKey.copy(m, 1);
  let sum = 0;
  for (const octet of sessionKey) sum += octet;
  m.writeUInt16BE(sum % 65536, 1 + sessionKey.length);
  const encrypted = recipient.encryptSessionKey(m);
  m.fill(0);
  // RFC 9580 §5.1.1: version 3, the 8-octet Key ID of the (sub)key, the 1-octet public key
  // algorithm, then the algorithm-specific fields.
  const head = Buffer.allocUnsafe(10);
  head[0] = PKESK_VERSION;
  recipient.keyId.copy(head, 1);
  head[9] = recipient.algorithm;
  const length = head.length + encrypted.length;
  return Buffer.concat([
    packetHeader(PacketTag.publicKeyEncryptedSessionKey, length),
    head,
    encrypted,
  ]);
}
