/**
 * Input shapes shared by the targets. Without coverage feedback (docs/fuzzing.md) the inputs
 * must reach deep code by construction: bytes weighted towards the ones parsers branch on,
 * token sequences from each protocol's vocabulary, and mutations of valid seeds.
 */
import * as fc from 'fast-check';

/** Bytes that line protocols and MIME branch on, each as likely as all other bytes together. */
const SPECIAL = [
  0x0d, 0x0a, 0x2e, 0x00, 0x20, 0x09, 0x22, 0x5c, 0x7b, 0x7d, 0x28, 0x29, 0xff, 0x80,
];

export function hostileByte(): fc.Arbitrary<number> {
  return fc.oneof(
    { arbitrary: fc.constantFrom(...SPECIAL), weight: 3 },
    { arbitrary: fc.integer({ min: 0x20, max: 0x7e }), weight: 3 },
    { arbitrary: fc.integer({ min: 0, max: 255 }), weight: 1 },
  );
}

export function hostileBytes(maxLength: number): fc.Arbitrary<Buffer> {
  return fc.array(hostileByte(), { maxLength }).map((bytes) => Buffer.from(bytes));
}

/** A latin1 string of hostile bytes (what a line protocol sees as text). */
export function hostileText(maxLength: number): fc.Arbitrary<string> {
  return hostileBytes(maxLength).map((bytes) => bytes.toString('latin1'));
}

/** Words of a protocol's vocabulary mixed with hostile text, joined by `separator`. */
export function tokens(
  vocabulary: readonly string[],
  options: { maxTokens: number; separator?: string; hostile?: number },
): fc.Arbitrary<string> {
  const word = fc.oneof(
    { arbitrary: fc.constantFrom(...vocabulary), weight: 4 },
    { arbitrary: hostileText(options.hostile ?? 12), weight: 1 },
  );
  return fc
    .array(word, { maxLength: options.maxTokens })
    .map((words) => words.join(options.separator ?? ' '));
}

/** Splits `bytes` into consecutive pieces at the given cut points (as a network read would). */
export function chunked(bytes: Buffer, cuts: readonly number[]): Buffer[] {
  const points = [...new Set(cuts.map((c) => c % (bytes.length + 1)))].sort((a, b) => a - b);
  const pieces: Buffer[] = [];
  let from = 0;
  for (const at of points) {
    if (at > from) pieces.push(bytes.subarray(from, at));
    from = Math.max(from, at);
  }
  if (from < bytes.length || pieces.length === 0) pieces.push(bytes.subarray(from));
  return pieces;
}

export type Mutation =
  | { op: 'flip'; at: number; bit: number }
  | { op: 'set'; at: number; byte: number }
  | { op: 'insert'; at: number; bytes: Buffer }
  | { op: 'delete'; at: number; length: number }
  | { op: 'repeat'; at: number; length: number; times: number }
  | { op: 'truncate'; at: number };

export function mutation(): fc.Arbitrary<Mutation> {
  const at = fc.nat();
  return fc.oneof(
    fc.record({ op: fc.constant('flip' as const), at, bit: fc.integer({ min: 0, max: 7 }) }),
    fc.record({ op: fc.constant('set' as const), at, byte: hostileByte() }),
    fc.record({ op: fc.constant('insert' as const), at, bytes: hostileBytes(16) }),
    fc.record({ op: fc.constant('delete' as const), at, length: fc.integer({ min: 1, max: 64 }) }),
    fc.record({
      op: fc.constant('repeat' as const),
      at,
      length: fc.integer({ min: 1, max: 64 }),
      times: fc.integer({ min: 2, max: 16 }),
    }),
    fc.record({ op: fc.constant('truncate' as const), at }),
  );
}

/** Applies mutations in order; positions wrap around the current length. */
export function mutate(seed: Buffer, mutations: readonly Mutation[]): Buffer {
  let bytes = Buffer.from(seed);
  for (const m of mutations) {
    const at = bytes.length === 0 ? 0 : m.at % bytes.length;
    switch (m.op) {
      case 'flip':
        if (bytes.length > 0) bytes[at] = (bytes[at] as number) ^ (1 << m.bit);
        break;
      case 'set':
        if (bytes.length > 0) bytes[at] = m.byte;
        break;
      case 'insert':
        bytes = Buffer.concat([bytes.subarray(0, at), m.bytes, bytes.subarray(at)]);
        break;
      case 'delete':
        bytes = Buffer.concat([bytes.subarray(0, at), bytes.subarray(at + m.length)]);
        break;
      case 'repeat': {
        const part = bytes.subarray(at, at + m.length);
        const copies = Array.from({ length: m.times }, () => part);
        bytes = Buffer.concat([bytes.subarray(0, at), ...copies, bytes.subarray(at + m.length)]);
        break;
      }
      case 'truncate':
        bytes = bytes.subarray(0, at);
        break;
    }
  }
  return bytes;
}

/** One of `seeds`, mutated up to `maxMutations` times (sometimes not at all). */
export function mutatedSeed(seeds: readonly Buffer[], maxMutations = 6): fc.Arbitrary<Buffer> {
  return fc
    .record({
      seed: fc.constantFrom(...seeds),
      mutations: fc.array(mutation(), { maxLength: maxMutations }),
    })
    .map(({ seed, mutations }) => mutate(seed, mutations));
}
