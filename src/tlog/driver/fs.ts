import { constants } from 'node:fs';
import {
  link,
  mkdir,
  open,
  readdir,
  readFile,
  rename,
  rm,
  stat,
  unlink,
  writeFile,
} from 'node:fs/promises';
import type { FileHandle } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { decodeEntryBundle } from '../entry-bundle.ts';
import { TlogError } from '../errors.ts';
import { HASH_SIZE } from '../hash.ts';
import { decodeTile } from '../tile.ts';
import { entriesPath, TILE_WIDTH, tilePath } from '../tile-path.ts';

// The filesystem driver of the log, written natively for POSIX filesystems: every file is
// made durable by construction (write a temporary file, fsync it, rename it over the target,
// fsync the directory), so that after a crash a file holds either its old or its new bytes.

/** Name of the checkpoint file in the log directory. */
export const CHECKPOINT_FILE = 'checkpoint';
/** Name of the lock file that marks the one process appending to a log. */
export const LOCK_FILE = '.lock';
/** Suffix of the temporary file a write goes through before it is renamed into place. */
export const TEMP_SUFFIX = '.tmp';

/** One file to write: its path and its complete contents. */
export interface FileWrite {
  readonly path: string;
  readonly bytes: Uint8Array | string;
}

/** The errno code of an error from node:fs (which always rejects with an ErrnoException). */
function errorCode(error: unknown): string | undefined {
  return (error as NodeJS.ErrnoException).code;
}

/**
 * Turns a failed filesystem call into a coded error naming the file. A full disk or an
 * exhausted quota is DISK_FULL: the operator's remedy (free space) differs from other failures.
 */
function ioError(error: unknown, action: string, file: string): TlogError {
  const code = errorCode(error);
  if (code === 'ENOSPC' || code === 'EDQUOT') {
    return new TlogError('DISK_FULL', `Cannot ${action} "${file}": no space left (${code})`, {
      file,
      cause: error,
    });
  }
  return new TlogError('IO_FAILED', `Cannot ${action} "${file}": ${String(code)}`, {
    file,
    cause: error,
  });
}

async function syncDirectory(dir: string): Promise<void> {
  try {
    const handle = await open(dir, 'r');
    try {
      await handle.sync();
    } finally {
      await handle.close();
    }
  } catch (error) {
    throw ioError(error, 'sync directory', dir);
  }
}

/**
 * Creates `dir` and any missing parent, adding the parent of every directory it creates to
 * `toSync`: a new directory entry is durable only once its parent directory is fsynced.
 */
async function ensureDirectory(dir: string, toSync: Set<string>): Promise<void> {
  try {
    await mkdir(dir);
    toSync.add(dirname(dir));
    return;
  } catch (error) {
    const code = errorCode(error);
    if (code === 'EEXIST') return;
    if (code !== 'ENOENT') throw ioError(error, 'create directory', dir);
  }
  await ensureDirectory(dirname(dir), toSync);
  try {
    await mkdir(dir);
    toSync.add(dirname(dir));
  } catch (error) {
    // EEXIST: a parallel write created it meanwhile.
    if (errorCode(error) !== 'EEXIST') throw ioError(error, 'create directory', dir);
  }
}

/**
 * Creates directory `dir` and its missing parents durably (each new entry's parent fsynced).
 * @throws TlogError DISK_FULL, IO_FAILED naming the directory
 */
export async function createDirectory(dir: string): Promise<void> {
  const toSync = new Set<string>();
  await ensureDirectory(dir, toSync);
  await Promise.all([...toSync].map(syncDirectory));
}

/**
 * Tells whether `path` exists.
 * @throws TlogError IO_FAILED naming the path when that cannot be told
 */
export async function pathExists(path: string): Promise<boolean> {
  try {
    await stat(path);
    return true;
  } catch (error) {
    if (errorCode(error) === 'ENOENT') return false;
    throw ioError(error, 'inspect', path);
  }
}

// O_DSYNC makes each write durable (data and the size needed to read it back) before it
// returns: the same guarantee as write() then fdatasync(), in one trip to the thread pool.
const WRITE_FLAGS = constants.O_WRONLY | constants.O_CREAT | constants.O_TRUNC | constants.O_DSYNC;

/**
 * Writes `<path>.tmp` durably. A missing directory is created only when the open fails, since
 * nearly every write goes to a directory that exists; parents of created ones go to `toSync`.
 */
