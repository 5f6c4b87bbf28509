/**
 * Running a client program to completion, and reading what it wrote (files, Maildirs).
 */
import { execFile, spawn } from 'node:child_process';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';

export interface RunResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs a client program to completion (with a deadline) and collects its output. */
export function runProgram(
  command: string,
  args: string[],
  options: { env?: NodeJS.ProcessEnv; timeoutMs?: number; cwd?: string } = {},
): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, {
      env: { ...process.env, LC_ALL: 'C', ...options.env },
      cwd: options.cwd,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 60_000);
    child.on('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

/** Whether a program is installed (tests of a missing client are skipped, loudly). */
export function hasProgram(name: string): Promise<boolean> {
  return new Promise((resolve) =>
    execFile('sh', ['-c', `command -v ${name}`], (error) => resolve(!error)),
  );
}

/** Every file under `dir` whose bytes contain `needle`. */
export function filesContaining(dir: string, needle: string): string[] {
  const found: string[] = [];
  const pattern = Buffer.from(needle);
  const walk = (path: string): void => {
    for (const entry of readdirSync(path)) {
      const full = join(path, entry);
      let stats;
      try {
        stats = statSync(full);
      } catch {
        continue;
      }
      if (stats.isDirectory()) walk(full);
      else if (stats.isFile() && !full.endsWith('.sock')) {
        try {
          if (readFileSync(full).includes(pattern)) found.push(full);
        } catch {
          // unreadable (a socket, a vanished temp file): nothing to find there
        }
      }
    }
  };
  walk(dir);
  return found;
}

/** The files of a Maildir (new/ and cur/), in name order. */
export function maildirMessages(dir: string): Buffer[] {
  const files: string[] = [];
  for (const sub of ['new', 'cur']) {
    try {
      for (const name of readdirSync(join(dir, sub))) files.push(join(dir, sub, name));
    } catch {
      // not created: no messages there
    }
  }
  return files.sort().map((file) => readFileSync(file));
}

/** CRLF to LF: clients that write local files (Maildir, MDA pipes) store Unix line ends. */
export function toLf(data: Buffer): Buffer {
  return Buffer.from(data.toString('latin1').replace(/\r\n/g, '\n'), 'latin1');
}
