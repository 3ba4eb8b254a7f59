// Private files on disk: a directory of mode 0700 holding files of mode 0600, read without
// following symbolic links and created durably (temporary file, fsync, link or rename, fsync of
// the directory), so that a crash leaves either no file, the old one or the whole new one. Key
// files of `crypto` and `tlog` use it; each maps PrivateFileError to its own codes.
import { constants } from 'node:fs';
import type { Stats } from 'node:fs';
import { link, mkdir, open, readdir, rename, rm, stat } from 'node:fs/promises';
import { dirname } from 'node:path';
import { randomBytes } from 'node:crypto';
import { VotervaultError } from './errors.ts';

/** Mode of a private directory: only the owner may list it or create and replace its files. */
export const PRIVATE_DIRECTORY_MODE = 0o700;
/** Mode of a private file: only the owner may read or write it. */
export const PRIVATE_FILE_MODE = 0o600;
/** Permission bits of group and others; a private path has none of them. */
const SHARED_BITS = 0o077;

/** Stable codes of every failure of a private file operation. */
export const PRIVATE_FILE_ERROR_CODES = [
  /** Group or others may use the file or directory, or the file is a symbolic link. */
  'FILE_INSECURE',
  /** Creating the file would replace an existing one. */
  'FILE_EXISTS',
  /** The file or directory does not exist. */
  'FILE_NOT_FOUND',
  /** The path is not a regular file (or not a directory), or the file is too large. */
  'FILE_INVALID',
  /** The file system failed. */
  'IO_FAILED',
] as const;

/** One of {@link PRIVATE_FILE_ERROR_CODES}. */
export type PrivateFileErrorCode = (typeof PRIVATE_FILE_ERROR_CODES)[number];

/**
 * A failure of a private file operation; `file` names the file or directory at fault. The
 * message never carries the file's content.
 */
export class PrivateFileError extends VotervaultError<PrivateFileErrorCode> {
  readonly file: string;

  constructor(
    code: PrivateFileErrorCode,
    message: string,
    options: ErrorOptions & { file: string },
  ) {
    super(code, message, options);
    this.file = options.file;
  }
}

/** What messages call the files and their directory, such as "key file" and "key directory". */
export interface PrivateFileNames {
  readonly file: string;
  readonly directory: string;
}

/** Options of every private file operation. */
export interface PrivateFileOptions {
  /** Names used in messages; "file" and "directory" when absent. */
  readonly names?: PrivateFileNames;
}

const DEFAULT_NAMES: PrivateFileNames = { file: 'file', directory: 'directory' };

/** What an errno means for an operation; any errno not listed is IO_FAILED. */
type ErrnoCodes = Readonly<Partial<Record<string, PrivateFileErrorCode>>>;

const ON_READ: ErrnoCodes = { ENOENT: 'FILE_NOT_FOUND', ELOOP: 'FILE_INSECURE' };
// A link never replaces a file: EEXIST means the file exists, perhaps created by another process
// after the caller looked.
const ON_CREATE: ErrnoCodes = { EEXIST: 'FILE_EXISTS' };
const ON_OTHER: ErrnoCodes = {};

const REASONS: Readonly<Partial<Record<PrivateFileErrorCode, string>>> = {
  FILE_NOT_FOUND: 'it does not exist',
  FILE_INSECURE: 'it is a symbolic link, expected a regular file',
  FILE_EXISTS: 'it already exists',
};

/**
 * Creates `dir` (and missing parents) with mode 0700 if needed, then checks it as
 * {@link checkPrivateDirectory} does.
 * @throws PrivateFileError FILE_INSECURE, FILE_INVALID, IO_FAILED
 */
export async function ensurePrivateDirectory(
  dir: string,
  options: PrivateFileOptions = {},
): Promise<void> {
  const names = options.names ?? DEFAULT_NAMES;
  await io(dir, `create ${names.directory}`, ON_OTHER, () =>
    mkdir(dir, { recursive: true, mode: PRIVATE_DIRECTORY_MODE }),
  );
  await checkPrivateDirectory(dir, options);
}

