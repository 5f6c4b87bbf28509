/**
 * BENCH ONLY — preloaded into a Haraka child (`NODE_OPTIONS=--require …`) to switch encryption
 * off, so the benchmark can show what encryption costs end to end. It replaces
 * `encryptToPgpMimeParts` (what delivery calls) and `encryptToPgpMime` with the input as it
 * is: such a Haraka stores PLAINTEXT, which kzymy
 * never does. It is loaded only by bench/haraka-variants.ts, into a throwaway database in a
 * temporary directory, and nothing in src/ refers to it.
 *
 * It works because compiled CommonJS calls `(0, pgp_mime_1.encryptToPgpMimeParts)(…)`, reading the
 * export at each call. A proper bench-only switch in startHaraka would be cleaner (see
 * docs/BENCHMARKS.md).
 */
// eslint-disable-next-line @typescript-eslint/no-require-imports
const pgpMime = require('../src/pgp/pgp-mime') as {
  encryptToPgpMime(input: { raw: Buffer | readonly Buffer[] }): Promise<Buffer>;
  encryptToPgpMimeParts(input: { raw: Buffer | readonly Buffer[] }): Promise<Iterable<Buffer>>;
};

const pieces = (raw: Buffer | readonly Buffer[]): Buffer[] =>
  Buffer.isBuffer(raw) ? [raw] : [...raw];
pgpMime.encryptToPgpMimeParts = async (input) => pieces(input.raw);
pgpMime.encryptToPgpMime = async (input) => Buffer.concat(pieces(input.raw));
