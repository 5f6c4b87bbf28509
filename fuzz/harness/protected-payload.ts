/**
 * What a protected payload (src/pgp/protected-payload.ts, docs/message-format.md) must hold,
 * read back from its bytes alone, for the targets that build one (header-protection) or decrypt
 * one (pgp-mime). Throws InvariantError when it does not hold.
 *
 * - It begins with kzymy's own fields: Return-Path, one Delivered-To per recipient, the
 *   Authentication-Results if any, MIME-Version and the wrapper's Content-Type with both markers
 *   (protected-headers="v1", hp="cipher").
 * - Its top-level header section is plain: CR LF line ends only, no NUL, no other CR; no field of
 *   the sender there names a structural field or one kzymy vouches for (Content-*, MIME-Version,
 *   Return-Path, Delivered-To, Authentication-Results, HP-Outer, Kzymy-Padding), so nothing the
 *   sender wrote can set a marker. Then kzymy's HP-Outer fields, then the padding field, if any.
 * - One part, between `--B` and `--B--`, ends the payload.
 * - No byte of the original is lost: the part's body is the original's tail byte for byte, and
 *   the original's header lines before it (line ends aside) are the sender's lines of the top
 *   section and of the part's header section together.
 * - Padded: the payload's size is a bucket (src/pgp/padding.ts), its padding lines are at most 78
 *   characters, and without the padding field the payload is `unpadded` (when given).
 */
import { bucketFor, PADDING_FIELD } from '../../src/pgp/padding';
import type { OuterField } from '../../src/pgp/protected-payload';
import { invariant } from './target';

export interface ProtectedExpectation {
  original: Buffer;
  envelopeFrom: string;
  recipients: readonly string[];
  authenticationResults?: string;
  outerFields: readonly OuterField[];
  padded: boolean;
  /** The same payload built without padding (same boundary), when the caller has it. */
  unpadded?: Buffer;
}

/** Names a sender's field may not carry in the top-level header section. */
const KZYMYS =
  /^(content-.*|mime-version|return-path|delivered-to|authentication-results|hp-outer|kzymy-padding)$/;

/** Splits on CR LF (the payload's header sections use nothing else). */
function crlfLines(text: string): string[] {
  return text.split('\r\n');
}

/** The original's header lines before `bodyStart`, as a header reader sees them (no line ends). */
function originalHeaderLines(original: Buffer, bodyStart: number): string[] {
  const prefix = original.subarray(0, bodyStart).toString('latin1');
  const pieces = prefix.split('\n');
  const lines: string[] = [];
  // A line end is LF or CR LF; a CR anywhere else stays in the line. (A CR that is the very last
  // byte of a message that ends inside its header section is read as that line's end too.)
  for (const piece of pieces) lines.push(piece.endsWith('\r') ? piece.slice(0, -1) : piece);
  // The text after the last LF (nothing, or a last line the data ended in) and the empty
  // line that separates the header section from the body are no header lines.
  if (lines[lines.length - 1] === '') lines.pop();
  if (lines[lines.length - 1] === '') lines.pop();
  return lines;
}

const sorted = (lines: readonly string[]): string[] => [...lines].sort();

