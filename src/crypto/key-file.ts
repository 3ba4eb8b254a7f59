// Key files on disk: the private file mechanics of basics (a directory of mode 0700 holding files
// of mode 0600, read without following symbolic links, written durably) under crypto's names and
// error codes.
import {
  checkPrivateDirectory,
  createPrivateFile,
  ensurePrivateDirectory,
  listPrivateDirectory,
  PRIVATE_DIRECTORY_MODE,
  PRIVATE_FILE_MODE,
  readPrivateFile,
  removePrivateFile,
  replacePrivateFile,
  syncDirectory as syncPrivateDirectory,
  translatePrivateFileErrors,
} from '../basics/index.ts';
import type {
  PrivateFileError,
  PrivateFileErrorCode,
  PrivateFileOptions,
} from '../basics/index.ts';
import { CryptoError } from './errors.ts';
import type { CryptoErrorCode } from './errors.ts';

/** Mode of the keys directory: only the owner may list, create or replace keys. */
export const KEY_DIRECTORY_MODE = PRIVATE_DIRECTORY_MODE;
/** Mode of every key file: only the owner may read or write it. */
export const KEY_FILE_MODE = PRIVATE_FILE_MODE;

const KEY_FILES: PrivateFileOptions = { names: { file: 'key file', directory: 'key directory' } };

/** The code of each private file failure in a key operation. */
const CODES: Readonly<Record<PrivateFileErrorCode, CryptoErrorCode>> = {
  FILE_INSECURE: 'KEY_FILE_INSECURE',
  FILE_EXISTS: 'KEY_FILE_EXISTS',
  FILE_NOT_FOUND: 'KEY_NOT_FOUND',
  FILE_INVALID: 'KEY_MALFORMED',
  IO_FAILED: 'IO_FAILED',
};

/** What the message of a failure adds for keys. */
const ADVICE: Readonly<Partial<Record<PrivateFileErrorCode, string>>> = {
  FILE_EXISTS: ' (keys are never overwritten; move the old file away first if nothing uses it)',
};

/**
 * Creates `dir` (and missing parents) with mode 0700 if needed, then checks it as
 * {@link checkKeyDirectory} does.
 * @throws CryptoError KEY_FILE_INSECURE, KEY_MALFORMED, IO_FAILED
 */
export async function ensureKeyDirectory(dir: string): Promise<void> {
  await asKeyFile(() => ensurePrivateDirectory(dir, KEY_FILES));
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
  await asKeyFile(() => checkPrivateDirectory(dir, KEY_FILES));
}

/**
 * The names of the entries of the keys directory `dir`.
 * @throws CryptoError KEY_NOT_FOUND when `dir` does not exist
 * @throws CryptoError IO_FAILED when the file system fails
 */
export async function listKeyDirectory(dir: string): Promise<string[]> {
  return await asKeyFile(() => listPrivateDirectory(dir, KEY_FILES));
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
  return await asKeyFile(() => readPrivateFile(path, maxBytes, KEY_FILES));
}

/**
 * Creates the key file `path` with mode 0600 durably, never replacing an existing file: the text
 * goes to a temporary file that is fsynced, then hard-linked to `path` (link fails where rename
 * would overwrite). The caller fsyncs the directory once its files are in place.
 * @throws CryptoError KEY_FILE_EXISTS when `path` exists
 * @throws CryptoError IO_FAILED when the file system fails
 */
export async function createKeyFile(path: string, text: string): Promise<void> {
  await asKeyFile(() => createPrivateFile(path, text, KEY_FILES));
}

/**
 * Replaces the key file `path` atomically and durably (temporary file, fsync, rename, fsync of
 * the directory), so a crash leaves the old text or the new one, never a mix.
 * @throws CryptoError IO_FAILED when the file system fails
 */
export async function replaceKeyFile(path: string, text: string): Promise<void> {
  await asKeyFile(() => replacePrivateFile(path, text, KEY_FILES));
}

/**
 * Deletes the key file `path` (if present) and fsyncs its directory. Unlinking does not scrub
 * the blocks on every file system (copy-on-write, SSD wear levelling); see key-ring.md.
 * @throws CryptoError IO_FAILED when the file system fails
 */
export async function removeKeyFile(path: string): Promise<void> {
  await asKeyFile(() => removePrivateFile(path, KEY_FILES));
}

/**
 * Fsyncs directory `dir`, making the entries created, renamed or removed in it durable.
 * @throws CryptoError IO_FAILED when the file system fails
 */
export async function syncDirectory(dir: string): Promise<void> {
  await asKeyFile(() => syncPrivateDirectory(dir, KEY_FILES));
}

/** Runs a private file operation, reporting its failure as the CryptoError of a key file. */
async function asKeyFile<T>(call: () => Promise<T>): Promise<T> {
  return await translatePrivateFileErrors(call, toCryptoError);
}

/** The CryptoError for a failed key file operation; the file system's error stays the cause. */
function toCryptoError(error: PrivateFileError): CryptoError {
  return new CryptoError(CODES[error.code], `${error.message}${ADVICE[error.code] ?? ''}`, {
    file: error.file,
    ...(error.cause === undefined ? {} : { cause: error.cause }),
  });
}
