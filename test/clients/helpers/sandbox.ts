/**
 * Runs a user's command the way the user would, in a home directory of its own: a private mount
 * namespace (unshare) in which the test's home directory is mounted over /root (so HOME, `~`
 * and what root's tools take from the password database all mean it — procmail, run by root,
 * reads /root/.procmailrc) and a resolv.conf naming only the DNS witness is mounted over
 * /etc/resolv.conf. Nothing outside the namespace sees either mount. Needs root.
 */
import { spawn } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { projectRoot } from '../../../src/util/project-root';

export interface SandboxRun {
  code: number | null;
  stdout: string;
  stderr: string;
}

export interface SandboxOptions {
  /** The real directory that becomes /root. */
  home: string;
  /** A resolv.conf to mount over /etc/resolv.conf. */
  resolvConf: string;
  /**
   * A CA bundle to mount over /etc/ssl/certs/ca-certificates.crt, Debian's one list of trusted
   * CAs that OpenSSL, GnuTLS and Python read: the machine's, plus the test server's certificate.
   */
  caBundle: string;
  env?: NodeJS.ProcessEnv;
  timeoutMs?: number;
}

export const isRoot = process.getuid?.() === 0;

/** The program, its arguments and environment that run `sh -c command` in the sandbox. */
export function sandboxCommand(
  command: string,
  options: SandboxOptions,
): { argv: string[]; env: NodeJS.ProcessEnv } {
  const script = [
    'mount --bind "$1" /etc/resolv.conf && mount --bind "$2" /root || exit 90',
    'mount --bind "$3" /etc/ssl/certs/ca-certificates.crt || exit 90',
    'cd /root',
    'sh -c "$4"',
    'status=$?',
    'gpgconf --kill all >/dev/null 2>&1',
    'exit $status',
  ].join('\n');
  return {
    argv: [
      'unshare',
      '--mount',
      'sh',
      '-c',
      script,
      'sandbox',
      options.resolvConf,
      options.home,
      options.caBundle,
      command,
    ],
    env: {
      PATH: '/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin',
      LC_ALL: 'C.UTF-8',
      ...options.env,
      HOME: '/root',
    },
  };
}

/** A directory with a `kzymy-fetch` on it, as `npm link` or a package would install it. */
export function binDir(scratch: string): string {
  const dir = join(scratch, 'bin');
  mkdirSync(dir, { recursive: true });
  const cli = join(projectRoot(), 'dist', 'src', 'kzymy-fetch', 'cli.js');
  writeFileSync(join(dir, 'kzymy-fetch'), `#!/bin/sh\nexec ${process.execPath} ${cli} "$@"\n`, {
    mode: 0o755,
  });
  return dir;
}

/** A file in the home directory, `~/…` as the guides write it. */
export function homePath(home: string, path: string): string {
  if (!path.startsWith('~/')) throw new Error(`not a home path: ${path}`);
  return join(home, path.slice(2));
}

export function writeHomeFile(home: string, path: string, text: string): void {
  const file = homePath(home, path);
  mkdirSync(dirname(file), { recursive: true });
  writeFileSync(file, text);
}

/**
 * `sh -c command` inside the sandbox, with /root as home and working directory. The gpg-agent a
 * client's gpg started is stopped afterwards: it would otherwise outlive the namespace.
 */
export function inSandbox(command: string, options: SandboxOptions): Promise<SandboxRun> {
  const { argv, env } = sandboxCommand(command, options);
  return new Promise((resolve, reject) => {
    const child = spawn(argv[0] as string, argv.slice(1), {
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
      // Its own process group, so a deadline stops the client and whatever it started.
      detached: true,
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const timer = setTimeout(() => {
      if (child.pid) process.kill(-child.pid, 'SIGKILL');
    }, options.timeoutMs ?? 60_000);
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
