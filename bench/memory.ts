/**
 * Scenario 4 — memory: how much a 25 MB message makes each process grow. kzymy's Haraka while
 * it receives, encrypts and stores the message; the kzymy daemon (IMAP) while it serves the
 * stored ciphertext; beside them, the same Haraka with a discard queue receiving the same
 * message, and Dovecot serving the same ciphertext from a Maildir.
 *
 * Each process is started fresh and warmed up with one small message first (connections to the
 * store opened, code loaded); then its peak is reset (/proc/PID/clear_refs), and the growth is
 * VmHWM after the big message minus VmRSS before it. Dovecot forks an imap process per login,
 * so for it the summed RSS of its process tree is sampled every 5 ms instead.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startImapDaemon } from './daemon-process';
import { dovecotAvailable, startDovecot } from './dovecot';
import type { StoreEngine } from '../src/store/store';
import { BENCH_SENDER_DOMAIN, startBenchEnv, type BenchEnv, type BenchUser } from './env';
import { engineLabel, onEngine } from './report';
import { startVariant, type HarakaVariant } from './haraka-variants';
import { fetchAndDeleteAll } from './imap-client';
import { makeMessage } from './messages';
import { resetPeak, RssSampler, statusKiB } from './proc';
import { runSmtpLoad } from './smtp-load';
import { fmt, fmtSummary, summarize, type Summary } from './stats';
import type { BenchOptions, ScenarioReport, Target } from './types';

const BIG_BYTES = 25_000_000;
const MB = 1024 * 1024;

interface Growth {
  baselineKiB: number;
  peakKiB: number;
  /** Bytes of the message this process handled. */
  messageBytes: number;
}

interface Series {
  label: string;
  role: string;
  growths: Growth[];
  target: boolean;
}

export async function runMemory(options: BenchOptions): Promise<ScenarioReport> {
  // Each run starts every process afresh and fetches 33 MB: few runs.
  const runs = Math.min(options.runs, options.quick ? 2 : 3);
  const missingDovecot = dovecotAvailable();
  const series: Series[] = [];
  const parts: Part[] = [];
  const big = makeMessage(BIG_BYTES);
  const small = makeMessage(10 * 1024);
  for (const [index, engine] of options.engines.entries()) {
    // The anchors hold no store: measured once, beside the first engine.
    const first = index === 0;
    const ours = (label: string, role: string): Series => ({
      label: onEngine(label, engine),
      role,
      growths: [],
      target: true,
    });
    const haraka = ours('kzymy Haraka', 'receive, encrypt, store');
    const discard: Series = {
      label: 'Haraka, discard queue',
      role: 'receive',
      growths: [],
      target: false,
    };
    const daemon = ours('kzymy daemon (IMAP)', 'fetch, delete');
    const dovecot: Series = {
      label: 'Dovecot (process tree)',
      role: 'fetch, delete',
      growths: [],
      target: false,
    };
    series.push(haraka, ...(first ? [discard] : []), daemon, ...(first ? [dovecot] : []));
    const env = await startBenchEnv(engine, 'memory');
    try {
      const [user] = (await env.createUsers(1)) as [BenchUser];
      for (let run = 0; run < runs; run++) {
        haraka.growths.push(await receive(env, 'kzymy', user, small, big, run));
        options.log(`memory: run ${run + 1}: kzymy Haraka (${engine})`);
        if (first) {
          discard.growths.push(await receive(env, 'discard', user, small, big, run));
          options.log(`memory: run ${run + 1}: discard Haraka`);
        }
        const waiting = await env.store.messages.list(user.user.id);
        const stored = waiting.find((m) => m.size > BIG_BYTES);
        if (!stored) throw new Error('the big message was not stored');
        const ciphertext = await env.store.messages.read(user.user.id, stored);
        if (run < daemonRunsOf(runs, options.quick, engine)) {
          daemon.growths.push(await fetchFromDaemon(env, user, ciphertext, small, run));
          options.log(`memory: run ${run + 1}: kzymy daemon (${engine})`);
        }
        // The next run's Haraka stores the message again.
        await env.store.messages.remove(
          user.user.id,
          (await env.store.messages.list(user.user.id)).map((m) => m.id),
        );
        if (first && !missingDovecot) {
          dovecot.growths.push(await fetchFromDovecot(ciphertext, small));
          options.log(`memory: run ${run + 1}: Dovecot`);
        }
      }
      if (first) parts.push(...(await measureParts(env, user, runs)));
    } finally {
      await env.close();
    }
  }
  options.log('memory: parts measured in isolation');
  return memoryReport(series, parts, runs, options, missingDovecot);
}

