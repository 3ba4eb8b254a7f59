// Key files on disk: a directory of mode 0700 holding files of mode 0600, read without following
// symbolic links and written durably (temporary file, fsync, link or rename, fsync directory), so
// that a crash leaves either the old file or the whole new one.
import { constants } from 'node:fs';
import { link, mkdir, open, readdir, rename, rm, stat } from 'node:fs/promises';
import { dirname } from 'node:path';
import { randomBytes } from 'node:crypto';
import { CryptoError } from './errors.ts';
import type { CryptoErrorCode } from './errors.ts';

/** Mode of the keys directory: only the owner may list, create or replace keys. */
export const KEY_DIRECTORY_MODE = 0o700;
/** Mode of every key file: only the owner may read or write it. */
export const KEY_FILE_MODE = 0o600;

/** What an errno means for a key file operation; any errno not listed is IO_FAILED. */
type ErrnoCodes = Readonly<Partial<Record<string, CryptoErrorCode>>>;

const ON_READ: ErrnoCodes = { ENOENT: 'KEY_NOT_FOUND', ELOOP: 'KEY_FILE_INSECURE' };
// A link never replaces a file: EEXIST means the key exists, perhaps created by another process
// after we looked.
const ON_CREATE: ErrnoCodes = { EEXIST: 'KEY_FILE_EXISTS' };
const ON_OTHER: ErrnoCodes = {};

const REASONS: Readonly<Partial<Record<CryptoErrorCode, string>>> = {
  KEY_NOT_FOUND: 'it does not exist',
  KEY_FILE_INSECURE: 'it is a symbolic link, expected a regular file',
  KEY_FILE_EXISTS:
    'it already exists (keys are never overwritten; move the old file away first if nothing uses it)',
};

/**
 * Creates `dir` (and missing parents) with mode 0700 if needed, then checks it as
 * {@link checkKeyDirectory} does.
 * @throws CryptoError KEY_FILE_INSECURE, KEY_MALFORMED, IO_FAILED
 */
export async function ensureKeyDirectory(dir: string): Promise<void> {
  await io(dir, 'create key directory', ON_OTHER, () =>
    mkdir(dir, { recursive: true, mode: KEY_DIRECTORY_MODE }),
  );
  await checkKeyDirectory(dir);
}

/**
 * Refuses a keys directory that group or others may use: whoever can write it can replace the
 * keys, and whoever can list it learns which versions exist.
 * @throws CryptoError KEY_NOT_FOUND when `dir` does not exist
 * @throws CryptoError KEY_MALFORMED when `dir` is not a directory
 * @throws CryptoError KEY_FILE_INSECURE when its mode is not 0700 or stricter
 * @throws CryptoError IO_FAILED when the file system fails
 */
export async function checkKeyDirectory(dir: string): Promise<void> {
  const info = await io(dir, 'read key directory', ON_READ, () => stat(dir));
  if (!info.isDirectory()) {
    throw new CryptoError(
      'KEY_MALFORMED',
      `Cannot use key directory "${dir}": it is not a directory`,
      {
        file: dir,
      },
    );
  }
  if ((info.mode & 0o077) !== 0) {
    throw new CryptoError(
      'KEY_FILE_INSECURE',
      `Cannot use key directory "${dir}": mode is ${octal(info.mode)}, expected 0700 (run chmod 700 "${dir}")`,
      { file: dir },
    );
  }
}

/**
 * The names of the entries of the keys directory `dir`.
 * @throws CryptoError KEY_NOT_FOUND when `dir` does not exist
 * @throws CryptoError IO_FAILED when the file system fails
 */
export async function listKeyDirectory(dir: string): Promise<string[]> {
  return await io(dir, 'list key directory', ON_READ, () => readdir(dir));
}

/**
 * Reads a key file of at most `maxBytes` bytes as UTF-8. The path may come from configuration:
 * a symbolic link is refused (O_NOFOLLOW), since it could point at a key someone else controls,
 * and the mode is read from the opened descriptor, so the file checked is the file read.
 * @throws CryptoError KEY_NOT_FOUND when the file does not exist
 * @throws CryptoError KEY_FILE_INSECURE when it is a symbolic link or its mode is not 0600 or
 *   stricter
 * @throws CryptoError KEY_MALFORMED when it is not a regular file or is larger than `maxBytes`
 * @throws CryptoError IO_FAILED when the file system fails
 */
