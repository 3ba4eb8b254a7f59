import pg from 'pg';
import type { Pool } from 'pg';
import { Kysely, PostgresDialect } from 'kysely';
import { StoreError } from './errors.ts';
import { redactLocation } from './location.ts';

/** Connections a PostgreSQL pool holds at most unless told otherwise (pg's own default). */
export const POSTGRES_POOL_SIZE = 10;

/**
 * How long opening a connection may take. pg waits forever by default, so a server behind a
 * firewall that drops packets would hang start-up instead of failing with DATABASE_UNREACHABLE.
 */
export const POSTGRES_CONNECT_TIMEOUT_MS = 10_000;

/** What the server shows for our connections in `pg_stat_activity`. */
export const POSTGRES_APPLICATION_NAME = 'votervault';

/** SQLSTATE codes we act on. */
// SPEC: https://www.postgresql.org/docs/current/errcodes-appendix.html
export const SQLSTATE = {
  serializationFailure: '40001',
  deadlockDetected: '40P01',
  invalidAuthorization: '28000',
  invalidPassword: '28P01',
  invalidCatalogName: '3D000',
  uniqueViolation: '23505',
  foreignKeyViolation: '23503',
  notNullViolation: '23502',
  checkViolation: '23514',
} as const;

/** What `openPostgres` returns: the Kysely instance and the pool underneath it. */
export interface OpenedPostgres<DB> {
  readonly db: Kysely<DB>;
  readonly pool: Pool;
}

/** Options of {@link openPostgres}. */
export interface OpenPostgresOptions {
  readonly poolSize?: number;
  readonly applicationName?: string;
}

/**
 * int8 (bigint, count(*)) arrives as text; pg leaves it a string. Make it a number like SQLite
 * returns, but refuse values a double cannot hold instead of silently rounding them.
 */
function parseInt8(text: string): number {
  const value = Number(text);
  if (!Number.isSafeInteger(value)) {
    throw new RangeError(`Cannot read int8 "${text}": beyond the safe integer range`);
  }
  return value;
}

/**
 * Opens a pool on the PostgreSQL server at `url` and checks that it answers, so that a wrong
 * host, password or database name fails here with a coded error instead of on the first query.
 * @throws StoreError DATABASE_UNREACHABLE, DATABASE_AUTH, DATABASE_NOT_FOUND
 */
export async function openPostgres<DB>(
  url: string,
  options: OpenPostgresOptions = {},
): Promise<OpenedPostgres<DB>> {
  const types = new pg.TypeOverrides();
  types.setTypeParser(pg.types.builtins.INT8, parseInt8);
  const pool = new pg.Pool({
    connectionString: url,
    max: options.poolSize ?? POSTGRES_POOL_SIZE,
    connectionTimeoutMillis: POSTGRES_CONNECT_TIMEOUT_MS,
    application_name: options.applicationName ?? POSTGRES_APPLICATION_NAME,
    types,
  });
  // An idle connection that the server drops (restart, idle timeout) is reported as an 'error'
  // event, and an unhandled one would crash the process. The pool has already discarded the
  // connection; the next query opens a new one or fails with its own error.
  pool.on('error', () => undefined);
  try {
    await pool.query('select 1');
  } catch (error) {
    await pool.end().catch(() => undefined);
    throw mapConnectError(url, error);
  }
  const db = new Kysely<DB>({ dialect: new PostgresDialect({ pool }) });
  return { db, pool };
}

/** Whether a transaction failed only because a concurrent one won, and may be retried. */
export function isRetryableConflict(error: unknown): boolean {
  const code = sqlState(error);
  return code === SQLSTATE.serializationFailure || code === SQLSTATE.deadlockDetected;
}

/** The SQLSTATE of a server error, such as "23505". */
export function sqlState(error: unknown): string | undefined {
  if (error instanceof pg.DatabaseError) return error.code;
  return undefined;
}

/** Names the failure to connect to `url` without ever quoting its password. */
function mapConnectError(url: string, error: unknown): StoreError {
  const location = redactLocation(url);
  const reason = scrubPassword(url, error instanceof Error ? error.message : String(error));
  switch (sqlState(error)) {
    case SQLSTATE.invalidPassword:
    case SQLSTATE.invalidAuthorization:
      return new StoreError('DATABASE_AUTH', `Cannot log in to database "${location}": ${reason}`, {
        cause: error,
      });
    case SQLSTATE.invalidCatalogName:
      return new StoreError('DATABASE_NOT_FOUND', `Cannot open database "${location}": ${reason}`, {
        cause: error,
      });
    default:
      return new StoreError(
        'DATABASE_UNREACHABLE',
        `Cannot connect to database "${location}": ${reason || 'no reason given'}`,
        { cause: error },
      );
  }
}

/**
 * Driver messages do not quote the password today; this keeps it so if one ever does (a DNS
 * error quoting a mistyped URL, say).
 */
function scrubPassword(url: string, text: string): string {
  const secrets = new Set<string>();
  try {
    const parsed = new URL(url);
    secrets.add(parsed.password);
    secrets.add(parsed.searchParams.get('password') ?? '');
    secrets.add(decodeURIComponent(parsed.password));
  } catch {
    // A malformed percent-escape: the raw form, added first, is still scrubbed.
  }
  let scrubbed = text;
  for (const secret of secrets) {
    if (secret !== '') scrubbed = scrubbed.replaceAll(secret, '***');
  }
  return scrubbed;
}