async function writeSynced(
  file: FileWrite,
  toSync: Set<string>,
  where: 'temporary' | 'in place',
): Promise<void> {
  // The temporary name is fixed, not random: only the lock holder writes, and a temporary file
  // left by a crash is simply overwritten by the next write of the same file.
  const temp = where === 'in place' ? file.path : file.path + TEMP_SUFFIX;
  try {
    let handle: FileHandle;
    try {
      handle = await open(temp, WRITE_FLAGS, 0o644);
    } catch (error) {
      if (errorCode(error) !== 'ENOENT') throw error;
      await ensureDirectory(dirname(temp), toSync);
      handle = await open(temp, WRITE_FLAGS, 0o644);
    }
    try {
      await handle.writeFile(file.bytes);
    } finally {
      await handle.close();
    }
  } catch (error) {
    throw error instanceof TlogError ? error : ioError(error, 'write', file.path);
  }
}

async function renameIntoPlace(file: FileWrite): Promise<void> {
  try {
    await rename(file.path + TEMP_SUFFIX, file.path);
  } catch (error) {
    throw ioError(error, 'rename into', file.path);
  }
}

/** Durable writes under way, made visible together by one final file (the checkpoint). */
export interface DurableWrites {
  /**
   * Starts writing `file` at once, in place with O_DSYNC. Only for paths that nothing
   * committed points at yet (a log's new tiles and bundles): until `last` is written, a reader
   * has no reason to look there, and after a crash the next batch writes the path again.
   * Writing in place saves a rename and a directory entry per file.
   */
  add(file: FileWrite): void;
  /**
   * Waits for every file added, fsyncs each directory they are in once, and only then makes
   * `last` visible: written to `<path>.tmp` (in parallel with the others), renamed over its path
   * and its directory fsynced, so that it is replaced atomically and so that a
   * crash never leaves `last` naming a file that is not there. When anything fails it waits for
   * every write to stop, removes the temporary files and throws the first error; `last` is
   * then unchanged.
   * @throws TlogError DISK_FULL when the disk or quota is full, IO_FAILED otherwise; both name the file
   */
  commit(last: FileWrite): Promise<void>;
  /** Gives up: waits for every write under way to stop and removes the temporary files. */
  abandon(): Promise<void>;
}

/** Settles to the error instead of rejecting, so that every write can be waited for. */
function settle(promise: Promise<void>): Promise<Error | undefined> {
  return promise.then(
    () => undefined,
    (error: unknown) => error as Error,
  );
}

/**
 * Starts a set of durable writes. Files can be added while the caller still computes the
 * others, so that the disk works meanwhile; a batch then costs about one round of synchronous
 * writes after the last file is added, one of directory fsyncs, and one for the last file.
 */
export function beginDurableWrites(): DurableWrites {
  const toSync = new Set<string>();
  const files: FileWrite[] = [];
  const pending: Promise<Error | undefined>[] = [];
  // Best effort: a file that stays behind is past the checkpoint and overwritten by the next
  // write of its path.
  const removeFiles = (paths: readonly string[]) =>
    Promise.all(paths.map((path) => unlink(path).catch(() => undefined)));
  return {
    add(file) {
      files.push(file);
      pending.push(
        settle(
          (async () => {
            await writeSynced(file, toSync, 'in place');
            toSync.add(dirname(file.path));
          })(),
        ),
      );
    },
    async commit(last) {
      try {
        const errors = await Promise.all([
          ...pending,
          settle(writeSynced(last, toSync, 'temporary')),
        ]);
        const failed = errors.find((error) => error !== undefined);
        if (failed !== undefined) throw failed;
        await Promise.all([...toSync].map(syncDirectory));
        await renameIntoPlace(last);
        await syncDirectory(dirname(last.path));
      } catch (error) {
        await Promise.all(pending);
        await removeFiles([...files.map((file) => file.path), last.path + TEMP_SUFFIX]);
        throw error;
      }
    },
    async abandon() {
      await Promise.all(pending);
      await removeFiles(files.map((file) => file.path));
    },
  };
}

/**
 * Writes `files` durably, then `last`: see {@link DurableWrites.commit}.
 * @throws TlogError DISK_FULL when the disk or quota is full, IO_FAILED otherwise; both name the file
 */
