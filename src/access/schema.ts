// Tables of the access module and their migrations. Nothing secret is stored in a form that
// opens it: passwords as scrypt hashes, TOTP secrets sealed with AES-256-GCM under a key the
// database never sees, session ids and API tokens as SHA-256 digests. Times are ISO 8601 UTC
// text (`toISOString`), which sorts as it compares.
import { sql } from 'kysely';
import type { Kysely } from 'kysely';
import type { DatabaseDialect, Migration } from '../store/index.ts';

/** `access_principal`: one row per official or API client; never deleted, only disabled. */
export interface AccessPrincipalTable {
  principal_id: string;
  /** Login name, lower case; unique. */
  name: string;
  role: string;
  /** JSON array: `["state"]` or the county codes. */
  scope: string;
  /** PHC scrypt string; null for API clients, which have no password. */
  password_hash: string | null;
  /** The TOTP secret sealed with AES-256-GCM (see principal.ts); null for API clients. */
  totp_sealed: Uint8Array | null;
  /** Last TOTP step accepted, so that a code is never accepted twice. */
  totp_last_step: number | null;
  created_at: string;
  updated_at: string;
  disabled_at: string | null;
}

/** `access_token`: API tokens of API clients. */
export interface AccessTokenTable {
  /** Lower-case hex SHA-256 of the token text. */
  token_hash: string;
  /** Public id of the token (16 hex digits), for listing, logging and revoking. */
  token_id: string;
  principal_id: string;
  /** JSON array like `access_principal.scope`, within the principal's. */
  scope: string;
  /** JSON array of the actions the token may take. */
  actions: string;
  created_at: string;
  expires_at: string;
  revoked_at: string | null;
}

/** `access_session`: signed-in officials. */
export interface AccessSessionTable {
  /** Lower-case hex SHA-256 of the session id the browser holds. */
  session_hash: string;
  principal_id: string;
  created_at: string;
  last_seen_at: string;
  /** Absolute expiry: created_at plus the absolute lifetime. */
  expires_at: string;
  revoked_at: string | null;
}

/** `access_login_attempt`: failure counters per account and per client address. */
export interface AccessLoginAttemptTable {
  /** `account:` or `client:` and the hex SHA-256 of the name or address (never in clear). */
  attempt_key: string;
  /** Attempts counted in the current window (counted before they are checked). */
  failures: number;
  window_started_at: string;
  locked_until: string | null;
}

/**
 * `access_subject_entry`: which log entries name which voter, so a voter's history is one range
 * scan of the primary key instead of a read of the whole log. Built from the log by
 * `indexAccessLog` (history.ts); the log stays the record, this is only its index.
 */
export interface AccessSubjectEntryTable {
  /** Subject tag: 64 lower-case hex digits. */
  subject: string;
  /** Index of the log entry naming the subject; int8 on PostgreSQL. */
  log_index: number;
}

/** `access_subject_state`: one row (`id` 1) holding how much of the log is indexed. */
export interface AccessSubjectStateTable {
  id: number;
  /** Entries `0 .. size - 1` of the log are indexed; only ever grows. */
  size: number;
}

/** The tables of the access module, for `Queryable<AccessTables>`. */
export interface AccessTables {
  access_principal: AccessPrincipalTable;
  access_token: AccessTokenTable;
  access_session: AccessSessionTable;
  access_login_attempt: AccessLoginAttemptTable;
  access_subject_entry: AccessSubjectEntryTable;
  access_subject_state: AccessSubjectStateTable;
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- migrations see the database untyped
async function createTables(db: Kysely<any>, dialect: DatabaseDialect): Promise<void> {
  const binary = dialect === 'postgres' ? 'bytea' : 'blob';
  await db.schema
    .createTable('access_principal')
    .addColumn('principal_id', 'text', (c) => c.primaryKey())
    .addColumn('name', 'text', (c) => c.notNull().unique())
    .addColumn('role', 'text', (c) => c.notNull())
    .addColumn('scope', 'text', (c) => c.notNull())
    .addColumn('password_hash', 'text')
    .addColumn('totp_sealed', binary)
    .addColumn('totp_last_step', 'integer')
    .addColumn('created_at', 'text', (c) => c.notNull())
    .addColumn('updated_at', 'text', (c) => c.notNull())
    .addColumn('disabled_at', 'text')
    .execute();
  await db.schema
    .createTable('access_token')
    .addColumn('token_hash', 'text', (c) => c.primaryKey())
    .addColumn('token_id', 'text', (c) => c.notNull().unique())
    .addColumn('principal_id', 'text', (c) =>
      c.notNull().references('access_principal.principal_id'),
    )
    .addColumn('scope', 'text', (c) => c.notNull())
    .addColumn('actions', 'text', (c) => c.notNull())
    .addColumn('created_at', 'text', (c) => c.notNull())
    .addColumn('expires_at', 'text', (c) => c.notNull())
    .addColumn('revoked_at', 'text')
    .execute();
  await db.schema
    .createIndex('access_token_principal')
    .on('access_token')
    .column('principal_id')
    .execute();
  await db.schema
    .createTable('access_session')
    .addColumn('session_hash', 'text', (c) => c.primaryKey())
    .addColumn('principal_id', 'text', (c) =>
      c.notNull().references('access_principal.principal_id'),
    )
    .addColumn('created_at', 'text', (c) => c.notNull())
    .addColumn('last_seen_at', 'text', (c) => c.notNull())
    .addColumn('expires_at', 'text', (c) => c.notNull())
    .addColumn('revoked_at', 'text')
    .execute();
  await db.schema
    .createIndex('access_session_principal')
    .on('access_session')
    .column('principal_id')
    .execute();
  await db.schema
    .createTable('access_login_attempt')
    .addColumn('attempt_key', 'text', (c) => c.primaryKey())
    .addColumn('failures', 'integer', (c) => c.notNull())
    .addColumn('window_started_at', 'text', (c) => c.notNull())
    .addColumn('locked_until', 'text')
    .execute();
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- migrations see the database untyped
async function createSubjectIndex(db: Kysely<any>, dialect: DatabaseDialect): Promise<void> {
  // The primary key is the only index the history query needs. On SQLite, WITHOUT ROWID stores
  // the rows in that key's tree itself instead of in a second tree beside it.
  let entries = db.schema
    .createTable('access_subject_entry')
    .addColumn('subject', 'text', (c) => c.notNull())
    .addColumn('log_index', 'bigint', (c) => c.notNull())
    .addPrimaryKeyConstraint('access_subject_entry_pk', ['subject', 'log_index']);
  if (dialect === 'sqlite') entries = entries.modifyEnd(sql`without rowid`);
  await entries.execute();
  await db.schema
    .createTable('access_subject_state')
    .addColumn('id', 'integer', (c) => c.primaryKey())
    .addColumn('size', 'bigint', (c) => c.notNull())
    .addCheckConstraint('access_subject_state_one_row', sql`id = 1`)
    .addCheckConstraint('access_subject_state_size', sql`size >= 0`)
    .execute();
  await db.insertInto('access_subject_state').values({ id: 1, size: 0 }).execute();
}

/** Migrations of the access module, in order. They depend on no other module's tables. */
export const ACCESS_MIGRATIONS: readonly Migration[] = [
  { name: 'access-0001-create-tables', up: createTables },
  { name: 'access-0002-create-subject-index', up: createSubjectIndex },
];
