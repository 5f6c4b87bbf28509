/** What `kzymy doctor` says about the sqlite engine's file, without starting a writer. */
import { existsSync } from 'node:fs';
import Database from 'better-sqlite3';

export interface SqliteInspection {
  /** `ok`, or what SQLite's quick_check found. */
  integrity: string;
  journalMode: string;
  autoVacuum: number;
  users: number;
  messages: number;
}

/** null when the file does not exist yet (the first start creates it). */
export function inspectSqliteStore(file: string): SqliteInspection | null {
  if (!existsSync(file)) return null;
  const db = new Database(file, { fileMustExist: true, timeout: 2000 });
  try {
    db.pragma('query_only = ON');
    const integrity = (db.pragma('quick_check') as { quick_check: string }[])
      .map((row) => row.quick_check)
      .join('; ');
    const count = (table: string): number =>
      (db.prepare(`SELECT COUNT(*) AS n FROM ${table}`).get() as { n: number }).n;
    return {
      integrity,
      journalMode: db.pragma('journal_mode', { simple: true }) as string,
      autoVacuum: db.pragma('auto_vacuum', { simple: true }) as number,
      users: count('users'),
      messages: count('messages'),
    };
  } finally {
    db.close();
  }
}
