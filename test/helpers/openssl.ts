/**
 * `openssl s_client` against a listener: which handshakes it completes, and whether it lets a
 * client renegotiate (the `R` command of s_client, TLS 1.2). The real client, never a mock, so
 * what the tests prove is what an operator checks by hand (docs/operations/tls.md).
 */
import { execFile, spawn } from 'node:child_process';

export type StartTls = 'imap' | 'pop3' | 'smtp';

export interface Handshake {
  /** The handshake completed. */
  ok: boolean;
  /** The negotiated suite, e.g. ECDHE-RSA-AES256-GCM-SHA384 (null when none was agreed). */
  cipher: string | null;
  output: string;
}

function target(port: number, starttls?: StartTls): string[] {
  return [
    '-connect',
    `127.0.0.1:${port}`,
    '-servername',
    'localhost',
    ...(starttls ? ['-starttls', starttls] : []),
  ];
}

/** One handshake with the given protocol version and (TLS 1.2) suite, then EOF. */
export function handshake(
  port: number,
  options: {
    starttls?: StartTls;
    version: 'tls1' | 'tls1_1' | 'tls1_2' | 'tls1_3';
    cipher?: string;
  },
): Promise<Handshake> {
  const args = ['s_client', ...target(port, options.starttls), `-${options.version}`];
  if (options.cipher) args.push('-cipher', options.cipher);
  return new Promise((resolve) => {
    const child = execFile('openssl', args, { timeout: 20_000 }, (error, stdout, stderr) => {
      const output = `${stdout}${stderr}`;
      const cipher = /Cipher is (\S+)/.exec(output)?.[1] ?? null;
      const ok = !error && cipher !== null && cipher !== '(NONE)';
      resolve({ ok, cipher: ok ? cipher : null, output });
    });
    child.stdin?.end();
  });
}

export interface Renegotiation {
  /** The server answered a command after the client asked to renegotiate. */
  accepted: boolean;
  /** What s_client printed, for assertion messages. */
  output: string;
}

/**
 * TLS 1.2 session: one command and its reply, then `R` (client-initiated renegotiation), then the
 * same command again. Accepted if the second command is answered.
 */
export async function tryRenegotiation(
  port: number,
  options: { starttls?: StartTls; command: string; reply: RegExp },
): Promise<Renegotiation> {
  const child = spawn(
    'openssl',
    ['s_client', ...target(port, options.starttls), '-tls1_2', '-crlf'],
    { stdio: ['pipe', 'pipe', 'pipe'] },
  );
  let output = '';
  let exited = false;
  const changed: Array<() => void> = [];
  const onOutput = (chunk: Buffer): void => {
    output += chunk.toString('utf8');
    for (const wake of changed.splice(0)) wake();
  };
  child.stdout.on('data', onOutput);
  child.stderr.on('data', onOutput);
  child.once('exit', () => {
    exited = true;
    for (const wake of changed.splice(0)) wake();
  });

  /** Resolves true once `test` holds, false after `ms` or when the client has exited. */
  const until = async (test: () => boolean, ms: number): Promise<boolean> => {
    const deadline = Date.now() + ms;
    while (!test()) {
      if (exited || Date.now() > deadline) return test();
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, Math.max(1, deadline - Date.now()));
        changed.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
    return true;
  };
  /** Replies in what s_client printed after `mark` (its own lines come at any time). */
  const repliedSince = (mark: number): boolean =>
    output
      .slice(mark)
      .split('\n')
      .some((line) => options.reply.test(line.trim()));

  try {
    if (!(await until(() => /Verify return code/.test(output), 15_000)))
      throw new Error(`no TLS session with openssl s_client:\n${output}`);
    const first = output.length;
    child.stdin.write(`${options.command}\n`);
    if (!(await until(() => repliedSince(first), 10_000)))
      throw new Error(`no reply to ${options.command} over TLS:\n${output}`);
    // s_client reads `R` as its command only on a line of its own (a separate read).
    child.stdin.write('R\n');
    await until(() => /RENEGOTIATING/.test(output), 5_000);
    // Give a refusal time to arrive before the next command (a refused session is closed).
    await until(() => exited, 1_500);
    const second = output.length;
    if (!exited) child.stdin.write(`${options.command}\n`);
    const accepted = await until(() => repliedSince(second), 3_000);
    return { accepted, output };
  } finally {
    child.kill('SIGKILL');
  }
}
