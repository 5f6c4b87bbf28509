/**
 * The one way kzymy encrypts to a user's key, for mail (pgp-mime.ts) and for the codes and
 * passwords the web pages show (encryptTextToKey): a v3 PKESK and a SEIPDv1 packet with MDC, no
 * compression, no version or comment lines, so GnuPG 2.2 (Debian 12, Tails) and Thunderbird read
 * everything kzymy sends.
 *
 * OpenPGP.js parses the key, judges its validity at the arrival date and chooses the encryption
 * (sub)key and the cipher; the message itself is written by ./native/ with synchronous
 * node:crypto for RSA and Curve25519 (cv25519) subkeys, and by OpenPGP.js for any other kind
 * (openpgp-encrypt.ts). docs/decisions/0011-native-encryption.md says why.
 */
import { randomBytes } from 'node:crypto';
import * as openpgp from 'openpgp';
import { armorMessage } from './armor';
import { parsePublicKey } from './key-cache';
import { keyValidityDate } from './key-validity';
import { aes, type AesAlgorithm } from './native/algorithms';
import { encryptedMessage } from './native/message';
import { nativeRecipient, type Recipient } from './native/recipient';
import type { LiteralFormat } from './native/seipd';
import { ENCRYPT_CONFIG, openpgpEncrypt, openpgpEncryptStream } from './openpgp-encrypt';
import { judgedAt } from './validity-window';

/** What encrypting one payload to a key needs, checked and chosen by prepareEncryption. */
export interface Encryption {
  key: openpgp.PublicKey;
  /** The moment the key was judged valid at (key-validity.ts). */
  date: Date;
  /** Goes into the literal packet as its date. */
  arrival: Date;
  /** The session key's cipher, as the key's preferences call for. */
  cipher: AesAlgorithm;
  /** The chosen encryption (sub)key, for the native path; null: OpenPGP.js encrypts. */
  recipient: Recipient | null;
}

/**
 * Checks the key at `arrival` and chooses what to encrypt with. Throws for a key that is
 * expired, revoked or has no usable encryption subkey at that moment (the caller answers 4xx).
 * Draws nothing: every encryption draws its own session key.
 */
export async function prepareEncryption(
  key: openpgp.PublicKey,
  arrival: Date,
): Promise<Encryption> {
  if (key.isPrivate()) throw new Error('encryptToPgpMime: refusing a private key');
  if (key.keyPacket.version !== 4) throw new Error('encryptToPgpMime: only v4 keys are supported');
  // Expired or revoked as of arrival → throws, and the caller answers 4xx (fail closed). Judged
  // for every message: by OpenPGP.js, or by its verdict for an earlier arrival when no date in
  // the key lies between the two (validity-window.ts).
  const date = keyValidityDate(key, arrival);
  const { encryptionKey, cipher } = await judgedAt(key, date, async (at) => {
    const chosen = await key.getEncryptionKey(undefined, at);
    if (chosen.keyPacket.version !== 4) {
      throw new Error('encryptToPgpMime: only v4 encryption subkeys are supported');
    }
    return { encryptionKey: chosen, cipher: await sessionKeyCipher(key, at) };
  });
  return { key, date, arrival, cipher, recipient: nativeRecipient(encryptionKey.keyPacket) };
}

/**
 * `payload` (consecutive pieces, together the literal data) encrypted to e's key as one binary
 * OpenPGP message; armor.ts armors it. `format` is the literal packet's: 'b' binary, 'u' text.
 */
export async function encryptBinary(
  e: Encryption,
  payload: readonly Uint8Array[],
  format: LiteralFormat = 'b',
): Promise<Uint8Array> {
  if (e.recipient) {
    const pieces = [
      ...encryptedMessage(e.recipient, e.cipher, { format, date: e.arrival }, payload),
    ];
    return pieces.length === 1 ? (pieces[0] as Buffer) : Buffer.concat(pieces);
  }
  const whole = payload.length === 1 ? (payload[0] as Uint8Array) : Buffer.concat(payload);
  return openpgpEncrypt(openpgpEncryption(e), whole, format);
}

/** The same message for a binary payload, produced piece by piece as it is encrypted. */
export async function* encryptBinaryParts(
  e: Encryption,
  payload: readonly Uint8Array[],
): AsyncIterable<Uint8Array> {
  if (e.recipient) {
    yield* encryptedMessage(e.recipient, e.cipher, { format: 'b', date: e.arrival }, payload);
  } else {
    yield* await openpgpEncryptStream(openpgpEncryption(e), payload);
  }
}

/**
 * `text` encrypted to the armored public key as an armored OpenPGP message (RFC 9580 §6.2),
 * as `gpg --decrypt` reads it: activation codes and passwords sent at signup.
 */
export async function encryptTextToKey(
  armoredKey: string,
  text: string,
  at: Date,
): Promise<string> {
  const encryption = await prepareEncryption(await parsePublicKey(armoredKey), at);
  // RFC 9580 §5.9: 'u' literal data is UTF-8 text with <CR><LF> line endings (as OpenPGP.js
  // wrote it before: a bare LF becomes CRLF, nothing else changes).
  const data = Buffer.from(text.replace(/(?<!\r)\n/g, '\r\n'), 'utf8');
  const binary = await encryptBinary(encryption, [data], 'u');
  // Shown in a web page: LF line ends, as OpenPGP.js's armor had.
  return armorMessage(binary).toString('latin1').replace(/\r\n/g, '\n');
}

/** (Missing from OpenPGP.js's typings, present on every key.) */
interface PrimarySelfSignature {
  getPrimarySelfSignature(date?: Date): Promise<openpgp.SignaturePacket>;
}

const ciphers = new WeakMap<openpgp.SignaturePacket, AesAlgorithm>();

/**
 * The cipher OpenPGP.js's generateSessionKey picks for this key at `date`: the one the primary
 * self-signature prefers among the sender's (AES-256 for GnuPG keys, otherwise AES-128). The
 * pick depends on that signature alone (its preferences and Features), so it is asked once per
 * signature and remembered. Whatever the Features say, no AEAD algorithm is used: the message is
 * SEIPDv1, which GnuPG 2.2 reads.
 */
async function sessionKeyCipher(key: openpgp.PublicKey, date: Date): Promise<AesAlgorithm> {
  const selfSignature = await (key as unknown as PrimarySelfSignature).getPrimarySelfSignature(
    date,
  );
  let cipher = ciphers.get(selfSignature);
  if (!cipher) {
    const suggested = await openpgp.generateSessionKey({
      encryptionKeys: key,
      date,
      config: ENCRYPT_CONFIG,
    });
    const picked = aes(openpgp.enums.symmetric[suggested.algorithm]);
    if (!picked) throw new Error(`encryptToPgpMime: unexpected cipher ${suggested.algorithm}`);
    cipher = picked;
    ciphers.set(selfSignature, cipher);
  }
  return cipher;
}

function openpgpEncryption(e: Encryption) {
  const id = e.cipher.id as openpgp.enums.symmetric;
  return {
    key: e.key,
    date: e.date,
    arrival: e.arrival,
    // A fresh session key for every encryption, as on the native path.
    sessionKey: {
      data: randomBytes(e.cipher.keyBytes),
      algorithm: openpgp.enums.read(openpgp.enums.symmetric, id),
    },
  };
}