/** The two steps of a delivery, each alone in a fresh process (bench/profile-child.ts). */
async function measureParts(env: BenchEnv, user: BenchUser, runs: number): Promise<Part[]> {
  const keyFile = join(env.dataDir, 'memory-key.asc');
  writeFileSync(keyFile, user.user.publicKey);
  const parts: Part[] = [];
  for (const [label, args] of [
    [
      '`encryptToPgpMimeParts` (src/pgp, streamed, parts dropped as made)',
      ['encrypt-memory', keyFile, String(BIG_BYTES)],
    ],
    ['SMTP data capture (src/smtp/data-capture.ts)', ['capture-memory', String(BIG_BYTES)]],
  ] as const) {
    const growths: number[] = [];
    for (let i = 0; i < runs; i++) growths.push(await childGrowthKiB([...args]));
    parts.push({ label, growthMiB: summarize(growths.map((g) => g / 1024)) });
  }
  return parts;
}

async function receive(
  env: BenchEnv,
  variant: HarakaVariant,
  user: BenchUser,
  small: Buffer,
  big: Buffer,
  run: number,
): Promise<Growth> {
  const haraka = await startVariant(env, variant, `memory-${variant}-${run}`);
  try {
    const send = async (message: Buffer): Promise<void> => {
      const result = await runSmtpLoad({
        host: haraka.host,
        port: haraka.port,
        connections: 1,
        messages: 1,
        message: () => message,
        from: `sender@${BENCH_SENDER_DOMAIN}`,
        recipient: () => user.address,
      });
      if (result.accepted !== 1) {
        throw new Error(
          `${variant} Haraka refused a message: ${[...result.refused.keys()].join('; ')}`,
        );
      }
    };
    await send(small);
    return await peakAround(haraka.pid, big.length, () => send(big));
  } finally {
    await haraka.close();
    if (variant === 'kzymy') {
      // Keep only the big message for the fetch step.
      const messages = await env.store.messages.list(user.user.id);
      const drop = messages.filter((m) => m.size < 1024 * 1024).map((m) => m.id);
      await env.store.messages.remove(user.user.id, drop);
    }
  }
}

async function fetchFromDaemon(
  env: BenchEnv,
  user: BenchUser,
  ciphertext: Buffer,
  small: Buffer,
  run: number,
): Promise<Growth> {
  // The stored big message is set aside (its bytes are in `ciphertext`) so that the warm-up
  // session fetches only a small one; then it is stored again, byte for byte.
  const waiting = await env.store.messages.list(user.user.id);
  await env.store.messages.remove(
    user.user.id,
    waiting.map((m) => m.id),
  );
  await env.store.messages.add(user.user.id, small, new Date());
  const daemon = await startImapDaemon(env, `memory-daemon-${run}`);
  try {
    const login = {
      host: '127.0.0.1',
      port: daemon.imapPort,
      user: user.user.username,
      password: user.password,
    };
    await fetchAndDeleteAll(login);
    await env.store.messages.add(user.user.id, ciphertext, new Date());
    return await peakAround(daemon.pid, ciphertext.length, async () => {
      const result = await fetchAndDeleteAll(login);
      if (result.messages !== 1) throw new Error(`fetched ${result.messages} messages, not 1`);
    });
  } finally {
    await daemon.close();
  }
}

async function fetchFromDovecot(ciphertext: Buffer, small: Buffer): Promise<Growth> {
  const dovecot = await startDovecot(mkdtempSync(join(tmpdir(), 'kzymy-dovecot-')));
  try {
    const login = {
      host: '127.0.0.1',
      port: dovecot.port,
      user: dovecot.user,
      password: dovecot.password,
    };
    dovecot.deliver([small]);
    await fetchAndDeleteAll(login);
    dovecot.deliver([ciphertext]);
    const baseline = new RssSampler(() => dovecot.pids(), 5).stop();
    const sampler = new RssSampler(() => dovecot.pids(), 5);
    const result = await fetchAndDeleteAll(login);
    const peak = sampler.stop();
    if (result.messages !== 1) throw new Error(`Dovecot: fetched ${result.messages}, not 1`);
    return { baselineKiB: baseline, peakKiB: peak, messageBytes: ciphertext.length };
  } finally {
    await dovecot.close();
  }
}

/** Growth of one process's RSS while `work` runs: VmHWM after, against VmRSS before. */
async function peakAround(
  pid: number,
  messageBytes: number,
  work: () => Promise<void>,
): Promise<Growth> {
  const exact = resetPeak(pid);
  const baselineKiB = statusKiB(pid, 'VmRSS');
  // Without clear_refs, fall back to sampling (may miss a short spike).
  const sampler = exact ? null : new RssSampler(() => [pid], 5);
  await work();
  const peakKiB = sampler ? sampler.stop() : statusKiB(pid, 'VmHWM');
  return { baselineKiB, peakKiB, messageBytes };
}

