/**
 * Scenario "store calls": the store calls one delivery and one fetch make, timed directly on each
 * store engine with more and more messages waiting server-wide. It shows what a call costs on
 * each and which calls stay flat: FerretDB 1.x pushes only a lone `_id` filter down to SQLite
 * (FerretDB issue #3235, and with kzymy's patch SQLite serves it from the `_id` index) and
 * answers every other query by reading the whole collection; the sqlite engine's are all
 * indexed.
 */
import type { StoreEngine } from '../src/store/store';
import { startBenchEnv, type BenchUser } from './env';
import { engineLabel } from './report';
import { fmt, nowMs, summarize } from './stats';
import type { BenchOptions, ScenarioReport } from './types';

const CIPHERTEXT_BYTES = 14 * 1024;
const USERS = 20;

export async function runStoreOps(options: BenchOptions): Promise<ScenarioReport> {
  const levels = options.quick ? [0, 400] : [0, 500, 1000, 2000];
  const timed = new Map<StoreEngine, Map<string, number>[]>();
  for (const engine of options.engines) {
    timed.set(engine, await timeCalls(engine, levels, options));
  }
  const rows: string[][] = [];
  for (const [when, name] of CALLS) {
    for (const [engine, results] of timed) {
      rows.push([
        when,
        `\`${name}\``,
        engineLabel(engine),
        ...results.map((r) => fmt(r.get(name) ?? NaN)),
      ]);
    }
  }
  return {
    id: 'store',
    title: 'Store calls',
    method:
      'Milliseconds per call (median of 10; `remove`: one call) made directly through ' +
      'src/store by the benchmark process, as Haraka and the daemon make them, on each store ' +
      'engine: **sqlite** (the file opened in process; writes wait for the writer thread and ' +
      'the log sync) and **mongodb** on the embedded FerretDB 1.24 (SQLite backend; `add` ' +
      `takes the Redis UID lock, as Haraka does). ${USERS} users, ` +
      `${fmt(CIPHERTEXT_BYTES / 1024)} KB ciphertexts, with the number of messages waiting ` +
      'server-wide (all users together) growing from left to right.',
    columns: ['used by', 'call', 'engine', ...levels.map((l) => `${l} waiting`)],
    rows,
    targets: [],
    notes: [
      '**Reading the table.** A call whose time grows with the number of waiting messages is ' +
        "a scan. On mongodb, FerretDB 1.x's SQLite backend hands SQLite only a filter that is " +
        'a lone `_id` (FerretDB issues #3235, #3599) and filters everything else in Go after ' +
        "reading and decoding every document of the collection — every user's, not only the " +
        "caller's — so every call made per recipient or per message names its document by " +
        '`_id` alone (docs/decisions/0004), and the quota check reads a total cached in Redis; ' +
        'what still scans there is once per session (`list`, at SELECT) or per sweep. On ' +
        'sqlite every call is an indexed lookup and the quota total a column of the user, ' +
        "moved in the delivery's transaction; a write costs a hand-over to the writer thread " +
        'and a sync of the log, shared by the deliveries that arrive meanwhile (group commit; ' +
        'here one caller at a time, so none share it).',
    ],
  };
}

/** The calls timed, by what the table calls them. */
const CALL = {
  byName: 'users.byName',
  usedBytes: 'messages.usedBytes (quota)',
  sumBytes: 'messages.sumBytes (the store’s sum)',
  add: 'messages.add (ciphertext, UID, metadata, quota)',
  list: 'messages.list',
  read: 'messages.read (whole message)',
  markFetched: 'messages.markFetched',
  remove: 'messages.remove (one message)',
} as const;

/** `used by`, call: the rows of the table. */
const CALLS: [string, string][] = [
  ['SMTP RCPT', CALL.byName],
  ['SMTP RCPT', CALL.usedBytes],
  ['(mongodb: cache fill)', CALL.sumBytes],
  ['SMTP DATA', CALL.add],
  ['IMAP SELECT', CALL.list],
  ['IMAP FETCH', CALL.read],
  ['IMAP FETCH', CALL.markFetched],
  ['IMAP EXPUNGE / LOGOUT', CALL.remove],
];

/** Each call of CALLS timed on one engine at each level: one map (call → ms) per level. */
async function timeCalls(
  engine: StoreEngine,
  levels: number[],
  options: BenchOptions,
): Promise<Map<string, number>[]> {
  const env = await startBenchEnv(engine, 'storeops');
  try {
    const users = await env.createUsers(USERS);
    const { messages, users: userStore } = env.store;
    const probe = users[0] as BenchUser;
    const other = users[1] as BenchUser;
    const ciphertext = Buffer.alloc(CIPHERTEXT_BYTES, 0x41);
    // A message of the probe user to read, created anew for each level (it is deleted below).
    let target = await messages.add(probe.user.id, ciphertext, new Date());
    const ops: [string, () => Promise<unknown>][] = [
      [CALL.byName, () => userStore.byName(probe.user.username)],
      [CALL.usedBytes, () => messages.usedBytes(probe.user.id)],
      [CALL.sumBytes, () => messages.sumBytes(probe.user.id)],
      [CALL.add, () => messages.add(other.user.id, ciphertext, new Date())],
      [CALL.list, () => messages.list(probe.user.id)],
      [CALL.read, () => messages.read(probe.user.id, target)],
      [CALL.markFetched, () => messages.markFetched(probe.user.id, [target.id], new Date())],
    ];
    const results: Map<string, number>[] = [];
    let stored = 1;
    for (const level of levels) {
      while (stored < level) {
        const owner = users[stored % users.length] as BenchUser;
        await messages.add(owner.user.id, ciphertext, new Date());
        stored++;
      }
      const row = new Map<string, number>();
      for (const [name, op] of ops) {
        const times: number[] = [];
        for (let i = 0; i < 10; i++) {
          const start = nowMs();
          await op();
          times.push(nowMs() - start);
        }
        row.set(name, summarize(times).median);
      }
      const start = nowMs();
      await messages.remove(probe.user.id, [target.id]);
      row.set(CALL.remove, nowMs() - start);
      target = await messages.add(probe.user.id, ciphertext, new Date());
      stored += 11;
      results.push(row);
      options.log(`store: calls timed on ${engine} with ${level} messages waiting`);
    }
    return results;
  } finally {
    await env.close();
  }
}
