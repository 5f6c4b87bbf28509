// Encrypt a received message into an RFC 3156 PGP/MIME message before anything is stored.
//
// The encrypted payload is the delivery headers (Return-Path, Delivered-To) followed by the
// original message, byte for byte: `gpg --decrypt` yields exactly what a local MDA would have
// written. The outer message carries nothing from the original: a fixed From, the caller's
// neutral To, Subject "...", the arrival Date and a fresh Message-ID. The sender's Content-Type
// is never looked at: a message that claims to be encrypted already is wrapped like any other.
// Format and rationale: docs/message-format.md.
import { armorMessage } from './armor';
import { randomBytes } from 'node:crypto';
import * as openpgp from 'openpgp';
import { keyValidityDate, parsePublicKey } from './key-check';

export interface EncryptInput {
  /** The whole original message, byte-exact; may be malformed (bare LF, NUL, 8-bit, no headers). */
  raw: Buffer;
  publicKeyArmored: string;
  /** SMTP MAIL FROM, without angle brackets; '' for the null sender. */
  envelopeFrom: string;
  /** The RCPT TO address the message was delivered to. */
  recipient: string;
  arrival: Date;
  /** The mail domain, for the outer From and the fresh Message-ID. */
  domain: string;
  /** Outer To; must not reveal the alias the message was sent to. */
  outerTo: string;
}

/** Outer Subject. Thunderbird shows it when it cannot read the protected one. */
export const STUB_SUBJECT = '...';

const CRLF = '\r\n';

/**
 * Every OpenPGP.js option that shapes the output, fixed here so that a change of library
 * defaults cannot silently change the format.
 */
const ENCRYPT_CONFIG: openpgp.PartialConfig = {
  // GnuPG 2.2 cannot read SEIPDv2 (RFC 9580 AEAD) or the LibrePGP OCB packet. Note that with
  // encryption keys given, OpenPGP.js 6 ignores aeadProtect and follows the key's Features
  // subpacket; the session key built below is what really forces SEIPDv1 (see encryptPayload).
  aeadProtect: false,
  preferredCompressionAlgorithm: openpgp.enums.compression.uncompressed,
  showVersion: false,
  showComment: false,
};

/** Encrypt `input.raw` to the user's key and wrap it as a complete RFC 5322 message. */
export async function encryptToPgpMime(input: EncryptInput): Promise<Buffer> {
  const domain = checkDomain(input.domain);
  const outerTo = checkHeaderValue('outerTo', input.outerTo, /^[\x21-\x7e]+$/);
  // Envelope values may carry UTF-8 (RFC 6531) but never line breaks or other controls.
  const envelopeFrom = checkHeaderValue('envelopeFrom', input.envelopeFrom, /^\P{Cc}*$/u);
  const recipient = checkHeaderValue('recipient', input.recipient, /^\P{Cc}+$/u);
  if (!(input.arrival instanceof Date) || Number.isNaN(input.arrival.getTime())) {
    throw new TypeError('encryptToPgpMime: arrival is not a valid Date');
  }
  if (!Buffer.isBuffer(input.raw)) throw new TypeError('encryptToPgpMime: raw must be a Buffer');

  // RFC 5321 §4.4: the delivery agent adds Return-Path; Delivered-To as Postfix/qmail do.
  const deliveryHeaders = Buffer.from(
    `Return-Path: <${envelopeFrom}>${CRLF}Delivered-To: ${recipient}${CRLF}`,
    'utf8',
  );
  const payload = Buffer.concat([deliveryHeaders, input.raw]);
  const key = await parsePublicKey(input.publicKeyArmored);
  const encrypted = await encryptPayload(payload, key, input.arrival);
  return buildOuterMessage(armorMessage(encrypted), { domain, outerTo, arrival: input.arrival });
}

