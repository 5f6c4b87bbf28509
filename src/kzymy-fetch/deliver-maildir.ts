/**
 * Maildir delivery as qmail's maildir(5) describes it: write the message to tmp/ under a unique
 * name, fsync it, link it into new/ (a link never overwrites), remove the tmp/ name, and fsync
 * new/ so the directory entry itself survives a power cut. Only then is delivery "done".
 */
import { randomBytes } from 'node:crypto';
import { link, mkdir, open, unlink } from 'node:fs/promises';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { FetchError } from './errors';
import { fsyncDirectory } from './state';

let counter = 0;

export async function deliverToMaildir(dir: string, message: Buffer): Promise<string> {
  try {
    for (const sub of ['tmp', 'new', 'cur']) {
      await mkdir(join(dir, sub), { recursive: true, mode: 0o700 });
    }
    const name = uniqueName(message.length);
    const temporary = join(dir, 'tmp', name);
    const handle = await open(temporary, 'wx', 0o600);
    try {
      await handle.writeFile(message);
      await handle.sync();
    } catch (error) {
      await handle.close();
      await unlink(temporary).catch(() => undefined);
      throw error;
    }
    await handle.close();
    const final = join(dir, 'new', name);
    await link(temporary, final);
    await unlink(temporary);
    await fsyncDirectory(join(dir, 'new'));
    return final;
  } catch (error) {
    throw new FetchError(
      'delivery',
      `cannot deliver to the Maildir ${dir} (${(error as NodeJS.ErrnoException).code ?? (error as Error).message})`,
      { cause: error },
    );
  }
}

/** time.M<usec>P<pid>Q<n>R<random>.host,S=<size> (the modern Maildir unique name). */
function uniqueName(size: number): string {
  const now = process.hrtime.bigint();
  const seconds = Math.floor(Date.now() / 1000);
  const micro = Number((now / 1000n) % 1_000_000n);
  counter += 1;
  // maildir(5): "/" and ":" in the host name are written as \057 and \072.
  const host = hostname().replace(/\//g, '\\057').replace(/:/g, '\\072') || 'localhost';
  const random = randomBytes(8).toString('hex');
  return `${seconds}.M${micro}P${process.pid}Q${counter}R${random}.${host},S=${size}`;
}
