import { sql } from 'kysely';
import type { Kysely } from 'kysely';
import { assert } from '../basics/index.ts';
import type { DatabaseDialect, Queryable } from './database.ts';
import { StoreError } from './errors.ts';
import { withTransaction } from './transaction.ts';
import type { TransactionOptions } from './transaction.ts';

/**
 * One step of a domain's schema. Each domain's `schema.ts` exports its steps in order; names
 * are recorded in the database and must never change once released, so prefix them with the
 * domain: "voters-0001-create-voter".
 */
export interface Migration {
  readonly name: string;
  /**
   * Runs inside a transaction, together with the recording of `name`. Migrations see the
   * database untyped: they run against the schema of their time, not today's types. Foreign
   * keys stay enforced on SQLite (the pragma cannot change inside a transaction), so a table
   * rebuild must keep references valid or run `pragma defer_foreign_keys = on` first.
   */
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- Kysely's idiom for migrations
  up(db: Kysely<any>, dialect: DatabaseDialect): Promise<void>;
}

/** Outcome of one migration in a run (Kysely `Migrator` naming). */
export type MigrationStatus = 'Success' | 'Error' | 'NotExecuted';

/** One migration of a run and what became of it. */
export interface MigrationResult {
  readonly migrationName: string;
  readonly direction: 'Up';
  readonly status: MigrationStatus;
}

/** What `migrate` did: the pending migrations in the order tried. */
export interface MigrationReport {
  readonly results: readonly MigrationResult[];
  /** Migrations that were already recorded when the run began (or by a concurrent run). */
  readonly alreadyApplied: number;
}

/** A migration run that stopped: `report` says which migrations ran, failed and never ran. */
export class MigrationFailedError extends StoreError {
  readonly report: MigrationReport;

  constructor(message: string, report: MigrationReport, options?: ErrorOptions) {
    super('MIGRATION_FAILED', message, options);
    this.report = report;
  }
}

/** Which of the code's migrations a database has, lacks, and which it has that code does not. */
export interface MigrationState {
  readonly applied: readonly string[];
  readonly pending: readonly string[];
  readonly unknown: readonly string[];
}

/** The table recording applied migrations; owned by `store`. */
export const MIGRATION_TABLE = 'store_migration';

/**
 * Key of the PostgreSQL advisory lock that serializes migration runs of several servers
 * starting at once against one database. Any fixed number works if nothing else uses it:
 * these are the ASCII bytes of "vvmg".
 */
const MIGRATION_LOCK_KEY = 0x76766d67;

/**
 * Migration transactions serialize on the lock instead of on isolation. They must read
 * committed data: a serializable transaction takes its snapshot at its first statement, the
 * lock, so it would not see what the run that held the lock before it just recorded.
 */
const LOCKED: TransactionOptions = { isolation: 'read committed' };

interface MigrationTable {
  name: string;
  applied_at: string;
}

interface StoreTables {
  [MIGRATION_TABLE]: MigrationTable;
}

/**
 * Brings the database up to the code's schema: runs, in list order, each migration not yet
 * recorded, each in its own transaction with its record, so a run stopped anywhere leaves
 * every migration either fully applied and recorded or not at all.
 *
 * The list is the concatenation of every domain's migrations in dependency order. A migration
 * added in the middle (a domain's new step) runs even though later ones ran before: domains
 * own separate tables. Runs from several processes at once are serialized (PostgreSQL advisory
 * lock, SQLite write lock) and apply each migration once.
 *
 * It refuses to touch a database that records migrations the code does not know: that
 * database was migrated by a newer version, and running older code on it could corrupt data.
 * Nothing is ever reset or dropped.
 *
 * Failures throw rather than being returned in the report, so that a caller cannot start
 * serving on a half-migrated schema by forgetting to look; the report of the failed run
 * travels on the error.
 * @throws StoreError SCHEMA_NEWER_THAN_CODE; MigrationFailedError (code MIGRATION_FAILED)
 * when reading the records or a migration fails
 * @throws AssertionError when two migrations share a name (a bug in the list)
 */
