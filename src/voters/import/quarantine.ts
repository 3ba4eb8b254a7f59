/**
 * Quarantine files: the rows an import could not store, one JSON object a line, in
 * `<data>/quarantine/<import id>.jsonl`.
 *
 * The file holds the office's own voter data (the raw line of each bad row), so it is kept as
 * private as the database: the directory is 0700, the file 0600, opened without following
 * symbolic links, and a directory that others may read is refused rather than used.
 *
 * Entries of a batch are written (and synced) before the batch commits. A run killed between the
 * two leaves entries of uncommitted lines behind; resuming drops every entry after the last
 * committed line before appending, so each bad line is in the file exactly once.
 */
import { constants } from 'node:fs';
import { mkdir, open, rename, rm, stat } from 'node:fs/promises';
import type { FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { ImportError } from './errors.ts';

/** Mode of the quarantine directory. */
export const QUARANTINE_DIR_MODE = 0o700;
/** Mode of each quarantine file. */
export const QUARANTINE_FILE_MODE = 0o600;
/** Longest raw line kept in an entry, in bytes; longer lines are cut and marked. */
export const MAX_QUARANTINE_RAW_BYTES = 64 * 1024;

/** One quarantined row. */
export interface QuarantineEntry {
  /** 1-based physical line number in the file. */
  readonly line: number;
  /** Column name at fault, or `null` when the whole line is (encoding, quotes, shape). */
  readonly field: string | null;
  /** Stable code, e.g. `STRAY_QUOTE`, `FIELD_COUNT`, `DATE_INVALID`, `DUPLICATE_VOTER_ID`. */
  readonly code: string;
  readonly reason: string;
  /**
   * The line as text in the file's declared encoding (undecodable bytes as U+FFFD). A line the
   * reader could not split is kept as read; a line that split but failed a field check is its
   * fields joined back in the layout's format (the same text unless the file quoted fields the
   * layout does not, or the other way round).
   */
  readonly raw: string;
  /** The line's exact bytes, base64, when they are not valid text in the declared encoding. */
  readonly rawBase64?: string;
  /** Set when the line was longer than {@link MAX_QUARANTINE_RAW_BYTES} and was cut. */
  readonly rawTruncated?: true;
}

/** Appends entries to one import's quarantine file. */
export interface QuarantineWriter {
  readonly path: string;
  /** Queues an entry; it reaches the file at the next {@link QuarantineWriter.flush}. */
  add(entry: QuarantineEntry): void;
  /** Writes queued entries and syncs them, so they are durable before their batch commits. */
  flush(): Promise<void>;
  close(): Promise<void>;
}

/** Path of an import's quarantine file. */
export function quarantinePath(dir: string, importId: string): string {
  return join(dir, `${importId}.jsonl`);
}

/**
 * Creates the quarantine directory (0700) if missing and checks that nobody else may use it.
 * @throws ImportError QUARANTINE_INSECURE, IO_FAILED
 */
export async function ensureQuarantineDir(dir: string): Promise<void> {
  try {
    await mkdir(dir, { recursive: true, mode: QUARANTINE_DIR_MODE });
  } catch (error: unknown) {
    throw ioFailed(`Cannot create quarantine directory "${dir}"`, error);
  }
  const info = await stat(dir);
  if (!info.isDirectory() || (info.mode & 0o077) !== 0) {
    throw new ImportError(
      'QUARANTINE_INSECURE',
      `Cannot use quarantine directory "${dir}": mode is ${octal(info.mode)}, expected 0700 (run chmod 700 "${dir}")`,
    );
  }
}

/**
 * Opens an import's quarantine file for appending; created on the first flush that has
 * entries. With `keepThroughLine`, entries of later lines (left by a killed run) are dropped
 * first.
 * @throws ImportError QUARANTINE_INSECURE, IO_FAILED
 */
export async function openQuarantine(
  dir: string,
  importId: string,
  options: { readonly keepThroughLine?: number } = {},
): Promise<QuarantineWriter> {
  await ensureQuarantineDir(dir);
  const path = quarantinePath(dir, importId);
  if (options.keepThroughLine !== undefined) await truncateAfter(path, options.keepThroughLine);
  let handle: FileHandle | undefined;
  let queued: string[] = [];
  return {
    path,
    add(entry) {
      queued.push(`${JSON.stringify(entry)}\n`);
    },
    async flush() {
      if (queued.length === 0) return;
      const text = queued.join('');
      queued = [];
      try {
        handle ??= await openPrivate(path, constants.O_WRONLY | constants.O_APPEND);
        await handle.writeFile(text, 'utf8');
        await handle.datasync();
      } catch (error: unknown) {
        if (error instanceof ImportError) throw error;
        throw ioFailed(`Cannot write quarantine file "${path}"`, error);
      }
    },
    async close() {
      await handle?.close();
      handle = undefined;
    },
  };
}

/**
 * Reads a quarantine file back (tests, reports). Missing file: no entries.
 * @throws ImportError IO_FAILED
 */
export async function readQuarantine(path: string): Promise<QuarantineEntry[]> {
  const out: QuarantineEntry[] = [];
  try {
    for await (const line of quarantineLines(path)) out.push(JSON.parse(line) as QuarantineEntry);
  } catch (error: unknown) {
    throw ioFailed(`Cannot read quarantine file "${path}"`, error);
  }
  return out;
}

async function* quarantineLines(path: string): AsyncGenerator<string> {
  let handle: FileHandle;
  try {
    handle = await open(path, constants.O_RDONLY | constants.O_NOFOLLOW);
  } catch (error: unknown) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw error;
  }
  try {
    const input = handle.createReadStream({ autoClose: false });
    for await (const line of createInterface({ input, crlfDelay: Infinity })) {
      if (line !== '') yield line;
    }
  } finally {
    await handle.close();
  }
}

