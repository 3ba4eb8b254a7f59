export { STORE_ERROR_CODES, StoreError } from './errors.ts';
export type { StoreErrorCode } from './errors.ts';
export { MEMORY_LOCATION, redactLocation } from './location.ts';
export { DATABASE_DIALECTS, openDatabase } from './database.ts';
export type {
  DatabaseDialect,
  DatabaseHandle,
  OpenDatabaseOptions,
  Queryable,
} from './database.ts';
export { SQLITE_BUSY_TIMEOUT_MS, SQLITE_FILE_MODE } from './dialect-sqlite.ts';
export { MAX_TRANSACTION_ATTEMPTS, withTransaction } from './transaction.ts';
export type { IsolationLevel, TransactionOptions } from './transaction.ts';
export { bulkInsert, withSqliteWriter } from './bulk-insert.ts';
export type { BulkInsertOptions, BulkInsertReport, SqliteWriter } from './bulk-insert.ts';
export { MIGRATION_TABLE, MigrationFailedError, migrate, migrationState } from './migrate.ts';
export type {
  Migration,
  MigrationReport,
  MigrationResult,
  MigrationState,
  MigrationStatus,
} from './migrate.ts';
