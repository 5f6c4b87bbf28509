/**
 * Opens the configured store engine. The only place that knows both engines; everything else
 * holds a Store (store.ts).
 */
import type { Store } from './store';
import { MongoStore, type MongoStoreOptions } from './mongodb/store';
import { SqliteStore, type SqliteStoreOptions } from './sqlite/store';

export type StoreOptions =
  | ({ engine: 'sqlite' } & SqliteStoreOptions)
  | ({ engine: 'mongodb' } & MongoStoreOptions);

export async function openStore(options: StoreOptions): Promise<Store> {
  switch (options.engine) {
    case 'sqlite':
      return SqliteStore.open(options);
    case 'mongodb':
      return MongoStore.open(options);
  }
}
