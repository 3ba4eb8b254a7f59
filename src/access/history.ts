// A voter's access history: the log indices of the entries that name their subject tag. The log
// is the record; this is an index of it in the database, caught up bundle by bundle to the size
// of a checkpoint the caller has verified, so a history is one range scan instead of a read of
// the whole log.
import { assert } from '../basics/index.ts';
import { parseSubjectTag } from '../crypto/index.ts';
import type { SubjectTag } from '../crypto/index.ts';
import { withTransaction } from '../store/index.ts';
import type { Queryable } from '../store/index.ts';
import { readEntryBundle, TILE_WIDTH } from '../tlog/index.ts';
import type { LogIndex } from '../tlog/index.ts';
import { MAX_EVENT_SUBJECTS } from './access-event.ts';
import type { AccessTables } from './schema.ts';

/** Indices a history returns when the caller does not say: one page of a history view. */
export const DEFAULT_HISTORY_LIMIT = 50;

/**
 * Most indices one history call returns. Showing an index costs the caller a bundle read, so
 * a longer history is paged with `before`.
 */
export const MAX_HISTORY_LIMIT = 200;

/** Entry types that name voters in `subjects`; every other entry is skipped. */
const SUBJECT_ENTRY_TYPES: ReadonlySet<unknown> = new Set(['access', 'lookup']);

/**
 * Rows per INSERT: two bound parameters each, well under SQLite's 32 766 and PostgreSQL's
 * 65 535 per statement, and a full bundle of single-subject entries goes in one statement.
 */
const ROWS_PER_INSERT = 2_000;

/** The one row of `access_subject_state`. */
const STATE_ID = 1;

/** Options of {@link indexAccessLog}. */
export interface IndexAccessLogOptions {
  /** The log's directory (tiles, entry bundles, checkpoint). */
  readonly logDir: string;
  /** Size of a checkpoint the caller has verified: index entries `0 .. size - 1`. */
  readonly size: number;
}

/** What {@link indexAccessLog} did. */
export interface IndexAccessLogReport {
  /** Entries this call indexed (entries another process indexed meanwhile do not count). */
  readonly indexed: number;
  /** Log size indexed now; larger than asked when the index was already further along. */
  readonly size: number;
}

/** Options of {@link accessHistory}. */
export interface AccessHistoryOptions {
  /**
   * Most indices to return, at least 1; default {@link DEFAULT_HISTORY_LIMIT}, and more than
   * {@link MAX_HISTORY_LIMIT} is capped to it.
   */
  readonly limit?: number;
  /** Only indices below this one: the last index of the previous page, to page back in time. */
  readonly before?: number;
}

/**
 * Catches the subject index up to `options.size`: reads the log's entry bundles from the size
 * indexed so far, and records which entries of type `access` or `lookup` name which subject
 * tags. Each bundle is committed in its own transaction together with the new indexed size,
 * so an interrupted run resumes where it stopped. A transaction advances the size only from
 * the value this call read, so two processes indexing at once never index a range twice or
 * count it twice: the loser of a bundle skips to wherever the winner got. A `size` at or below
 * the indexed size does nothing: the index never goes backwards.
 *
 * The entries are read from disk and not checked against the checkpoint's tree here; the
 * caller verified the checkpoint, and the log's verifier checks the entries.
 * @throws TlogError NOT_FOUND, BUNDLE_MALFORMED or IO_FAILED when a bundle up to `size` cannot
 *   be read (what was committed before stays)
 * @throws StoreError TRANSACTION_CONFLICT, DATABASE_BUSY
 * @throws AssertionError when `size` is not a non-negative safe integer (a bug in the caller)
 */
