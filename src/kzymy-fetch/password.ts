/**
 * The password comes from a file or from a command (fetchmail's `passwordeval`, e.g.
 * `pass show kzymy`), never from the command line, where any local user could read it in the
 * process list. A password file must not be readable by others, as ssh insists for its keys.
 */
import { spawn } from 'node:child_process';
import { readFile, stat } from 'node:fs/promises';
import { FetchError } from './errors';

export type PasswordSource = { file: string } | { command: string };

const COMMAND_TIMEOUT_MS = 60_000;

export async function readPassword(source: PasswordSource): Promise<string> {
  const password =
    'file' in source ? await fromFile(source.file) : await fromCommand(source.command);
  if (password.length === 0) throw new FetchError('config', 'the password is empty');
  return password;
}

async function fromFile(file: string): Promise<string> {
  let content: string;
  try {
    const info = await stat(file);
    if ((info.mode & 0o077) !== 0) {
      throw new FetchError(
        'config',
        `the password file ${file} is readable by others: chmod 600 ${file}`,
      );
    }
    content = await readFile(file, 'utf8');
  } catch (error) {
    if (error instanceof FetchError) throw error;
    throw new FetchError(
      'config',
      `cannot read the password file ${file} (${(error as NodeJS.ErrnoException).code ?? 'error'})`,
    );
  }
  return firstLine(content);
}

function fromCommand(command: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn('/bin/sh', ['-c', command], { stdio: ['ignore', 'pipe', 'inherit'] });
    const out: Buffer[] = [];
    const timer = setTimeout(() => child.kill('SIGKILL'), COMMAND_TIMEOUT_MS);
    child.stdout.on('data', (chunk: Buffer) => out.push(chunk));
    child.on('error', (error) => {
      clearTimeout(timer);
      reject(new FetchError('config', `cannot run the password command (${error.message})`));
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      if (code !== 0) {
        reject(new FetchError('config', `the password command failed (exit status ${code})`));
        return;
      }
      resolve(firstLine(Buffer.concat(out).toString('utf8')));
    });
  });
}

/** The first line, without its line ending (as `pass` and fetchmail's passwordeval use it). */
function firstLine(text: string): string {
  return text.split(/\r?\n/, 1)[0] ?? '';
}