export async function durableWriteFiles(
  files: readonly FileWrite[],
  last: FileWrite,
): Promise<void> {
  const writes = beginDurableWrites();
  for (const file of files) writes.add(file);
  await writes.commit(last);
}

/**
 * Replaces the file at `path` atomically and durably: writes `<path>.tmp`, fsyncs it, renames
 * it over `path`, then fsyncs the directory. Missing parent directories are created (and
 * their parents fsynced).
 * @throws TlogError DISK_FULL when the disk or quota is full, IO_FAILED otherwise; both name the file
 */
export async function durableWriteFile(path: string, bytes: Uint8Array | string): Promise<void> {
  await durableWriteFiles([], { path, bytes });
}

/**
 * Reads a file of the log, or returns `undefined` when it does not exist.
 * @throws TlogError IO_FAILED naming the file on any other failure
 */
export async function readLogFile(path: string): Promise<Uint8Array | undefined> {
  try {
    return await readFile(path);
  } catch (error) {
    if (errorCode(error) === 'ENOENT') return undefined;
    throw ioError(error, 'read', path);
  }
}

/**
 * Lists the partial files in `<base>.p/` wider than `width`, narrowest first. Directory entries
 * that are not a canonical width (1..255, no leading zero) are ignored, as are temporary files.
 * Called only after reading a file in that directory failed with ENOENT: a listing that fails
 * too means there is nothing to list.
 */
async function widerPartials(base: string, width: number): Promise<number[]> {
  const names = await readdir(`${base}.p`).catch(() => []);
  return names
    .filter((name) => /^[1-9]\d{0,2}$/.test(name))
    .map(Number)
    .filter((candidate) => candidate > width && candidate < TILE_WIDTH)
    .sort((a, b) => a - b);
}

/**
 * Reads the file for width `width` of a tile or bundle, falling back to the full file and then
 * to the narrowest wider partial file when that partial is gone.
 * SPEC: https://c2sp.org/tlog-tiles logs "MAY delete any partial tile once the corresponding
 * full tile is either available, or has been removed by the pruning criteria" and clients "MAY
 * fetch the full tile in parallel as a fallback in case the partial tile is not available
 * anymore". A wider tile of the same index starts with the same hashes (or entries), because
 * the tree only ever grows to the right; the caller truncates it to `width`.
 */
async function readWithFallback(
  logDir: string,
  pathOf: (width: number) => string,
  width: number,
): Promise<{ readonly bytes: Uint8Array; readonly file: string; readonly fileWidth: number }> {
  async function* candidates(): AsyncGenerator<number> {
    yield width;
    if (width < TILE_WIDTH) {
      yield TILE_WIDTH;
      yield* await widerPartials(join(logDir, pathOf(TILE_WIDTH)), width);
    }
  }
  for await (const fileWidth of candidates()) {
    const file = join(logDir, pathOf(fileWidth));
    const bytes = await readLogFile(file);
    if (bytes !== undefined) return { bytes, file, fileWidth };
  }
  const wanted = join(logDir, pathOf(width));
  throw new TlogError('NOT_FOUND', `Cannot find "${wanted}"`, { file: wanted });
}

/** Reads one tile of a log: `width` hashes concatenated. The shape of `TileReader` in tree.ts. */
export type FsTileReader = (level: number, index: number, width: number) => Promise<Uint8Array>;

/**
 * Returns a reader of the hash tiles under `logDir`. It reads `tile/<L>/<N>.p/<W>`, or when
 * that partial tile is gone the full tile or the narrowest wider partial one, truncated to
 * `width` hashes.
 * Attacker-controlled: tile files may have been tampered with on disk; their length is checked
 * here, their hashes by whoever checks them against a signed root.
 * @throws TlogError NOT_FOUND, TILE_MALFORMED (wrong length) or IO_FAILED, naming the file
 */
export function createFsTileReader(logDir: string): FsTileReader {
  return async (level, index, width) => {
    const { bytes, file, fileWidth } = await readWithFallback(
      logDir,
      (w) => tilePath({ level, index, width: w }),
      width,
    );
    decodeTile(bytes, fileWidth, file);
    return bytes.subarray(0, width * HASH_SIZE);
  };
}

