// A whole system for web tests: a data directory with real keys and log, a synthetic North
// Carolina roll imported into a real database (SQLite or PostgreSQL), polling places, opened
// as the `serve` command opens it.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { initDataStore } from '../../src/cli/data-store.ts';
import { loadDemoRoll } from '../../src/cli/commands/demo.ts';
import type { DemoVoter } from '../../src/cli/commands/demo.ts';
import { DEFAULT_ORIGIN, initDataDir } from '../../src/cli/commands/log.ts';
import { openWebSystem } from '../../src/cli/web-system.ts';
import type { WebSystem } from '../../src/cli/web-system.ts';
import { createTestDatabase } from '../setup/databases.ts';
import type { TestDialect } from '../setup/databases.ts';

/** A running system's parts and how to remove them. */
export interface TestWebSystem extends WebSystem {
  readonly dir: string;
  /** The database location the system uses. */
  readonly database: string;
  /** One voter of the roll, as a voter would type it. */
  readonly voter: DemoVoter;
  remove(): Promise<void>;
}

/** Creates a data directory with `voters` synthetic voters on `dialect` and opens it. */
export async function openTestWebSystem(
  dialect: TestDialect,
  voters = 300,
): Promise<TestWebSystem> {
  const dir = await mkdtemp(join(tmpdir(), 'votervault-web-'));
  const testDb = await createTestDatabase(dialect);
  const database = dialect === 'sqlite' ? join(dir, 'votervault.db') : testDb.location;
  const silent = { out: () => undefined, err: () => undefined, stdin: process.stdin, isTty: false };
  await initDataDir(dir, DEFAULT_ORIGIN);
  await initDataStore(dir, database);
  const voter = await loadDemoRoll(dir, { voters, io: silent, seed: 'web-tests', database });
  if (voter === undefined) throw new Error('The generated roll has no voter with a ZIP code');
  const system = await openWebSystem(dir, database);
  return {
    ...system,
    dir,
    database,
    voter,
    async remove() {
      await system.close();
      await testDb.drop();
      await rm(dir, { recursive: true, force: true });
    },
  };
}
