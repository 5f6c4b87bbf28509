/**
 * `npm run bench [-- --quick] [-- --only encryption,inbound] [-- --runs N]
 *  [-- --engines sqlite,mongodb] [-- --no-write]`
 *
 * Runs the scenarios one after another, prints a table and writes docs/BENCHMARKS.md. Not part
 * of `npm test`: it asserts nothing, it reports. See docs/BENCHMARKS.md for the method.
 */
import { writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { STORE_ENGINES } from '../src/config/schema';
import { projectRoot } from '../src/util/project-root';
import type { StoreEngine } from '../src/store/store';
import { runEncryption } from './encryption';
import { runFetch } from './fetch';
import { runInbound } from './inbound';
import { runMemory } from './memory';
import { describeMachine } from './machine';
import { renderConsole, renderMarkdown } from './report';
import { runStoreOps } from './store-ops';
import { skippedReport, type BenchOptions, type ScenarioReport } from './types';

interface Scenario {
  id: string;
  title: string;
  run(options: BenchOptions): Promise<ScenarioReport>;
}

const SCENARIOS: Scenario[] = [
  { id: 'encryption', title: 'Encryption cost per message', run: runEncryption },
  { id: 'inbound', title: 'Inbound end to end', run: runInbound },
  { id: 'fetch', title: 'Fetch and delete', run: runFetch },
  { id: 'memory', title: 'Memory for a 25 MB message', run: runMemory },
  { id: 'store', title: 'Store calls', run: runStoreOps },
];

const PREFACE = `
How fast kzymy encrypts, accepts, serves and holds mail on each of its store engines — **sqlite**
(the default: one file in process) and **mongodb** (for clusters; here on the embedded FerretDB)
— side by side, each figure next to an anchor measured on the same machine in the same run: a
\`gpg\` process per message (the gpg-mailgate / Lacre / Zeyple design), the native floor of the
primitives, the same Haraka with a discard queue and with encryption off, and Dovecot serving the
same ciphertexts. Every figure is the median of several runs, with the min–max across runs in
parentheses. Ratios are computed per run between paired measurements, then summarized.

**Reproduce:**

\`\`\`sh
bash bench/setup.sh          # once, as root: Debian dovecot-imapd for the fetch anchor
npm run bench                # full run, both engines, rewrites this file
npm run bench -- --quick     # fewer messages and runs (about 3 minutes here)
npm run bench -- --only encryption,inbound --runs 9
npm run bench -- --only fetch --engines sqlite
\`\`\`

**Noise.** The reference machine is small (see "This run") and is shared: other builds and test
suites may have run at the same time, which the load average below hints at. Absolute figures
move by tens of percent between runs; the ratios, measured in the same round against the same
load, move much less. Compare ratios across machines, not milliseconds.
`;

/**
 * What the measurements mean, written by hand from the profiles and the store table; the
 * figures it points at are in the sections below and change with every run.
 */
const FINDINGS = `
## What the numbers say

Both store engines ran side by side in the run below (figures from it; the Targets table has the
spread). The goals of issue 15 on **sqlite**, the default: p99 DATA→250 at 20 connections and
memory are met; inbound at ≥ 50% of the discard ceiling and fetch within 2× of Dovecot are not
(items 2 and 4 say where the time goes). Encryption is at the 2× goal since decision 0011, not
reliably within it: at 4 KB to a Curve25519 key three 5-run measurements gave 1.38×, 1.42× and
2.12× (1.23–3.05), against 8–10× before; a \`--quick\` run (20 messages per figure) reads 2.8×
(item 5). Where the time goes:

1. **The store no longer decides the speed on sqlite.** A read is an index lookup in process
   (microseconds, "Store calls"); a delivery is one transaction whose cost is one sync of the log,
   shared by the deliveries that arrive meanwhile (group commit). With encryption switched off,
   kzymy on sqlite reaches most of the discard ceiling at 20 connections, against about a tenth
   on the embedded FerretDB, and the rate stays flat as mail waits. BSON and the MongoDB driver,
   a quarter to a third of Haraka's and the daemon's main thread on mongodb, are gone on sqlite
   (better-sqlite3 and src/store together take 1–2% of it); what the engine costs runs on the
   writer thread (the "off main thread" columns, with libuv's crypto jobs and the collector).
2. **Inbound on sqlite is bounded by Haraka and kzymy's plugin**, no longer by the store or by
   encryption: with native encryption (item 5) switching encryption off gains a few tenths of a
   millisecond of Haraka CPU per message (the "Cost of each stage" note), and kzymy with
   encryption off is itself below half the discard rate at 20 connections. What the plugin adds
   over the discard queue is the rest of a delivery: the sender authentication at arrival
   (mailauth's SPF, DKIM and DMARC, with their DNS queries, src/smtp/sender-auth.ts: the largest
   module in Haraka's profile), the protected header section and padding, the store's hand-over
   to the writer thread and the Redis publish. Socket writes of strings (\`writeUtf8String\`) and
   Haraka's unlink of a spool file it never wrote (haraka-message-stream \`destroy\`; the
   discard ceiling pays it too) follow. The rate is also not set by CPU alone: at 20 connections
   each message waits on a chain of hand-overs (the DNS answers, the writer thread, the log
   sync), each waiting for a CPU on a 2-core machine the load generator shares. Next: verdicts
   of SPF and DMARC cached per sending domain for their TTL, so that a burst from one domain asks
   DNS once.
3. **p99 DATA→250 at 20 connections** on sqlite is tens of milliseconds against hundreds on the
   mongodb engine in the same run (the previous full run, FerretDB only, measured 770 ms): no
   delivery waits for a Redis lock or for another's FerretDB transaction, and the writer thread
   keeps the sync off the event loop. No message was refused (451) in any run.
4. **Fetch on sqlite**: most of what once separated kzymy from Dovecot was waiting, not work. A
   reply is several socket writes (untagged lines, then the tagged one), and with Nagle's
   algorithm each later write waited for the client's delayed ACK, 40 ms on Linux: every LOGIN
   and SELECT took about 44 ms on an empty mailbox. The IMAP and POP3 sockets now send at once
   (\`setNoDelay\`, src/imap/limits.ts), and both take under a millisecond. The first login of an
   account in a daemon pays one scrypt check (N = 2^15, a tenth of a second or more here;
   Dovecot's passwd-file in this benchmark is plain text); later ones are compared with what the
   password gate remembers (src/auth/password-gate.ts). What is left is per message: the FETCH
   path hands each response to the socket and waits until its bytes are with the operating
   system before it counts the message received (the delete-after-fetch guarantee), and in the
   daemon's main thread Buffer allocation and copying, the garbage collector and socket writes
   dominate; the store's reads (\`all\`) are under a tenth. Next: one such wait per batch of
   messages, not per message.
5. **Encryption** now writes the OpenPGP packets with synchronous \`node:crypto\` for RSA and
   Curve25519 keys (src/pgp/native, decisions/0011-native-encryption.md); OpenPGP.js still
   parses each key and gives the verdict on its validity, judged again whenever an arrival
   passes a date written in the key. At 4 KB to a Curve25519 key kzymy is at about 1.4–2.1× of
   the native floor (it was about 8–10×); the ephemeral X25519 key and agreement, which the floor
   pays too, are half of it, the rest kzymy's framing, armor and MIME wrapper. From 1 MB up
   kzymy is at or below the "floor", whose base64 line breaking in JavaScript strings costs more
   than kzymy's armor.
6. **Memory**: kzymy's Haraka grows by about three times a 25 MB message on both engines, within
   the 4× goal. On sqlite it was almost six times until the writer thread stopped keeping the
   chunks: their buffers now go back to be filled again instead of waiting for the thread's
   collector, and the writer's page caches are SQLite's 2 MB, not 16 MB each for the file and
   the staging table (docs/decisions/0005). What is left is the captured plaintext and the
   encryption's pieces in flight or not yet collected (the note under the memory table). The
   daemon serves a 33 MB message within about 1.1× its size.
`;

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      quick: { type: 'boolean', default: false },
      only: { type: 'string' },
      runs: { type: 'string' },
      engines: { type: 'string' },
      'no-write': { type: 'boolean', default: false },
    },
  });
  const quick = values.quick ?? false;
  const runs = values.runs ? Number(values.runs) : quick ? 3 : 5;
  if (!Number.isInteger(runs) || runs < 1) throw new Error('--runs must be a positive integer');
  const only = values.only ? new Set(values.only.split(',').map((s) => s.trim())) : null;
  for (const id of only ?? []) {
    if (!SCENARIOS.some((s) => s.id === id)) {
      throw new Error(`unknown scenario ${id}; known: ${SCENARIOS.map((s) => s.id).join(', ')}`);
    }
  }
  const engines = parseEngines(values.engines ?? STORE_ENGINES.join(','));
  const started = Date.now();
  const log = (message: string): void => {
    process.stderr.write(`[${((Date.now() - started) / 1000).toFixed(0)}s] ${message}\n`);
  };
  const options: BenchOptions = { quick, runs, engines, log };
  const machine = describeMachine();
  const reports: ScenarioReport[] = [];
  for (const scenario of SCENARIOS) {
    if (only && !only.has(scenario.id)) continue;
    log(`${scenario.id}: start`);
    try {
      reports.push(await scenario.run(options));
    } catch (error) {
      const reason = error instanceof Error ? error.message : String(error);
      log(`${scenario.id}: failed: ${reason}`);
      reports.push(skippedReport(scenario.id, scenario.title, `the scenario failed: ${reason}`));
    }
  }
  const info = {
    quick,
    runs,
    startedAt: new Date(started),
    durationS: (Date.now() - started) / 1000,
    machine,
    engines,
    loadAtEnd: Math.round((loadavg()[0] ?? 0) * 100) / 100,
  };
  process.stdout.write(renderConsole(reports, info) + '\n');
  if (!values['no-write']) {
    const file = join(projectRoot(), 'docs', 'BENCHMARKS.md');
    writeFileSync(
      file,
      renderMarkdown(
        reports,
        info,
        PREFACE,
        only
          ? `${FINDINGS}\n(This file was written by a partial run: \`--only ${[...only].join(',')}\`.)`
          : FINDINGS,
      ),
    );
    log(`wrote ${file}`);
  }
}

/** `--engines sqlite,mongodb`: which engines, in the order their rows appear. */
function parseEngines(list: string): StoreEngine[] {
  const engines = [...new Set(list.split(',').map((s) => s.trim()))];
  for (const engine of engines) {
    if (!(STORE_ENGINES as readonly string[]).includes(engine)) {
      throw new Error(`unknown store engine ${engine}; known: ${STORE_ENGINES.join(', ')}`);
    }
  }
  return engines as StoreEngine[];
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    process.stderr.write(`bench: ${error instanceof Error ? error.stack : String(error)}\n`);
    process.exit(1);
  },
);
