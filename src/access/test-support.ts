// Tests of the access module only: a real log in a temporary directory, signed with real keys
// and read back from the entry bundles on disk, and a migrated database with a real key ring.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createTestDatabase } from '../../test/setup/databases.ts';
import type { TestDialect } from '../../test/setup/databases.ts';
import { createKeyRing } from '../crypto/index.ts';
import type { KeyRing } from '../crypto/index.ts';
import { migrate, openDatabase } from '../store/index.ts';
import type { DatabaseHandle } from '../store/index.ts';
import {
  createLogKeys,
  loadLogKeys,
  openLogAppender,
  readEntryBundle,
  signCheckpoint,
  TILE_WIDTH,
} from '../tlog/index.ts';
import type { LogAppender } from '../tlog/index.ts';
import type { ScryptCost } from './password.ts';
import type { AccessStore, ChangeContext } from './principal.ts';
import { ACCESS_MIGRATIONS } from './schema.ts';
import type { AccessTables } from './schema.ts';

/** The tests' scrypt cost: 1 MiB and about a millisecond a hash. */
export const TEST_COST: ScryptCost = { log2N: 10, r: 8, p: 1 };

/** A log for one test. */
export interface TestLog {
  readonly appender: LogAppender;
  /** Appends through the real appender: resolves once the entry is durable. */
  readonly append: (entry: Uint8Array) => Promise<unknown>;
  /** Every durable entry, parsed as JSON, read back from the bundles on disk. */
  entries(): Promise<unknown[]>;
  /** Closes the appender and removes the directory. */
  remove(): Promise<void>;
}

/** Opens a new, empty log signed with new Ed25519 and ML-DSA-44 keys. */
export async function openTestLog(): Promise<TestLog> {
  const dir = await mkdtemp(join(tmpdir(), 'votervault-access-log-'));
  const keysDir = join(dir, 'keys');
  const logDir = join(dir, 'log');
  await createLogKeys(keysDir, 'votervault.test/access');
  const keys = await loadLogKeys(keysDir);
  const appender = await openLogAppender({
    logDir,
    origin: keys.origin,
    sign: (checkpoint) => signCheckpoint(checkpoint, keys.signers),
  });
  return {
    appender,
    append: (entry) => appender.append(entry),
    async entries() {
      const size = appender.size;
      const out: unknown[] = [];
      for (let index = 0; index * TILE_WIDTH < size; index++) {
        const width = Math.min(TILE_WIDTH, size - index * TILE_WIDTH);
        for (const bytes of await readEntryBundle(logDir, index, width)) {
          out.push(JSON.parse(Buffer.from(bytes).toString('utf8')));
        }
      }
      return out;
    },
    async remove() {
      await appender.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/** A migrated database, a key ring, a log and a clock the test moves. */
export interface TestStore {
  readonly store: AccessStore;
  readonly handle: DatabaseHandle<AccessTables>;
  readonly ring: KeyRing;
  readonly log: TestLog;
  /** Changes made from the console (actor null), logged to `log`. */
  readonly console: ChangeContext;
  /** The store's clock: starts at 2026-03-02T09:00:00Z and moves only when told. */
  readonly clock: { now: Date; advance(ms: number): void };
  remove(): Promise<void>;
}

/** Opens a fresh store on `dialect`. */
export async function openTestStore(dialect: TestDialect): Promise<TestStore> {
  const database = await createTestDatabase(dialect);
  const keysDir = await mkdtemp(join(tmpdir(), 'votervault-access-keys-'));
  const ring = await createKeyRing({ dir: join(keysDir, 'keys') });
  const handle = await openDatabase<AccessTables>(database.location);
  await migrate(handle, ACCESS_MIGRATIONS);
  const log = await openTestLog();
  const clock = {
    now: new Date('2026-03-02T09:00:00Z'),
    advance(ms: number) {
      clock.now = new Date(clock.now.getTime() + ms);
    },
  };
  return {
    store: { q: handle, ring, now: () => clock.now, passwordCost: TEST_COST },
    handle,
    ring,
    log,
    console: { appendLog: log.append, channel: 'cli', actor: null },
    clock,
    async remove() {
      await handle.close();
      await log.remove();
      await database.drop();
      await rm(keysDir, { recursive: true, force: true });
    },
  };
}
