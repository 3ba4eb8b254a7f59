/**
 * Databases for tests. Every test that touches the database runs on each dialect:
 *
 *   for (const dialect of DIALECTS) {
 *     describe(dialect, () => {
 *       let testDb: TestDatabase;
 *       beforeAll(async () => { testDb = await createTestDatabase(dialect); });
 *       afterAll(async () => { await testDb.drop(); });
 *       it('…', async () => {
 *         const handle = await openDatabase<MyTables>(testDb.location);
 *         try { … } finally { await handle.close(); }
 *       });
 *     });
 *   }
 *
 * SQLite: a fresh file in a fresh temporary directory. PostgreSQL: a fresh, uniquely named
 * database on the server that the global setup (./global-postgres.ts) provides.
 */
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { inject } from 'vitest';

/** Every dialect, in the order tests run them. */
export const DIALECTS = ['sqlite', 'postgres'] as const;

/** One of {@link DIALECTS}. */
export type TestDialect = (typeof DIALECTS)[number];

/** A database made for a test: its location for `openDatabase`, and how to remove it. */
export interface TestDatabase {
  readonly dialect: TestDialect;
  /** A SQLite file path, or a `postgres://` URL (which may hold a password). */
  readonly location: string;
  /** Removes the database, closing any connection still open on PostgreSQL. Idempotent. */
  drop(): Promise<void>;
}

/**
 * Creates an empty database of `dialect`. Call it in `beforeAll` (one per file or describe
 * block) or in a test that needs a fresh one, and call `drop()` when done.
 */
export async function createTestDatabase(dialect: TestDialect): Promise<TestDatabase> {
  switch (dialect) {
    case 'sqlite':
      return createSqlite();
    case 'postgres':
      return createPostgres();
  }
}

/** The URL of the PostgreSQL server tests run against. */
export function postgresServerUrl(): string {
  const url = inject('postgresServerUrl');
  if (typeof url !== 'string' || url === '') {
    throw new Error(
      'No PostgreSQL server for tests: run through vitest.config.ts (its global setup starts one) or set TEST_DATABASE_URL',
    );
  }
  return url;
}

async function createSqlite(): Promise<TestDatabase> {
  const dir = await mkdtemp(join(tmpdir(), 'votervault-test-'));
  return {
    dialect: 'sqlite',
    location: join(dir, 'test.sqlite3'),
    drop: () => rm(dir, { recursive: true, force: true }),
  };
}

async function createPostgres(): Promise<TestDatabase> {
  const serverUrl = postgresServerUrl();
  // Lower case letters and digits only, so the name needs no quoting rules beyond the quotes.
  const name = `vv_test_${process.pid}_${randomBytes(6).toString('hex')}`;
  await adminQuery(serverUrl, `create database "${name}"`);
  const location = new URL(serverUrl);
  location.pathname = `/${name}`;
  let dropped: Promise<void> | undefined;
  return {
    dialect: 'postgres',
    location: location.toString(),
    drop: () =>
      (dropped ??= adminQuery(serverUrl, `drop database if exists "${name}" with (force)`)),
  };
}

async function adminQuery(serverUrl: string, text: string): Promise<void> {
  const client = new pg.Client({ connectionString: serverUrl });
  await client.connect();
  try {
    await client.query(text);
  } finally {
    await client.end();
  }
}
