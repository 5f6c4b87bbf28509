// Encrypt a received message into an RFC 3156 PGP/MIME message before anything is stored.
//
// The encrypted payload is the delivery headers (Return-Path, Delivered-To) followed by the
// original message, byte for byte: `gpg --decrypt` yields exactly what a local MDA would have
// written. The outer message carries nothing from the original: a fixed From, the caller's
// neutral To, Subject "...", the arrival Date and a fresh Message-ID. The sender's Content-Type
// is never looked at: a message that claims to be encrypted already is wrapped like any other.
// Format and rationale: docs/message-format.md.
import { randomBytes } from 'node:crypto';
import { armorMessage, Armorer } from './armor';
import {
  encryptBinary,
  encryptBinaryParts,
  prepareEncryption,
  type Encryption,
} from './encryption';
import { parsePublicKey } from './key-cache';

export interface EncryptInput {
  /**
   * The whole original message, byte-exact, in one Buffer or as consecutive pieces; may be
   * malformed (bare LF, NUL, 8-bit, no headers).
   */
  raw: Buffer | readonly Buffer[];
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
 * Messages larger than this are encrypted as a stream: read piece by piece, armored and handed
 * on as they are encrypted, so memory stays a small multiple of one piece instead of several
 * copies of the message. Smaller ones are encrypted in one piece, one Buffer for the store (and,
 * for the keys OpenPGP.js still encrypts, without its web streams' 3 ms per message).
 */
export const STREAM_ABOVE_BYTES = 1024 * 1024;

/** Encrypt `input.raw` to the user's key and wrap it as a complete RFC 5322 message. */
export async function encryptToPgpMime(input: EncryptInput): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const part of await encryptToPgpMimeParts(input)) parts.push(part);
  return parts.length === 1 ? (parts[0] as Buffer) : Buffer.concat(parts);
}

/** Consecutive pieces of one message: one Buffer for small mail, produced as read for large. */
export type MessageParts = Iterable<Buffer> | AsyncIterable<Buffer>;

/**
 * The same message as consecutive parts, produced as they are read: a large message is never
 * held whole. Everything that can be refused (the input, the key and its validity) is checked
 * before this resolves; a failure while the parts are read is an internal one.
 */
export async function encryptToPgpMimeParts(input: EncryptInput): Promise<MessageParts> {
  const domain = checkDomain(input.domain);
  const outerTo = checkHeaderValue('outerTo', input.outerTo, /^[\x21-\x7e]+$/);
  // Envelope values may carry UTF-8 (RFC 6531) but never line breaks or other controls.
  const envelopeFrom = checkHeaderValue('envelopeFrom', input.envelopeFrom, /^\P{Cc}*$/u);
  const recipient = checkHeaderValue('recipient', input.recipient, /^\P{Cc}+$/u);
  if (!(input.arrival instanceof Date) || Number.isNaN(input.arrival.getTime())) {
    throw new TypeError('encryptToPgpMime: arrival is not a valid Date');
  }
  const raw = Buffer.isBuffer(input.raw) ? [input.raw] : input.raw;
  if (!Array.isArray(raw) || !raw.every((piece) => Buffer.isBuffer(piece))) {
    throw new TypeError('encryptToPgpMime: raw must be a Buffer or an array of Buffers');
  }

  // RFC 5321 §4.4: the delivery agent adds Return-Path; Delivered-To as Postfix/qmail do.
  const deliveryHeaders = Buffer.from(
    `Return-Path: <${envelopeFrom}>${CRLF}Delivered-To: ${recipient}${CRLF}`,
    'utf8',
  );
  const payload = [deliveryHeaders, ...raw];
  const key = await parsePublicKey(input.publicKeyArmored);
  const encryption = await prepareEncryption(key, input.arrival);
  const outer = outerParts({ domain, outerTo, arrival: input.arrival });
  const size = payload.reduce((sum, piece) => sum + piece.length, 0);
  if (size <= STREAM_ABOVE_BYTES) {
    const armored = armorMessage(await encryptWhole(encryption, Buffer.concat(payload, size)));
    return [Buffer.concat([outer.head, armored, outer.tail])];
  }
  return streamParts(outer, encryptBinaryParts(encryption, payload));
}

async function* streamParts(
  outer: { head: Buffer; tail: Buffer },
  encrypted: AsyncIterable<Uint8Array>,
): AsyncIterable<Buffer> {
  const armorer = new Armorer();
  yield Buffer.concat([outer.head, armorer.begin()]);
  for await (const piece of encrypted) {
    const lines = armorer.push(piece);
    if (lines.length > 0) yield lines;
  }
  yield Buffer.concat([armorer.end(), outer.tail]);
}

// A binary literal ('b'), so no implementation re-encodes line endings or charsets.
async function encryptWhole(e: Encryption, payload: Uint8Array): Promise<Uint8Array> {
  return encryptBinary(e, [payload]);
}

interface OuterFields {
  domain: string;
  outerTo: string;
  arrival: Date;
}

/** RFC 3156 §4 multipart/encrypted: what goes before and after the armored ciphertext. */
function outerParts(f: OuterFields): { head: Buffer; tail: Buffer } {
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
  // The armor ends with CRLF; the blank line before the closing boundary follows RFC 2046 §5.1.1.
  return {
    head: Buffer.from(lines.join(CRLF) + CRLF, 'ascii'),
    tail: Buffer.from(CRLF + `--${boundary}--` + CRLF, 'ascii'),
  };
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
