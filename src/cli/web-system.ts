import { loadLogKeys } from '../tlog/index.ts';
import type { WebContext } from '../web/index.ts';
import { openDataLog } from './commands/log.ts';
import { dataDir } from './data-dir.ts';
import { openDataStore } from './data-store.ts';

/** A data directory opened for the web servers. */
export interface WebSystem {
  readonly context: WebContext;
  /** Closes the log (waiting for appends under way) and the database. */
  close(): Promise<void>;
}

/**
 * Opens the store, key ring and log of a data directory for serving.
 * @throws VoterStoreError STORE_NOT_READY; CryptoError; StoreError; TlogError LOG_LOCKED and others
 */
export async function openWebSystem(dir: string, database?: string): Promise<WebSystem> {
  const store = await openDataStore(dir, database);
  try {
    const keys = await loadLogKeys(dataDir(dir).keys);
    const log = await openDataLog(dir, { writeThread: true });
    return {
      context: {
        handle: store.handle,
        ring: store.ring,
        log,
        logDir: dataDir(dir).log,
        verifierKeys: keys.verifierKeys,
      },
      async close() {
        await log.close();
        await store.handle.close();
      },
    };
  } catch (error) {
    await store.handle.close();
    throw error;
  }
}
