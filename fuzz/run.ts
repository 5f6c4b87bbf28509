/**
 * `npm run fuzz -- [NAME...] [--runs N] [--seed N] [--path P] [--hang-seconds S] [--list]`
 *
 * Runs the fuzz targets one at a time (default: all of them, 100,000 inputs each), each in its
 * own process under a watchdog, prints one line per target and writes a JSON report and any
 * finding under var/fuzz/. Exits 1 when a target found something. docs/fuzzing.md explains
 * the targets, the engine and how to replay a finding.
 */
import { fork } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { EngineResult } from './harness/engine';
import { loadTarget, targetNames } from './harness/registry';
import type { WorkerMessage } from './worker';

interface Options {
  names: string[];
  runs: number;
  seed: number | null;
  path: string | null;
  hangSeconds: number | null;
  list: boolean;
}

type Outcome =
  | { kind: 'done'; result: EngineResult }
  | { kind: 'hang'; target: string; seed: number; inputs: number; seconds: number }
  | { kind: 'error'; target: string; error: string };

const REPORT_DIR = join(__dirname, '..', '..', 'var', 'fuzz');

function parseArgs(argv: string[]): Options {
  const options: Options = {
    names: [],
    runs: 100_000,
    seed: null,
    path: null,
    hangSeconds: null,
    list: false,
  };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] as string;
    const value = (): string => {
      const next = argv[++i];
      if (next === undefined) throw new Error(`${arg} needs a value`);
      return next;
    };
    if (arg === '--runs') options.runs = positive(arg, value());
    else if (arg === '--seed') options.seed = Number.parseInt(value(), 10);
    else if (arg === '--path') options.path = value();
    else if (arg === '--hang-seconds') options.hangSeconds = positive(arg, value());
    else if (arg === '--list') options.list = true;
    else if (arg.startsWith('-')) throw new Error(`unknown option ${arg}`);
    else options.names.push(arg);
  }
  if (options.seed !== null && !Number.isSafeInteger(options.seed)) {
    throw new Error('--seed must be an integer');
  }
  return options;
}

function positive(name: string, text: string): number {
  const n = Number(text);
  if (!Number.isSafeInteger(n) || n <= 0) throw new Error(`${name} must be a positive integer`);
  return n;
}

function runOne(name: string, options: Options, seed: number): Promise<Outcome> {
  const target = loadTarget(name);
  // Long enough for a slow input and the services to start; progress comes every second.
  const hangMs = (options.hangSeconds ?? Math.max(120, (target.slowMs * 10) / 1000)) * 1000;
  const args = [name, String(options.runs), String(seed), ...(options.path ? [options.path] : [])];
  // Its own process group: a worker killed by the watchdog takes its Redis along.
  const child = fork(join(__dirname, 'worker.js'), args, { stdio: 'inherit', detached: true });
  return new Promise((resolve) => {
    let inputs = 0;
    let outcome: Outcome | null = null;
    let watchdog = setTimeout(onHang, hangMs);
    function onHang(): void {
      outcome = { kind: 'hang', target: name, seed, inputs, seconds: hangMs / 1000 };
      if (child.pid !== undefined) process.kill(-child.pid, 'SIGKILL');
    }
    let shown = Date.now();
    child.on('message', (message: WorkerMessage) => {
      clearTimeout(watchdog);
      watchdog = setTimeout(onHang, hangMs);
      if (message.type === 'progress') {
        inputs = message.inputs;
        if (Date.now() - shown >= 60_000) {
          shown = Date.now();
          process.stdout.write(`${name}: ${inputs} inputs so far\n`);
        }
      } else if (message.type === 'result') outcome = { kind: 'done', result: message.result };
      else outcome = { kind: 'error', target: name, error: message.error };
    });
    child.on('exit', (code, signal) => {
      clearTimeout(watchdog);
      resolve(
        outcome ?? {
          kind: 'error',
          target: name,
          error: `the worker exited (${signal ?? `code ${code}`}) without a result`,
        },
      );
    });
  });
}

function line(outcome: Outcome): string {
  if (outcome.kind === 'hang') {
    return `${outcome.target}: HANG — no progress for ${outcome.seconds} s after ${outcome.inputs} inputs (seed ${outcome.seed})`;
  }
  if (outcome.kind === 'error') return `${outcome.target}: ERROR — ${outcome.error}`;
  const r = outcome.result;
  const rate = r.ms > 0 ? Math.round((r.inputs * 1000) / r.ms) : r.inputs;
  const verdict = r.failure
    ? `FINDING after ${r.inputs} inputs (${r.shrinks} shrinks)`
    : `${r.inputs} inputs, no finding`;
  return `${r.target}: ${verdict} in ${(r.ms / 1000).toFixed(1)} s (${rate}/s, seed ${r.seed})`;
}

function saveFinding(outcome: Outcome, stamp: string): string | null {
  if (outcome.kind === 'done' && !outcome.result.failure) return null;
  const name = outcome.kind === 'done' ? outcome.result.target : outcome.target;
  const dir = join(REPORT_DIR, 'findings');
  mkdirSync(dir, { recursive: true });
  const file = join(dir, `${name}-${stamp}.json`);
  writeFileSync(file, JSON.stringify(outcome, null, 2) + '\n');
  return file;
}

async function main(): Promise<number> {
  const options = parseArgs(process.argv.slice(2));
  const all = targetNames();
  if (options.list) {
    for (const name of all) process.stdout.write(`${name}: ${loadTarget(name).covers}\n`);
    return 0;
  }
  const names = options.names.length > 0 ? options.names : all;
  for (const name of names) loadTarget(name); // unknown names fail before anything runs
  const stamp = new Date().toISOString().replace(/[:.]/g, '-');
  const outcomes: Outcome[] = [];
  for (const name of names) {
    const seed = options.seed ?? Date.now() % 2 ** 31;
    process.stdout.write(`${name}: ${options.runs} inputs, seed ${seed}...\n`);
    const outcome = await runOne(name, options, seed);
    outcomes.push(outcome);
    process.stdout.write(`${line(outcome)}\n`);
    const saved = saveFinding(outcome, stamp);
    if (saved) {
      if (outcome.kind === 'done' && outcome.result.failure) {
        const f = outcome.result.failure;
        process.stdout.write(
          `  error: ${f.error.split('\n')[0]}\n  input: ${f.input.slice(0, 400)}\n`,
        );
        process.stdout.write(
          `  replay: npm run fuzz -- ${name} --seed ${outcome.result.seed} --path ${f.path}\n`,
        );
      }
      process.stdout.write(`  saved: ${saved}\n`);
    }
  }
  mkdirSync(REPORT_DIR, { recursive: true });
  const report = join(REPORT_DIR, `report-${stamp}.json`);
  writeFileSync(report, JSON.stringify(outcomes, null, 2) + '\n');
  process.stdout.write(`report: ${report}\n`);
  return outcomes.every((o) => o.kind === 'done' && !o.result.failure) ? 0 : 1;
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    process.stderr.write(`fuzz: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exit(2);
  },
);
