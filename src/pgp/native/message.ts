/**
 * A whole encrypted OpenPGP message as kzymy writes it natively (RFC 9580 §10.3): one v3 PKESK
 * to the recipient's encryption (sub)key, then a v1 SEIPD packet with the literal data inside.
 */
import { randomBytes } from 'node:crypto';
import type { AesAlgorithm } from './algorithms';
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
  const sessionKey = randomBytes(cipher.keyBytes);
  try {
    const pkesk = pkeskPacket(recipient, cipher, sessionKey);
    let first = true;
    for (const piece of seipdPacket(cipher, sessionKey, literal, payload)) {
      yield first ? Buffer.concat([pkesk, piece]) : piece;
      first = false;
    }
  } finally {
    sessionKey.fill(0);
  }
}
