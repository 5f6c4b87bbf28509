/**
 * The embedded services: a private redis-server, and for the mongodb store engine FerretDB with
 * its SQLite backend, on loopback, with data under the data directory. Used by `npm start` when
 * no REDIS_URL / MONGODB_URL is configured, and by the test suite.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, openSync, closeSync } from 'node:fs';
import { join } from 'node:path';
import { stopChild } from '../util/stop-child';
import { ferretdbBinary } from './paths';
import { freePort, waitForPort } from '../util/ports';

export interface RunningService {
  url: string;
  port: number;
  /** The server process (for operators and tests; stop it with stop()). */
  pid: number;
  /** Settles when the process exits, for whatever reason (src/embedded/supervisor.ts). */
  exited: Promise<ServiceExit>;
  stop(): Promise<void>;
}

export interface ServiceExit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

export class MissingToolError extends Error {
  override name = 'MissingToolError';
}

const HOST = '127.0.0.1';
const READY_TIMEOUT_MS = 30_000;

/** Every child we start, so an exiting parent never leaves one behind. */
const children = new Set<ChildProcess>();
process.once('exit', () => {
  for (const child of children) child.kill('SIGKILL');
});

/**
 * Deleted means deleted in the embedded FerretDB's SQLite files too (as in the sqlite engine,
 * src/store/sqlite/schema.ts): deleted documents are overwritten, free pages can be given back
 * (FerretDB's `compact` runs incremental_vacuum), and the log is cut back to nothing each time a
 * checkpoint empties it. FerretDB passes `_pragma` parameters of its SQLite URL to every
 * connection, in order, and adds journal_mode(wal) after them. busy_timeout comes first (it is
 * FerretDB's own default): a pragma run before it on a busy file fails at once with SQLITE_BUSY.
 */
export const FERRETDB_SQLITE_PRAGMAS = [
  'busy_timeout(10000)',
  'secure_delete(on)',
  'auto_vacuum(incremental)',
  'journal_size_limit(0)',
]
  .map((pragma) => `_pragma=${encodeURIComponent(pragma)}`)
  .join('&');

export async function startFerretDb(options: {
  dataDir: string;
  port: number;
}): Promise<RunningService> {
  const binary = ferretdbBinary();
  if (!existsSync(binary)) {
    throw new MissingToolError(
      `FerretDB is not built (${binary}): store.engine is mongodb without a mongodb.url. Run npm run setup -- --mongodb (needs Go), set MONGODB_URL to a MongoDB server, or use store.engine sqlite.`,
    );
  }
  const dir = join(options.dataDir, 'ferretdb');
  mkdirSync(join(dir, 'sqlite'), { recursive: true, mode: 0o700 });
  const port = options.port || (await freePort(HOST));
  const child = startChild(
    binary,
    [
      '--handler=sqlite',
      `--sqlite-url=file:${join(dir, 'sqlite')}/?${FERRETDB_SQLITE_PRAGMAS}`,
      `--state-dir=${dir}`,
      `--listen-addr=${HOST}:${port}`,
      '--debug-addr=-',
      // FerretDB would otherwise offer to report usage to its makers.
      '--telemetry=disable',
      '--log-level=warn',
    ],
    join(options.dataDir, 'logs', 'ferretdb.log'),
  );
  const exited = exitOf(child);
  await awaitReady(child, port, 'FerretDB');
  return {
    url: `mongodb://${HOST}:${port}/`,
    port,
    pid: child.pid ?? 0,
    exited,
    stop: () => stopChild(child, 'SIGTERM', 5000),
  };
}

export async function startRedis(options: {
  dataDir: string;
  port: number;
}): Promise<RunningService> {
  const probe = spawnSync('redis-server', ['--version'], { stdio: 'ignore' });
  if (probe.error || probe.status !== 0) {
    throw new MissingToolError(
      'redis-server is not installed. Run scripts/setup.sh (apt-get install redis-server), or set REDIS_URL.',
    );
  }
  const dir = join(options.dataDir, 'redis');
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const port = options.port || (await freePort(HOST));
  // Redis holds only transient state here (events, counters, single-use tokens): no persistence.
  const child = startChild(
    'redis-server',
    [
      '--bind',
      HOST,
      '--port',
      String(port),
      '--dir',
      dir,
      '--save',
      '',
      '--appendonly',
      'no',
      '--protected-mode',
      'yes',
      '--daemonize',
      'no',
      '--loglevel',
      'warning',
    ],
    join(options.dataDir, 'logs', 'redis.log'),
  );
  const exited = exitOf(child);
  await awaitReady(child, port, 'redis-server');
  return {
    url: `redis://${HOST}:${port}/0`,
    port,
    pid: child.pid ?? 0,
    exited,
    stop: () => stopChild(child, 'SIGTERM', 5000),
  };
}

function startChild(command: string, args: string[], logFile: string): ChildProcess {
  mkdirSync(join(logFile, '..'), { recursive: true, mode: 0o700 });
  const log = openSync(logFile, 'a', 0o600);
  const child = spawn(command, args, { stdio: ['ignore', log, log] });
  closeSync(log);
  children.add(child);
  child.once('exit', () => children.delete(child));
  return child;
}

function exitOf(child: ChildProcess): Promise<ServiceExit> {
  return new Promise((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
}

async function awaitReady(child: ChildProcess, port: number, name: string): Promise<void> {
  try {
    await waitForPort(
      HOST,
      port,
      READY_TIMEOUT_MS,
      () => child.exitCode === null && child.signalCode === null,
    );
  } catch (error) {
    await stopChild(child, 'SIGTERM', 5000);
    throw new Error(`${name} did not start: ${(error as Error).message}`);
  }
}
