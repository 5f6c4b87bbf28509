/**
 * Key upload parsing and checking: src/pgp/key-check.ts checkPublicKey (with the packet walker
 * src/pgp/packets.ts and OpenPGP.js behind it) on damaged keys — seed keys of every kind
 * (fuzz/corpus/keys: usable, private, expired, revoked, signing-only, v6...) mutated as binary
 * packets or as armored text, uploaded as text or as bytes, alone or concatenated — and the
 * packet walker on its own.
 *
 * Crashes: checkPublicKey throwing (it answers every bad input with a problem); a problem outside
 * the closed set; a message that echoes the upload (each seed's user ID says "canary") or is not
 * plain text; an accepted key whose stored form is not a single public key that checks again to
 * the same fingerprint; listPackets throwing anything but PacketFormatError.
 */
import * as fc from 'fast-check';
import * as openpgp from 'openpgp';
import { checkPublicKey, type KeyProblem } from '../../src/pgp/key-check';
import { listPackets, PacketFormatError, Tag } from '../../src/pgp/packets';
import { mutatedSeed, mutation, mutate } from '../harness/bytes';
import { seedKeys } from '../harness/pgp-keys';
import { defineTarget, invariant } from '../harness/target';

const PROBLEMS: ReadonlySet<KeyProblem> = new Set<KeyProblem>([
  'not-a-key',
  'private-key',
  'several-keys',
  'expired',
  'revoked',
  'no-encryption-key',
  'weak-rsa',
  'unsupported-algorithm',
  'too-large',
]);

/** Fixed, so that seeds and their expiry verdicts do not change with the day of the run. */
const NOW = new Date(Date.UTC(2026, 0, 15));

interface Context {
  armored: string[];
  binary: Buffer[];
}

type Input = { upload: string | Uint8Array; raw: Buffer };

async function context(): Promise<Context> {
  const armored = [...seedKeys().values()];
  const binary: Buffer[] = [];
  for (const text of armored)
    binary.push(Buffer.from((await openpgp.unarmor(text)).data as Uint8Array));
  return { armored, binary };
}

function inputs(ctx: Context): fc.Arbitrary<Input> {
  const binary = fc.oneof(
    mutatedSeed(ctx.binary, 4),
    fc
      .tuple(mutatedSeed(ctx.binary, 2), mutatedSeed(ctx.binary, 2))
      .map(([a, b]) => Buffer.concat([a, b])),
  );
  const armoredText = fc
    .record({
      seed: fc.constantFrom(...ctx.armored.map((t) => Buffer.from(t, 'latin1'))),
      mutations: fc.array(mutation(), { maxLength: 3 }),
    })
    .map(({ seed, mutations }) => mutate(seed, mutations));
  return fc.oneof(
    // Damaged packets, uploaded as a binary file.
    binary.map((raw) => ({ upload: new Uint8Array(raw), raw })),
    // Damaged packets, armored again (a valid checksum), pasted as text.
    binary.map((raw) => ({ upload: openpgp.armor(openpgp.enums.armor.publicKey, raw), raw })),
    // Damaged armor text (headers, base64, checksum), pasted or uploaded.
    armoredText.map((raw) => ({ upload: raw.toString('latin1'), raw })),
    armoredText.map((raw) => ({ upload: new Uint8Array(raw), raw })),
  );
}

export default defineTarget<Input, Context>({
  name: 'key-check',
  covers: 'src/pgp/key-check.ts checkPublicKey, src/pgp/packets.ts listPackets (and OpenPGP.js)',
  setup: context,
  inputs,
  async run(input) {
    try {
      listPackets(input.raw);
    } catch (error) {
      invariant(error instanceof PacketFormatError, `listPackets threw ${String(error)}`);
    }
    const result = await checkPublicKey(input.upload, NOW);
    if (!result.ok) {
      invariant(PROBLEMS.has(result.problem), `unknown problem ${result.problem}`);
      invariant(/^[\x20-\x7e]+$/.test(result.message), 'the message is not plain text');
      invariant(!/canary/i.test(result.message), 'the message echoes the upload');
      return;
    }
    const key = result.key;
    invariant(/^[0-9a-f]{40}$/.test(key.fingerprint), 'fingerprint');
    const stored = (await openpgp.unarmor(key.armored)).data as Uint8Array;
    const packets = listPackets(stored);
    invariant(
      !packets.some((p) => p.tag === Tag.secretKey || p.tag === Tag.secretSubkey),
      'the stored key holds secret key material',
    );
    invariant(packets.filter((p) => p.tag === Tag.publicKey).length === 1, 'not one primary key');
    const again = await checkPublicKey(key.armored, NOW);
    invariant(
      again.ok && again.key.fingerprint === key.fingerprint,
      'the stored key does not check again to the same key',
    );
  },
  smokeRuns: 400,
  slowMs: 5000,
});
