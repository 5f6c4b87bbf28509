/** Where the project keeps things on disk, independent of the working directory. */
import { join, resolve } from 'node:path';
import { projectRoot } from '../util/project-root';

export const FERRETDB_VERSION = 'v1.24.2';
/** The build directory's suffix: kzymy's patches (scripts/ferretdb, docs/decisions/0004). */
export const FERRETDB_BUILD = `${FERRETDB_VERSION}-kzymy1`;

/** The FerretDB binary scripts/setup.sh builds; KZYMY_FERRETDB_BIN overrides it. */
export function ferretdbBinary(env: NodeJS.ProcessEnv = process.env): string {
  return (
    env.KZYMY_FERRETDB_BIN ||
    join(projectRoot(), '.tools', `ferretdb-${FERRETDB_BUILD}`, 'ferretdb')
  );
}

export function resolveDataDir(dataDir: string): string {
  return resolve(projectRoot(), dataDir);
}

/** The sqlite engine's database file under the data directory (its -wal and -shm beside it). */
export function sqliteStoreFile(dataDir: string): string {
  return join(resolveDataDir(dataDir), 'store', 'kzymy.sqlite');
}
