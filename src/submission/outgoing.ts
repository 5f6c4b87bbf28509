/**
 * The message that leaves, built from a submitted one that passed every check:
 *
 *   Date: <submission time, UTC>            RFC 5322 §3.6.1, written by kzymy
 *   Message-ID: <random@domain>             RFC 5322 §3.6.4, written by kzymy
 *   From/To/Cc/Subject/Reply-To/In-Reply-To/References as the client wrote them
 *   MIME-Version: 1.0
 *   and either
 *   - sign-as-nym: multipart/signed around the signed part, byte for byte, and the signature
 *     as OpenPGP.js armors it, under a boundary of kzymy's (the client's preamble, boundary and
 *     signature-part headers name its mail program, and are not signed); or
 *   - otherwise: the signed part itself as the content, its MIME fields on top.
 *
 * Text is handled as latin1 strings, one character a byte, so 8-bit content leaves unchanged.
 */
import { randomBytes } from 'node:crypto';
import type { Entity } from './headers';
import { contentFields, KEPT_FIELDS } from './sender-check';
import type { SignedParts } from './signed-parts';

export interface OutgoingInput {
  message: Entity;
  parts: SignedParts;
  /** The re-armored signature and its micalg when it stays (sign-as-nym); null otherwise. */
  signature: { armored: string; micalg: string } | null;
  submittedAt: Date;
  /** The right-hand side of the Message-ID: the mail domain. */
  domain: string;
}

const CRLF = '\r\n';

/** RFC 5322 §3.3 date-time in UTC: "Tue, 01 Apr 2025 12:00:00 +0000" (not the obsolete "GMT"). */
export function rfc5322Date(date: Date): string {
  return date.toUTCString().replace(/GMT$/, '+0000');
}

export function composeOutgoing(input: OutgoingInput): string {
  const header: string[] = [
    `Date: ${rfc5322Date(input.submittedAt)}`,
    `Message-ID: <${randomBytes(16).toString('hex')}@${input.domain}>`,
  ];
  for (const field of input.message.fields) {
    if (KEPT_FIELDS.includes(field.key)) header.push(field.raw);
  }
  header.push('MIME-Version: 1.0');
  if (!input.signature) {
    const content = contentFields(input.parts.signedEntity);
    // RFC 2045 §5.2: without a Content-Type the part was text/plain; us-ascii, and stays so.
    header.push(...content);
    return header.join(CRLF) + CRLF + CRLF + input.parts.signedEntity.body;
  }
  const boundary = freshBoundary(input.parts.signed + input.signature.armored);
  // RFC 3156 §5: protocol and micalg parameters; micalg from the signature itself.
  header.push(
    `Content-Type: multipart/signed; micalg=${input.signature.micalg};`,
    ` protocol="application/pgp-signature"; boundary="${boundary}"`,
  );
  const signature = input.signature.armored.replace(/\r?\n/g, CRLF).replace(/(\r\n)*$/, CRLF);
  const body = [
    `--${boundary}`,
    // RFC 1847 §2.1: the CRLF before the next delimiter belongs to the delimiter.
    input.parts.signed,
    `--${boundary}`,
    'Content-Type: application/pgp-signature; name="signature.asc"',
    'Content-Description: OpenPGP digital signature',
    'Content-Disposition: attachment; filename="signature.asc"',
    '',
    signature + `--${boundary}--`,
    '',
  ].join(CRLF);
  return header.join(CRLF) + CRLF + CRLF + body;
}

/** RFC 2046 §5.1.1: a boundary must not occur in what it encloses. */
function freshBoundary(enclosed: string): string {
  for (;;) {
    const boundary = `kzymy-${randomBytes(12).toString('hex')}`;
    if (!enclosed.includes(boundary)) return boundary;
  }
}
