/**
 * The one way kzymy encrypts to a user's key, for mail (pgp-mime.ts) and for activation codes
 * (activation-message.ts): SEIPDv1 with MDC, no compression, no version or comment lines, so
 * GnuPG 2.2 (Debian 12, Tails) and Thunderbird read everything kzymy sends.
 */
import * as openpgp from 'openpgp';
import { parsePublicKey } from './key-cache';
import { keyValidityDate } from './key-validity';

/**
 * Every OpenPGP.js option that shapes the output, fixed here so that a change of library
 * defaults cannot silently change the format.
 */
const ENCRYPT_CONFIG: openpgp.PartialConfig = {
  // GnuPG 2.2 cannot read SEIPDv2 (RFC 9580 AEAD) or the LibrePGP OCB packet. Note that with
  // encryption keys given, OpenPGP.js 6 ignores aeadProtect and follows the key's Features
  // subpacket; the session key built below is what really forces SEIPDv1 (prepareEncryption).
  aeadProtect: false,
  preferredCompressionAlgorithm: openpgp.enums.compression.uncompressed,
  showVersion: false,
  showComment: false,
};

/** What every encryption of one delivery shares: the key, its validity date, the session key. */
export interface Encryption {
  key: openpgp.PublicKey;
  date: Date;
  arrival: Date;
  sessionKey: { data: Uint8Array; algorithm: openpgp.enums.symmetricNames };
}

/**
 * Checks the key and draws the session key for encrypting a payload as a binary literal in a
 * SEIPDv1 packet.
 */
export async function prepareEncryption(
  key: openpgp.PublicKey,
  arrival: Date,
): Promise<Encryption> {
  if (key.keyPacket.version !== 4) throw new Error('encryptToPgpMime: only v4 keys are supported');
  // Expired or revoked as of arrival → throws, and the caller answers 4xx (fail closed).
  const date = keyValidityDate(key, arrival);
  const encryptionKey = await key.getEncryptionKey(undefined, date);
  if (encryptionKey.keyPacket.version !== 4) {
    throw new Error('encryptToPgpMime: only v4 encryption subkeys are supported');
  }
  // OpenPGP.js 6 picks SEIPDv2 whenever the key's Features subpacket advertises it (as keys
  // made by OpenPGP.js with aeadProtect do), regardless of config.aeadProtect. A session key
  // without an aeadAlgorithm makes it emit SEIPDv1 with an MDC and a v3 PKESK, which GnuPG 2.2
  // and Thunderbird read. The symmetric algorithm still follows the key's preferences
  // (AES-256 for GnuPG keys).
  const suggested = await openpgp.generateSessionKey({
    encryptionKeys: key,
    date,
    config: ENCRYPT_CONFIG,
  });
  return {
    key,
    date,
    arrival,
    sessionKey: { data: suggested.data, algorithm: suggested.algorithm },
  };
}

/** The options of openpgp.encrypt besides the message: binary out (armored by armor.ts). */
export function encryptOptions(e: Encryption) {
  return {
    encryptionKeys: e.key,
    sessionKey: e.sessionKey,
    date: e.date,
    format: 'binary',
    config: ENCRYPT_CONFIG,
  } as const;
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
  const message = await openpgp.createMessage({ text, format: 'utf8', date: at });
  return openpgp.encrypt({ message, ...encryptOptions(encryption), format: 'armored' });
}
