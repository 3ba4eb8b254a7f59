/**
 * The voter-file importer: streams a delimited voter file of any size in constant memory into
 * the voter store, using every core.
 *
 * The importing thread (the caller's, or one of its own: `import-thread.ts`) reads and splits
 * lines (`readDelimited`), gathers rows into batches, reads what the store has for each batch
 * (`existingVoters`) and ships fields and state to worker threads running `prepareVoterRow`
 * (validate, seal, MAC, blind-index) in jobs of {@link JOB_ROWS}, as soon as a job's rows are
 * read. Results are written in file order, one transaction per batch holding the voters
 * (`writeVoterRows`, `touchVoters`) and the import's progress marker (`voter_import.last_line`
 * and counts). While the importing thread commits batch n, the workers prepare the jobs of
 * batch n + 1, which it has read already.
 *
 * Crash safety: a run killed at any moment leaves every batch either committed with its marker
 * or not at all. A new run of the same bytes (same SHA-256) finds the running import and resumes
 * after its last committed line; quarantine entries of uncommitted lines are dropped first.
 * Removals (voters of the covered jurisdictions the file no longer lists) are marked only once
 * the whole file was read, in the same transaction that marks the import done. A jurisdiction
 * is covered when at least one of its rows was stored or found unchanged, so a file of garbage
 * removes nobody, and a bad row of a stored voter keeps that voter (it is still listed). Each finished
 * import is one log entry with counts and no personal data, appended after that commit and
 * retried by later runs until it is durable (at least once; the import id tells repeats apart).
 *
 * Attacker-controlled input: the file (any bytes). Lines are bounded by the reader, bad rows go
 * to quarantine with their line number instead of stopping the run, field values reach only
 * `prepareVoterRow` and the quarantine file, and memory is bounded by the batch size and the
 * number of batches in flight.
 */