export async function indexAccessLog(
  q: Queryable<AccessTables>,
  options: IndexAccessLogOptions,
): Promise<IndexAccessLogReport> {
  const { logDir, size } = options;
  assert(Number.isSafeInteger(size) && size >= 0, `Invalid log size "${size}"`);
  let from = await indexedSize(q);
  let indexed = 0;
  while (from < size) {
    const bundle = Math.floor(from / TILE_WIDTH);
    const start = bundle * TILE_WIDTH;
    const end = Math.min(start + TILE_WIDTH, size);
    const entries = await readEntryBundle(logDir, bundle, end - start);
    const rows: { subject: SubjectTag; log_index: number }[] = [];
    for (let i = from - start; i < entries.length; i++) {
      for (const subject of entrySubjects(entries[i]!)) {
        rows.push({ subject, log_index: start + i });
      }
    }
    const claimed = await withTransaction(q, async (tx) => {
      // Claim the range first: on PostgreSQL the update locks the row, so a concurrent
      // indexer of the same range waits here and then finds the size moved (under serializable
      // isolation it loses with a conflict and its retry finds the size moved).
      const update = await tx.db
        .updateTable('access_subject_state')
        .set({ size: end })
        .where('id', '=', STATE_ID)
        .where('size', '=', from)
        .executeTakeFirst();
      if (Number(update.numUpdatedRows) !== 1) return false;
      for (let at = 0; at < rows.length; at += ROWS_PER_INSERT) {
        await tx.db
          .insertInto('access_subject_entry')
          .values(rows.slice(at, at + ROWS_PER_INSERT))
          .onConflict((oc) => oc.columns(['subject', 'log_index']).doNothing())
          .execute();
      }
      return true;
    });
    if (claimed) {
      indexed += end - from;
      from = end;
    } else {
      from = await indexedSize(q);
    }
  }
  return { indexed, size: from };
}

/**
 * Indices of the log entries that name `subject`, newest first, at most `options.limit`.
 * Only entries indexed by {@link indexAccessLog} are found.
 * @throws AssertionError when `limit` is not a positive integer or `before` not a non-negative
 *   safe integer (a bug in the caller: outside input is parsed at the edge)
 */
export async function accessHistory(
  q: Queryable<AccessTables>,
  subject: SubjectTag,
  options: AccessHistoryOptions = {},
): Promise<readonly LogIndex[]> {
  const limit = Math.min(options.limit ?? DEFAULT_HISTORY_LIMIT, MAX_HISTORY_LIMIT);
  assert(Number.isSafeInteger(limit) && limit >= 1, `Invalid history limit "${limit}"`);
  const { before } = options;
  assert(
    before === undefined || (Number.isSafeInteger(before) && before >= 0),
    `Invalid history bound "${before}"`,
  );
  let query = q.db
    .selectFrom('access_subject_entry')
    .select('log_index')
    .where('subject', '=', subject);
  if (before !== undefined) query = query.where('log_index', '<', before);
  const rows = await query.orderBy('log_index', 'desc').limit(limit).execute();
  return rows.map((row) => toInteger(row.log_index) as LogIndex);
}

/** The log size indexed so far. */
async function indexedSize(q: Queryable<AccessTables>): Promise<number> {
  const row = await q.db
    .selectFrom('access_subject_state')
    .select('size')
    .where('id', '=', STATE_ID)
    .executeTakeFirst();
  assert(row !== undefined, 'The access_subject_state row is missing');
  return toInteger(row.size);
}

/**
 * int8 columns: pg hands them over as text unless a type parser says otherwise; SQLite as
 * numbers. Either way the value must be a safe integer.
 */
function toInteger(value: number | string | bigint): number {
  const number = Number(value);
  assert(Number.isSafeInteger(number) && number >= 0, `Invalid stored integer "${value}"`);
  return number;
}

const UTF8 = new TextDecoder('utf-8', { fatal: true });

/**
 * The subject tags an entry names, or none.
 * Attacker-influenced: an entry holds whatever was logged, including free text appended by an
 * operator. Anything that is not UTF-8 JSON, not an object of an indexed type, or whose
 * `subjects` is not an array of at most MAX_EVENT_SUBJECTS well-formed tags names nobody: the
 * whole entry is skipped, never half of it indexed.
 */
function entrySubjects(bytes: Uint8Array): readonly SubjectTag[] {
  let value: unknown;
  try {
    value = JSON.parse(UTF8.decode(bytes));
  } catch {
    return [];
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return [];
  const entry = value as { readonly type?: unknown; readonly subjects?: unknown };
  if (!SUBJECT_ENTRY_TYPES.has(entry.type)) return [];
  const { subjects } = entry;
  if (!Array.isArray(subjects) || subjects.length > MAX_EVENT_SUBJECTS) return [];
  const tags = new Set<SubjectTag>();
  for (const subject of subjects as unknown[]) {
    if (typeof subject !== 'string') return [];
    try {
      tags.add(parseSubjectTag(subject));
    } catch {
      return [];
    }
  }
  return [...tags];
}