/**
 * Refuses a directory that group or others may use: whoever can write it can replace its files,
 * and whoever can list it learns their names. With `requireDirectory: false` only the mode is
 * checked, and a path that is not a directory fails later, when a file inside it is opened.
 * @throws PrivateFileError FILE_NOT_FOUND when `dir` does not exist
 * @throws PrivateFileError FILE_INVALID when `dir` is not a directory
 * @throws PrivateFileError FILE_INSECURE when its mode is not 0700 or stricter
 * @throws PrivateFileError IO_FAILED when the file system fails
 */
export async function checkPrivateDirectory(
  dir: string,
  options: PrivateFileOptions & { readonly requireDirectory?: boolean } = {},
): Promise<void> {
  const names = options.names ?? DEFAULT_NAMES;
  const info = await io(dir, `read ${names.directory}`, ON_READ, () => stat(dir));
  refuseUnlessPrivate(info, dir, {
    name: names.directory,
    kind: options.requireDirectory === false ? undefined : 'directory',
    mode: PRIVATE_DIRECTORY_MODE,
  });
}

/**
 * The names of the entries of the private directory `dir`.
 * @throws PrivateFileError FILE_NOT_FOUND when `dir` does not exist
 * @throws PrivateFileError IO_FAILED when the file system fails
 */
export async function listPrivateDirectory(
  dir: string,
  options: PrivateFileOptions = {},
): Promise<string[]> {
  const names = options.names ?? DEFAULT_NAMES;
  return await io(dir, `list ${names.directory}`, ON_READ, () => readdir(dir));
}

/**
 * Reads a private file of at most `maxBytes` bytes as UTF-8. The path may come from
 * configuration: a symbolic link is refused (O_NOFOLLOW), since it could point at a file someone
 * else controls, and the mode is read from the opened descriptor, so the file checked is the file
 * read. At most `maxBytes + 1` bytes are read, so a huge file costs no more than a small one.
 * @throws PrivateFileError FILE_NOT_FOUND when the file does not exist
 * @throws PrivateFileError FILE_INSECURE when it is a symbolic link or its mode is not 0600 or
 *   stricter
 * @throws PrivateFileError FILE_INVALID when it is not a regular file or is larger than
 *   `maxBytes`
 * @throws PrivateFileError IO_FAILED when the file system fails
 */
export async function readPrivateFile(
  path: string,
  maxBytes: number,
  options: PrivateFileOptions = {},
): Promise<string> {
  const names = options.names ?? DEFAULT_NAMES;
  const handle = await io(path, `open ${names.file}`, ON_READ, () =>
    open(path, constants.O_RDONLY | constants.O_NOFOLLOW),
  );
  try {
    refuseUnlessPrivate(await handle.stat(), path, {
      name: names.file,
      kind: 'regular file',
      mode: PRIVATE_FILE_MODE,
    });
    const buffer = Buffer.alloc(maxBytes + 1);
    const { bytesRead } = await handle.read(buffer, 0, buffer.length, 0);
    if (bytesRead > maxBytes) {
      throw new PrivateFileError(
        'FILE_INVALID',
        `Cannot use ${names.file} "${path}": it is larger than ${maxBytes} bytes`,
        { file: path },
      );
    }
    return buffer.toString('utf8', 0, bytesRead);
  } finally {
    await handle.close();
  }
}

/**
 * Creates the private file `path` with mode 0600 durably, never replacing an existing file: the
 * text goes to a temporary file that is fsynced, then hard-linked to `path` (link fails where
 * rename would overwrite). The caller fsyncs the directory ({@link syncDirectory}) once its
 * files are in place.
 * @throws PrivateFileError FILE_EXISTS when `path` exists
 * @throws PrivateFileError IO_FAILED when the file system fails
 */
export async function createPrivateFile(
  path: string,
  text: string,
  options: PrivateFileOptions = {},
): Promise<void> {
  const names = options.names ?? DEFAULT_NAMES;
  await writeThroughTemporary(path, text, names, (temporary) =>
    io(path, `create ${names.file}`, ON_CREATE, () => link(temporary, path)),
  );
}

/**
 * Replaces the private file `path` atomically and durably (temporary file, fsync, rename, fsync
 * of the directory), so a crash leaves the old text or the new one, never a mix.
 * @throws PrivateFileError IO_FAILED when the file system fails
 */