/**
 * Reads entry bundle `index` of width `width` under `logDir`, falling back like
 * {@link createFsTileReader}. Entries are views into the bytes read.
 * Attacker-controlled: the file is decoded with strict bounds and must hold exactly as many
 * entries as its own width says.
 * @throws TlogError NOT_FOUND, BUNDLE_MALFORMED or IO_FAILED, naming the file
 */
export async function readEntryBundle(
  logDir: string,
  index: number,
  width: number,
): Promise<Uint8Array[]> {
  const { bytes, file, fileWidth } = await readWithFallback(
    logDir,
    (w) => entriesPath(index, w),
    width,
  );
  const entries = decodeEntryBundle(bytes, file);
  if (entries.length !== fileWidth) {
    throw new TlogError(
      'BUNDLE_MALFORMED',
      `Cannot decode entry bundle "${file}": it holds "${entries.length}" entries, expected ${fileWidth}`,
      { file },
    );
  }
  return entries.slice(0, width);
}

/**
 * Reads the checkpoint note of the log under `logDir`, or `undefined` when there is none yet.
 * @throws TlogError IO_FAILED naming the file
 */
export async function readCheckpointFile(logDir: string): Promise<string | undefined> {
  const bytes = await readLogFile(join(logDir, CHECKPOINT_FILE));
  return bytes === undefined ? undefined : Buffer.from(bytes).toString('utf8');
}

/** The exclusive right to append to one log, held until released. */
export interface LogLock {
  /** The lock file. */
  readonly file: string;
  /** Gives the lock up; later calls do nothing. */
  release(): Promise<void>;
}

/** Lock files held by this process, by absolute path. */
const heldLocks = new Set<string>();

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: the process exists but belongs to someone else.
    return errorCode(error) === 'EPERM';
  }
}

async function lockHolder(file: string): Promise<number | undefined> {
  const bytes = await readLogFile(file);
  const text = bytes === undefined ? '' : Buffer.from(bytes).toString('utf8');
  return /^[1-9]\d{0,9}\n$/.test(text) ? Number(text.slice(0, -1)) : undefined;
}

/** Links `temp` to `file`, taking over a stale lock once; another stale one means a race. */
async function acquire(temp: string, file: string): Promise<void> {
  for (let attempt = 1; attempt <= 2; attempt += 1) {
    try {
      await link(temp, file);
      return;
    } catch (error) {
      if (errorCode(error) !== 'EEXIST') throw ioError(error, 'create', file);
    }
    const holder = await lockHolder(file);
    if (holder !== undefined && holder !== process.pid && isAlive(holder)) {
      throw new TlogError('LOG_LOCKED', `Cannot lock "${file}": process ${holder} holds it`, {
        file,
      });
    }
    await rm(file, { force: true });
  }
  throw new TlogError('LOG_LOCKED', `Cannot lock "${file}": another process is taking it`, {
    file,
  });
}

/**
 * Takes the exclusive lock of the log under `logDir`: a file `.lock` holding the pid of its
 * owner, created atomically with link(2) so that it is never seen half written. A lock whose
 * process is gone (killed with SIGKILL, say) is stale and taken over; so is one holding our own
 * pid that this process does not hold (a restarted container often reuses pid 1). Pid reuse by
 * an unrelated live process makes a stale lock look held (refused, never unsafe), and two
 * processes taking over the same stale lock in the same instant is not excluded.
 * @throws TlogError LOG_LOCKED naming the holder's pid, IO_FAILED
 */
export async function lockLogDirectory(logDir: string): Promise<LogLock> {
  const file = resolve(logDir, LOCK_FILE);
  if (heldLocks.has(file)) {
    throw new TlogError('LOG_LOCKED', `Cannot lock "${file}": this process already holds it`, {
      file,
    });
  }
  const temp = `${file}.${process.pid}${TEMP_SUFFIX}`;
  try {
    await writeFile(temp, `${process.pid}\n`);
  } catch (error) {
    throw ioError(error, 'write', temp);
  }
  try {
    await acquire(temp, file);
  } finally {
    await rm(temp, { force: true });
  }
  heldLocks.add(file);
  let held = true;
  return {
    file,
    async release() {
      if (!held) return;
      held = false;
      heldLocks.delete(file);
      try {
        await unlink(file);
      } catch (error) {
        if (errorCode(error) !== 'ENOENT') throw ioError(error, 'remove', file);
      }
    },
  };
}
