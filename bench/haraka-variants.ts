/**
 * The Haraka processes the inbound and memory scenarios drive:
 *
 * - **kzymy**: `startHaraka` exactly as `npm start` runs it (kzymy plugin: RCPT lookup, encrypt,
 *   store, publish).
 * - **no encryption**: the same, with bench/haraka-plaintext.js preloaded so that
 *   `encryptToPgpMime` returns its input (bench only; stores plaintext in a throwaway database).
 * - **discard**: the same Haraka version with kzymy's generated configuration, but the plugins
 *   replaced by Haraka's own `rcpt_to.in_host_list` and `queue/discard`: the SMTP front end's
 *   ceiling on this machine.
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { stopChild } from '../src/util/stop-child';
import { freePort, waitForPort } from '../src/util/ports';
import { harakaFiles } from '../src/smtp/haraka/config-files';
import { startHaraka } from '../src/smtp/haraka/runner';
import { DEFAULT_MAX_LINE_BYTES } from '../src/smtp/haraka/settings';
import { BENCH_DOMAIN, type BenchEnv } from './env';

export type HarakaVariant = 'kzymy' | 'no-encryption' | 'discard';

export interface BenchHaraka {
  variant: HarakaVariant;
  host: string;
  port: number;
  pid: number;
  close(): Promise<void>;
}

export interface VariantOptions {
  /**
   * Write a V8 CPU profile of the Haraka process's main thread to this file when it exits, of
   * what follows startCpuProfile(pid) (bench/proc.ts).
   */
  cpuProfile?: string;
}

export async function startVariant(
  env: BenchEnv,
  variant: HarakaVariant,
  name: string,
  options: VariantOptions = {},
): Promise<BenchHaraka> {
  const nodeOptions: string[] = [];
  const extraEnv: Record<string, string> = {};
  if (options.cpuProfile) {
    nodeOptions.push(`--require=${join(__dirname, 'cpu-profiler-preload.js')}`);
    extraEnv.KZYMY_BENCH_CPU_PROFILE = options.cpuProfile;
    extraEnv.KZYMY_BENCH_CPU_PROFILE_ON_SIGNAL = '1';
  }
  if (variant === 'discard') return startDiscard(env, name, nodeOptions, extraEnv);
  if (variant === 'no-encryption') {
    nodeOptions.push(`--require=${join(__dirname, 'haraka-plaintext.js')}`);
  }
  const config = env.config(name);
  // startHaraka spawns with a copy of process.env: set these for that spawn only.
  const saved = { ...process.env };
  if (nodeOptions.length > 0) {
    process.env.NODE_OPTIONS = [saved.NODE_OPTIONS ?? '', ...nodeOptions].join(' ').trim();
  }
  Object.assign(process.env, extraEnv);
  try {
    const haraka = await startHaraka(config, {
      mongodbUrl: env.mongoUrl,
      redisUrl: env.redisUrl,
      logger: env.logger,
      port: 0,
      tls: env.tls,
    });
    return { variant, host: haraka.host, port: haraka.port, pid: haraka.pid, close: haraka.close };
  } finally {
    for (const key of ['NODE_OPTIONS', ...Object.keys(extraEnv)]) {
      if (saved[key] === undefined) delete process.env[key];
      else process.env[key] = saved[key];
    }
  }
}

async function startDiscard(
  env: BenchEnv,
  name: string,
  nodeOptions: string[],
  extraEnv: Record<string, string>,
): Promise<BenchHaraka> {
  const config = env.config(name);
  const dir = join(env.dataDir, name, 'haraka');
  const host = '127.0.0.1';
  const port = await freePort(host);
  const files = harakaFiles({
    config,
    host,
    port,
    tlsKeyFile: env.tls.keyFile,
    tlsCertFile: env.tls.certFile,
    pluginModule: '/nonexistent',
    noSpoolDir: join(dir, 'no-spool'),
    internalCmdKey: randomBytes(32).toString('hex'),
    maxLineBytes: DEFAULT_MAX_LINE_BYTES,
    pluginTimeoutSeconds: 60,
    logLevel: 'warn',
  });
  files.delete('plugins/kzymy.js');
  files.delete('config/kzymy.timeout');
  files.set('config/plugins', 'tls\nrcpt_to.in_host_list\nqueue/discard\n');
  files.set('config/host_list_regex', `.*\\.${BENCH_DOMAIN.replace(/\./g, '\\.')}\n`);
  for (const [file, content] of files) {
    mkdirSync(dirname(join(dir, file)), { recursive: true });
    writeFileSync(join(dir, file), content);
  }
  const harakaBin = join(dirname(require.resolve('Haraka/package.json')), 'bin', 'haraka');
  // queue/discard only discards when told to (plugins/queue/discard.js).
  const childEnv: NodeJS.ProcessEnv = { ...process.env, ...extraEnv, YES_REALLY_DO_DISCARD: '1' };
  delete childEnv.HARAKA;
  if (nodeOptions.length > 0) childEnv.NODE_OPTIONS = nodeOptions.join(' ');
  const child = spawn(process.execPath, [harakaBin, '-c', dir], {
    cwd: dir,
    env: childEnv,
    stdio: 'ignore',
  });
  const alive = (): boolean => child.exitCode === null && child.signalCode === null;
  try {
    await waitForPort(host, port, 30_000, alive);
  } catch (error) {
    await stopChild(child, 'SIGINT', 10_000);
    throw error;
  }
  return {
    variant: 'discard',
    host,
    port,
    pid: child.pid ?? 0,
    close: () => stopChild(child, 'SIGINT', 10_000),
  };
}