export async function migrate<DB>(
  target: Queryable<DB>,
  migrations: readonly Migration[],
): Promise<MigrationReport> {
  assertUniqueNames(migrations);
  const store = target as unknown as Queryable<StoreTables>;
  let applied: Set<string>;
  try {
    applied = await withTransaction(
      store,
      async (tx) => {
        await lock(tx);
        await tx.db.schema
          .createTable(MIGRATION_TABLE)
          .ifNotExists()
          .addColumn('name', 'text', (column) => column.primaryKey())
          .addColumn('applied_at', 'text', (column) => column.notNull())
          .execute();
        return readApplied(tx);
      },
      LOCKED,
    );
  } catch (error) {
    throw new MigrationFailedError(
      `Cannot read the applied migrations: ${messageOf(error)}`,
      { results: notExecuted(migrations), alreadyApplied: 0 },
      { cause: error },
    );
  }
  refuseUnknown(migrations, applied);
  const alreadyApplied = applied.size;
  const pending = migrations.filter((migration) => !applied.has(migration.name));
  const results: MigrationResult[] = [];
  let appliedByOthers = 0;
  for (const [index, migration] of pending.entries()) {
    try {
      const ran = await withTransaction(
        store,
        async (tx) => {
          await lock(tx);
          // Another process may have applied it since we looked.
          const row = await tx.db
            .selectFrom(MIGRATION_TABLE)
            .select('name')
            .where('name', '=', migration.name)
            .executeTakeFirst();
          if (row !== undefined) return false;
          await migration.up(tx.db, tx.dialect);
          await tx.db
            .insertInto(MIGRATION_TABLE)
            .values({ name: migration.name, applied_at: new Date().toISOString() })
            .execute();
          return true;
        },
        LOCKED,
      );
      if (ran) results.push({ migrationName: migration.name, direction: 'Up', status: 'Success' });
      else appliedByOthers++;
    } catch (error) {
      results.push({ migrationName: migration.name, direction: 'Up', status: 'Error' });
      results.push(...notExecuted(pending.slice(index + 1)));
      throw new MigrationFailedError(
        `Cannot apply migration "${migration.name}": ${messageOf(error)}`,
        { results, alreadyApplied: alreadyApplied + appliedByOthers },
        { cause: error },
      );
    }
  }
  return { results, alreadyApplied: alreadyApplied + appliedByOthers };
}

/**
 * Compares the database's records with the code's migrations without changing anything, for
 * health checks and servers that must not migrate.
 * @throws the driver's error when the database cannot be read
 */
export async function migrationState<DB>(
  target: Queryable<DB>,
  migrations: readonly Migration[],
): Promise<MigrationState> {
  assertUniqueNames(migrations);
  const store = target as unknown as Queryable<StoreTables>;
  const applied = (await hasMigrationTable(store)) ? await readApplied(store) : new Set<string>();
  const known = new Set(migrations.map((migration) => migration.name));
  return {
    applied: migrations.filter((m) => applied.has(m.name)).map((m) => m.name),
    pending: migrations.filter((m) => !applied.has(m.name)).map((m) => m.name),
    unknown: [...applied].filter((name) => !known.has(name)).sort(),
  };
}

function assertUniqueNames(migrations: readonly Migration[]): void {
  const seen = new Set<string>();
  for (const { name } of migrations) {
    assert(name !== '', 'Migration with an empty name');
    assert(!seen.has(name), `Two migrations are named "${name}"`);
    seen.add(name);
  }
}

function refuseUnknown(migrations: readonly Migration[], applied: ReadonlySet<string>): void {
  const known = new Set(migrations.map((migration) => migration.name));
  const unknown = [...applied].filter((name) => !known.has(name)).sort();
  if (unknown.length === 0) return;
  const listed = unknown
    .slice(0, 3)
    .map((name) => `"${name}"`)
    .join(', ');
  const more = unknown.length > 3 ? ` and ${unknown.length - 3} more` : '';
  throw new StoreError(
    'SCHEMA_NEWER_THAN_CODE',
    `Cannot use database: it has migrations this version does not know (${listed}${more}); ` +
      'run the newer version that migrated it, or restore a backup taken before',
  );
}

async function lock(tx: Queryable<StoreTables>): Promise<void> {
  // SQLite: the transaction began IMMEDIATE and already holds the database's write lock.
  if (tx.dialect === 'postgres') {
    await sql`select pg_advisory_xact_lock(${MIGRATION_LOCK_KEY})`.execute(tx.db);
  }
}

async function readApplied(tx: Queryable<StoreTables>): Promise<Set<string>> {
  const rows = await tx.db.selectFrom(MIGRATION_TABLE).select('name').execute();
  return new Set(rows.map((row) => row.name));
}

async function hasMigrationTable(target: Queryable<StoreTables>): Promise<boolean> {
  switch (target.dialect) {
    case 'sqlite': {
      const { rows } = await sql<{ found: number }>`
        select count(*) as found from sqlite_master where type = 'table' and name = ${MIGRATION_TABLE}`.execute(
        target.db,
      );
      return (rows[0]?.found ?? 0) > 0;
    }
    case 'postgres': {
      const { rows } = await sql<{ found: string | null }>`
        select to_regclass(${MIGRATION_TABLE})::text as found`.execute(target.db);
      return rows[0]?.found != null;
    }
  }
}

function notExecuted(migrations: readonly Migration[]): MigrationResult[] {
  return migrations.map((migration) => ({
    migrationName: migration.name,
    direction: 'Up',
    status: 'NotExecuted',
  }));
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
