/**
 * Byte-for-byte comparison that says where two byte strings part when they do. Mail is compared
 * whole (up to 35 MB); a failing `expect(a.equals(b)).to.equal(true)` said only "expected false
 * to equal true", and chai's deep diff of two large Buffers prints every byte. This names the
 * lengths, the first differing offset and the text around it on both sides.
 */
import { AssertionError } from 'chai';

const CONTEXT = 48;

export function expectBytes(
  actual: Uint8Array | undefined | null,
  expected: Uint8Array,
  what = 'bytes',
): void {
  if (!actual) throw new AssertionError(`${what}: expected ${expected.length} bytes, got none`);
  const a = Buffer.from(actual.buffer, actual.byteOffset, actual.byteLength);
  const b = Buffer.from(expected.buffer, expected.byteOffset, expected.byteLength);
  if (a.equals(b)) return;
  let at = 0;
  while (at < a.length && at < b.length && a[at] === b[at]) at++;
  const from = Math.max(0, at - CONTEXT);
  throw new AssertionError(
    `${what}: ${a.length} bytes, expected ${b.length}; first difference at byte ${at}\n` +
      `  actual:   ${show(a.subarray(from, at + CONTEXT))}\n` +
      `  expected: ${show(b.subarray(from, at + CONTEXT))}`,
    {
      actual: show(a.subarray(from, at + CONTEXT)),
      expected: show(b.subarray(from, at + CONTEXT)),
    },
  );
}

/** Printable ASCII as it is, everything else escaped, so CR, LF and NUL are visible. */
function show(bytes: Buffer): string {
  return JSON.stringify(bytes.toString('latin1'));
}
