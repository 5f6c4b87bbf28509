/**
 * mbox delivery in the "mboxrd" variant: a `From sender date` separator line, every body line
 * matching /^>*From / quoted with one more ">", and a blank line after each message, so that
 * readers can undo the quoting exactly. The file is locked with a dot-lock (FILE.lock, created
 * exclusively) — the lock procmail, mutt and mail(1) also take — written with O_APPEND, fsynced,
 * and cut back to its old length if anything fails half-way.
 */
import { open, stat, unlink, type FileHandle } from 'node:fs/promises';
import { FetchError } from './errors';
import { toUnixLineEndings } from './message-headers';

const LOCK_WAIT_MS = 60_000;
/** A lock older than this is taken to be left behind by a crashed program (procmail waits 17 min). */
const STALE_LOCK_MS = 5 * 60_000;

export async function deliverToMbox(file: string, message: Buffer, sender: string): Promise<void> {
  const releaseLock = await dotLock(file);
  try {
    const handle = await open(file, 'a+', 0o600);
    let originalSize = 0;
    try {
      originalSize = (await handle.stat()).size;
      const separator = await separatorNeeded(handle, originalSize);
      await handle.write(Buffer.concat([separator, mboxEntry(message, sender, new Date())]));
      await handle.sync();
    } catch (error) {
      await handle.truncate(originalSize).catch(() => undefined);
      throw error;
    } finally {
      await handle.close();
    }
  } catch (error) {
    if (error instanceof FetchError) throw error;
    throw new FetchError(
      'delivery',
      `cannot deliver to the mbox ${file} (${(error as NodeJS.ErrnoException).code ?? (error as Error).message})`,
      { cause: error },
    );
  } finally {
    await releaseLock();
  }
}

/** One mboxrd entry: separator line, quoted message with LF line endings, blank line. */
export function mboxEntry(message: Buffer, sender: string, date: Date): Buffer {
  const body = toUnixLineEndings(message).toString('latin1');
  const quoted = body.replace(/^(>*From )/gm, '>$1');
  const ending = quoted.endsWith('\n') ? '\n' : '\n\n';
  const from = /^[^\s]+$/.test(sender) ? sender : 'MAILER-DAEMON';
  return Buffer.from(`From ${from} ${asctime(date)}\n${quoted}${ending}`, 'latin1');
}

/** A non-empty mbox must end in a blank line before the next From_ line. */
async function separatorNeeded(handle: FileHandle, size: number): Promise<Buffer> {
  if (size === 0) return Buffer.alloc(0);
  const tail = Buffer.alloc(Math.min(2, size));
  await handle.read(tail, 0, tail.length, size - tail.length);
  if (tail.toString('latin1').endsWith('\n\n') || (size === 1 && tail[0] === 0x0a)) {
    return Buffer.alloc(0);
  }
  return Buffer.from(tail[tail.length - 1] === 0x0a ? '\n' : '\n\n');
}

const WEEKDAYS = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'];
const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

/** ctime(3) format, in UTC: "Sat Nov 22 04:46:34 2025". */
function asctime(date: Date): string {
  const p2 = (n: number): string => String(n).padStart(2, '0');
  const time = `${p2(date.getUTCHours())}:${p2(date.getUTCMinutes())}:${p2(date.getUTCSeconds())}`;
  const day = String(date.getUTCDate()).padStart(2, ' ');
  return `${WEEKDAYS[date.getUTCDay()]} ${MONTHS[date.getUTCMonth()]} ${day} ${time} ${date.getUTCFullYear()}`;
}

async function dotLock(file: string): Promise<() => Promise<void>> {
  const lock = `${file}.lock`;
  const deadline = Date.now() + LOCK_WAIT_MS;
  for (let delay = 50; ; delay = Math.min(delay * 2, 1000)) {
    try {
      const handle = await open(lock, 'wx', 0o644);
      await handle.close();
      return () => unlink(lock).catch(() => undefined);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') {
        throw new FetchError(
          'delivery',
          `cannot lock the mbox ${file} (${(error as NodeJS.ErrnoException).code})`,
        );
      }
      const age = await stat(lock).then(
        (s) => Date.now() - s.mtimeMs,
        () => 0,
      );
      if (age > STALE_LOCK_MS) {
        await unlink(lock).catch(() => undefined);
        continue;
      }
      if (Date.now() > deadline) {
        throw new FetchError(
          'delivery',
          `the mbox ${file} stayed locked (${lock}) for ${LOCK_WAIT_MS / 1000} s`,
        );
      }
      await new Promise((resolve) => setTimeout(resolve, delay));
    }
  }
}
