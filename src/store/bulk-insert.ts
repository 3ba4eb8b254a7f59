import { CompiledQuery } from 'kysely';
import type { Insertable, Kysely } from 'kysely';
import { assert } from '../basics/index.ts';
import { sqliteConnectionOf } from './database.ts';
import type { Queryable } from './database.ts';
import { sqliteCode } from './dialect-sqlite.ts';
import type { SqliteConnection } from './dialect-sqlite.ts';
import { SQLSTATE, sqlState } from './dialect-postgres.ts';
import { StoreError } from './errors.ts';

/**
 * PostgreSQL's wire protocol numbers bind parameters with 16 bits, so one statement carries at
 * most 65535 of them.
 */
// SPEC: https://www.postgresql.org/docs/current/protocol-message-formats.html "Bind ... Int16
// The number of parameter values that follow"
export const POSTGRES_MAX_PARAMETERS = 65_535;

/** Rows per multi-row INSERT on PostgreSQL, below the parameter cap for narrow tables too. */
const POSTGRES_ROWS_PER_STATEMENT = 5_000;

// Table and column names come from code, never from input; this pattern is a tripwire for a bug
// that would pass one through, since they are spliced into the statement (quoted).
const IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** What to insert: rows of one table, every row giving a value (or null) for each column. */
export interface BulkInsertOptions<DB, T extends keyof DB & string> {
  readonly table: T;
  /** The columns to write, in order; a row missing one of them writes NULL there. */
  readonly columns: readonly (keyof DB[T] & string)[];
  readonly rows: readonly Insertable<DB[T]>[];
  /**
   * PostgreSQL type of each column (`text`, `integer`, `bytea`…), in the order of `columns`.
   * When given, the rows travel as one array parameter per column and are inserted with
   * `unnest`, so a statement's size no longer grows with its rows and the server parses a few
   * arrays instead of thousands of parameters. The driver builds each array as text, which
   * costs more on this side than it saves on the server for wide rows of binary columns.
   */
  readonly postgresTypes?: readonly string[];
}

/** The outcome of a bulk insert; it is all-or-nothing, so there are no per-row outcomes. */
export interface BulkInsertReport {
  readonly inserted: number;
}

/**
 * Inserts many rows at once, all or none, natively on each engine: on SQLite one prepared
 * statement run for each row inside one transaction (100k rows in a fraction of a second); on
 * PostgreSQL multi-row INSERT statements of bound parameters inside one transaction. Values
 * always travel as parameters, never in the SQL text.
 *
 * Inside `withTransaction` it joins that transaction (on SQLite through a savepoint, so a
 * failure leaves the outer transaction's earlier work intact).
 * @throws StoreError CONSTRAINT_VIOLATION when a row breaks a constraint (the message names the
 * table and the kind of constraint, never the values); DATABASE_BUSY on SQLite lock timeout
 */
export async function bulkInsert<DB, T extends keyof DB & string>(
  target: Queryable<DB>,
  options: BulkInsertOptions<NoInfer<DB>, T>,
): Promise<BulkInsertReport> {
  const { table, columns, rows, postgresTypes } = options;
  assert(IDENTIFIER.test(table), `Invalid table name "${table}"`);
  assert(columns.length > 0, `No columns to insert into "${table}"`);
  for (const column of columns) {
    assert(IDENTIFIER.test(column), `Invalid column name "${column}"`);
  }
  if (rows.length === 0) return { inserted: 0 };
  const quotedColumns = columns.map((column) => `"${column}"`).join(', ');
  const head = `insert into "${table}" (${quotedColumns}) values `;
  try {
    switch (target.dialect) {
      case 'sqlite':
        await insertSqlite(target.db, head, columns, rows);
        break;
      case 'postgres':
        if (postgresTypes === undefined) await insertPostgres(target.db, head, columns, rows);
        else await insertUnnest(target.db, head, columns, postgresTypes, rows);
        break;
    }
  } catch (error) {
    throw mapWriteError(`Cannot insert rows into "${table}"`, error);
  }
  return { inserted: rows.length };
}

function valuesOf(row: object, columns: readonly string[]): unknown[] {
  const record = row as Record<string, unknown>;
  return columns.map((column) => record[column] ?? null);
}

