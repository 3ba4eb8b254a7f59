import { closeSync, constants, fchmodSync, fstatSync, openSync } from 'node:fs';
import Database from 'better-sqlite3';
import { CompiledQuery, Kysely, SqliteDialect, SqliteDriver } from 'kysely';
import type {
  DatabaseConnection,
  Driver,
  SqliteDatabase,
  SqliteDialectConfig,
  SqliteStatement,
  TransactionSettings,
} from 'kysely';
import { StoreError } from './errors.ts';

/**
 * How long a statement waits for another process's lock before failing with DATABASE_BUSY.
 * Long enough to ride out a competing import transaction's commit, short enough that a stuck
 * process is reported instead of hanging a request.
 */
export const SQLITE_BUSY_TIMEOUT_MS = 5_000;

/** The file mode of a new database: owner read and write only. */
export const SQLITE_FILE_MODE = 0o600;

/** The native SQLite connection of an open database. */
export type SqliteConnection = Database.Database;

/** What `openSqlite` returns: the Kysely instance and the connection underneath it. */
export interface OpenedSqlite<DB> {
  readonly db: Kysely<DB>;
  readonly sqlite: SqliteConnection;
}

/** Options of {@link openSqlite}. */
export interface OpenSqliteOptions {
  readonly busyTimeoutMs?: number;
}

/**
 * Kysely's SQLite driver begins every transaction DEFERRED. A deferred transaction that reads
 * and then writes must upgrade its lock, and in WAL mode that upgrade fails at once with
 * SQLITE_BUSY_SNAPSHOT when another process committed in between: the busy timeout does not
 * help. BEGIN IMMEDIATE takes the write lock up front (waiting up to the busy timeout), so a
 * read-write transaction either starts with the lock or reports DATABASE_BUSY before doing
 * anything. Read-only transactions stay deferred, never block writers, and have writes refused
 * (query_only) as PostgreSQL refuses them in a READ ONLY transaction.
 */
/**
 * Prepared statements kept per SQL text. Kysely prepares every query anew, and parsing the SQL
 * is about a third of the time of a point lookup; a few hundred distinct statements cover every
 * query shape the domains issue (IN lists come in a handful of batch sizes).
 */
export const STATEMENT_CACHE_SIZE = 256;

/** Page cache of each SQLite connection, in KiB. */
const SQLITE_CACHE_KIB = 32_768;

/** WAL size, in pages, past which a commit checkpoints it into the database file. */
const SQLITE_CHECKPOINT_PAGES = 4096;

/**
 * The connection as Kysely sees it, with a least-recently-used cache of prepared statements.
 * Safe because Kysely runs one query at a time on its single SQLite connection, and SQLite
 * re-prepares a cached statement by itself after a schema change.
 */
export function withStatementCache(sqlite: SqliteConnection): SqliteDatabase {
  const cache = new Map<string, SqliteStatement>();
  return {
    prepare(sql: string): SqliteStatement {
      const cached = cache.get(sql);
      if (cached !== undefined) {
        cache.delete(sql);
        cache.set(sql, cached);
        return cached;
      }
      const statement = sqlite.prepare(sql) as unknown as SqliteStatement;
      cache.set(sql, statement);
      if (cache.size > STATEMENT_CACHE_SIZE) {
        const oldest = cache.keys().next();
        if (oldest.done !== true) cache.delete(oldest.value);
      }
      return statement;
    },
    close(): void {
      cache.clear();
      sqlite.close();
    },
  };
}

class ImmediateSqliteDriver extends SqliteDriver {
  override async beginTransaction(
    connection: DatabaseConnection,
    settings?: TransactionSettings,
  ): Promise<void> {
    if (settings?.accessMode === 'read only') {
      await connection.executeQuery(CompiledQuery.raw('begin deferred'));
      await connection.executeQuery(CompiledQuery.raw('pragma query_only = on'));
    } else {
      await connection.executeQuery(CompiledQuery.raw('begin immediate'));
    }
  }

