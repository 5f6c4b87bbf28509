/**
 * `kzymy store copy --to mongodb://… [--database NAME] [--from FILE] [--json]`: copies the sqlite
 * store (this configuration's file, or --from) to MongoDB, for the move to several machines
 * (docs/operations/deploy.md). Safe to run again: see src/store/copy.ts.
 */
import { existsSync } from 'node:fs';
import type { KzymyConfig } from '../config/schema';
import { sqliteStoreFile } from '../embedded/paths';
import { copySqliteToMongo, type CopyReport } from '../store/copy';
import { CliError } from './args';
import { hostsOf } from './doctor/common';

type Print = (line: string) => void;

export async function storeCopy(
  config: Readonly<KzymyConfig>,
  options: { to: string | undefined; database: string | undefined; from: string | undefined },
  json: boolean,
  print: Print,
): Promise<void> {
  if (!options.to || !/^mongodb(\+srv)?:\/\//.test(options.to))
    throw new CliError('store copy needs --to mongodb://… (the MongoDB to copy to)', 64);
  let file = options.from;
  if (!file) {
    if (config.store.engine !== 'sqlite')
      throw new CliError(
        'the configured store is not sqlite: name the sqlite store file with --from FILE',
        64,
      );
    file = sqliteStoreFile(config.dataDir);
  }
  if (!existsSync(file)) throw new CliError(`no sqlite store at ${file}`, 66);
  const database = options.database ?? config.mongodb.database;
  const where = `${hostsOf(options.to)}, database ${database}`;
  let report: CopyReport;
  try {
    report = await copySqliteToMongo({ file, url: options.to, database });
  } catch (error) {
    // The URL may hold a password: the error is named by its kind and the hosts only.
    const name = error instanceof Error ? error.name : 'Error';
    const detail = name === 'UsernameConflictError' ? `: ${(error as Error).message}` : '';
    throw new CliError(
      `store copy to ${where} failed (${name})${detail}; run it again to resume`,
      75,
    );
  }
  if (json) {
    print(JSON.stringify(report));
    return;
  }
  const { users, messages } = report;
  print(
    `copied ${file} to ${where}: ${users.copied} users new, ${users.updated} brought up to date, ` +
      `${users.removed} removed (gone from the source); ` +
      `${messages.copied} messages new, ${messages.updated} already there, ` +
      `${messages.removed} removed (gone from the source), ${messages.vanished} deleted while copying`,
  );
}
