/**
 * The encrypted payload: what `gpg --decrypt` gives the user. Two formats (docs/message-format.md):
 *
 * **protected** (the default): header protection that clients display. RFC 9788 (`hp="cipher"`)
 * and Thunderbird (`protected-headers="v1"`, comm-central mime.sys.mjs extractProtectedHeaders)
 * both read the protected header fields from the top-level header section of the decrypted
 * payload, and both markers are parameters of its Content-Type. The original's own Content-Type
 * is never edited: the payload is a `multipart/mixed` wrapper (what Thunderbird itself sends)
 * whose header section carries kzymy's delivery fields, the markers, the original's header
 * fields, `HP-Outer` and the size padding, and whose one part is the original's body part:
 * its Content-* fields, then its body byte for byte.
 *
 *     Return-Path: <sender>                        kzymy's, from the envelope
 *     Delivered-To: alias@user.domain              one per alias of this user in the transaction
 *     Authentication-Results: domain; spf=...      kzymy's verdicts at arrival
 *     MIME-Version: 1.0
 *     Content-Type: multipart/mixed; boundary="kzymy-…";
 *      protected-headers="v1"; hp="cipher"
 *     Subject: …, From: …, …                       the original's non-structural fields, in order
 *     HP-Outer: Subject: ...                       RFC 9788 §2.2: what the outer header carries
 *     Kzymy-Padding: xxxx…                         size padding (padding.ts)
 *
 *     --kzymy-…
 *     Content-Type: …                              the original's structural fields, in order
 *
 *     <the original body, byte for byte>
 *     --kzymy-…--
 *
 * Nothing the sender writes can set a marker: kzymy's own fields come first, and a sender's
 * field goes to the top only when it is a plain field (no CR or NUL inside a line, so no parser
 * can split it into two) and not one kzymy vouches for (Content-*, MIME-Version, Return-Path,
 * Delivered-To, Authentication-Results, HP-Outer, Kzymy-Padding). Every other field goes, as
 * received, into the part's header section, where it marks nothing: no header is lost.
 *
 * **exact**: Return-Path, Delivered-To and Authentication-Results, then the original byte for
 * byte, for pipelines that need the message as delivered (procmail, signature checks). Not padded.
 */
import { randomBytes } from 'node:crypto';
import { splitMessage, type HeaderField } from './header-section';
import { paddingField, paddingFor, PADDING_FIELD } from './padding';

export const PAYLOAD_FORMATS = ['protected', 'exact'] as const;
export type PayloadFormat = (typeof PAYLOAD_FORMATS)[number];

/** A header field kzymy writes, as name and (already safe) value. */
export interface OuterField {
  name: string;
  value: string;
}

export interface PayloadInput {
  /** The original message as consecutive pieces (views are kept, never copied). */
  original: readonly Buffer[];
  /** MAIL FROM without brackets ('' for the null sender); checked by the caller. */
  envelopeFrom: string;
  /** The addresses this copy was delivered to, in RCPT order; checked by the caller. */
  recipients: readonly string[];
  /** The Authentication-Results value (RFC 8601, after the colon), if any; kzymy-made. */
  authenticationResults?: string;
  /** The outer header's fields, recorded as HP-Outer (RFC 9788 §2.2). */
  outerFields: readonly OuterField[];
  format: PayloadFormat;
  /** Pad to a bucket (protected format only). */
  pad: boolean;
  /** The wrapper's boundary; random unless a test fixes it. */
  boundary?: string;
}

export interface Payload {
  pieces: Buffer[];
  size: number;
  /** Bytes of padding inside (0 when not padded). */
  paddingBytes: number;
}

const CRLF = Buffer.from('\r\n', 'ascii');

/**
 * Fields a sender must not place in the top-level header section: the structural ones (RFC 9787
 * §1.1.1: MIME-Version and Content-*, which describe a part, not the message) and those whose
 * meaning is kzymy's word (RFC 8601 §5: an MTA removes Authentication-Results it did not make;
 * RFC 5321 §4.4: Return-Path is the delivering MTA's; RFC 9788 §2.2: HP-Outer in a payload is
 * the encrypter's record).
 */
const KEPT_IN_PART = new Set([
  'mime-version',
  'return-path',
  'delivered-to',
  'authentication-results',
  'hp-outer',
  PADDING_FIELD.toLowerCase(),
]);

function belongsInPart(field: HeaderField): boolean {
  return field.name.startsWith('content-') || KEPT_IN_PART.has(field.name) || field.hasStrayControl;
}

export function buildPayload(input: PayloadInput): Payload {
  const delivery = deliveryLines(input).map((line) => Buffer.from(line, 'utf8'));
  if (input.format === 'exact') {
    const pieces = [withLineEnds(delivery), ...input.original];
    return { pieces, size: sizeOf(pieces), paddingBytes: 0 };
  }
  const boundary = input.boundary ?? `kzymy-${randomBytes(16).toString('hex')}`;
  const { fields, body, bodyBytes } = splitMessage(input.original);
  const top: Buffer[] = [
    ...delivery,
    ascii('MIME-Version: 1.0'),
    // RFC 9788 §2.1.1: hp="cipher" on the Cryptographic Payload's root; Thunderbird reads
    // protected-headers="v1" there. RFC 2046 §5.1.1: the boundary never occurs in the part,
    // which 128 random bits guarantee.
    ascii(`Content-Type: multipart/mixed; boundary="${boundary}";`),
    ascii(' protected-headers="v1"; hp="cipher"'),
  ];
  const part: Buffer[] = [ascii(`--${boundary}`)];
  for (const field of fields) (belongsInPart(field) ? part : top).push(...field.lines);
  for (const field of input.outerFields) top.push(ascii(`HP-Outer: ${field.name}: ${field.value}`));
  const head = withLineEnds(top);
  // The part: its delimiter line, its own header section and the empty line that ends it.
  const partHead = Buffer.concat([withLineEnds(part), CRLF]);
  // RFC 2046 §5.1.1: the CR LF before a delimiter belongs to the delimiter, so the body part
  // keeps its own last line end.
  const close = ascii(`\r\n--${boundary}--\r\n`);
  const unpadded = head.length + CRLF.length + partHead.length + bodyBytes + close.length;
  const paddingBytes = input.pad ? paddingFor(unpadded) : 0;
  const first = Buffer.concat([
    head,
    ...(paddingBytes > 0 ? [paddingField(paddingBytes)] : []),
    CRLF,
    partHead,
  ]);
  const pieces = [first, ...body, close];
  return { pieces, size: unpadded + paddingBytes, paddingBytes };
}

/** RFC 5321 §4.4 Return-Path, Delivered-To per alias (as Postfix and qmail write it), A-R. */
function deliveryLines(input: PayloadInput): string[] {
  const lines = [`Return-Path: <${input.envelopeFrom}>`];
  for (const recipient of input.recipients) lines.push(`Delivered-To: ${recipient}`);
  if (input.authenticationResults !== undefined) {
    lines.push(`Authentication-Results: ${input.authenticationResults}`);
  }
  return lines;
}

/** Each line followed by CR LF (a header line's own line end was taken off when it was read). */
function withLineEnds(lines: readonly Buffer[]): Buffer {
  return Buffer.concat(lines.flatMap((line) => [line, CRLF]));
}

function ascii(text: string): Buffer {
  return Buffer.from(text, 'ascii');
}

function sizeOf(pieces: readonly Buffer[]): number {
  return pieces.reduce((sum, piece) => sum + piece.length, 0);
}