interface Part {
  label: string;
  growthMiB: Summary;
}

/** Runs a memory job of bench/profile-child.js and returns its {"growthKiB"}. */
function childGrowthKiB(args: string[]): Promise<number> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [join(__dirname, 'profile-child.js'), ...args], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (err += chunk.toString()));
    child.on('error', reject);
    child.on('close', (code) => {
      if (code !== 0) reject(new Error(`profile-child ${args[0]} exited with ${code}: ${err}`));
      else resolve((JSON.parse(out) as { growthKiB: number }).growthKiB);
    });
  });
}

/** The daemon's fetch of the big message is slow on FerretDB (tens of seconds): --quick measures it once there. */
function daemonRunsOf(runs: number, quick: boolean, engine: StoreEngine): number {
  return quick && engine === 'mongodb' ? 1 : runs;
}

function memoryReport(
  series: Series[],
  parts: Part[],
  runs: number,
  options: BenchOptions,
  missingDovecot: string | null,
): ScenarioReport {
  const rows: string[][] = [];
  const targets: Target[] = [];
  for (const s of series) {
    if (s.growths.length === 0) continue;
    const baseline = summarize(s.growths.map((g) => g.baselineKiB / 1024));
    const peak = summarize(s.growths.map((g) => g.peakKiB / 1024));
    const growth = summarize(s.growths.map((g) => (g.peakKiB - g.baselineKiB) / 1024));
    const factor = summarize(
      s.growths.map((g) => ((g.peakKiB - g.baselineKiB) * 1024) / g.messageBytes),
    );
    const size = (s.growths[0] as Growth).messageBytes / MB;
    rows.push([
      s.label,
      s.role,
      `${fmt(size)} MiB`,
      fmtSummary(baseline),
      fmtSummary(peak),
      fmtSummary(growth),
      `${fmtSummary(factor)}×`,
    ]);
    if (s.target) {
      targets.push({
        goal: `Memory, ${s.label} (${s.role}): peak RSS growth ≤ 4× message size`,
        result: `${fmt(factor.median)}× (${fmt(factor.min)}–${fmt(factor.max)})`,
        met: factor.median <= 4,
      });
    }
  }
  return {
    id: 'memory',
    title: 'Memory for a 25 MB message',
    method:
      `One ${fmt(BIG_BYTES / 1e6)} MB message (${fmt(BIG_BYTES / MB)} MiB; the default SMTP ` +
      'size limit is 25 MiB) received by Haraka over one SMTP connection, then fetched whole ' +
      'and deleted by imapflow. Each process is started fresh and warmed up with a 10 KB ' +
      'message; then its VmHWM is reset through /proc/PID/clear_refs and the growth is VmHWM ' +
      'after the big message minus VmRSS before it. Dovecot forks an imap process per login, ' +
      'so its whole process tree is sampled every 5 ms (baseline: the tree before the login). ' +
      `Size: the message as that process handles it (plaintext for Haraka, the stored ` +
      `PGP/MIME ciphertext for the IMAP servers). kzymy once per store engine. ${runs} runs ` +
      `(the kzymy daemon: ` +
      options.engines
        .map((e) => `${daemonRunsOf(runs, options.quick, e)} on ${engineLabel(e)}`)
        .join(', ') +
      '), MiB.',
    columns: [
      'process',
      'work',
      'message',
      'RSS before MiB',
      'peak MiB',
      'growth MiB',
      'growth ÷ message',
    ],
    rows,
    targets,
    notes: [
      ...(missingDovecot ? [`**Dovecot anchor not measured:** ${missingDovecot}.`] : []),
      "**Where Haraka's memory goes**: the two steps of kzymy's delivery, each measured alone " +
        'in a fresh process (bench/profile-child.ts, same message, after a warm-up; ' +
        `${runs} runs): ` +
        parts
          .map(
            (p) =>
              `${p.label} grows RSS by ${fmtSummary(p.growthMiB)} MiB ` +
              `(${fmt((p.growthMiB.median * MB) / BIG_BYTES)}× the message)`,
          )
          .join('; ') +
        '. The captured message is the one whole copy (in slabs of up to 256 KiB); the ' +
        'encryption streams it through OpenPGP.js, the armor and the 1 MiB chunk writes, so ' +
        "the rest of the peak is those pieces, the store's buffers for one chunk, and " +
        'garbage not yet collected.',
    ],
  };
}
