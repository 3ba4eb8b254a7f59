import { setTimeout as sleep } from 'node:timers/promises';
import { registerSqliteConnection, sqliteConnectionOf } from './database.ts';
import type { Queryable } from './database.ts';
import { isSqliteBusy } from './dialect-sqlite.ts';
import { isRetryableConflict } from './dialect-postgres.ts';
import { StoreError } from './errors.ts';

/**
 * How many times a PostgreSQL transaction runs before a serialization conflict is reported as
 * TRANSACTION_CONFLICT. Conflicts come from concurrent requests on the same rows; after five
 * losses in a row with growing pauses, something is hammering those rows and retrying more only
 * adds load.
 */
export const MAX_TRANSACTION_ATTEMPTS = 5;

/** First pause before a retry; it doubles on each further attempt, with full jitter. */
const RETRY_BASE_DELAY_MS = 5;

/** PostgreSQL isolation levels a transaction may ask for. */
export type IsolationLevel = 'serializable' | 'repeatable read' | 'read committed';

/** Options of {@link withTransaction}. */
export interface TransactionOptions {
  /**
   * PostgreSQL isolation; default serializable, so that read-then-write logic (counters, log
   * sequencing, "is this id taken") is correct without thinking about anomalies. SQLite
   * transactions are always serializable.
   */
  readonly isolation?: IsolationLevel;
  /** Refuse writes; on SQLite also take no write lock, so writers are not blocked. */
  readonly readOnly?: boolean;
  /** PostgreSQL: attempts before TRANSACTION_CONFLICT; default {@link MAX_TRANSACTION_ATTEMPTS}. */
  readonly maxAttempts?: number;
}

/**
 * Runs `fn` in a transaction: commits when it resolves, rolls back when it throws and rethrows
 * its error unchanged.
 *
 * On PostgreSQL a serialization failure (40001) or deadlock (40P01) rolls back and runs `fn`
 * again, up to `maxAttempts` times, so `fn` must do nothing outside the transaction that cannot
 * be repeated (no sending mail, no appending to the log from inside). On SQLite a read-write
 * transaction takes the write lock when it begins (BEGIN IMMEDIATE) and concurrent
 * transactions of this process wait their turn.
 *
 * Called with a transaction, `fn` joins it: no new transaction, no retry, options ignored.
 *
 * Inside `fn`, query through `tx.db` only. On SQLite the transaction holds the one connection,
 * so a query through the outer handle waits for the transaction to end and never returns; on
 * PostgreSQL it would run outside the transaction.
 * @throws StoreError TRANSACTION_CONFLICT when every attempt lost a conflict; DATABASE_BUSY
 * when SQLite's lock stayed taken past the busy timeout; anything `fn` throws
 */
export async function withTransaction<DB, T>(
  target: Queryable<DB>,
  fn: (tx: Queryable<NoInfer<DB>>) => Promise<T>,
  options: TransactionOptions = {},
): Promise<T> {
  const { dialect } = target;
  if (target.db.isTransaction) {
    return fn({ db: target.db, dialect });
  }
  const maxAttempts = options.maxAttempts ?? MAX_TRANSACTION_ATTEMPTS;
  let builder = target.db.transaction();
  if (options.readOnly === true) builder = builder.setAccessMode('read only');
  if (dialect === 'postgres') {
    builder = builder.setIsolationLevel(options.isolation ?? 'serializable');
  }
  const sqlite = sqliteConnectionOf(target.db);
  for (let attempt = 1; ; attempt++) {
    try {
      return await builder.execute((trx) => {
        if (sqlite !== undefined) registerSqliteConnection(trx, sqlite);
        return fn({ db: trx, dialect });
      });
    } catch (error) {
      if (dialect === 'postgres' && isRetryableConflict(error)) {
        if (attempt < maxAttempts) {
          await sleep(Math.random() * RETRY_BASE_DELAY_MS * 2 ** (attempt - 1));
          continue;
        }
        throw new StoreError(
          'TRANSACTION_CONFLICT',
          `Cannot commit transaction: it lost a conflict with concurrent transactions ${attempt} times`,
          { cause: error },
        );
      }
      if (dialect === 'sqlite' && isSqliteBusy(error)) {
        throw new StoreError(
          'DATABASE_BUSY',
          'Cannot run transaction: another process held the database lock past the busy timeout',
          { cause: error },
        );
      }
      throw error;
    }
  }
}
