/**
 * Reading IMAP server responses (RFC 3501 §7, RFC 9051 §7): a response is a line that may embed
 * literals — `{n}` at the end of a line announces exactly n bytes, after which the line goes on.
 * The reader returns the text with each literal replaced by a `{#i}` marker, and the literal
 * bytes apart, so a parser can use plain regular expressions on the text and never on mail data.
 */
import { FetchError } from './errors';
import type { Wire } from './wire';

export interface ImapResponse {
  /** The response with literals replaced by `{#0}`, `{#1}`, ... */
  text: string;
  literals: Buffer[];
}

/** Largest literal accepted (a message a kzymy server stores is at most ~47 MB of ciphertext). */
const MAX_LITERAL_BYTES = 256 * 1024 * 1024;

export async function readResponse(
  wire: Wire,
  onLiteralBytes?: (received: number) => void,
  timeoutMs?: number,
): Promise<ImapResponse> {
  const parts: string[] = [];
  const literals: Buffer[] = [];
  for (;;) {
    const line = (await wire.readLine(timeoutMs)).toString('latin1');
    // RFC 3501 §4.3: literal = "{" number "}" CRLF *CHAR8; RFC 7888 adds the "+" form.
    const match = /\{(\d+)\+?\}$/.exec(line);
    if (!match) {
      parts.push(line);
      return { text: parts.join(''), literals };
    }
    const size = Number(match[1]);
    if (!Number.isSafeInteger(size) || size > MAX_LITERAL_BYTES) {
      throw new FetchError('protocol', `the server announced a literal of ${match[1]} bytes`);
    }
    parts.push(line.slice(0, match.index), `{#${literals.length}}`);
    literals.push(await readLiteral(wire, size, onLiteralBytes, timeoutMs));
  }
}

async function readLiteral(
  wire: Wire,
  size: number,
  onBytes: ((received: number) => void) | undefined,
  timeoutMs: number | undefined,
): Promise<Buffer> {
  if (!onBytes) return wire.readBytes(size, timeoutMs);
  const STEP = 64 * 1024;
  const pieces: Buffer[] = [];
  for (let received = 0; received < size; ) {
    const piece = await wire.readBytes(Math.min(STEP, size - received), timeoutMs);
    pieces.push(piece);
    received += piece.length;
    onBytes(received);
  }
  return Buffer.concat(pieces);
}

/** `"..."` with RFC 3501 §4.3 quoting, or null when the value needs a literal instead. */
export function quoteString(value: string): string | null {
  // quoted = DQUOTE *QUOTED-CHAR DQUOTE; QUOTED-CHAR excludes CR, LF and 8-bit characters.
  if (!/^[\x20-\x7e]*$/.test(value)) return null;
  return `"${value.replace(/[\\"]/g, (c) => `\\${c}`)}"`;
}

/** The value of a `[CODE value]` response code in a status text, e.g. UIDVALIDITY. */
export function responseCode(text: string, code: string): string | null {
  const match = new RegExp(`\\[${code}(?: ([^\\]]*))?\\]`, 'i').exec(text);
  return match ? (match[1] ?? '') : null;
}
