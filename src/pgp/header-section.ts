/**
 * Where a received message's header section ends, and its header fields, read from hostile bytes.
 *
 * The message is never rewritten here: this only finds boundaries. The body is handed back as
 * views of the caller's pieces (never copied, so a 25 MB message stays in its slabs); only the
 * header section is copied, once, to be split into fields.
 *
 * The rules, chosen so that every input has exactly one reading and no byte is dropped:
 *
 * - A line ends at LF (CR LF or a bare LF, as MUAs read it); a bare CR is not a line end.
 * - RFC 5322 §2.2: a header field begins with a field name, 1*ftext (printable US-ASCII except
 *   ":"), then ":"; §4.5.x (obs-optional) allows white space before the colon. RFC 5322 §2.2.3:
 *   a line beginning with SP or HTAB continues the field above it (unfolding).
 * - RFC 5322 §2.1: the header section ends at the first empty line, which belongs to neither
 *   part. It also ends, with no empty line consumed, at the first line that is neither a field
 *   nor a continuation (malformed mail: that line is where the body begins), and at the end of
 *   the data (a message that is only headers).
 */

const LF = 0x0a;
const CR = 0x0d;
const SP = 0x20;
const HTAB = 0x09;
const COLON = 0x3a;

/** One header field: its lines as received, and what is known about them. */
export interface HeaderField {
  /** The field name, trimmed and lowercased (`content-type`). */
  name: string;
  /** Each line without its line end (CR LF or LF); the first holds the name. */
  lines: Buffer[];
  /** A CR or NUL inside a line (not as its line end): parsers disagree on what that means. */
  hasStrayControl: boolean;
}

export interface SplitMessage {
  fields: HeaderField[];
  /** The body: views of the input pieces, byte for byte. */
  body: Buffer[];
  bodyBytes: number;
  /** True when an empty line separated the header section from the body. */
  hadSeparator: boolean;
}

function isFtext(byte: number): boolean {
  return byte >= 0x21 && byte <= 0x7e && byte !== COLON;
}

type LineState = 'start' | 'name' | 'beforeColon' | 'rest' | 'emptyCr';

/**
 * Finds the end of the header section in a message given as consecutive pieces.
 * @returns `headerEnd`: the header section is bytes [0, headerEnd) (line ends included);
 *   `bodyStart`: where the body begins (after the empty line, if there was one).
 */
export function findHeaderEnd(pieces: readonly Buffer[]): {
  headerEnd: number;
  bodyStart: number;
} {
  let offset = 0;
  let lineStart = 0;
  let state: LineState = 'start';
  let sawField = false;
  for (const piece of pieces) {
    for (let i = 0; i < piece.length; i++) {
      const byte = piece[i] as number;
      const position = offset + i;
      switch (state) {
        case 'start':
          if (byte === LF) return { headerEnd: lineStart, bodyStart: position + 1 };
          if (byte === CR) state = 'emptyCr';
          else if (byte === SP || byte === HTAB) {
            // RFC 5322 §2.2.3: a continuation, but only of a field that exists.
            if (!sawField) return { headerEnd: lineStart, bodyStart: lineStart };
            state = 'rest';
          } else if (isFtext(byte)) state = 'name';
          else return { headerEnd: lineStart, bodyStart: lineStart };
          break;
        case 'emptyCr':
          // CR LF alone is the empty line; CR followed by anything else starts no field.
          if (byte === LF) return { headerEnd: lineStart, bodyStart: position + 1 };
          return { headerEnd: lineStart, bodyStart: lineStart };
        case 'name':
          if (byte === COLON) {
            sawField = true;
            state = 'rest';
          } else if (byte === SP || byte === HTAB) state = 'beforeColon';
          else if (!isFtext(byte)) return { headerEnd: lineStart, bodyStart: lineStart };
          break;
        case 'beforeColon':
          if (byte === COLON) {
            sawField = true;
            state = 'rest';
          } else if (byte !== SP && byte !== HTAB) {
            return { headerEnd: lineStart, bodyStart: lineStart };
          }
          break;
        case 'rest':
          if (byte === LF) {
            lineStart = position + 1;
            state = 'start';
          }
          break;
      }
    }
    offset += piece.length;
  }
  // The data ended inside the header section. A last line that is complete as a field is part
  // of it; a partial one ("Subj" with no colon) is body, as any other malformed line.
  if (state === 'rest') return { headerEnd: offset, bodyStart: offset };
  return { headerEnd: lineStart, bodyStart: lineStart };
}

/** Splits a message into its header fields and its body (views of `pieces`). */
export function splitMessage(pieces: readonly Buffer[]): SplitMessage {
  const { headerEnd, bodyStart } = findHeaderEnd(pieces);
  const header = sliceCopy(pieces, 0, headerEnd);
  const body = sliceViews(pieces, bodyStart);
  return {
    fields: parseFields(header),
    body,
    bodyBytes: body.reduce((sum, piece) => sum + piece.length, 0),
    hadSeparator: bodyStart > headerEnd,
  };
}

/** The fields of a header section found by findHeaderEnd (every line a field or continuation). */
function parseFields(header: Buffer): HeaderField[] {
  const fields: HeaderField[] = [];
  let from = 0;
  while (from < header.length) {
    const lf = header.indexOf(LF, from);
    const end = lf < 0 ? header.length : lf;
    const next = lf < 0 ? header.length : lf + 1;
    // The line end is LF or CR LF; a CR anywhere else stays in the line.
    const contentEnd = end > from && header[end - 1] === CR ? end - 1 : end;
    const line = header.subarray(from, contentEnd);
    const stray = line.includes(CR) || line.includes(0);
    const first = line[0];
    const last = fields[fields.length - 1];
    if ((first === SP || first === HTAB) && last) {
      last.lines.push(line);
      last.hasStrayControl ||= stray;
    } else {
      const colon = line.indexOf(COLON);
      fields.push({
        name: line.subarray(0, colon).toString('latin1').trim().toLowerCase(),
        lines: [line],
        hasStrayControl: stray,
      });
    }
    from = next;
  }
  return fields;
}

/** Bytes [start, end) of consecutive pieces, copied into one Buffer. */
function sliceCopy(pieces: readonly Buffer[], start: number, end: number): Buffer {
  const parts: Buffer[] = [];
  let offset = 0;
  for (const piece of pieces) {
    const from = Math.max(start - offset, 0);
    const to = Math.min(end - offset, piece.length);
    if (to > from) parts.push(piece.subarray(from, to));
    offset += piece.length;
    if (offset >= end) break;
  }
  return Buffer.concat(parts);
}

/** Bytes from `start` to the end of consecutive pieces, as views (no copy). */
function sliceViews(pieces: readonly Buffer[], start: number): Buffer[] {
  const views: Buffer[] = [];
  let offset = 0;
  for (const piece of pieces) {
    const from = Math.max(start - offset, 0);
    if (from < piece.length) views.push(from === 0 ? piece : piece.subarray(from));
    offset += piece.length;
  }
  return views;
}
