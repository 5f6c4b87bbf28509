/**
 * Where the time of one encryption goes: runs bench/profile-child.js (V8 sampling profiler, as
 * `node --cpu-prof`) over a small and a large message and turns the profile into a table of
 * stages for docs/BENCHMARKS.md.
 */
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { moduleShare, stageShare, summarizeProfile, type ProfileSummary } from './cpu-profile';
import { sizeLabel } from './messages';
import { mdTable } from './report';
import { fmt } from './stats';
import type { BenchOptions } from './types';

/**
 * Stages by the function that does them: kzymy's own (src/pgp, src/pgp/native) and, for the
 * key's validity, OpenPGP.js 6's (names from its unminified build).
 */
const STAGES: { label: string; pattern: RegExp }[] = [
  {
    label:
      "OpenPGP.js's verdict on the key at the arrival date (`getEncryptionKey`; judged again " +
      'only when an arrival passes a date written in the key, src/pgp/validity-window.ts)',
    pattern: /^(getEncryptionKey|judgedAt) /,
  },
  {
    label: 'X25519 ephemeral key, agreement, KDF and AES key wrap (node:crypto, per message)',
    pattern: /^curve25519EncryptedKey /,
  },
  {
    label: 'SEIPD packet: AES-CFB and the SHA-1 MDC over the literal data (node:crypto)',
    pattern: /^seipdPacket /,
  },
  {
    label: 'ASCII armor: base64 and CRC-24 (src/pgp/armor.ts)',
    pattern: /^(armorMessage|encodeLines|updateCrc24) \(src\/pgp:/,
  },
  {
    label: "kzymy's MIME wrapper (`outerParts`, with its string building and `Buffer.from`)",
    pattern: /^outerParts /,
  },
];

interface ProfileCase {
  bytes: number;
  count: [number, number];
}

const CASES: ProfileCase[] = [
  { bytes: 4 * 1024, count: [600, 300] },
  { bytes: 1024 * 1024, count: [30, 15] },
];

export async function profileEncryption(
  keyFile: string,
  workDir: string,
  options: BenchOptions,
): Promise<string[]> {
  const rows: string[][] = [];
  const profiles: { bytes: number; count: number; summary: ProfileSummary }[] = [];
  for (const c of CASES) {
    const count = c.count[options.quick ? 1 : 0];
    const out = join(workDir, `encrypt-${c.bytes}.cpuprofile`);
    options.log(`encryption: profiling ${sizeLabel(c.bytes)} Curve25519 × ${count}`);
    await runChild([
      join(__dirname, 'profile-child.js'),
      'encrypt',
      keyFile,
      String(c.bytes),
      String(count),
      out,
    ]);
    profiles.push({ bytes: c.bytes, count, summary: summarizeProfile(out, 8) });
  }
  for (const stage of STAGES) {
    rows.push([stage.label, ...profiles.map((p) => pct(stageShare(p.summary, stage.pattern)))]);
  }
  rows.push([
    'self time in OpenPGP.js (all of it: the verdict above)',
    ...profiles.map((p) => pct(moduleShare(p.summary, /^openpgp$/))),
  ]);
  rows.push([
    'self time in `src/pgp` (kzymy: framing, CRC-24 and line breaks of the armor, string building)',
    ...profiles.map((p) => pct(moduleShare(p.summary, /^src\/pgp$/))),
  ]);
  rows.push([
    'garbage collector',
    ...profiles.map((p) => pct(moduleShare(p.summary, /^\(garbage collector\)$/))),
  ]);
  const header = [
    'stage (inclusive share of CPU samples)',
    ...profiles.map((p) => sizeLabel(p.bytes)),
  ];
  const perMessage = profiles
    .map((p) => `${sizeLabel(p.bytes)}: ${fmt(p.summary.totalMs / p.count)} ms/message`)
    .join(', ');
  const topModules = profiles
    .map(
      (p) =>
        `${sizeLabel(p.bytes)}: ` +
        p.summary.modules
          .slice(0, 6)
          .map((m) => `${m.name} ${pct(m.share)}`)
          .join(', '),
    )
    .join('; ');
  return [
    '**Where the time goes** (Curve25519; V8 sampling profiler over a warm loop, as `node ' +
      '--cpu-prof`, bench/profile-child.ts; OpenPGP.js loaded unminified so functions have names; ' +
      `profiled at ${perMessage}). Shares are of non-idle samples; stages can nest (the armor ` +
      'and MIME wrapper run after the encryption, the native calls inside it), so the column ' +
      'need not add up to 100%.',
    mdTable(header, rows),
    `Self time by module — ${topModules}.`,
  ];
}

function pct(share: number): string {
  return `${(share * 100).toFixed(1)}%`;
}

function runChild(args: string[]): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, args, { stdio: ['ignore', 'ignore', 'pipe'] });
    const err: Buffer[] = [];
    child.stderr.on('data', (chunk: Buffer) => err.push(chunk));
    child.on('error', reject);
    child.on('close', (code) =>
      code === 0
        ? resolve()
        : reject(new Error(`profile child exited with ${code}: ${Buffer.concat(err).toString()}`)),
    );
  });
}
