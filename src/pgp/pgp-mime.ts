// Encrypt a received message into an RFC 3156 PGP/MIME message before anything is stored.
//
// The encrypted payload is built by protected-payload.ts: by default the original with its
// header section protected (RFC 9788, Thunderbird's protected-headers) and padded to a size
// bucket; or, by the user's choice, the delivery headers followed by the original byte for byte.
// The outer message carries nothing from the original: a fixed From, the caller's neutral To,
// Subject "...", the arrival Date and a fresh Message-ID. Whether the sender's message claims to
// be encrypted already never matters: it is wrapped like any other. Format and rationale:
// docs/message-format.md.
import { randomBytes } from 'node:crypto';
import { armorMessage, Armorer } from './armor';
import {
  encryptBinary,
  encryptBinaryParts,
  prepareEncryption,
  type Encryption,
} from './encryption';
import { parsePublicKey } from './key-cache';
import { bucketFor, MIN_PADDING_BYTES } from './padding';
import {
  buildPayload,
  type OuterField,
  type Payload,
  type PayloadFormat,
} from './protected-payload';

export interface EncryptInput {
  /**
   * The whole original message, byte-exact, in one Buffer or as consecutive pieces; may be
   * malformed (bare LF, NUL, 8-bit, no headers).
   */
  raw: Buffer | readonly Buffer[];
  publicKeyArmored: string;
  /** SMTP MAIL FROM, without angle brackets; '' for the null sender. */
  envelopeFrom: string;
  /** The RCPT TO addresses (this user's aliases) the message was delivered to, in order. */
  recipients: readonly string[];
  arrival: Date;
  /** The mail domain, for the outer From and the fresh Message-ID. */
  domain: string;
  /** Outer To; must not reveal the alias the message was sent to. */
  outerTo: string;
  /** The payload format (protected-payload.ts); 'protected' unless the user chose 'exact'. */
  format?: PayloadFormat;
  /** Pad the payload to a size bucket (padding.ts); default: yes for the protected format. */
  pad?: boolean;
  /** The Authentication-Results value (RFC 8601) recorded inside, if the sender was checked. */
  authenticationResults?: string;
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
  return encryptComposed(composeMessage(input));
}

/** A message ready to be encrypted: its outer parts and payload, and what it will cost to store. */
export interface ComposedMessage {
  readonly outer: OuterParts;
  readonly payload: Payload;
  readonly publicKeyArmored: string;
  readonly arrival: Date;
  /**
   * An upper bound of the stored size (the armored PGP/MIME message), known before encrypting,
   * so a quota can be checked without encrypting first.
   */
  readonly storedBytesAtMost: number;
}

/** Checks the input and builds the outer message and the payload; nothing is encrypted yet. */
export function composeMessage(input: EncryptInput): ComposedMessage {
  const domain = checkDomain(input.domain);
  const outerTo = checkHeaderValue('outerTo', input.outerTo, /^[\x21-\x7e]+$/);
  // Envelope values may carry UTF-8 (RFC 6531) but never line breaks or other controls.
  const envelopeFrom = checkHeaderValue('envelopeFrom', input.envelopeFrom, /^\P{Cc}*$/u);
  if (!Array.isArray(input.recipients) || input.recipients.length === 0) {
    throw new TypeError('encryptToPgpMime: recipients must list at least one address');
  }
  const recipients = input.recipients.map((r: string) =>
    checkHeaderValue('recipient', r, /^\P{Cc}+$/u),
  );
  // kzymy's own text: printable ASCII, folded only by CR LF followed by white space.
  const authenticationResults =
    input.authenticationResults === undefined
      ? undefined
      : checkHeaderValue(
          'authenticationResults',
          input.authenticationResults,
          /^[\x20-\x7e]+(?:\r\n[ \t][\x20-\x7e]+)*$/,
        );
  if (!(input.arrival instanceof Date) || Number.isNaN(input.arrival.getTime())) {
    throw new TypeError('encryptToPgpMime: arrival is not a valid Date');
  }
  const raw = Buffer.isBuffer(input.raw) ? [input.raw] : input.raw;
  if (!Array.isArray(raw) || !raw.every((piece) => Buffer.isBuffer(piece))) {
    throw new TypeError('encryptToPgpMime: raw must be a Buffer or an array of Buffers');
  }
  const format = input.format ?? 'protected';
  const outer = outerParts({ domain, outerTo, arrival: input.arrival });
  const payload = buildPayload({
    original: raw,
    envelopeFrom,
    recipients,
    authenticationResults,
    outerFields: outer.fields,
    format,
    pad: input.pad ?? format === 'protected',
  });
  return {
    outer,
    payload,
    publicKeyArmored: input.publicKeyArmored,
    arrival: input.arrival,
    storedBytesAtMost: outer.head.length + outer.tail.length + armoredBytesAtMost(payload.size),
  };
}

/** Encrypts a composed message to its key; checks the key and its validity first. */
export async function encryptComposed(message: ComposedMessage): Promise<MessageParts> {
  const { outer, payload } = message;
  const key = await parsePublicKey(message.publicKeyArmored);
  const encryption = await prepareEncryption(key, message.arrival);
  if (payload.size <= STREAM_ABOVE_BYTES) {
    const whole = Buffer.concat(payload.pieces, payload.size);
    const armored = armorMessage(await encryptWhole(encryption, whole));
    return [Buffer.concat([outer.head, armored, outer.tail])];
  }
  return streamParts(outer, encryptBinaryParts(encryption, payload.pieces));
}

/**
 * An upper bound of the armored size of a payload of `bytes`: the session key packet (RSA up to
 * 16384 bits), the SEIPDv1 packet with its prefix and MDC, the literal packet, partial body
 * length headers (RFC 4880 §4.2.2.4: at most one per 512 bytes, in each of the two packets),
 * then base64 lines of 76 characters plus the armor lines (armor.ts).
 */
export function armoredBytesAtMost(bytes: number): number {
  const binary = bytes + Math.ceil(bytes / 256) + 2304;
  return Math.ceil(binary / 57) * 78 + 128;
}

/**
 * A lower bound of what an original of `bytes` costs to store: its payload is at least that
 * long (padded to its bucket in the protected format), and base64 armor adds a third and a line
 * end per 76 characters. For a quota check before the message is there (RFC 1870 SIZE at RCPT):
 * it refuses only what is sure to be over.
 */
export function storedBytesAtLeast(bytes: number, format: PayloadFormat): number {
  const payload = format === 'protected' ? bucketFor(bytes + MIN_PADDING_BYTES) : bytes;
  return Math.floor((payload / 57) * 78);
}

async function* streamParts(
  outer: OuterParts,
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

interface OuterParts {
  head: Buffer;
  tail: Buffer;
  /** The outer header's non-structural fields (RFC 9787 §1.1.1), for HP-Outer inside. */
  fields: OuterField[];
}

/** RFC 3156 §4 multipart/encrypted: what goes before and after the armored ciphertext. */
function outerParts(f: OuterFields): OuterParts {
  const boundary = `kzymy-${randomBytes(16).toString('hex')}`;
  const messageId = `<${randomBytes(16).toString('hex')}@${f.domain}>`;
  const fields: OuterField[] = [
    { name: 'From', value: `kzymy <postmaster@${f.domain}>` },
    { name: 'To', value: f.outerTo },
    { name: 'Subject', value: STUB_SUBJECT },
    { name: 'Date', value: formatRfc5322Date(f.arrival) },
    { name: 'Message-ID', value: messageId },
  ];
  const lines = [
    ...fields.map((field) => `${field.name}: ${field.value}`),
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
    fields,
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