async function insertSqlite<DB>(
  db: Kysely<DB>,
  head: string,
  columns: readonly string[],
  rows: readonly object[],
): Promise<void> {
  const sqlite = sqliteConnectionOf(db);
  assert(
    sqlite !== undefined,
    'bulkInsert on SQLite needs a database from openDatabase or a transaction from withTransaction',
  );
  const run = (connection: SqliteConnection): void => {
    const statement = connection.prepare(head + `(${columns.map(() => '?').join(', ')})`);
    // better-sqlite3 begins a transaction, or a savepoint when one is already open.
    connection
      .transaction(() => {
        for (const row of rows) statement.run(valuesOf(row, columns));
      })
      .immediate();
  };
  if (db.isTransaction) {
    // The transaction holds Kysely's connection lock: nobody else is using the connection.
    run(sqlite);
  } else {
    // Take Kysely's connection lock so no other query interleaves with ours.
    await db.connection().execute(() => Promise.resolve(run(sqlite)));
  }
}

async function insertPostgres<DB>(
  db: Kysely<DB>,
  head: string,
  columns: readonly string[],
  rows: readonly object[],
): Promise<void> {
  const perStatement = Math.min(
    POSTGRES_ROWS_PER_STATEMENT,
    Math.floor(POSTGRES_MAX_PARAMETERS / columns.length),
  );
  assert(perStatement > 0, `Too many columns to insert: ${columns.length}`);
  const insertAll = async (executor: Kysely<DB>): Promise<void> => {
    for (let start = 0; start < rows.length; start += perStatement) {
      const chunk = rows.slice(start, start + perStatement);
      const parameters: unknown[] = [];
      const tuples: string[] = [];
      for (const row of chunk) {
        const placeholders: string[] = [];
        for (const value of valuesOf(row, columns)) {
          parameters.push(value);
          placeholders.push(`$${parameters.length}`);
        }
        tuples.push(`(${placeholders.join(', ')})`);
      }
      await executor.executeQuery(CompiledQuery.raw(head + tuples.join(', '), parameters));
    }
  };
  // A failed statement aborts a PostgreSQL transaction, so joining an outer one stays atomic.
  if (db.isTransaction) await insertAll(db);
  else await db.transaction().execute(insertAll);
}

/**
 * Rows per `unnest` statement. Larger arrays cost more to build here and to parse on the server
 * than the statements they save: 2,000 rows a statement inserted voters half again as fast as
 * 20,000.
 */
const POSTGRES_UNNEST_ROWS = 2_000;

// A type may carry spaces (`double precision`); nothing else is spliced.
const TYPE_NAME = /^[a-z][a-z0-9 ]*$/;

async function insertUnnest<DB>(
  db: Kysely<DB>,
  head: string,
  columns: readonly string[],
  types: readonly string[],
  rows: readonly object[],
): Promise<void> {
  assert(types.length === columns.length, 'One PostgreSQL type per column is needed');
  for (const type of types) assert(TYPE_NAME.test(type), `Invalid type name "${type}"`);
  const casts = types.map((type, i) => `$${i + 1}::${type}[]`).join(', ');
  const text = `${head.replace(/ values $/, '')} select * from unnest(${casts})`;
  const insertAll = async (executor: Kysely<DB>): Promise<void> => {
    for (let start = 0; start < rows.length; start += POSTGRES_UNNEST_ROWS) {
      const chunk = rows.slice(start, start + POSTGRES_UNNEST_ROWS);
      const arrays = columns.map((column) =>
        chunk.map((row) => (row as Record<string, unknown>)[column] ?? null),
      );
      await executor.executeQuery(CompiledQuery.raw(text, arrays));
    }
  };
  if (db.isTransaction) await insertAll(db);
  else await db.transaction().execute(insertAll);
}

/** Prepared statements of one SQLite connection, by SQL text, most recently used last. */
const sqliteStatements = new WeakMap<SqliteConnection, Map<string, SqliteStatement>>();

/** Statements kept per connection: the write paths use a few dozen shapes. */
const SQLITE_STATEMENTS_KEPT = 128;

type SqliteStatement = ReturnType<SqliteConnection['prepare']>;

