/**
 * Scenario 3 — fetch: N waiting messages fetched whole and deleted with imapflow, from kzymy's
 * IMAP server (its own process) on each store engine and from Dovecot (Maildir), all holding the
 * very same ciphertexts. Each is filled before each run (untimed) and emptied by the run.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { encryptToPgpMime } from '../src/pgp/pgp-mime';
import type { StoreEngine } from '../src/store/store';
import { moduleShare, shares, summarizeProfile } from './cpu-profile';
import { startImapDaemon, type DaemonProcess } from './daemon-process';
import { dovecotAvailable, startDovecot, type Dovecot } from './dovecot';
import { BENCH_DOMAIN, startBenchEnvs, type BenchEnv, type BenchUser } from './env';
import { fetchAndDeleteAll, type FetchRun } from './imap-client';
import { makeMessage } from './messages';
import { CpuMeter, cpuMs, nodeProcessClocks, OFF_MAIN, treeCpuMs, type CpuClock } from './proc';
import { engineLabel, mdTable, onEngine } from './report';
import { fmt, fmtSummary, pairedRatios, summarize } from './stats';
import type { BenchOptions, ScenarioReport, Target } from './types';

const MESSAGE_BYTES = 10 * 1024;
/** The CPU columns, left to right; a process a server does not use shows as –. */
const PROCESSES = ['server', `server${OFF_MAIN}`, 'ferretdb', 'redis', 'client'];

/** One server the same messages are fetched from: kzymy on one engine, or Dovecot. */
interface Side {
  key: string;
  label: string;
  engine: StoreEngine | null;
  /** Stores the messages (untimed), fetches and deletes them all (timed). */
  fetch(ciphertexts: Buffer[]): Promise<Measured>;
  runs: SideRuns;
}

interface SideRuns {
  seconds: number[];
  rate: number[];
  cpu: Map<string, number[]>;
  bytes: number;
}

interface Measured {
  run: FetchRun;
  /** CPU milliseconds by PROCESSES name. */
  cpu: Map<string, number>;
}

/** Messages per run: the 1,000 in the full run; fewer in --quick, to stay in budget. */
function counts(quick: boolean): { main: number; scaling: number[] } {
  return quick ? { main: 200, scaling: [50] } : { main: 1000, scaling: [100, 300] };
}

export async function runFetch(options: BenchOptions): Promise<ScenarioReport> {
  const { main: count, scaling } = counts(options.quick);
  const missingDovecot = dovecotAvailable();
  const envs = await startBenchEnvs(options.engines, 'fetch');
  const daemons: DaemonProcess[] = [];
  let dovecot: Dovecot | undefined;
  try {
    const users = new Map<BenchEnv, BenchUser>();
    for (const env of envs) users.set(env, ((await env.createUsers(1)) as [BenchUser])[0]);
    const most = Math.max(count, ...scaling);
    options.log(`fetch: encrypting ${most} messages`);
    // One set of ciphertexts for every server: the bytes served are the same everywhere.
    const all = await encryptMany(users.get(envs[0] as BenchEnv) as BenchUser, most);
    const ciphertexts = all.slice(0, count);
    const sides: Side[] = [];
    for (const env of envs) {
      const daemon = await startImapDaemon(env, 'fetch-daemon');
      daemons.push(daemon);
      const user = users.get(env) as BenchUser;
      sides.push({
        key: env.engine,
        label: onEngine('kzymy IMAP', env.engine),
        engine: env.engine,
        fetch: (list) => fetchKzymy(env, daemon, user, list),
        runs: emptyRuns(),
      });
    }
    if (!missingDovecot) {
      const d = await startDovecot(mkdtempSync(join(tmpdir(), 'kzymy-dovecot-')));
      dovecot = d;
      sides.push({
        key: 'dovecot',
        label: 'Dovecot (Maildir)',
        engine: null,
        fetch: (list) => fetchDovecot(d, list),
        runs: emptyRuns(),
      });
    }
    for (let run = 0; run < options.runs; run++) {
      // Rotate the order so that no server always runs first (or last) in a round.
      const order = sides.map((_, i) => sides[(i + run) % sides.length] as Side);
      for (const side of order) record(side.runs, await side.fetch(ciphertexts));
      options.log(
        `fetch: run ${run + 1}: ` +
          sides.map((s) => `${s.key} ${fmt(s.runs.seconds.at(-1) ?? NaN)} s`).join(', '),
      );
    }
    const scaled: ScalePoint[] = [];
    for (const n of [...new Set(scaling)].filter((n) => n !== count).sort((a, b) => a - b)) {
      const ms = new Map<string, number>();
      for (const side of sides) ms.set(side.key, (await side.fetch(all.slice(0, n))).run.ms);
      scaled.push({ n, ms });
      options.log(`fetch: scaling, ${n} messages`);
    }
    scaled.push({
      n: count,
      ms: new Map(sides.map((s) => [s.key, summarize(s.runs.seconds).median * 1000])),
    });
    const profiles: DaemonProfile[] = [];
    for (const env of envs) {
      profiles.push(await profileDaemon(env, users.get(env) as BenchUser, ciphertexts, options));
    }
    return fetchReport(sides, count, scaled, profiles, options, missingDovecot);
  } finally {
    await Promise.all(daemons.map((d) => d.close()));
    await dovecot?.close();
    await Promise.all(envs.map((env) => env.close()));
  }
}