export async function readKeyFile(path: string, maxBytes: number): Promise<string> {
  const handle = await io(path, 'open key file', ON_READ, () =>
    open(path, constants.O_RDONLY | constants.O_NOFOLLOW),
  );
  try {
    const info = await handle.stat();
    if (!info.isFile()) {
      throw new CryptoError(
        'KEY_MALFORMED',
        `Cannot use key file "${path}": it is not a regular file`,
        {
          file: path,
        },
      );
    }
    if ((info.mode & 0o077) !== 0) {
      throw new CryptoError(
        'KEY_FILE_INSECURE',
        `Cannot use key file "${path}": mode is ${octal(info.mode)}, expected 0600 (run chmod 600 "${path}")`,
        { file: path },
      );
    }
    const buffer = Buffer.alloc(maxBytes + 1);
    const { bytesRead } = await handle.read(buffer, 0, buffer.length, 0);
    if (bytesRead > maxBytes) {
      throw new CryptoError(
        'KEY_MALFORMED',
        `Cannot use key file "${path}": it is larger than ${maxBytes} bytes`,
        { file: path },
      );
    }
    return buffer.toString('utf8', 0, bytesRead);
  } finally {
    await handle.close();
  }
}

/**
 * Creates the key file `path` with mode 0600 durably, never replacing an existing file: the text
 * goes to a temporary file that is fsynced, then hard-linked to `path` (link fails where rename
 * would overwrite). The caller fsyncs the directory once its files are in place.
 * @throws CryptoError KEY_FILE_EXISTS when `path` exists
 * @throws CryptoError IO_FAILED when the file system fails
 */
export async function createKeyFile(path: string, text: string): Promise<void> {
  const temporary = temporaryPath(path);
  try {
    await writeTemporary(temporary, text);
    await io(path, 'create key file', ON_CREATE, () => link(temporary, path));
  } finally {
    await rm(temporary, { force: true });
  }
}

/**
 * Replaces the key file `path` atomically and durably (temporary file, fsync, rename, fsync of
 * the directory), so a crash leaves the old text or the new one, never a mix.
 * @throws CryptoError IO_FAILED when the file system fails
 */
export async function replaceKeyFile(path: string, text: string): Promise<void> {
  const temporary = temporaryPath(path);
  try {
    await writeTemporary(temporary, text);
    await io(path, 'replace key file', ON_OTHER, () => rename(temporary, path));
  } finally {
    await rm(temporary, { force: true });
  }
  await syncDirectory(dirname(path));
}

/**
 * Deletes the key file `path` (if present) and fsyncs its directory. Unlinking does not scrub
 * the blocks on every file system (copy-on-write, SSD wear levelling); see key-ring.md.
 * @throws CryptoError IO_FAILED when the file system fails
 */
export async function removeKeyFile(path: string): Promise<void> {
  await io(path, 'delete key file', ON_OTHER, () => rm(path, { force: true }));
  await syncDirectory(dirname(path));
}

/**
 * Fsyncs directory `dir`, making the entries created, renamed or removed in it durable.
 * @throws CryptoError IO_FAILED when the file system fails
 */
export async function syncDirectory(dir: string): Promise<void> {
  await io(dir, 'sync key directory', ON_OTHER, async () => {
    const handle = await open(dir, constants.O_RDONLY);
    try {
      await handle.sync();
    } finally {
      await handle.close();
    }
  });
}

/** A fresh name beside `path`, so that two writers never share a temporary file. */
function temporaryPath(path: string): string {
  return `${path}.${randomBytes(8).toString('hex')}.tmp`;
}

/** Writes `text` to the new file `temporary` with mode 0600 and fsyncs it. */
async function writeTemporary(temporary: string, text: string): Promise<void> {
  await io(temporary, 'write key file', ON_OTHER, async () => {
    const handle = await open(temporary, 'wx', KEY_FILE_MODE);
    try {
      // The umask can only clear bits; set the mode exactly anyway.
      await handle.chmod(KEY_FILE_MODE);
      await handle.writeFile(text, 'utf8');
      await handle.sync();
    } finally {
      await handle.close();
    }
  });
}

/** Runs a file system call, turning its failure into a coded error that names `path`. */
async function io<T>(
  path: string,
  action: string,
  codes: ErrnoCodes,
  call: () => Promise<T>,
): Promise<T> {
  try {
    return await call();
  } catch (error: unknown) {
    const code = codes[String((error as NodeJS.ErrnoException).code)] ?? 'IO_FAILED';
    const reason = REASONS[code] ?? (error as Error).message;
    throw new CryptoError(code, `Cannot ${action} "${path}": ${reason}`, {
      file: path,
      cause: error,
    });
  }
}

/** `0644` for a mode whose permission bits are rw-r--r--. */
function octal(mode: number): string {
  return `0${(mode & 0o777).toString(8).padStart(3, '0')}`;
}
