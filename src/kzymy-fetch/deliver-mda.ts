/**
 * Delivery through a mail delivery agent, fetchmail style: `--mda "procmail -f %F -d %T"`.
 * %F becomes the envelope sender, %T the recipient, %% a percent sign; both values are
 * shell-quoted, because they come from the message and a sender could otherwise put
 * `$(...)` into a command line. The message goes to the MDA's standard input; delivery counts
 * only if the MDA exits 0.
 */
import { spawn } from 'node:child_process';
import { FetchError } from './errors';
import type { Envelope } from './message-headers';

const MDA_TIMEOUT_MS = 10 * 60_000;

export function expandMdaCommand(template: string, envelope: Envelope): string {
  return template.replace(/%([FT%])/g, (_, letter: string) =>
    letter === '%' ? '%' : shellQuote(letter === 'F' ? envelope.sender : envelope.recipient),
  );
}

/** POSIX sh single quoting: 'it'\''s'. */
export function shellQuote(value: string): string {
  return `'${value.replace(/'/g, `'\\''`)}'`;
}

export function deliverToMda(template: string, message: Buffer, envelope: Envelope): Promise<void> {
  const command = expandMdaCommand(template, envelope);
  return new Promise((resolve, reject) => {
    // stdout goes to our stderr: a cron job's output is for errors.
    const child = spawn('/bin/sh', ['-c', command], { stdio: ['pipe', process.stderr, 'inherit'] });
    const timer = setTimeout(() => child.kill('SIGKILL'), MDA_TIMEOUT_MS);
    child.on('error', (error) => {
      clearTimeout(timer);
      reject(
        new FetchError('delivery', `cannot start the MDA (${error.message})`, { cause: error }),
      );
    });
    // An MDA that exits without reading everything: its exit status decides.
    child.stdin.on('error', () => undefined);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      if (code === 0) resolve();
      else
        reject(
          new FetchError(
            'delivery',
            `the MDA failed (${signal ? `killed by ${signal}` : `exit status ${code}`}): the message stays on the server`,
          ),
        );
    });
    child.stdin.end(message);
  });
}
