// Runs `migrate` on the database at argv[2] and prints the report as JSON. The migrate tests
// start several of these at once to check that concurrent processes apply each migration once.
import { setTimeout as sleep } from 'node:timers/promises';
import { openDatabase } from '../database.ts';
import { migrate } from '../migrate.ts';
import type { Migration } from '../migrate.ts';

/** Migrations slow enough that concurrent runs overlap; the second fails if run twice. */
export const SLOW_MIGRATIONS: readonly Migration[] = [
  {
    name: 'test-0001-create-ballot',
    async up(db) {
      await sleep(30);
      await db.schema.createTable('ballot').addColumn('id', 'integer').execute();
    },
  },
  {
    name: 'test-0002-add-style',
    async up(db) {
      await sleep(30);
      await db.schema.alterTable('ballot').addColumn('style', 'text').execute();
      await db.insertInto('ballot').values({ id: 1, style: 'A' }).execute();
    },
  },
];

if (import.meta.main) {
  const location = process.argv[2];
  if (location === undefined) throw new Error('Usage: migrate-process.ts <location>');
  const handle = await openDatabase(location);
  try {
    process.stdout.write(JSON.stringify(await migrate(handle, SLOW_MIGRATIONS)));
  } finally {
    await handle.close();
  }
}