import { createHash, randomBytes } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { link, open, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { availableParallelism, hostname } from 'node:os';
import { join } from 'node:path';
import { TextDecoder } from 'node:util';
import { isUtf8 } from 'node:buffer';
import { withTransaction } from '../../store/index.ts';
import type { Queryable } from '../../store/index.ts';
import type { KeyRingSource } from '../../crypto/index.ts';
import { canonicalJsonBytes } from '../../tlog/index.ts';
import { formatDelimitedRow, parseDelimitedLine, readDelimited } from '../delimited.ts';
import {
  DEFAULT_MAX_VRI_BYTES,
  loadVriLayout,
  parseVriDocument,
  VRI_LAYOUT_ID,
} from '../nist-vri.ts';
import type { VriRecordOutcome } from '../nist-vri.ts';
import type { DelimitedInvalid } from '../delimited.ts';
import { checkHeader, detectLayout, layoutDialect, loadLayout } from '../layout.ts';
import type { VoterLayout } from '../layout.ts';
import { existingVoters, markUnseenRemoved, touchVoters, writeVoterRows } from '../record.ts';
import type { ExistingVoter, StoredVoterRow } from '../record.ts';
import type { VotersTables } from '../schema.ts';
import { ImportError } from './errors.ts';
import { ensureQuarantineDir, MAX_QUARANTINE_RAW_BYTES, openQuarantine } from './quarantine.ts';
import type { QuarantineEntry, QuarantineWriter } from './quarantine.ts';
import { RawLineWindow } from './raw-lines.ts';
import type { ImportTables, VoterImportTable } from './schema.ts';
import { startPreparePool } from './worker-pool.ts';
import type { PooledOutcome, PreparePool } from './worker-pool.ts';

/** Every table an import touches. */
export type ImportDatabase = VotersTables & ImportTables;

/**
 * Rows per batch: one transaction each. A commit costs an fsync, and on SQLite it writes every
 * page of the lookup index the batch touched; that index is keyed by random digests, so a batch
 * touches pages all over it, and larger batches share more of them (5,000 rows a commit wrote
 * a 100,000-voter store about a fifth faster than 2,000). Memory grows with it: two batches are
 * held at once, which keeps an import's peak RSS near 350 MiB whatever the file's size, and a
 * resumed run redoes at most one batch.
 */
export const DEFAULT_BATCH_SIZE = 5000;

/**
 * Rows per job sent to a worker thread. Jobs are dispatched as soon as their rows are read, so
 * the workers keep preparing while the importing thread commits the previous batch (on SQLite
 * a commit runs on this thread and blocks it), and a message stays small.
 */
const JOB_ROWS = 1000;

/**
 * Batches read but not committed: one committing while the next is read and prepared. Jobs,
 * not batches, keep every worker busy, so more would only hold more memory.
 */
const MAX_BATCHES_IN_FLIGHT = 2;

/** Bytes read from the file at once. */
const READ_CHUNK_BYTES = 1 << 20;

/** Values `--layout` accepts besides a policy file path. `nc` tells 2022 from legacy itself. */
export const IMPORT_LAYOUT_IDS = ['nc', 'nc-legacy', 'oh', 'fl', 'wa', 'nist-vri'] as const;

/** Counts of an import, as stored, reported and logged. */
export interface ImportCounts {
  readonly added: number;
  readonly changed: number;
  readonly unchanged: number;
  readonly removed: number;
  readonly quarantined: number;
}

/** What an import did. */
export interface ImportReport {
  readonly importId: string;
  readonly fileSha256: string;
  readonly layout: string;
  /** Line after which this run resumed an earlier, interrupted run of the same file; 0 if none. */
  readonly resumedAfterLine: number;
  /** Data rows in the file (header and blank lines excluded), quarantined ones included. */
  readonly rows: number;
  readonly counts: ImportCounts;
  /** The quarantine file, when any row was quarantined. */
  readonly quarantineFile: string | undefined;
  /** Jurisdictions the file covers (where removals were looked for), sorted. */
  readonly jurisdictions: readonly string[];
}

/** Progress of a running import. */
export interface ImportProgress {
  /** `hashing`: reading the file once for its SHA-256; `importing`: the rows. */
  readonly phase: 'hashing' | 'importing';
  readonly bytesDone: number;
  readonly bytesTotal: number;
  /** Data rows committed (importing) so far. */
  readonly rows: number;
}

/** Options of {@link importVoterFile}. */
export interface ImportVoterFileOptions {
  /** The database, migrated with the voter store's and the importer's migrations. */
  readonly db: Queryable<ImportDatabase>;
  readonly file: string;
  /**
   * A layout, a shipped layout id, `nc` (the 2022 or legacy NC layout, detected from the
   * header), or a policy file path.
   */
  readonly layout: string | VoterLayout;
  /** Where the key ring is; each worker loads it from there. */
  readonly keys: KeyRingSource;
  /** Directory of the quarantine files (`<data>/quarantine`). */
  readonly quarantineDir: string;
  /** Appends one entry to the public log; resolves once it is durable. */
  readonly appendLog: (entry: Uint8Array) => Promise<void>;
  /** Who runs the import (recorded in the log entry). */
  readonly operator: string;
  /** Worker threads; default {@link defaultWorkers}. 0 prepares rows on the calling thread. */
  readonly workers?: number;
  /** Rows per batch (one transaction each); default {@link DEFAULT_BATCH_SIZE}. */
  readonly batchSize?: number;
  readonly onProgress?: (progress: ImportProgress) => void;
  /** Clock; defaults to the system's. */
  readonly now?: () => Date;
}

/** The layout an import uses and how its file is shaped. */
export interface ResolvedLayout {
  readonly layout: VoterLayout;
  /** Fields every data row must have. */
  readonly expectedFields: number;
  /** Number of header lines before the data (0 or 1). */
  readonly headerLines: number;
}

/**
 * Picks the layout of a file from the `--layout` value and the file's first line: `nc` detects
 * the 2022 or legacy layout from the header, a layout with a header must match it (Ohio's extra
 * vote-history columns included), a headerless layout (Florida) is taken as named.
 * @throws ImportError HEADER_MISMATCH
 * @throws LayoutError LAYOUT_NOT_FOUND, LAYOUT_MALFORMED, LAYOUT_INVALID, LAYOUT_UNDETECTED
 */
export function resolveImportLayout(
  spec: string | VoterLayout,
  firstLine: string | undefined,
): ResolvedLayout {
  let layout: VoterLayout;
  if (spec === VRI_LAYOUT_ID) {
    // A JSON document, not delimited lines: records are numbered from 1, with no header.
    layout = loadVriLayout();
    return { layout, expectedFields: layout.columns.length, headerLines: 0 };
  }
  if (spec === 'nc') {
    layout = detectLayout(firstLine ?? '', {
      candidates: [loadLayout('nc'), loadLayout('nc-legacy')],
    });
  } else {
    layout = typeof spec === 'string' ? loadLayout(spec) : spec;
  }
  if (layout.format.header === 'absent') {
    return { layout, expectedFields: layout.columns.length, headerLines: 0 };
  }
  const parsed = parseDelimitedLine(
    (firstLine ?? '').replace(/^\uFEFF/, ''),
    layoutDialect(layout),
  );
  if (!parsed.ok) {
    throw new ImportError(
      'HEADER_MISMATCH',
      `Cannot read the header of the file for layout "${layout.id}": ${parsed.message}`,
      { line: 1, column: parsed.column },
    );
  }
  const check = checkHeader(layout, parsed.fields);
  if (check.kind === 'mismatch') {
    throw new ImportError('HEADER_MISMATCH', `Cannot import the file: ${check.message}`, {
      line: 1,
      column: check.position,
    });
  }
  return {
    layout,
    expectedFields: layout.columns.length + check.extraColumns.length,
    headerLines: 1,
  };
}

/**
 * Imports one voter file; see the module comment. Resumes an interrupted run of the same file.
 * @throws ImportError FILE_UNREADABLE, FILE_CHANGED, LAYOUT_UNSUPPORTED, HEADER_MISMATCH, IMPORT_RUNNING,
 *   QUARANTINE_INSECURE, WORKER_FAILED, IO_FAILED
 * @throws LayoutError from resolving the layout; CryptoError from loading the key ring;
 *   VoterStoreError VERSION_CONFLICT when another writer changed a voter during the run;
 *   StoreError from the database; whatever `appendLog` throws (the import is then done and its
 *   entry is appended by the next run)
 */
export async function importVoterFile(options: ImportVoterFileOptions): Promise<ImportReport> {
  const now = options.now ?? (() => new Date());
  const { db, file } = options;
  const info = await stat(file).catch((error: unknown) => {
    throw new ImportError('FILE_UNREADABLE', `Cannot read voter file "${file}": ${errno(error)}`, {
      file,
      cause: error,
    });
  });
  if (!info.isFile()) {
    throw new ImportError('FILE_UNREADABLE', `Cannot read voter file "${file}": not a file`, {
      file,
    });
  }
  const resolved = resolveImportLayout(options.layout, await readFirstLine(file));
  const { layout } = resolved;
  const fileSha256 = await hashFile(file, (bytesDone) =>
    options.onProgress?.({ phase: 'hashing', bytesDone, bytesTotal: info.size, rows: 0 }),
  );
  await ensureQuarantineDir(options.quarantineDir);
  await appendPendingLogEntries(db, options.appendLog, now);
  const state = await startOrResume(db, {
    fileSha256,
    fileBytes: info.size,
    layout: layout.id,
    operator: options.operator,
    startedAt: now().toISOString(),
  });
  const lock = await lockImport(options.quarantineDir, state.id);
  let pool: PreparePool | undefined;
  let quarantine: QuarantineWriter | undefined;
  try {
    quarantine = await openQuarantine(
      options.quarantineDir,
      state.id,
      state.last_line > 0 ? { keepThroughLine: state.last_line } : {},
    );
    const batchSize = options.batchSize ?? DEFAULT_BATCH_SIZE;
    pool = await startPreparePool({
      size: options.workers ?? defaultWorkers(),
      keys: options.keys,
      layout,
      batchSize: Math.min(batchSize, JOB_ROWS),
    });
    const run = new ImportRun({
      db,
      layout,
      resolved,
      pool,
      quarantine,
      state,
      batchSize,
      onProgress: options.onProgress,
      bytesTotal: info.size,
      now,
    });
    const finished = await run.execute(file);
    await appendPendingLogEntries(db, options.appendLog, now);
    return {
      importId: state.id,
      fileSha256,
      layout: layout.id,
      resumedAfterLine: state.last_line,
      rows: finished.rows,
      counts: countsOf(finished),
      quarantineFile: finished.quarantined > 0 ? quarantine.path : undefined,
      jurisdictions: parseJurisdictions(finished.jurisdictions),
    };
  } finally {
    await pool?.close();
    await quarantine?.close();
    await lock.release();
  }
}

/**
 * Worker threads an import starts by default: one per core but one, since the thread running
 * the import is itself a full core's work (reading, splitting, diffing and driving the
 * database; on SQLite every statement runs on it), and each worker costs memory.
 */
export function defaultWorkers(): number {
  return Math.max(1, availableParallelism() - 1);
}

/**
 * The log entry of a finished import: canonical JSON (RFC 8785) with the file's hash, the
 * layout, counts, operator and times. It names no voter and holds no field value.
 */
export function importLogEntry(row: VoterImportTable): Uint8Array {
  return canonicalJsonBytes({
    type: 'import',
    import: row.id,
    file: { sha256: row.file_sha256, bytes: Number(row.file_bytes) },
    layout: row.layout,
    rows: Number(row.rows),
    counts: countsOf(row),
    operator: row.operator,
    started: row.started_at,
    time: row.finished_at,
  });
}

/**
 * Appends the log entries of finished imports that are not logged yet (a crash or a log
 * failure after the final commit), oldest first, marking each once its append resolved.
 * Returns how many were appended.
 * @throws whatever `appendLog` throws; StoreError
 */
export async function appendPendingLogEntries(
  db: Queryable<ImportTables>,
  appendLog: (entry: Uint8Array) => Promise<void>,
  now: () => Date = () => new Date(),
): Promise<number> {
  const rows = await db.db
    .selectFrom('voter_import')
    .select(IMPORT_COLUMNS)
    .where('status', '=', 'done')
    .where('logged_at', 'is', null)
    .orderBy('finished_at')
    .orderBy('id')
    .execute();
  for (const row of rows) {
    await appendLog(importLogEntry(row));
    await db.db
      .updateTable('voter_import')
      .set({ logged_at: now().toISOString() })
      .where('id', '=', row.id)
      .execute();
  }
  return rows.length;
}

/**
 * The import runs of a database, newest first (for `votervault import --list` and tests).
 * @throws StoreError
 */
export async function listImports(db: Queryable<ImportTables>): Promise<VoterImportTable[]> {
  return db.db
    .selectFrom('voter_import')
    .select(IMPORT_COLUMNS)
    .orderBy('started_at', 'desc')
    .orderBy('id')
    .execute();
}

const IMPORT_COLUMNS = [
  'id',
  'file_sha256',
  'file_bytes',
  'layout',
  'status',
  'operator',
  'started_at',
  'finished_at',
  'logged_at',
  'last_line',
  'rows',
  'added',
  'changed',
  'unchanged',
  'removed',
  'quarantined',
  'jurisdictions',
] as const satisfies readonly (keyof VoterImportTable)[];

function countsOf(row: ImportCounts): ImportCounts {
  return {
    added: Number(row.added),
    changed: Number(row.changed),
    unchanged: Number(row.unchanged),
    removed: Number(row.removed),
    quarantined: Number(row.quarantined),
  };
}

function parseJurisdictions(text: string): string[] {
  const value: unknown = JSON.parse(text);
  return Array.isArray(value) ? value.filter((v): v is string => typeof v === 'string') : [];
}

function errno(error: unknown): string {
  return (error as NodeJS.ErrnoException | undefined)?.code ?? String(error);
}

/** The first line of a file as text (UTF-8 if valid, else windows-1252), without its ending. */
/**
 * The records of a NIST SP 1500-102 document, read whole through `source` (so that it is hashed
 * like any other file) and checked against the VRI schema before any record is used. The
 * document's size is bounded by the VRI reader.
 * @throws VriError when the document is not a valid VRI document
 */
async function* vriRecords(
  file: string,
  source: AsyncIterable<Uint8Array>,
): AsyncGenerator<VriRecordOutcome> {
  const chunks: Uint8Array[] = [];
  let total = 0;
  for await (const chunk of source) {
    total += chunk.length;
    if (total > DEFAULT_MAX_VRI_BYTES) {
      throw new ImportError(
        'FILE_UNREADABLE',
        `Cannot import "${file}": a NIST VRI document is limited to ${DEFAULT_MAX_VRI_BYTES} bytes`,
        { file },
      );
    }
    chunks.push(chunk);
  }
  yield* parseVriDocument(Buffer.concat(chunks), file).records;
}

async function readFirstLine(file: string): Promise<string | undefined> {
  let handle;
  try {
    handle = await open(file, 'r');
    const buffer = Buffer.alloc(READ_CHUNK_BYTES);
    const { bytesRead } = await handle.read(buffer, 0, buffer.length, 0);
    const bytes = buffer.subarray(0, bytesRead);
    const end = bytes.indexOf(0x0a);
    const line = bytes.subarray(0, end < 0 ? bytes.length : end);
    if (line.length === 0 && bytesRead === 0) return undefined;
    const text = isUtf8(line)
      ? line.toString('utf8')
      : new TextDecoder('windows-1252').decode(line);
    return text.replace(/\r$/, '');
  } catch (error: unknown) {
    throw new ImportError('FILE_UNREADABLE', `Cannot read voter file "${file}": ${errno(error)}`, {
      file,
      cause: error,
    });
  } finally {
    await handle?.close();
  }
}

/** SHA-256 of a file, hex. */
async function hashFile(file: string, onProgress: (bytes: number) => void): Promise<string> {
  const hash = createHash('sha256');
  let bytes = 0;
  try {
    for await (const chunk of createReadStream(file, { highWaterMark: READ_CHUNK_BYTES })) {
      hash.update(chunk as Buffer);
      bytes += (chunk as Buffer).length;
      onProgress(bytes);
    }
  } catch (error: unknown) {
    throw new ImportError('FILE_UNREADABLE', `Cannot read voter file "${file}": ${errno(error)}`, {
      file,
      cause: error,
    });
  }
  return hash.digest('hex');
}

interface StartInput {
  readonly fileSha256: string;
  readonly fileBytes: number;
  readonly layout: string;
  readonly operator: string;
  readonly startedAt: string;
}

/** Finds the running import of the same file and layout, or records a new one. */
async function startOrResume(
  db: Queryable<ImportTables>,
  input: StartInput,
): Promise<VoterImportTable> {
  return withTransaction(db, async (tx) => {
    const running = await tx.db
      .selectFrom('voter_import')
      .select(IMPORT_COLUMNS)
      .where('file_sha256', '=', input.fileSha256)
      .where('layout', '=', input.layout)
      .where('status', '=', 'running')
      .orderBy('started_at', 'desc')
      .executeTakeFirst();
    if (running !== undefined) {
      return { ...running, last_line: Number(running.last_line), rows: Number(running.rows) };
    }
    const row: VoterImportTable = {
      id: randomBytes(16).toString('hex'),
      file_sha256: input.fileSha256,
      file_bytes: input.fileBytes,
      layout: input.layout,
      status: 'running',
      operator: input.operator,
      started_at: input.startedAt,
      finished_at: null,
      logged_at: null,
      last_line: 0,
      rows: 0,
      added: 0,
      changed: 0,
      unchanged: 0,
      removed: 0,
      quarantined: 0,
      jurisdictions: '[]',
    };
    await tx.db.insertInto('voter_import').values(row).execute();
    return row;
  });
}

/** A lock on one import id, so that two processes never run the same import at once. */
interface ImportLock {
  release(): Promise<void>;
}

/**
 * Takes `<dir>/<id>.lock` (created atomically with a hard link, holding pid and host). A lock
 * left by a process of this host that no longer runs (killed) is taken over.
 * @throws ImportError IMPORT_RUNNING, IO_FAILED
 */
async function lockImport(dir: string, importId: string): Promise<ImportLock> {
  const file = join(dir, `${importId}.lock`);
  const temp = `${file}.${process.pid}.tmp`;
  const content = `${process.pid}\n${hostname()}\n`;
  try {
    await writeFile(temp, content, { mode: 0o600 });
    for (let attempt = 0; ; attempt++) {
      try {
        await link(temp, file);
        break;
      } catch (error: unknown) {
        if (errno(error) !== 'EEXIST' || attempt > 0) throw error;
        const [pid, host] = (await readFile(file, 'utf8').catch(() => '')).split('\n');
        if (host === hostname() && pid !== undefined && isAlive(Number(pid))) {
          throw new ImportError(
            'IMPORT_RUNNING',
            `Cannot run import "${importId}": process ${pid} is running it`,
          );
        }
        if (host !== hostname() && host !== undefined && host !== '') {
          throw new ImportError(
            'IMPORT_RUNNING',
            `Cannot run import "${importId}": host "${host}" holds its lock "${file}"; remove it if that run is over`,
          );
        }
        await rm(file, { force: true });
      }
    }
  } catch (error: unknown) {
    if (error instanceof ImportError) throw error;
    throw new ImportError('IO_FAILED', `Cannot lock import "${importId}": ${errno(error)}`, {
      cause: error,
    });
  } finally {
    await rm(temp, { force: true });
  }
  return { release: () => rm(file, { force: true }) };
}

function isAlive(pid: number): boolean {
  if (!Number.isSafeInteger(pid) || pid <= 0) return false;
  if (pid === process.pid) return true;
  try {
    process.kill(pid, 0);
    return true;
  } catch (error: unknown) {
    return errno(error) === 'EPERM';
  }
}

/** A data row read from the file and waiting for its batch. */
interface PendingRow {
  readonly line: number;
  /** Released once the row is prepared, unless it is invalid and goes to the quarantine file. */
  fields: readonly string[];
  /** Trimmed voter id column, as `prepareVoterRow` reads it ('' when empty). */
  readonly voterId: string;
  /** County code or the state, as `prepareVoterRow` computes it. */
  readonly jurisdiction: string;
}

interface Batch {
  /** Rows read and not yet sent to a worker. */
  readonly pending: PendingRow[];
  /** Rows sent to workers, in file order. */
  readonly jobs: Job[];
  /** Rows quarantined while reading (shape, encoding, duplicates). */
  readonly quarantine: QuarantineEntry[];
  /** Last physical line read into the batch. */
  lastLine: number;
  /** Data rows in the batch, quarantined ones included. */
  records: number;
}

interface Job {
  readonly rows: readonly PendingRow[];
  readonly existing: ReadonlyMap<string, ExistingVoter>;
  readonly outcomes: Promise<PooledOutcome[]>;
}

interface RunOptions {
  readonly db: Queryable<ImportDatabase>;
  readonly layout: VoterLayout;
  readonly resolved: ResolvedLayout;
  readonly pool: PreparePool;
  readonly quarantine: QuarantineWriter;
  readonly state: VoterImportTable;
  readonly batchSize: number;
  readonly onProgress: ((progress: ImportProgress) => void) | undefined;
  readonly bytesTotal: number;
  readonly now: () => Date;
}

/** One run of an import, from its resumption point to the end of the file. */
class ImportRun {
  readonly #o: RunOptions;
  readonly #window = new RawLineWindow();
  /** Committed totals: what `voter_import` holds. */
  #totals: VoterImportTable;
  readonly #jurisdictions: Set<string>;
  /** Voter ids of batches read but not committed, to catch a voter listed twice. */
  readonly #uncommitted = new Map<string, number>();
  readonly #inFlight: Batch[] = [];
  /** The commit running, if any: commits run one at a time, in file order. */
  #committing: Promise<void> = Promise.resolve();
  readonly #voterIdIndex: number;
  readonly #voterIdName: string;
  readonly #countyIndex: number;
  readonly #decoder: TextDecoder;

  constructor(options: RunOptions) {
    this.#o = options;
    this.#totals = { ...options.state };
    this.#jurisdictions = new Set(parseJurisdictions(options.state.jurisdictions));
    const columns = options.layout.columns;
    this.#voterIdIndex = columns.findIndex((c) => c.role === 'voterId');
    this.#voterIdName = columns[this.#voterIdIndex]?.name ?? 'voterId';
    this.#countyIndex = columns.findIndex((c) => c.role === 'countyCode');
    this.#decoder = new TextDecoder(options.layout.format.encoding);
  }

  /** Reads the file from the resumption point, commits every batch, then finishes the import. */
  async execute(file: string): Promise<VoterImportTable> {
    const { layout, resolved, batchSize, state } = this.#o;
    const skipThrough = Math.max(resolved.headerLines, state.last_line);
    const source = createReadStream(file, { highWaterMark: READ_CHUNK_BYTES });
    // The file is hashed again as it is read: resuming relies on equal hashes meaning equal
    // lines, so a file changed since it was hashed must not be finished (or resumed) as the
    // same import.
    const hash = createHash('sha256');
    let batch = emptyBatch();
    try {
      const records =
        layout.id === VRI_LAYOUT_ID
          ? vriRecords(file, hashing(source, hash))
          : readDelimited(this.#window.track(hashing(source, hash)), {
              ...layoutDialect(layout),
              encoding: layout.format.encoding,
              expectedFields: resolved.expectedFields,
            });
      for await (const record of records) {
        if (record.line <= skipThrough) continue;
        batch.lastLine = record.line;
        batch.records++;
        if (record.kind === 'invalid') {
          batch.quarantine.push(this.#rejectedLine(record));
        } else if (record.kind === 'issue') {
          batch.quarantine.push({
            line: record.line,
            field: record.issue.field,
            code: record.issue.code,
            reason: record.issue.reason,
            raw: record.raw.slice(0, MAX_QUARANTINE_RAW_BYTES),
          });
        } else {
          this.#addRow(batch, record.line, record.fields);
          if (batch.pending.length >= JOB_ROWS) await this.#dispatch(batch);
        }
        if (batch.records >= batchSize) {
          await this.#dispatch(batch);
          this.#inFlight.push(batch);
          batch = emptyBatch();
          while (this.#inFlight.length >= MAX_BATCHES_IN_FLIGHT) await this.#startCommit();
        }
      }
    } catch (error: unknown) {
      source.destroy();
      // Let a commit still running end before the caller closes the database.
      await this.#committing.catch(() => undefined);
      // A system call that failed on the file (EIO, EISDIR…), not a database or worker error.
      if ((error as NodeJS.ErrnoException | undefined)?.syscall !== undefined) {
        throw new ImportError(
          'FILE_UNREADABLE',
          `Cannot read voter file "${file}": ${errno(error)}`,
          {
            file,
            cause: error,
          },
        );
      }
      throw error;
    }
    if (batch.records > 0) {
      await this.#dispatch(batch);
      this.#inFlight.push(batch);
    }
    while (this.#inFlight.length > 0) await this.#startCommit();
    await this.#committing;
    if (hash.digest('hex') !== state.file_sha256) {
      throw new ImportError(
        'FILE_CHANGED',
        `Cannot finish importing "${file}": it changed while it was read; import the new file again`,
        { file },
      );
    }
    return this.#finish();
  }

  #addRow(batch: Batch, line: number, fields: readonly string[]): void {
    const voterId = (fields[this.#voterIdIndex] ?? '').trim();
    const county = this.#countyIndex < 0 ? '' : (fields[this.#countyIndex] ?? '').trim();
    if (voterId !== '') {
      const first = this.#uncommitted.get(voterId);
      if (first !== undefined) {
        batch.quarantine.push(this.#duplicate(line, fields, first));
        return;
      }
      this.#uncommitted.set(voterId, line);
    }
    batch.pending.push({
      line,
      fields,
      voterId,
      jurisdiction: county === '' ? this.#o.layout.state : county,
    });
  }

  /** Looks up what the store has for the rows read and hands them to a worker. */
  async #dispatch(batch: Batch): Promise<void> {
    const { db, pool } = this.#o;
    let rows = batch.pending.splice(0);
    if (rows.length === 0) return;
    const ids = rows.filter((r) => r.voterId !== '').map((r) => r.voterId);
    const existing = await existingVoters(db, ids);
    // A voter this import already committed, listed again further down the file.
    const seen = await this.#seenByThisImport([...existing.keys()]);
    if (seen.size > 0) {
      const kept: PendingRow[] = [];
      for (const row of rows) {
        if (seen.has(row.voterId)) {
          this.#uncommitted.delete(row.voterId);
          batch.quarantine.push(this.#duplicate(row.line, row.fields, undefined));
        } else {
          kept.push(row);
        }
      }
      rows = kept;
    }
    const outcomes = pool
      .prepare(rows.map((row) => ({ fields: row.fields, existing: existing.get(row.voterId) })))
      .then((prepared) => {
        prepared.forEach((outcome, i) => {
          const row = rows[i];
          if (row !== undefined && outcome.kind !== 'invalid') row.fields = NO_FIELDS;
        });
        return prepared;
      });
    // Observed at once so a failure is never unhandled while earlier batches commit.
    outcomes.catch(() => undefined);
    batch.jobs.push({ rows, existing, outcomes });
  }

  async #seenByThisImport(ids: readonly string[]): Promise<Set<string>> {
    const seen = new Set<string>();
    const { db, state } = this.#o;
    for (let i = 0; i < ids.length; i += ID_CHUNK) {
      const rows = await db.db
        .selectFrom('voter')
        .select('voter_id')
        .where('voter_id', 'in', ids.slice(i, i + ID_CHUNK))
        .where('last_seen_import', '=', state.id)
        .execute();
      for (const row of rows) seen.add(row.voter_id);
    }
    return seen;
  }

  /**
   * Waits for the commit running, then starts committing the oldest batch without waiting for
   * it, so that the next batch is read, looked up and prepared meanwhile (on PostgreSQL the
   * server does the commit's work; on SQLite the statements run on this thread anyway). A
   * failed commit throws at the next call, or at the final wait.
   */
  async #startCommit(): Promise<void> {
    await this.#committing;
    const head = this.#inFlight.shift();
    if (head === undefined) return;
    this.#committing = this.#commit(head);
    // Observed at once; the failure is thrown by the next wait on it.
    this.#committing.catch(() => undefined);
  }

  /** Waits for a batch's outcomes and commits them with the progress marker. */
  async #commit(batch: Batch): Promise<void> {
    const prepared: StoredVoterRow[] = [];
    const touched: string[] = [];
    const entries = [...batch.quarantine];
    let added = 0;
    let changed = 0;
    let unchanged = 0;
    const jurisdictions = new Set(this.#jurisdictions);
    for (const job of batch.jobs) {
      const { existing } = job;
      (await job.outcomes).forEach((outcome, i) => {
        const row = job.rows[i];
        if (row === undefined) return;
        switch (outcome.kind) {
          case 'prepared':
            prepared.push(outcome.row);
            if (outcome.change === 'added') added++;
            else changed++;
            jurisdictions.add(outcome.row.jurisdiction);
            return;
          case 'unchanged':
            touched.push(outcome.voterId);
            unchanged++;
            jurisdictions.add(row.jurisdiction);
            return;
          case 'invalid':
            entries.push({
              line: row.line,
              field: outcome.field,
              code: outcome.code,
              reason: outcome.reason,
              raw: this.#rejoin(row.fields),
            });
            // The file still lists this voter: keep the stored version rather than let a bad
            // row make it look removed.
            if (existing.has(row.voterId)) touched.push(row.voterId);
            return;
        }
      });
    }
    entries.sort((a, b) => a.line - b.line);
    for (const entry of entries) this.#o.quarantine.add(entry);
    await this.#o.quarantine.flush();
    const t = this.#totals;
    const next: VoterImportTable = {
      ...t,
      last_line: batch.lastLine,
      rows: Number(t.rows) + batch.records,
      added: Number(t.added) + added,
      changed: Number(t.changed) + changed,
      unchanged: Number(t.unchanged) + unchanged,
      quarantined: Number(t.quarantined) + entries.length,
      jurisdictions: JSON.stringify([...jurisdictions].sort()),
    };
    const { db } = this.#o;
    // Read committed, with the rows about to get a new version locked first: serializable
    // isolation tracks every row a batch reads and cost half the import's time on PostgreSQL,
    // while the locks give the same guarantee here. Once a voter is locked, the version check
    // of writeVoterRows sees its latest version and nobody can change it before the commit, so
    // a voter changed since its batch was prepared fails the batch (VERSION_CONFLICT) instead
    // of being overwritten. SQLite transactions are serializable whatever is asked.
    await withTransaction(
      db,
      async (tx) => {
        await lockVoters(
          tx,
          prepared.filter((row) => row.rowVersion > 1).map((row) => row.voterId),
        );
        await writeVoterRows(tx, prepared, { importId: t.id, changedAt: t.started_at });
        if (touched.length > 0) await touchVoters(tx, touched, t.id);
        await tx.db
          .updateTable('voter_import')
          .set({
            last_line: next.last_line,
            rows: next.rows,
            added: next.added,
            changed: next.changed,
            unchanged: next.unchanged,
            quarantined: next.quarantined,
            jurisdictions: next.jurisdictions,
          })
          .where('id', '=', t.id)
          .where('status', '=', 'running')
          .execute();
      },
      { isolation: 'read committed' },
    );
    this.#totals = next;
    for (const j of jurisdictions) this.#jurisdictions.add(j);
    for (const row of batch.jobs.flatMap((job) => job.rows)) {
      if (this.#uncommitted.get(row.voterId) === row.line) this.#uncommitted.delete(row.voterId);
    }
    this.#o.onProgress?.({
      phase: 'importing',
      bytesDone: this.#window.bytesRead,
      bytesTotal: this.#o.bytesTotal,
      rows: next.rows,
    });
  }

  /** Marks the voters the file no longer lists as removed and the import as done, at once. */
  async #finish(): Promise<VoterImportTable> {
    const t = this.#totals;
    const finishedAt = this.#o.now().toISOString();
    const jurisdictions = [...this.#jurisdictions].sort();
    const done = await withTransaction(this.#o.db, async (tx) => {
      const removed = await markUnseenRemoved(tx, {
        importId: t.id,
        jurisdictions,
        changedAt: t.started_at,
      });
      const row: VoterImportTable = {
        ...t,
        status: 'done',
        removed: removed.length,
        finished_at: finishedAt,
        jurisdictions: JSON.stringify(jurisdictions),
      };
      await tx.db
        .updateTable('voter_import')
        .set({
          status: row.status,
          removed: row.removed,
          finished_at: row.finished_at,
          jurisdictions: row.jurisdictions,
        })
        .where('id', '=', t.id)
        .execute();
      return row;
    });
    this.#totals = done;
    return done;
  }

  #rejectedLine(record: DelimitedInvalid): QuarantineEntry {
    const raw = this.#window.line(record.line, MAX_QUARANTINE_RAW_BYTES);
    const bytes = raw?.bytes ?? Buffer.alloc(0);
    const text = this.#decoder.decode(bytes);
    const valid = record.code !== 'ENCODING_INVALID';
    return {
      line: record.line,
      field: null,
      code: record.code,
      reason: record.message,
      raw: text,
      ...(valid ? {} : { rawBase64: bytes.toString('base64') }),
      ...(raw === undefined || raw.truncated ? { rawTruncated: true as const } : {}),
    };
  }

  #duplicate(
    line: number,
    fields: readonly string[],
    firstLine: number | undefined,
  ): QuarantineEntry {
    return {
      line,
      field: this.#voterIdName,
      code: 'DUPLICATE_VOTER_ID',
      reason:
        firstLine === undefined
          ? `Column "${this.#voterIdName}" repeats a voter listed earlier in the file`
          : `Column "${this.#voterIdName}" repeats the voter of line ${firstLine}`,
      raw: this.#rejoin(fields),
    };
  }

  /** The fields of a parsed line written back in the layout's own format. */
  #rejoin(fields: readonly string[]): string {
    const { format } = this.#o.layout;
    return formatDelimitedRow(fields, {
      ...layoutDialect(this.#o.layout),
      quoteAll: format.quoteAll,
    });
  }
}

/** Locks the current rows of these voters until the transaction ends (PostgreSQL). */
async function lockVoters(
  tx: Queryable<ImportDatabase>,
  voterIds: readonly string[],
): Promise<void> {
  if (tx.dialect !== 'postgres') return;
  for (let i = 0; i < voterIds.length; i += ID_CHUNK) {
    await tx.db
      .selectFrom('voter')
      .select('voter_id')
      .where('voter_id', 'in', voterIds.slice(i, i + ID_CHUNK))
      .forUpdate()
      .execute();
  }
}

async function* hashing(
  source: AsyncIterable<Buffer>,
  hash: ReturnType<typeof createHash>,
): AsyncGenerator<Buffer, void, undefined> {
  for await (const chunk of source) {
    hash.update(chunk);
    yield chunk;
  }
}

/** Ids per `in (...)` list. */
const ID_CHUNK = 500;

function emptyBatch(): Batch {
  return { pending: [], jobs: [], quarantine: [], lastLine: 0, records: 0 };
}

const NO_FIELDS: readonly string[] = [];
