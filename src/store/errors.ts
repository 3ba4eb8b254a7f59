import { VotervaultError } from '../basics/index.ts';

/** Stable codes of every failure the store can report. */
export const STORE_ERROR_CODES = [
  /** The location is neither a file path, `:memory:` nor a `postgres://` URL. */
  'LOCATION_INVALID',
  /** No PostgreSQL server answered at the URL (refused, unresolvable host, timeout, TLS). */
  'DATABASE_UNREACHABLE',
  /** The server refused the credentials of the URL. */
  'DATABASE_AUTH',
  /** The server has no database of the name in the URL. */
  'DATABASE_NOT_FOUND',
  /** The SQLite file could not be opened or is not a database. */
  'DATABASE_OPEN_FAILED',
  /** The SQLite file is readable or writable by other users than its owner. */
  'DATABASE_FILE_INSECURE',
  /** Another connection held a lock for longer than the busy timeout. */
  'DATABASE_BUSY',
  /** The database records migrations that this version of the code does not know. */
  'SCHEMA_NEWER_THAN_CODE',
  /** A migration, or reading the applied migrations, failed. */
  'MIGRATION_FAILED',
  /** A transaction kept failing on serialization conflicts until its attempts ran out. */
  'TRANSACTION_CONFLICT',
  /** A bulk insert broke a unique, foreign key, not-null or check constraint. */
  'CONSTRAINT_VIOLATION',
] as const;

/** One of {@link STORE_ERROR_CODES}. */
export type StoreErrorCode = (typeof STORE_ERROR_CODES)[number];

/**
 * A failure of database access. Messages never contain a password: locations are redacted
 * with `redactLocation` before they are quoted.
 */
export class StoreError extends VotervaultError<StoreErrorCode> {}