/** Statements of a native SQLite connection, prepared once per SQL text and kept. */
export interface SqliteWriter {
  /** Runs a statement with positional `?` parameters; returns the number of rows it changed. */
  run(sql: string, parameters: readonly unknown[]): number;
  /** The first column of the first row a query returns, or undefined when it returns none. */
  value(sql: string, parameters: readonly unknown[]): unknown;
}

function statementOf(connection: SqliteConnection, sql: string): SqliteStatement {
  let cache = sqliteStatements.get(connection);
  if (cache === undefined) {
    cache = new Map();
    sqliteStatements.set(connection, cache);
  }
  const cached = cache.get(sql);
  if (cached !== undefined) {
    cache.delete(sql);
    cache.set(sql, cached);
    return cached;
  }
  const statement = connection.prepare(sql);
  cache.set(sql, statement);
  if (cache.size > SQLITE_STATEMENTS_KEPT) {
    const oldest = cache.keys().next();
    if (oldest.done !== true) cache.delete(oldest.value);
  }
  return statement;
}

/**
 * Runs `fn` synchronously on the native SQLite connection under `target`, all of it in one
 * transaction (BEGIN IMMEDIATE), or in a savepoint when `target` is a transaction from
 * `withTransaction`, so a throw undoes everything `fn` wrote and leaves the outer transaction's
 * earlier work intact. Statements are prepared once per SQL text and kept, which is what makes
 * row-at-a-time writes cheap on SQLite: no query building, no parsing, no round trip. SQL text
 * comes from code; values always travel as parameters.
 * @throws StoreError CONSTRAINT_VIOLATION when a write breaks a constraint (values stay out of
 * the message); DATABASE_BUSY on lock timeout; anything `fn` throws
 */
export async function withSqliteWriter<DB, T>(
  target: Queryable<DB>,
  fn: (writer: SqliteWriter) => T,
): Promise<T> {
  assert(target.dialect === 'sqlite', 'withSqliteWriter needs a SQLite database');
  const sqlite = sqliteConnectionOf(target.db);
  assert(
    sqlite !== undefined,
    'withSqliteWriter needs a database from openDatabase or a transaction from withTransaction',
  );
  const writer: SqliteWriter = {
    run: (sql, parameters) => statementOf(sqlite, sql).run(parameters).changes,
    value: (sql, parameters) =>
      (statementOf(sqlite, sql).raw(true).get(parameters) as unknown[] | undefined)?.[0],
  };
  // better-sqlite3 begins a transaction, or a savepoint when one is already open.
  const run = (): T => sqlite.transaction(() => fn(writer)).immediate();
  try {
    // Inside a transaction its holder has Kysely's connection lock; otherwise take it, so that no
    // other query interleaves with ours.
    if (target.db.isTransaction) return run();
    return await target.db.connection().execute(() => Promise.resolve(run()));
  } catch (error) {
    throw mapWriteError('Cannot write rows', error);
  }
}

const CONSTRAINT_KINDS: Readonly<Record<string, string>> = {
  [SQLSTATE.uniqueViolation]: 'unique',
  [SQLSTATE.foreignKeyViolation]: 'foreign key',
  [SQLSTATE.notNullViolation]: 'not-null',
  [SQLSTATE.checkViolation]: 'check',
  SQLITE_CONSTRAINT_UNIQUE: 'unique',
  SQLITE_CONSTRAINT_PRIMARYKEY: 'unique',
  SQLITE_CONSTRAINT_FOREIGNKEY: 'foreign key',
  SQLITE_CONSTRAINT_NOTNULL: 'not-null',
  SQLITE_CONSTRAINT_CHECK: 'check',
};

function mapWriteError(action: string, error: unknown): unknown {
  const code = sqlState(error) ?? sqliteCode(error);
  if (code === undefined) return error;
  const kind = CONSTRAINT_KINDS[code];
  // The driver's message and detail quote the offending values (voter data); they stay in
  // `cause` for the server log and out of the message, which may reach a client.
  if (kind !== undefined) {
    return new StoreError('CONSTRAINT_VIOLATION', `${action}: a row breaks a ${kind} constraint`, {
      cause: error,
    });
  }
  if (code.startsWith('SQLITE_BUSY')) {
    return new StoreError(
      'DATABASE_BUSY',
      `${action}: another process held the database lock past the busy timeout`,
      { cause: error },
    );
  }
  return error;
}