function emptyRuns(): SideRuns {
  return { seconds: [], rate: [], cpu: new Map(), bytes: 0 };
}

async function encryptMany(user: BenchUser, count: number): Promise<Buffer[]> {
  const out: Buffer[] = [];
  for (let i = 0; i < count; i++) {
    out.push(
      await encryptToPgpMime({
        raw: makeMessage(MESSAGE_BYTES),
        publicKeyArmored: user.user.publicKey,
        envelopeFrom: 'sender@example.org',
        recipients: [user.address],
        arrival: new Date(),
        domain: BENCH_DOMAIN,
        outerTo: `${user.user.username}@${user.user.username}.${BENCH_DOMAIN}`,
      }),
    );
  }
  return out;
}

interface ScalePoint {
  n: number;
  /** Milliseconds by side key. */
  ms: Map<string, number>;
}

function record(side: SideRuns, { run, cpu }: Measured): void {
  side.seconds.push(run.ms / 1000);
  side.rate.push((run.messages / run.ms) * 1000);
  for (const [name, ms] of cpu) {
    const list = side.cpu.get(name) ?? [];
    list.push(ms / Math.max(1, run.messages));
    side.cpu.set(name, list);
  }
  side.bytes = run.bytes;
}

/** Fills the mailbox through the env's store, ten deliveries at a time (untimed). */
async function fill(env: BenchEnv, user: BenchUser, ciphertexts: Buffer[]): Promise<void> {
  for (let i = 0; i < ciphertexts.length; i += 10) {
    await Promise.all(
      ciphertexts
        .slice(i, i + 10)
        .map((ciphertext) => env.store.messages.add(user.user.id, ciphertext, new Date())),
    );
  }
}

async function fetchKzymy(
  env: BenchEnv,
  daemon: DaemonProcess,
  user: BenchUser,
  ciphertexts: Buffer[],
): Promise<Measured> {
  await fill(env, user, ciphertexts);
  const meter = new CpuMeter(
    new Map<string, CpuClock>([
      ...nodeProcessClocks('server', daemon.pid),
      ...env.services().map(([name, pid]): [string, CpuClock] => [name, () => cpuMs(pid)]),
      ['client', () => cpuMs(process.pid)],
    ]),
  );
  meter.start();
  const run = await fetchAndDeleteAll({
    host: '127.0.0.1',
    port: daemon.imapPort,
    user: user.user.username,
    password: user.password,
  });
  const cpu = meter.stop();
  check(
    `kzymy (${env.engine})`,
    run,
    ciphertexts.length,
    await env.store.messages.count(user.user.id),
  );
  return { run, cpu };
}

async function fetchDovecot(dovecot: Dovecot, ciphertexts: Buffer[]): Promise<Measured> {
  dovecot.deliver(ciphertexts);
  const meter = new CpuMeter(
    new Map<string, CpuClock>([
      ['server', () => treeCpuMs(dovecot.pid)],
      ['client', () => cpuMs(process.pid)],
    ]),
  );
  meter.start();
  const run = await fetchAndDeleteAll({
    host: '127.0.0.1',
    port: dovecot.port,
    user: dovecot.user,
    password: dovecot.password,
  });
  const cpu = meter.stop();
  check('Dovecot', run, ciphertexts.length, dovecot.count());
  return { run, cpu };
}

function check(server: string, run: FetchRun, expected: number, left: number): void {
  if (run.messages !== expected) {
    throw new Error(`${server}: fetched ${run.messages} of ${expected} messages`);
  }
  if (left !== 0) throw new Error(`${server}: ${left} messages left after delete`);
}

interface DaemonProfile {
  engine: StoreEngine;
  msPerMessage: number;
  modules: string;
  functions: string;
  mongodbShare: number;
  sqliteShare: number;
}

/** A CPU profile of a fresh daemon's main thread over one fetch-and-delete of `ciphertexts`. */
async function profileDaemon(
  env: BenchEnv,
  user: BenchUser,
  ciphertexts: Buffer[],
  options: BenchOptions,
): Promise<DaemonProfile> {
  options.log(`fetch: profiling the daemon (${env.engine})`);
  const file = join(env.dataDir, 'daemon.cpuprofile');
  const daemon = await startImapDaemon(env, 'fetch-profile', { cpuProfile: file });
  let measured: Measured;
  try {
    // Warm up (code loaded, store opened, the JIT at work), then profile the measured fetch.
    await fetchKzymy(env, daemon, user, ciphertexts.slice(0, 20));
    await daemon.startProfile();
    measured = await fetchKzymy(env, daemon, user, ciphertexts);
  } finally {
    await daemon.close();
  }
  const summary = summarizeProfile(file, 8);
  return {
    engine: env.engine,
    msPerMessage: (measured.cpu.get('server') ?? NaN) / ciphertexts.length,
    modules: shares(summary.modules),
    functions: shares(summary.functions),
    mongodbShare: moduleShare(summary, /^mongodb$|^bson$/),
    sqliteShare: moduleShare(summary, /^better-sqlite3$|^src\/store$/),
  };
}