/** Rewrites the file keeping only entries of lines up to `line` (temporary file, then rename). */
async function truncateAfter(path: string, line: number): Promise<void> {
  const temporary = `${path}.tmp`;
  let kept = 0;
  let dropped = 0;
  const out = await openPrivate(temporary, constants.O_WRONLY | constants.O_TRUNC);
  try {
    for await (const text of quarantineLines(path)) {
      // Our own file, but a damaged line must not stop the resumption: drop it.
      let entryLine: unknown;
      try {
        entryLine = (JSON.parse(text) as { line?: unknown }).line;
      } catch {
        entryLine = undefined;
      }
      if (typeof entryLine === 'number' && entryLine <= line) {
        await out.writeFile(`${text}\n`, 'utf8');
        kept++;
      } else {
        dropped++;
      }
    }
    await out.datasync();
  } catch (error: unknown) {
    throw ioFailed(`Cannot rewrite quarantine file "${path}"`, error);
  } finally {
    await out.close();
  }
  if (kept === 0) {
    // Leave no empty file behind: the file exists only when the import quarantined something.
    await rm(temporary, { force: true });
    if (dropped > 0) await rm(path, { force: true });
    return;
  }
  await rename(temporary, path);
}

async function openPrivate(path: string, flags: number): Promise<FileHandle> {
  const handle = await open(
    path,
    flags | constants.O_CREAT | constants.O_NOFOLLOW,
    QUARANTINE_FILE_MODE,
  );
  const info = await handle.stat();
  if ((info.mode & 0o077) !== 0) {
    await handle.close();
    throw new ImportError(
      'QUARANTINE_INSECURE',
      `Cannot use quarantine file "${path}": mode is ${octal(info.mode)}, expected 0600 (run chmod 600 "${path}")`,
    );
  }
  return handle;
}

function octal(mode: number): string {
  return `0${(mode & 0o777).toString(8)}`;
}

function ioFailed(message: string, error: unknown): ImportError {
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  return new ImportError('IO_FAILED', `${message}: ${code ?? String(error)}`, { cause: error });
}