/** OpenPGP-encrypt `payload` as a binary literal in a SEIPDv1 packet; binary packets out. */
async function encryptPayload(
  payload: Uint8Array,
  key: openpgp.PublicKey,
  arrival: Date,
): Promise<Uint8Array> {
  if (key.keyPacket.version !== 4) throw new Error('encryptToPgpMime: only v4 keys are supported');
  // Expired or revoked as of arrival → throws, and the caller answers 4xx (fail closed).
  const date = keyValidityDate(key, arrival);
  const encryptionKey = await key.getEncryptionKey(undefined, date);
  if (encryptionKey.keyPacket.version !== 4) {
    throw new Error('encryptToPgpMime: only v4 encryption subkeys are supported');
  }
  // A binary literal ('b') so no implementation re-encodes line endings or charsets.
  const message = await openpgp.createMessage({ binary: payload, format: 'binary', date: arrival });
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
  const sessionKey = { data: suggested.data, algorithm: suggested.algorithm };
  // Binary out, armored by armor.ts: OpenPGP.js's own armor is slow and memory-hungry for large mail.
  return openpgp.encrypt({
    message,
    encryptionKeys: key,
    sessionKey,
    date,
    format: 'binary',
    config: ENCRYPT_CONFIG,
  });
}

interface OuterFields {
  domain: string;
  outerTo: string;
  arrival: Date;
}

/** RFC 3156 §4 multipart/encrypted around the armored ciphertext. */
function buildOuterMessage(armored: Buffer, f: OuterFields): Buffer {
  const boundary = `kzymy-${randomBytes(16).toString('hex')}`;
  const messageId = `<${randomBytes(16).toString('hex')}@${f.domain}>`;
  const lines = [
    `From: kzymy <postmaster@${f.domain}>`,
    `To: ${f.outerTo}`,
    `Subject: ${STUB_SUBJECT}`,
    `Date: ${formatRfc5322Date(f.arrival)}`,
    `Message-ID: ${messageId}`,
    'MIME-Version: 1.0',
    // RFC 3156 §4: "The multipart/encrypted MIME body MUST consist of exactly two body parts,
    // the first with content type "application/pgp-encrypted"" ... protocol parameter required.
    `Content-Type: multipart/encrypted; protocol="application/pgp-encrypted";`,
    ` boundary="${boundary}"`,
    '',
    'This is an OpenPGP/MIME encrypted message (RFC 4880 and 3156)',
    `--${boundary}`,
    'Content-Type: application/pgp-encrypted',
    'Content-Description: PGP/MIME version identification',
    '',
    // RFC 3156 §4: this body part "contains the control information. A message complying
    // with this standard MUST contain a "Version: 1" field in this body."
    'Version: 1',
    '',
    `--${boundary}`,
    'Content-Type: application/octet-stream; name="encrypted.asc"',
    'Content-Description: OpenPGP encrypted message',
    'Content-Disposition: inline; filename="encrypted.asc"',
    '',
  ];
  // armorMessage ends with CRLF; the blank line before the closing boundary follows RFC 2046 §5.1.1.
  return Buffer.concat([
    Buffer.from(lines.join(CRLF) + CRLF, 'ascii'),
    armored,
    Buffer.from(CRLF + `--${boundary}--` + CRLF, 'ascii'),
  ]);
}

const DAYS = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'];
const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

/**
 * RFC 5322 §3.3 date-time in UTC ("Tue, 02 Dec 2025 14:03:09 +0000"): the server's own time
 * zone is nobody's business.
 */
export function formatRfc5322Date(d: Date): string {
  const p2 = (n: number): string => String(n).padStart(2, '0');
  return (
    `${DAYS[d.getUTCDay()]}, ${p2(d.getUTCDate())} ${MONTHS[d.getUTCMonth()]} ${d.getUTCFullYear()} ` +
    `${p2(d.getUTCHours())}:${p2(d.getUTCMinutes())}:${p2(d.getUTCSeconds())} +0000`
  );
}

function checkHeaderValue(name: string, value: string, allowed: RegExp): string {
  if (typeof value !== 'string' || !allowed.test(value)) {
    // Do not echo the value: it may be an address, which is never logged.
    throw new TypeError(`encryptToPgpMime: ${name} contains characters not allowed in a header`);
  }
  return value;
}

function checkDomain(domain: string): string {
  // RFC 1035 §2.3.1 letters, digits, hyphens and dots (A-labels for IDNs).
  if (typeof domain !== 'string' || !/^[A-Za-z0-9](?:[A-Za-z0-9.-]*[A-Za-z0-9])?$/.test(domain)) {
    throw new TypeError('encryptToPgpMime: domain is not a valid host name');
  }
  return domain;
}
