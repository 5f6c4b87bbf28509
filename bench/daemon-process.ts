/** Starts bench/imap-daemon.js as a child and stops it; see that file. */
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { stopChild } from '../src/util/stop-child';
import type { BenchEnv } from './env';
import { startCpuProfile } from './proc';

export interface DaemonProcess {
  pid: number;
  imapPort: number;
  /** With DaemonOptions.cpuProfile: starts the profile now. */
  startProfile(): Promise<void>;
  close(): Promise<void>;
}

export interface DaemonOptions {
  /**
   * Write a V8 CPU profile of the daemon's main thread to this file when it exits, of what
   * follows startProfile() (bench/cpu-profiler-preload.ts).
   */
  cpuProfile?: string;
}

export async function startImapDaemon(
  env: BenchEnv,
  name: string,
  options: DaemonOptions = {},
): Promise<DaemonProcess> {
  const config = env.config(name, {
    imap: { host: '127.0.0.1', port: 0, tlsPort: 0 },
  });
  const nodeArgs = options.cpuProfile
    ? [`--require=${join(__dirname, 'cpu-profiler-preload.js')}`]
    : [];
  const child = spawn(process.execPath, [...nodeArgs, join(__dirname, 'imap-daemon.js')], {
    env: {
      ...process.env,
      KZYMY_BENCH_CONFIG: JSON.stringify(config),
      ...(options.cpuProfile
        ? { KZYMY_BENCH_CPU_PROFILE: options.cpuProfile, KZYMY_BENCH_CPU_PROFILE_ON_SIGNAL: '1' }
        : {}),
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const imapPort = await new Promise<number>((resolve, reject) => {
    let out = '';
    let err = '';
    const timer = setTimeout(
      () => reject(new Error('the IMAP daemon did not start in 30 s')),
      30_000,
    );
    child.stderr.on('data', (chunk: Buffer) => (err += chunk.toString()));
    child.stdout.on('data', (chunk: Buffer) => {
      out += chunk.toString();
      const line = out.split('\n')[0];
      if (out.includes('\n') && line) {
        clearTimeout(timer);
        resolve((JSON.parse(line) as { imapPort: number }).imapPort);
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`the IMAP daemon exited with ${code}: ${err.trim().slice(0, 2000)}`));
    });
  });
  child.stdout.resume();
  return {
    pid: child.pid ?? 0,
    imapPort,
    startProfile: () => startCpuProfile(child.pid ?? 0),
    close: () => stopChild(child, 'SIGTERM', 10_000),
  };
}
