/**
 * Size padding inside the encryption (the nym server's `fixedsize`): the stored ciphertext's
 * size would otherwise tell whoever reads the database the original's size, to the byte, and
 * sizes can be matched against a sender's records. The payload is padded to a bucket, so all
 * payloads of one bucket encrypt to the same number of bytes for a given key.
 *
 * Buckets (docs/message-format.md, "Size padding"): powers of two from 4 KiB to 1 MiB, then
 * whole MiB. The worst case costs about as much again (a 4,097-byte payload becomes 8 KiB, a
 * payload just over 1 MiB becomes 2 MiB); above 2 MiB the cost is under one MiB and falls with
 * size (under 10% from 10 MiB).
 *
 * The padding is one header field, the last of the payload's top-level header section: clients
 * do not show unknown fields, and deleting that field gives back exactly the unpadded payload.
 */

/** The smallest bucket. */
export const MIN_BUCKET_BYTES = 4 * 1024;
/** Up to here buckets double; above, they grow by this much. */
export const STEP_BYTES = 1024 * 1024;

/** The padding field's name. kzymy's own: a sender's field of that name is never taken for it. */
export const PADDING_FIELD = 'Kzymy-Padding';

const PREFIX = `${PADDING_FIELD}: `;
const CRLF = '\r\n';
/** RFC 5322 §2.1.1: lines SHOULD be no more than 78 characters (without CR LF). */
const MAX_LINE = 78;
const FILL = 'x';

/** The shortest padding field: `Kzymy-Padding: x` CR LF. */
export const MIN_PADDING_BYTES = PREFIX.length + 1 + CRLF.length;

/** The bucket a payload of `bytes` (padding field included) is padded to. */
export function bucketFor(bytes: number): number {
  if (bytes <= MIN_BUCKET_BYTES) return MIN_BUCKET_BYTES;
  if (bytes <= STEP_BYTES) return 2 ** Math.ceil(Math.log2(bytes));
  return Math.ceil(bytes / STEP_BYTES) * STEP_BYTES;
}

/** How many padding bytes a payload of `unpadded` bytes gets (always at least one field). */
export function paddingFor(unpadded: number): number {
  return bucketFor(unpadded + MIN_PADDING_BYTES) - unpadded;
}

/**
 * A padding header field of exactly `bytes` bytes (at least MIN_PADDING_BYTES), folded into
 * lines of at most 78 characters (RFC 5322 §2.2.3: a fold is CR LF followed by white space).
 */
export function paddingField(bytes: number): Buffer {
  if (!Number.isInteger(bytes) || bytes < MIN_PADDING_BYTES) {
    throw new RangeError(`a padding field needs at least ${MIN_PADDING_BYTES} bytes`);
  }
  const firstMax = PREFIX.length + (MAX_LINE - PREFIX.length) + CRLF.length;
  if (bytes <= firstMax) return Buffer.from(line(PREFIX, bytes), 'ascii');
  // A continuation line is SP + at least one character + CR LF.
  const shortest = 1 + 1 + CRLF.length;
  const longest = MAX_LINE + CRLF.length;
  let first = firstMax;
  let rest = bytes - first;
  if (rest < shortest) {
    first -= shortest - rest;
    rest = shortest;
  }
  const count = Math.ceil(rest / longest);
  const base = Math.floor(rest / count);
  const extra = rest % count;
  const lines = [line(PREFIX, first)];
  for (let i = 0; i < count; i++) lines.push(line(' ', base + (i < extra ? 1 : 0)));
  return Buffer.from(lines.join(''), 'ascii');
}

/** `lead`, then filler, then CR LF: `total` bytes in all. */
function line(lead: string, total: number): string {
  return lead + FILL.repeat(total - lead.length - CRLF.length) + CRLF;
}
