import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { ACCESS_MIGRATIONS } from '../access/index.ts';
import type { AccessTables } from '../access/index.ts';
import { createKeyRing, KEY_RING_MANIFEST_FILE, loadKeyRing } from '../crypto/index.ts';
import type { KeyRing } from '../crypto/index.ts';
import { RESULTS_MIGRATIONS } from '../results/index.ts';
import type { ResultsTables } from '../results/index.ts';
import { migrate, openDatabase } from '../store/index.ts';
import type { DatabaseHandle, Migration } from '../store/index.ts';
import {
  EXPORT_MIGRATIONS,
  IMPORT_MIGRATIONS,
  VOTERS_MIGRATIONS,
  VoterStoreError,
} from '../voters/index.ts';
import type { ExportTables, ImportTables, VotersTables } from '../voters/index.ts';
import { dataDir } from './data-dir.ts';

/** File name of the SQLite database in a data directory, used unless `--database` is given. */
export const DATABASE_FILE = 'votervault.db';

/**
 * Every module's migrations in the one order every command applies them: the voter store's
 * tables first, then the tables that refer to voters. One list, so that no command finds a
 * table it does not know and refuses the database as newer than the code.
 */
export const ALL_MIGRATIONS: readonly Migration[] = [
  ...VOTERS_MIGRATIONS,
  ...IMPORT_MIGRATIONS,
  ...EXPORT_MIGRATIONS,
  ...ACCESS_MIGRATIONS,
  ...RESULTS_MIGRATIONS,
];

/** Every table of the project. */
export type AllTables = VotersTables & ImportTables & ExportTables & AccessTables & ResultsTables;

/** The database location of a data directory: `database` when given, else its SQLite file. */
export function databaseLocation(dir: string, database?: string): string {
  return database ?? join(dataDir(dir).root, DATABASE_FILE);
}

/** An open data store: the database (migrated) and the key ring of a data directory. */
export interface DataStore {
  readonly handle: DatabaseHandle<AllTables>;
  readonly ring: KeyRing;
}

/**
 * Opens the key ring and the database of a data directory and applies pending migrations.
 * @throws VoterStoreError STORE_NOT_READY when the data directory has no key ring
 * @throws CryptoError when the key ring is insecure or damaged
 * @throws StoreError when the database cannot be opened, or is newer than this code
 */
export async function openDataStore(dir: string, database?: string): Promise<DataStore> {
  if (!existsSync(join(dataDir(dir).keys, KEY_RING_MANIFEST_FILE))) {
    throw new VoterStoreError(
      'STORE_NOT_READY',
      `Cannot use the voter store of "${dataDir(dir).root}": it has no key ring (run "votervault init --data DIR" first)`,
    );
  }
  const ring = await loadKeyRing({ dir: dataDir(dir).keys });
  const handle = await openDatabase<AllTables>(databaseLocation(dir, database));
  try {
    await migrate(handle, ALL_MIGRATIONS);
  } catch (error) {
    await handle.close();
    throw error;
  }
  return { handle, ring };
}

/**
 * Prepares a data directory's voter store: creates the key ring in `<data>/keys` unless it
 * exists, and creates or migrates the database.
 * @throws CryptoError KEY_FILE_INSECURE, IO_FAILED, KEY_* when an existing ring cannot be loaded
 * @throws StoreError when the database cannot be opened or migrated
 */
export async function initDataStore(
  dir: string,
  database?: string,
): Promise<{ readonly created: boolean }> {
  const keys = dataDir(dir).keys;
  const exists = existsSync(join(keys, KEY_RING_MANIFEST_FILE));
  if (!exists) await createKeyRing({ dir: keys });
  const store = await openDataStore(dir, database);
  await store.handle.close();
  return { created: !exists };
}
