/**
 * The two parts of an RFC 3156 PGP/MIME signed message (RFC 1847 multipart/signed):
 *
 *   Content-Type: multipart/signed; protocol="application/pgp-signature"; micalg=...; boundary=B
 *
 *   --B
 *   <the signed part: its MIME header fields, an empty line, its content>
 *   --B
 *   Content-Type: application/pgp-signature
 *
 *   <ASCII-armored detached signature>
 *   --B--
 *
 * Decided from the parsed structure alone; what the parts say about themselves is checked by the
 * signature, not believed.
 */
import { parseHeaderValue } from 'nodemailer/lib/mime-funcs';
import { fieldsNamed, readEntity, type Entity } from './headers';

export interface SignedParts {
  /** RFC 3156 §5: the signed data, exactly as transmitted (CRLF line ends), headers included. */
  signed: string;
  /** The signed part read as an entity (its header fields and content). */
  signedEntity: Entity;
  /** The content of the signature part: the armored signature. */
  armoredSignature: string;
}

export type SignedRead =
  | { ok: true; parts: SignedParts }
  | { ok: false; problem: 'unsigned' | 'malformed' };

/** The Content-Type of an entity as a lowercase type and its parameters (RFC 2045 §5.1, RFC 2231). */
export function contentType(entity: Entity): { type: string; params: Record<string, string> } {
  const [field] = fieldsNamed(entity, 'content-type');
  // RFC 2045 §5.2: no Content-Type means text/plain; charset=us-ascii.
  if (!field) return { type: 'text/plain', params: {} };
  const parsed = parseHeaderValue(field.value);
  return { type: parsed.value.toLowerCase(), params: parsed.params };
}

export function readSigned(message: Entity): SignedRead {
  const { type, params } = contentType(message);
  // RFC 3156 §5: "The multipart/signed body MUST consist of exactly two parts", and the
  // protocol parameter MUST be "application/pgp-signature".
  if (type !== 'multipart/signed' || params.protocol?.toLowerCase() !== 'application/pgp-signature')
    return { ok: false, problem: 'unsigned' };
  const boundary = params.boundary;
  // RFC 2046 §5.1.1: 1 to 70 characters.
  if (!boundary || boundary.length > 70) return { ok: false, problem: 'malformed' };
  const parts = splitMultipart(message.body, boundary);
  if (!parts || parts.length !== 2) return { ok: false, problem: 'malformed' };
  const [signed, signature] = parts as [string, string];
  const signedEntity = readEntity(signed);
  const signatureEntity = readEntity(signature);
  if (!signedEntity || !signatureEntity) return { ok: false, problem: 'malformed' };
  if (contentType(signatureEntity).type !== 'application/pgp-signature')
    return { ok: false, problem: 'malformed' };
  return { ok: true, parts: { signed, signedEntity, armoredSignature: signatureEntity.body } };
}

/**
 * The body parts of a multipart body (RFC 2046 §5.1.1): a delimiter is "--" boundary at the
 * start of a line, optionally followed by white space, then CRLF; the CRLF before it belongs to
 * the delimiter, not to the part. Null without a close delimiter ("--" boundary "--").
 */
export function splitMultipart(body: string, boundary: string): string[] | null {
  const dash = `--${boundary}`;
  const parts: string[] = [];
  let partStart = -1;
  let lineStart = 0;
  while (lineStart <= body.length) {
    const lineEnd = body.indexOf('\r\n', lineStart);
    const line = body.slice(lineStart, lineEnd < 0 ? body.length : lineEnd);
    if (line.startsWith(dash)) {
      const rest = line.slice(dash.length);
      const close = rest.startsWith('--') && /^[ \t]*$/.test(rest.slice(2));
      if (close || /^[ \t]*$/.test(rest)) {
        // The part ends before the CRLF that precedes this delimiter.
        if (partStart >= 0) parts.push(body.slice(partStart, Math.max(partStart, lineStart - 2)));
        if (close) return parts;
        if (lineEnd < 0) return null;
        partStart = lineEnd + 2;
      }
    }
    if (lineEnd < 0) break;
    lineStart = lineEnd + 2;
  }
  return null;
}
