/**
 * Runs Haraka as a child process with kzymy's plugin: writes the Haraka directory under
 * <dataDir>/haraka (regenerated at every start), spawns `node node_modules/Haraka/bin/haraka -c
 * <dir>`, waits until the SMTP port answers and stops it cleanly. Used by `npm start` and by the
 * tests (port 0 picks a free port).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { closeSync, mkdirSync, openSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { stopChild } from '../../util/stop-child';
import type { KzymyConfig } from '../../config/schema';
import type { Logger } from '../../log/logger';
import { resolveDataDir } from '../../embedded/paths';
import { freePort, waitForPort } from '../../util/ports';
import { loadTls, type TlsMaterial } from '../../tls/material';
import { harakaFiles, type HarakaLogLevel } from './config-files';
import {
  DEFAULT_MAX_LINE_BYTES,
  DEFAULT_TIMEOUTS,
  encodeSettings,
  SETTINGS_ENV,
  type HookTimeouts,
} from './settings';

export interface StartHarakaOptions {
  /**
   * The MongoDB and Redis actually in use (the embedded ones when the config leaves them empty);
   * mongodbUrl is '' on the sqlite engine, whose file Haraka opens itself.
   */
  mongodbUrl: string;
  redisUrl: string;
  logger: Logger;
  /** Overrides config.smtp.port; 0 picks a free port. */
  port?: number;
  /** The certificate pair; by default config.tls (or the dev pair under dataDir). */
  tls?: Pick<TlsMaterial, 'keyFile' | 'certFile'>;
  timeouts?: Partial<HookTimeouts>;
  /** How long a store operation waits for the database before SMTP answers 4xx (default 5 s). */
  storeTimeoutMs?: number;
  maxLineBytes?: number;
  readyTimeoutMs?: number;
  /** Haraka's own log level (default warn); its lines are filtered by the plugin whatever it is. */
  harakaLogLevel?: HarakaLogLevel;
}

export interface RunningHaraka {
  port: number;
  host: string;
  /** The generated Haraka directory. */
  dir: string;
  /** Haraka's stdout and stderr (kzymy's JSON lines from inside Haraka included). */
  logFile: string;
  /** The child's pid (for tests and operators; stop it with close()). */
  pid: number;
  /** The child itself, for the parent's metrics aggregation; stop it with close(). */
  process: ChildProcess;
  /** Settles when Haraka exits, for whatever reason (a supervisor can stop or restart). */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  close(): Promise<void>;
}

const READY_TIMEOUT_MS = 30_000;
const STOP_TIMEOUT_MS = 10_000;

export async function startHaraka(
  config: Readonly<KzymyConfig>,
  options: StartHarakaOptions,
): Promise<RunningHaraka> {
  const dataDir = resolveDataDir(config.dataDir);
  const dir = join(dataDir, 'haraka');
  const host = config.smtp.host;
  const port = (options.port ?? config.smtp.port) || (await freePort(host));
  const tls =
    options.tls ??
    (await loadTls({ key: config.tls.key, cert: config.tls.cert, dataDir, domain: config.domain }));
  const timeouts = { ...DEFAULT_TIMEOUTS, ...options.timeouts };
  const maxLineBytes = options.maxLineBytes ?? DEFAULT_MAX_LINE_BYTES;

  // Regenerated each time: nothing an earlier run or an operator left there is trusted.
  rmSync(join(dir, 'config'), { recursive: true, force: true });
  rmSync(join(dir, 'plugins'), { recursive: true, force: true });
  const files = harakaFiles({
    config,
    host,
    port,
    tlsKeyFile: tls.keyFile,
    tlsCertFile: tls.certFile,
    pluginModule: require.resolve('../../../haraka-plugins/kzymy'),
    noSpoolDir: join(dir, 'no-spool'),
    internalCmdKey: randomBytes(32).toString('hex'),
    maxLineBytes,
    pluginTimeoutSeconds: Math.ceil(Math.max(...Object.values(timeouts)) / 1000) + 5,
    logLevel: options.harakaLogLevel ?? 'warn',
  });
  for (const [name, content] of files) {
    const file = join(dir, name);
    mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
    writeFileSync(file, content, { mode: 0o600 });
  }

  const settings = encodeSettings({
    config: {
      ...config,
      mongodb: { ...config.mongodb, url: options.mongodbUrl },
      redis: { ...config.redis, url: options.redisUrl },
    },
    timeouts,
    storeTimeoutMs: options.storeTimeoutMs ?? 5000,
    maxLineBytes,
  });

  const logFile = join(dataDir, 'logs', 'haraka.log');
  mkdirSync(dirname(logFile), { recursive: true, mode: 0o700 });
  const log = openSync(logFile, 'a', 0o600);
  const env: NodeJS.ProcessEnv = { ...process.env, [SETTINGS_ENV]: settings };
  // Haraka reads these to find its config; only ours may count.
  delete env.HARAKA;
  delete env.HARAKA_TEST_DIR;
  delete env.HARAKA_JS_CONFIG;
  const child = spawn(process.execPath, [harakaBin(), '-c', dir], {
    cwd: dir,
    env,
    // The IPC channel carries only metrics requests and replies (src/metrics/child-metrics.ts).
    stdio: ['ignore', log, log, 'ipc'],
  });
  closeSync(log);
  const stopOnExit = (): void => {
    child.kill('SIGKILL');
  };
  process.once('exit', stopOnExit);
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    child.once('exit', (code, signal) => {
      process.removeListener('exit', stopOnExit);
      options.logger.info('service.exit', { service: 'haraka', code, signal });
      resolve({ code, signal });
    });
  });

  try {
    await waitForPort(
      host,
      port,
      options.readyTimeoutMs ?? READY_TIMEOUT_MS,
      () => child.exitCode === null && child.signalCode === null,
    );
  } catch (error) {
    await stopChild(child, 'SIGINT', STOP_TIMEOUT_MS);
    throw new Error(`Haraka did not start (see ${logFile}): ${(error as Error).message}`);
  }
  options.logger.info('service.ready', { service: 'haraka', port });
  return {
    port,
    host,
    dir,
    logFile,
    pid: child.pid ?? 0,
    process: child,
    exited,
    close: () => stopChild(child, 'SIGINT', STOP_TIMEOUT_MS),
  };
}

/** node_modules/Haraka/bin/haraka, wherever npm put it. */
function harakaBin(): string {
  return join(dirname(require.resolve('Haraka/package.json')), 'bin', 'haraka');
}
