/**
 * The local record of what was delivered but may not yet be deleted on the server. A message is
 * recorded after local delivery succeeded and before it is marked for deletion; if kzymy-fetch
 * dies in between, the next run finds the record, matches it by key (IMAP UIDVALIDITY/UID, POP3
 * UIDL) *and* by the SHA-256 of the server's copy, and deletes the message without delivering
 * it again. Once the server confirms the deletion the record is dropped, so the file stays small.
 *
 * Writes are atomic (temporary file, fsync, rename, fsync of the directory): after a crash the
 * file is either the old or the new version, never a torn one. A lock file keeps two
 * kzymy-fetch processes (a cron job and a --watch) from working on one account at once.
 */
import { createHash } from 'node:crypto';
import { constants } from 'node:fs';
import { mkdir, open, readFile, rename, unlink } from 'node:fs/promises';
import { dirname } from 'node:path';
import { FetchError } from './errors';

interface StateFile {
  version: 1;
  /** account → message key → SHA-256 (hex) of the server's copy. */
  accounts: Record<string, Record<string, string>>;
}

export function sha256(content: Buffer): string {
  return createHash('sha256').update(content).digest('hex');
}

export class DeliveryState {
  private constructor(
    private readonly file: string,
    private readonly account: string,
    private data: StateFile,
  ) {}

  static async load(file: string, account: string): Promise<DeliveryState> {
    let data: StateFile = { version: 1, accounts: {} };
    try {
      const parsed = JSON.parse(await readFile(file, 'utf8')) as Partial<StateFile>;
      if (parsed.version !== 1 || typeof parsed.accounts !== 'object' || !parsed.accounts) {
        throw new Error('unknown format');
      }
      data = parsed as StateFile;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') {
        throw new FetchError(
          'config',
          `the state file ${file} is unreadable (${(error as Error).message})`,
        );
      }
    }
    return new DeliveryState(file, account, data);
  }

  /** True when this very message (same key, same content) was delivered already. */
  wasDelivered(key: string, hash: string): boolean {
    return this.data.accounts[this.account]?.[key] === hash;
  }

  async recordDelivered(key: string, hash: string): Promise<void> {
    const entries = (this.data.accounts[this.account] ??= {});
    entries[key] = hash;
    await this.save();
  }

  /** Forgets messages the server confirmed deleted. */
  async forget(keys: readonly string[]): Promise<void> {
    const entries = this.data.accounts[this.account];
    if (!entries || keys.length === 0) return;
    let changed = false;
    for (const key of keys) {
      if (key in entries) {
        delete entries[key];
        changed = true;
      }
    }
    if (changed) await this.save();
  }

  /** Forgets records of messages no longer on the server (deleted after a crash, or expired). */
  async keepOnly(present: readonly string[]): Promise<void> {
    const entries = this.data.accounts[this.account];
    if (!entries) return;
    const keep = new Set(present);
    await this.forget(Object.keys(entries).filter((key) => !keep.has(key)));
  }

  private async save(): Promise<void> {
    await writeFileAtomic(this.file, JSON.stringify(this.data, null, 1) + '\n');
  }
}

/** Write to FILE.tmp, fsync, rename over FILE, fsync the directory. */
export async function writeFileAtomic(file: string, content: string | Buffer): Promise<void> {
  const dir = dirname(file);
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const temporary = `${file}.${process.pid}.tmp`;
  const handle = await open(temporary, 'w', 0o600);
  try {
    await handle.writeFile(content);
    await handle.sync();
  } finally {
    await handle.close();
  }
  await rename(temporary, file);
  await fsyncDirectory(dir);
}

export async function fsyncDirectory(dir: string): Promise<void> {
  const handle = await open(dir, constants.O_RDONLY | constants.O_DIRECTORY);
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/** An exclusive lock next to the state file; a lock left by a dead process is taken over. */
export async function lockState(file: string): Promise<() => Promise<void>> {
  const lock = `${file}.lock`;
  await mkdir(dirname(lock), { recursive: true, mode: 0o700 });
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const handle = await open(lock, 'wx', 0o600);
      await handle.writeFile(`${process.pid}\n`);
      await handle.close();
      return () => unlink(lock).catch(() => undefined);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      const pid = Number((await readFile(lock, 'utf8').catch(() => '')).trim());
      if (pid > 0 && isAlive(pid)) {
        throw new FetchError('busy', `another kzymy-fetch (pid ${pid}) is working on this account`);
      }
      await unlink(lock).catch(() => undefined);
    }
  }
  throw new FetchError('busy', `cannot take the lock ${lock}`);
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}