export function checkProtectedPayload(payload: Buffer, expect: ProtectedExpectation): void {
  const text = payload.toString('latin1');
  const head = [
    `Return-Path: <${expect.envelopeFrom}>`,
    ...expect.recipients.map((r) => `Delivered-To: ${r}`),
    ...(expect.authenticationResults === undefined
      ? []
      : [`Authentication-Results: ${expect.authenticationResults}`]),
    'MIME-Version: 1.0',
  ]
    .join('\r\n')
    .split('\r\n')
    .map((line) => Buffer.from(line, 'utf8').toString('latin1'));
  const topEnd = text.indexOf('\r\n\r\n');
  invariant(topEnd >= 0, 'no end of the top-level header section');
  const top = crlfLines(text.slice(0, topEnd));
  invariant(
    head.every((line, i) => top[i] === line),
    "the payload does not begin with kzymy's delivery fields",
  );
  const type = /^Content-Type: multipart\/mixed; boundary="(kzymy-[0-9a-f]{32})";$/.exec(
    top[head.length] ?? '',
  );
  invariant(
    type && top[head.length + 1] === ' protected-headers="v1"; hp="cipher"',
    "the top-level Content-Type is not kzymy's wrapper with both markers",
  );
  const boundary = type[1] as string;
  invariant(!/\0|\r(?!\n)|(?<!\r)\n/.test(text.slice(0, topEnd + 2)), 'top section is not plain');

  // From the end of the top section: the padding field, then kzymy's HP-Outer fields.
  let end = top.length;
  if (expect.padded) {
    const start = top.findIndex((line) => line.startsWith(`${PADDING_FIELD}: `));
    invariant(start > head.length + 1, 'no padding field');
    const padding = top.slice(start);
    const fill = (line: string, i: number): string =>
      i === 0 ? line.slice(PADDING_FIELD.length + 2) : line.startsWith(' ') ? line.slice(1) : '';
    invariant(
      padding.every((line, i) => line.length <= 78 && /^x+$/.test(fill(line, i))),
      'the padding field is not x-filled lines of at most 78 characters',
    );
    end = start;
  }
  const outer = expect.outerFields.map((f) => `HP-Outer: ${f.name}: ${f.value}`);
  invariant(
    outer.every((line, i) => top[end - outer.length + i] === line),
    "kzymy's HP-Outer fields are not at the end of the top section",
  );
  const senderTop = top.slice(head.length + 2, end - outer.length);
  for (const line of senderTop) {
    if (line.startsWith(' ') || line.startsWith('\t')) continue;
    const name = line.slice(0, line.indexOf(':')).trim().toLowerCase();
    invariant(!KZYMYS.test(name), `a sender's ${name} field is in the top-level header section`);
  }

  // The one part: its delimiter, its header section, its body, the close delimiter.
  const opening = `\r\n\r\n--${boundary}\r\n`;
  invariant(text.startsWith(opening, topEnd), 'the part does not follow the top section');
  const partStart = topEnd + opening.length;
  const partHeadEnd = text.startsWith('\r\n', partStart)
    ? partStart
    : text.indexOf('\r\n\r\n', partStart) + 2;
  invariant(partHeadEnd >= partStart, "no end of the part's header section");
  const partLines =
    partHeadEnd > partStart ? crlfLines(text.slice(partStart, partHeadEnd - 2)) : [];
  const close = `\r\n--${boundary}--\r\n`;
  invariant(text.endsWith(close), 'the payload does not end with the close delimiter');
  const body = payload.subarray(partHeadEnd + 2, payload.length - close.length);
  invariant(
    text.indexOf(`--${boundary}`, partStart) === payload.length - close.length + 2,
    'the boundary occurs inside the part',
  );

  // No byte lost.
  const { original } = expect;
  invariant(
    body.length <= original.length && original.subarray(original.length - body.length).equals(body),
    "the part's body is not the original's tail byte for byte",
  );
  const was = sorted(originalHeaderLines(original, original.length - body.length));
  const now = sorted([...senderTop, ...partLines]);
  invariant(
    was.length === now.length && was.every((line, i) => line === now[i]),
    "the original's header lines are not all in the payload",
  );

  if (expect.padded) {
    invariant(payload.length === bucketFor(payload.length), `size ${payload.length} is no bucket`);
    if (expect.unpadded) {
      const withoutPadding = Buffer.from(
        crlfLines(text.slice(0, topEnd)).slice(0, end).join('\r\n') + text.slice(topEnd),
        'latin1',
      );
      invariant(
        withoutPadding.equals(expect.unpadded),
        'without its padding field the payload is not the unpadded one',
      );
    }
  }
}
