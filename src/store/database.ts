import type { Kysely } from 'kysely';
import { closeSqlite, openSqlite } from './dialect-sqlite.ts';
import type { SqliteConnection } from './dialect-sqlite.ts';
import { openPostgres } from './dialect-postgres.ts';
import { parseLocation } from './location.ts';
import { unreachable } from '../basics/index.ts';

/** The database engines votervault runs on. */
export const DATABASE_DIALECTS = ['sqlite', 'postgres'] as const;

/** One of {@link DATABASE_DIALECTS}. */
export type DatabaseDialect = (typeof DATABASE_DIALECTS)[number];

/**
 * Something to run queries on: an open database or a transaction on it. Domain functions take
 * this, so the same function works inside and outside `withTransaction`.
 */
export interface Queryable<DB> {
  readonly db: Kysely<DB>;
  readonly dialect: DatabaseDialect;
}

/** An open database. `DB` maps table names to their Kysely row types. */
export interface DatabaseHandle<DB> extends Queryable<DB> {
  /** Waits for running queries and closes every connection; closing twice does nothing. */
  close(): Promise<void>;
}

/** Options of {@link openDatabase}. */
export interface OpenDatabaseOptions {
  /** PostgreSQL: most connections held at once. SQLite has one connection. */
  readonly poolSize?: number;
  /** PostgreSQL: the name the server shows for our connections. */
  readonly applicationName?: string;
  /** SQLite: how long to wait for another process's lock before DATABASE_BUSY. */
  readonly busyTimeoutMs?: number;
}

// The native SQLite connection behind each Kysely instance we created (the database's and its
// transactions'), for the operations where going around Kysely is much faster (bulk insert).
const sqliteConnections = new WeakMap<object, SqliteConnection>();

/** Remembers the SQLite connection under a Kysely instance (a database or a transaction). */
export function registerSqliteConnection(db: object, sqlite: SqliteConnection): void {
  sqliteConnections.set(db, sqlite);
}

/** The SQLite connection under a Kysely instance that `openDatabase` or `withTransaction` made. */
export function sqliteConnectionOf(db: object): SqliteConnection | undefined {
  return sqliteConnections.get(db);
}

/**
 * Opens a database:
 * - `:memory:`: a private SQLite database that vanishes on close (tests);
 * - `postgres://user:password@host:port/name` or `postgresql://…`: a pool on a PostgreSQL
 *   server, checked to answer before this returns;
 * - anything else: a SQLite file, created with mode 0600 if missing, refused if it exists and
 *   other users may read it.
 *
 * Messages of the errors thrown never contain the URL's password.
 * @throws StoreError LOCATION_INVALID, DATABASE_UNREACHABLE, DATABASE_AUTH, DATABASE_NOT_FOUND,
 * DATABASE_OPEN_FAILED, DATABASE_FILE_INSECURE, DATABASE_BUSY
 */
export async function openDatabase<DB>(
  location: string,
  options: OpenDatabaseOptions = {},
): Promise<DatabaseHandle<DB>> {
  const parsed = parseLocation(location);
  switch (parsed.kind) {
    case 'memory':
    case 'file': {
      const opened = openSqlite<DB>(
        parsed.kind === 'file' ? parsed.path : undefined,
        options.busyTimeoutMs === undefined ? {} : { busyTimeoutMs: options.busyTimeoutMs },
      );
      registerSqliteConnection(opened.db, opened.sqlite);
      return {
        db: opened.db,
        dialect: 'sqlite',
        close: once(() => closeSqlite(opened)),
      };
    }
    case 'postgres': {
      const opened = await openPostgres<DB>(parsed.url, {
        ...(options.poolSize === undefined ? {} : { poolSize: options.poolSize }),
        ...(options.applicationName === undefined
          ? {}
          : { applicationName: options.applicationName }),
      });
      // Kysely's destroy ends the pool.
      return { db: opened.db, dialect: 'postgres', close: once(() => opened.db.destroy()) };
    }
    default:
      return unreachable(parsed);
  }
}

function once(fn: () => Promise<void>): () => Promise<void> {
  let closing: Promise<void> | undefined;
  return () => (closing ??= fn());
}
