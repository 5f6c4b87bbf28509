/**
 * `node dist/bench/sqlite-commit.js [--connections 20] [--per 50] [--size 10240] [--rounds 3]`
 *
 * The A/B behind docs/decisions/0005: where the sqlite engine commits. Each mode of
 * src/store/sqlite/writer.ts stores the same deliveries — `connections` senders, each storing
 * `per` ciphertexts of `size` bytes one after another, as SMTP connections do — while
 * perf_hooks.monitorEventLoopDelay watches how long the event loop (which would be serving every
 * other SMTP or IMAP connection) is held up. Then reads: a mailbox listed and every message read
 * on the caller's thread, as IMAP FETCH does. Not part of `npm run bench`; it asserts nothing.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { monitorEventLoopDelay, performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { randomBytes } from 'node:crypto';
import { SqliteStore } from '../src/store/sqlite/store';
import type { CommitMode } from '../src/store/sqlite/writer';
import { percentile } from './stats';

const MODES: CommitMode[] = ['worker', 'worker-single', 'main', 'main-single'];

interface Result {
  mode: string;
  perSecond: number;
  p50: number;
  p99: number;
  loopP50: number;
  loopP99: number;
  loopMax: number;
}

async function measureWrites(
  mode: CommitMode,
  connections: number,
  per: number,
  size: number,
): Promise<Result> {
  const dir = mkdtempSync(join(tmpdir(), 'kzymy-commit-ab-'));
  const store = await SqliteStore.open({ file: join(dir, 'kzymy.sqlite'), commit: mode });
  try {
    const users = await Promise.all(
      Array.from({ length: connections }, (_, i) =>
        store.users.create({
          fingerprint: 'f',
          publicKey: 'pk',
          passwordHash: 'h',
          state: 'active',
          username: `ab${i}`,
        }),
      ),
    );
    const ciphertext = randomBytes(size);
    const latencies: number[] = [];
    const loop = monitorEventLoopDelay({ resolution: 1 });
    loop.enable();
    const started = performance.now();
    await Promise.all(
      users.map(async (user) => {
        for (let i = 0; i < per; i++) {
          const at = performance.now();
          await store.messages.add(user.id, ciphertext, new Date());
          latencies.push(performance.now() - at);
        }
      }),
    );
    const elapsed = performance.now() - started;
    loop.disable();
    return {
      mode,
      perSecond: (connections * per) / (elapsed / 1000),
      p50: percentile(latencies, 50),
      p99: percentile(latencies, 99),
      loopP50: loop.percentile(50) / 1e6,
      loopP99: loop.percentile(99) / 1e6,
      loopMax: loop.max / 1e6,
    };
  } finally {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

async function measureReads(count: number, size: number): Promise<string[]> {
  const dir = mkdtempSync(join(tmpdir(), 'kzymy-read-ab-'));
  const store = await SqliteStore.open({ file: join(dir, 'kzymy.sqlite') });
  try {
    const user = await store.users.create({
      fingerprint: 'f',
      publicKey: 'pk',
      passwordHash: 'h',
      state: 'active',
      username: 'reader',
    });
    const ciphertext = randomBytes(size);
    await Promise.all(
      Array.from({ length: count }, () => store.messages.add(user.id, ciphertext, new Date())),
    );
    const big = await store.messages.add(user.id, randomBytes(8 * 1024 * 1024), new Date());
    const loop = monitorEventLoopDelay({ resolution: 1 });
    loop.enable();
    const listStart = performance.now();
    const messages = await store.messages.list(user.id);
    const listMs = performance.now() - listStart;
    const reads: number[] = [];
    const fetchStart = performance.now();
    for (const message of messages.slice(0, count)) {
      const at = performance.now();
      await store.messages.readRange(user.id, message, 0, message.size);
      reads.push(performance.now() - at);
    }
    const fetchMs = performance.now() - fetchStart;
    const chunkReads: number[] = [];
    for (let at = 0; at < big.size; at += store.messages.chunkBytes) {
      const t = performance.now();
      await store.messages.readRange(user.id, big, at, at + store.messages.chunkBytes);
      chunkReads.push(performance.now() - t);
    }
    loop.disable();
    return [
      `| list ${messages.length} messages | ${listMs.toFixed(2)} ms |`,
      `| read one ${size} B message, p50 / p99 | ${percentile(reads, 50).toFixed(3)} / ${percentile(reads, 99).toFixed(3)} ms |`,
      `| read all ${count} (a FETCH 1:*), total | ${fetchMs.toFixed(1)} ms |`,
      `| read one ${store.messages.chunkBytes / 1024} KiB chunk, p50 / p99 | ${percentile(chunkReads, 50).toFixed(3)} / ${percentile(chunkReads, 99).toFixed(3)} ms |`,
      `| event loop delay during the reads, p99 / max | ${(loop.percentile(99) / 1e6).toFixed(1)} / ${(loop.max / 1e6).toFixed(1)} ms |`,
    ];
  } finally {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      connections: { type: 'string', default: '20' },
      per: { type: 'string', default: '50' },
      size: { type: 'string', default: '10240' },
      rounds: { type: 'string', default: '3' },
    },
  });
  const connections = Number(values.connections);
  const per = Number(values.per);
  const size = Number(values.size);
  const rounds = Number(values.rounds);
  const lines = [
    `${connections} senders × ${per} deliveries of ${size} B; median of ${rounds} rounds per mode (each round a fresh file)`,
    '',
    '| mode | deliveries/s | latency p50 | latency p99 | loop delay p50 | loop delay p99 | loop delay max |',
    '| ---- | -----------: | ----------: | ----------: | -------------: | -------------: | -------------: |',
  ];
  for (const mode of MODES) {
    const results: Result[] = [];
    // Rounds interleave with nothing else: each mode's rounds back to back on a fresh file.
    for (let round = 0; round < rounds; round++)
      results.push(await measureWrites(mode, connections, per, size));
    const median = (pick: (r: Result) => number): number => percentile(results.map(pick), 50);
    lines.push(
      `| ${mode} | ${median((r) => r.perSecond).toFixed(0)} | ${median((r) => r.p50).toFixed(1)} ms | ${median((r) => r.p99).toFixed(1)} ms | ${median((r) => r.loopP50).toFixed(1)} ms | ${median((r) => r.loopP99).toFixed(1)} ms | ${median((r) => r.loopMax).toFixed(1)} ms |`,
    );
    process.stdout.write(`${lines[lines.length - 1]}\n`);
  }
  lines.push('', '| reads on the caller’s thread | |', '| --- | --: |');
  lines.push(...(await measureReads(1000, size)));
  process.stdout.write(`\n${lines.join('\n')}\n`);
}

main().catch((error: unknown) => {
  process.stderr.write(`${(error as Error).stack ?? String(error)}\n`);
  process.exit(1);
});