export async function replacePrivateFile(
  path: string,
  text: string,
  options: PrivateFileOptions = {},
): Promise<void> {
  const names = options.names ?? DEFAULT_NAMES;
  await writeThroughTemporary(path, text, names, (temporary) =>
    io(path, `replace ${names.file}`, ON_OTHER, () => rename(temporary, path)),
  );
  await syncDirectory(dirname(path), options);
}

/**
 * Deletes the private file `path` (if present) and fsyncs its directory. Unlinking does not
 * scrub the blocks on every file system (copy-on-write, SSD wear levelling).
 * @throws PrivateFileError IO_FAILED when the file system fails
 */
export async function removePrivateFile(
  path: string,
  options: PrivateFileOptions = {},
): Promise<void> {
  const names = options.names ?? DEFAULT_NAMES;
  await io(path, `delete ${names.file}`, ON_OTHER, () => rm(path, { force: true }));
  await syncDirectory(dirname(path), options);
}

/**
 * Fsyncs directory `dir`, making the entries created, renamed or removed in it durable.
 * @throws PrivateFileError IO_FAILED when the file system fails
 */
export async function syncDirectory(dir: string, options: PrivateFileOptions = {}): Promise<void> {
  const names = options.names ?? DEFAULT_NAMES;
  await io(dir, `sync ${names.directory}`, ON_OTHER, async () => {
    const handle = await open(dir, constants.O_RDONLY);
    try {
      await handle.sync();
    } finally {
      await handle.close();
    }
  });
}

/**
 * Runs `call`, replacing a PrivateFileError it throws with `translate(error)`, so that a module
 * reports private file failures under its own codes from one place. Other errors pass unchanged.
 * @throws what `translate` returns, or what `call` throws when it is not a PrivateFileError
 */
export async function translatePrivateFileErrors<T>(
  call: () => Promise<T>,
  translate: (error: PrivateFileError) => Error,
): Promise<T> {
  try {
    return await call();
  } catch (error: unknown) {
    throw error instanceof PrivateFileError ? translate(error) : error;
  }
}

/**
 * Writes `text` to a new temporary file beside `path` with mode 0600, fsyncs it, then lets
 * `place` link or rename it to `path`. The temporary file is removed whatever happens; its name
 * is fresh, so that two writers never share one.
 */
async function writeThroughTemporary(
  path: string,
  text: string,
  names: PrivateFileNames,
  place: (temporary: string) => Promise<void>,
): Promise<void> {
  const temporary = `${path}.${randomBytes(8).toString('hex')}.tmp`;
  try {
    await io(temporary, `write ${names.file}`, ON_OTHER, async () => {
      const handle = await open(temporary, 'wx', PRIVATE_FILE_MODE);
      try {
        // The umask can only clear bits; set the mode exactly anyway.
        await handle.chmod(PRIVATE_FILE_MODE);
        await handle.writeFile(text, 'utf8');
        await handle.sync();
      } finally {
        await handle.close();
      }
    });
    await place(temporary);
  } finally {
    await rm(temporary, { force: true });
  }
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
    throw new PrivateFileError(code, `Cannot ${action} "${path}": ${reason}`, {
      file: path,
      cause: error,
    });
  }
}

/**
 * Refuses `path`, described by `info`, unless it is a `kind` (any kind when undefined) that group
 * and others may not use, with a message that says how to fix the mode.
 */
function refuseUnlessPrivate(
  info: Stats,
  path: string,
  expected: {
    readonly name: string;
    readonly kind: 'directory' | 'regular file' | undefined;
    readonly mode: number;
  },
): void {
  const { name, kind, mode } = expected;
  const isKind = { directory: info.isDirectory(), 'regular file': info.isFile() };
  if (kind !== undefined && !isKind[kind]) {
    throw new PrivateFileError(
      'FILE_INVALID',
      `Cannot use ${name} "${path}": it is not a ${kind}`,
      { file: path },
    );
  }
  if ((info.mode & SHARED_BITS) !== 0) {
    throw new PrivateFileError(
      'FILE_INSECURE',
      `Cannot use ${name} "${path}": mode is ${octal(info.mode)}, expected ${octal(mode)} (run chmod ${octal(mode).slice(1)} "${path}")`,
      { file: path },
    );
  }
}

/** `0644` for a mode whose permission bits are rw-r--r--. */
function octal(mode: number): string {
  return `0${(mode & 0o777).toString(8).padStart(3, '0')}`;
}