  override async commitTransaction(connection: DatabaseConnection): Promise<void> {
    try {
      await super.commitTransaction(connection);
    } finally {
      await connection.executeQuery(CompiledQuery.raw('pragma query_only = off'));
    }
  }

  override async rollbackTransaction(connection: DatabaseConnection): Promise<void> {
    try {
      await super.rollbackTransaction(connection);
    } finally {
      await connection.executeQuery(CompiledQuery.raw('pragma query_only = off'));
    }
  }
}

class ImmediateSqliteDialect extends SqliteDialect {
  readonly #config: SqliteDialectConfig;

  constructor(config: SqliteDialectConfig) {
    super(config);
    this.#config = config;
  }

  override createDriver(): Driver {
    return new ImmediateSqliteDriver(this.#config);
  }
}

/**
 * Creates the database file with mode 0600 if it does not exist, or checks that an existing one
 * is private. O_EXCL makes creation atomic, so a file planted between the check and the open
 * is never adopted with its planter's mode.
 */
function ensurePrivateFile(path: string): void {
  const flags = constants.O_RDWR | constants.O_CREAT | constants.O_EXCL;
  let fd: number;
  try {
    fd = openSync(path, flags, SQLITE_FILE_MODE);
    try {
      // The umask may have removed bits; set the mode exactly.
      fchmodSync(fd, SQLITE_FILE_MODE);
    } finally {
      closeSync(fd);
    }
    return;
  } catch (error) {
    if (!isErrno(error, 'EEXIST')) {
      throw new StoreError(
        'DATABASE_OPEN_FAILED',
        `Cannot create database "${path}": ${errorMessage(error)}`,
        { cause: error },
      );
    }
  }
  try {
    // O_NONBLOCK: a FIFO planted at the path must not hang the open.
    fd = openSync(path, constants.O_RDONLY | constants.O_NONBLOCK);
  } catch (error) {
    throw new StoreError(
      'DATABASE_OPEN_FAILED',
      `Cannot open database "${path}": ${errorMessage(error)}`,
      { cause: error },
    );
  }
  try {
    const stat = fstatSync(fd);
    if (!stat.isFile()) {
      throw new StoreError(
        'DATABASE_OPEN_FAILED',
        `Cannot open database "${path}": not a regular file`,
      );
    }
    // Windows has no POSIX modes to check.
    if (process.platform !== 'win32' && (stat.mode & 0o077) !== 0) {
      const mode = (stat.mode & 0o777).toString(8).padStart(4, '0');
      throw new StoreError(
        'DATABASE_FILE_INSECURE',
        `Cannot open database "${path}": mode is ${mode}, expected 0600 (run "chmod 600" on it)`,
      );
    }
  } finally {
    closeSync(fd);
  }
}

/**
 * Opens a SQLite database file (created with mode 0600) or a private in-memory database, with:
 * - WAL journal: readers never block the writer, and a commit appends to one file;
 * - synchronous=FULL: in WAL mode NORMAL may lose the last commits on power loss (it syncs only
 *   at checkpoints). Every commit here may be an access record that the transparency log
 *   promises was kept, so a commit must be on disk when it returns; bulk imports commit once
 *   per batch, so the cost is one fsync per transaction, not per row;
 * - foreign keys on (SQLite defaults them off for compatibility);
 * - a busy timeout, so concurrent processes wait for each other instead of failing at once;
 * - secure_delete: deleted content is overwritten, so a crypto-shredded record's wrapped key
 *   does not survive in free pages of the file or of its backups;
 * - trusted_schema off: views and triggers in a tampered file cannot call functions with side
 *   effects.
 * @throws StoreError DATABASE_OPEN_FAILED, DATABASE_FILE_INSECURE, DATABASE_BUSY
 */
export function openSqlite<DB>(
  path: string | undefined,
  options: OpenSqliteOptions = {},
): OpenedSqlite<DB> {
  const busyTimeoutMs = options.busyTimeoutMs ?? SQLITE_BUSY_TIMEOUT_MS;
  if (path !== undefined) ensurePrivateFile(path);
  const name = path ?? ':memory:';
  let sqlite: SqliteConnection;
  try {
    sqlite = new Database(name, { timeout: busyTimeoutMs });
  } catch (error) {
    throw mapOpenError(name, error);
  }
  try {
    // Before anything else: a tampered file's schema must not run code while we configure.
    sqlite.pragma('trusted_schema = OFF');
    if (path !== undefined) {
      const mode: unknown = sqlite.pragma('journal_mode = WAL', { simple: true });
      if (mode !== 'wal') {
        throw new StoreError(
          'DATABASE_OPEN_FAILED',
          `Cannot open database "${name}": WAL journal mode is unavailable (got "${String(mode)}")`,
        );
      }
    }
    sqlite.pragma('synchronous = FULL');
    sqlite.pragma('foreign_keys = ON');
    sqlite.pragma('secure_delete = ON');
    // 32 MiB of page cache instead of the default 2 MiB, so that bulk writes (an import's
    // random-key lookup digests) find more of the index pages they touch in memory.
    sqlite.pragma(`cache_size = -${SQLITE_CACHE_KIB}`);
    // Checkpoint the WAL every 16 MiB rather than every 4 MiB: a bulk commit writes more than
    // 4 MiB, so each one also copied its pages into the database file and synced it, and index
    // pages changed by several commits were written each time. Durability is the WAL's either way.
    sqlite.pragma(`wal_autocheckpoint = ${SQLITE_CHECKPOINT_PAGES}`);
  } catch (error) {
    sqlite.close();
    throw mapOpenError(name, error);
  }
  const db = new Kysely<DB>({
    dialect: new ImmediateSqliteDialect({ database: withStatementCache(sqlite) }),
  });
  return { db, sqlite };
}

/**
 * Closes the database after letting SQLite refresh its query planner statistics (its advice for
 * connections that have run queries).
 */
export async function closeSqlite<DB>(opened: OpenedSqlite<DB>): Promise<void> {
  try {
    await opened.db.executeQuery(CompiledQuery.raw('pragma optimize'));
  } catch (error) {
    // Only statistics are lost. The pragma writes outside a transaction, so it fails at once
    // with SQLITE_BUSY when another process is writing; anything worse shows on the next open.
    if (!isSqliteBusy(error)) throw error;
  } finally {
    await opened.db.destroy();
    // Kysely closes the connection only if it ever ran a query.
    if (opened.sqlite.open) opened.sqlite.close();
  }
}

/** Whether `error` is SQLite reporting a lock held past the busy timeout. */
export function isSqliteBusy(error: unknown): boolean {
  const code = sqliteCode(error);
  return code !== undefined && (code === 'SQLITE_BUSY' || code.startsWith('SQLITE_BUSY_'));
}

/** The SQLite result code of a better-sqlite3 error, such as "SQLITE_CONSTRAINT_UNIQUE". */
export function sqliteCode(error: unknown): string | undefined {
  if (error instanceof Database.SqliteError) return error.code;
  return undefined;
}

function mapOpenError(name: string, error: unknown): StoreError {
  if (error instanceof StoreError) return error;
  if (isSqliteBusy(error)) {
    return new StoreError(
      'DATABASE_BUSY',
      `Cannot open database "${name}": another process holds a lock on it`,
      { cause: error },
    );
  }
  return new StoreError(
    'DATABASE_OPEN_FAILED',
    `Cannot open database "${name}": ${errorMessage(error)}`,
    { cause: error },
  );
}

function isErrno(error: unknown, code: string): boolean {
  return error instanceof Error && (error as NodeJS.ErrnoException).code === code;
}

function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
