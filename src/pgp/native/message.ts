/**
 * A whole encrypted OpenPGP message as kzymy writes it natively (RFC 9580 §10.3): one v3 PKESK
 * to the recipient's encryption (sub)key, then a v1 SEIPD packet with the literal data inside.
 */
import { randomBytes } from 'node:crypto';
import { AES_BLOCK_BYTES, type AesAlgorithm } from './algorithms';
import { pkeskPacket } from './pkesk';
import type { Recipient } from './recipient';
import { seipdPacket, type LiteralData } from './seipd';

/**
 * The binary message, piece by piece. A fresh session key is drawn for every call (and wiped
 * when the message is done), and the PKESK draws its own ephemeral key or padding: nothing of
 * one message's secrets is used for another.
 */
export function* encryptedMessage(
  recipient: Recipient,
  cipher: AesAlgorithm,
  literal: LiteralData,
  payload: readonly Uint8Array[],
): Generator<Buffer> {
  // One draw for the session key and the random part of the SEIPD prefix (one call is cheaper).
  const random = randomBytes(cipher.keyBytes + AES_BLOCK_BYTES);
  const sessionKey = random.subarray(0, cipher.keyBytes);
  const prefixRandom = random.subarray(cipher.keyBytes);
  try {
    const pkesk = pkeskPacket(recipient, cipher, sessionKey);
    let first = true;
    for (const piece of seipdPacket(cipher, sessionKey, prefixRandom, literal, payload)) {
      yield first ? Buffer.concat([pkesk, piece]) : piece;
      first = false;
    }
  } finally {
    random.fill(0);
  }
}