function fetchReport(
  sides: Side[],
  count: number,
  scaled: ScalePoint[],
  profiles: DaemonProfile[],
  options: BenchOptions,
  missingDovecot: string | null,
): ScenarioReport {
  const dovecot = sides.find((s) => s.key === 'dovecot');
  const rows: string[][] = [];
  const targets: Target[] = [];
  for (const side of sides) {
    const { runs } = side;
    const ratio =
      dovecot && side !== dovecot ? pairedRatios(runs.seconds, dovecot.runs.seconds) : null;
    rows.push([
      side.label,
      fmtSummary(summarize(runs.seconds)),
      fmtSummary(summarize(runs.rate)),
      fmt(runs.bytes / 1024 / 1024 / summarize(runs.seconds).median),
      ...PROCESSES.map((p) => fmtSummary(summarize(runs.cpu.get(p) ?? []))),
      side === dovecot ? '1×' : ratio ? `${fmtSummary(ratio)}×` : '–',
    ]);
    if (side.engine) {
      targets.push({
        goal: `Fetch and delete ${count} messages, ${engineLabel(side.engine)}: within 2× of Dovecot's time`,
        result: ratio
          ? `${fmt(ratio.median)}× (${fmt(ratio.min)}–${fmt(ratio.max)})`
          : 'no Dovecot',
        met: ratio ? ratio.median <= 2 : null,
      });
    }
  }
  const scaleTable = mdTable(
    ['messages waiting', ...sides.map((s) => `${s.label}: s (ms per message)`)],
    scaled.map((p) => [
      String(p.n),
      ...sides.map((s) => {
        const ms = p.ms.get(s.key) ?? NaN;
        return `${fmt(ms / 1000)} (${fmt(ms / p.n)})`;
      }),
    ]),
  );
  const bytes = sides[0]?.runs.bytes ?? 0;
  return {
    id: 'fetch',
    title: 'Fetch and delete',
    method:
      `${count} waiting messages${count < 1000 ? ' (the full run: 1,000)' : ''} (${fmt(MESSAGE_BYTES / 1024)} KB plaintext, ` +
      `${fmt(bytes / count / 1024)} KB as stored PGP/MIME), the same ciphertexts on every ` +
      'server, fetched by imapflow over loopback without TLS: LOGIN, SELECT INBOX, ' +
      '`FETCH 1:* (UID BODY.PEEK[])`, `STORE 1:* +FLAGS (\\Deleted)`, EXPUNGE, LOGOUT. Time: ' +
      "connect to LOGOUT done. **kzymy**: src/imap's server in its own process " +
      '(bench/imap-daemon.ts), once per store engine: **sqlite** (the file opened in the ' +
      'daemon, reads on its main thread, deletes on its writer thread) and **mongodb** on the ' +
      "embedded FerretDB (SQLite backend); its LOGIN includes an scrypt check (Dovecot's " +
      'passwd-file here is plain). **Dovecot**: Debian dovecot-imapd, Maildir, a throwaway ' +
      'instance on a loopback port (bench/dovecot.ts). Each filled before each run, untimed; ' +
      `${options.runs} runs, the order of the servers rotated per run; ratio paired per run. ` +
      '**CPU ms/msg**: the daemon process (and the part of it off its main thread), or the ' +
      'Dovecot process tree; FerretDB and redis-server where the server uses them; the client ' +
      '(imapflow, in the benchmark process).',
    columns: [
      'server',
      'seconds',
      'msgs/s',
      'MB/s',
      'CPU ms/msg: server',
      'server off main thread',
      'FerretDB',
      'Redis',
      'client',
      'time ÷ Dovecot',
    ],
    rows,
    targets,
    notes: [
      ...(missingDovecot ? [`**Dovecot anchor not measured:** ${missingDovecot}.`] : []),
      '**Scaling with the number of waiting messages** (one run each; the row for ' +
        `${count} is the median above). The time per message should stay flat as the mailbox ` +
        'grows; a fixed cost per session (LOGIN with its scrypt check, SELECT) weighs on the ' +
        'small runs:',
      scaleTable,
      ...profiles.map(
        (p) =>
          `**Daemon CPU profile, ${engineLabel(p.engine)}** (a fresh daemon over one fetch and ` +
          `delete of ${count} messages after a warm-up of 20, ${fmt(p.msPerMessage)} ms of CPU ` +
          'per message; main thread, that fetch only; ' +
          `self time by module): ${p.modules}; by function: ${p.functions}. The MongoDB driver and BSON take ` +
          `${fmt(p.mongodbShare * 100)}% of the samples, better-sqlite3 and src/store ` +
          `${fmt(p.sqliteShare * 100)}%.`,
      ),
    ],
  };
}
