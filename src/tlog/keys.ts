// The log's own signing keys on disk: one Ed25519 signer and one ML-DSA-44 cosigner, each a
// private key string in a file of mode 0600 in a directory of mode 0700, kept outside the
// directory the log is served from.
import { constants } from 'node:fs';
import { link, mkdir, open, readdir, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { TlogError } from './errors.ts';
import type { TlogErrorCode } from './errors.ts';
import { isValidOrigin } from './checkpoint.ts';
import { generateSignerKey, isValidKeyName, parseSignerKey } from './note.ts';
import type { NoteKeyType, NoteSigner, ParsedSignerKey } from './note.ts';

/** File name of each log key in the keys directory. */
export const LOG_KEY_FILES: Readonly<Record<NoteKeyType, string>> = {
  ed25519: 'log-ed25519.key',
  'ml-dsa-44-cosignature': 'log-ml-dsa-44.key',
};

/** Key types of a log, in the order of `signers` and `verifierKeys`: Ed25519 first. */
const LOG_KEY_TYPES: readonly NoteKeyType[] = ['ed25519', 'ml-dsa-44-cosignature'];
/** A key file holds one line of about 100 characters; anything much larger is not a key. */
const MAX_KEY_FILE_BYTES = 4096;
const DIRECTORY_MODE = 0o700;
const FILE_MODE = 0o600;

/** The keys a log signs its checkpoints with. */
export interface LogKeys {
  /** The log's origin, the name of every key. */
  readonly origin: string;
  /** Ed25519 signer, then ML-DSA-44 cosigner. */
  readonly signers: readonly NoteSigner[];
  /** Verifier keys of `signers`, in the same order. */
  readonly verifierKeys: readonly string[];
}

/**
 * Creates the log's keys for `origin` in `keysDir` (created with mode 0700 if missing): an
 * Ed25519 signer and an ML-DSA-44 cosigner, each in a new file of mode 0600. Each file is
 * written to a temporary name, fsynced, linked to its final name (a link never replaces an
 * existing file, unlike a rename) and the directory fsynced, so a crash leaves either no key
 * file or a whole one. Existing keys are never overwritten.
 * @throws TlogError CHECKPOINT_MALFORMED when `origin` cannot name a log
 * @throws TlogError KEY_FILE_EXISTS when a key file already exists
 * @throws TlogError KEY_FILE_INSECURE when `keysDir` exists and others may use it
 * @throws TlogError IO_FAILED when the file system fails
 */
export async function createLogKeys(
  keysDir: string,
  origin: string,
): Promise<{ verifierKeys: readonly string[] }> {
  // SPEC: https://c2sp.org/tlog-cosignature "opaque log_origin<1..2^8-1>;" the ML-DSA-44
  // cosignature encodes the origin in at most 255 bytes.
  if (
    !isValidOrigin(origin) ||
    !isValidKeyName(origin) ||
    Buffer.byteLength(origin, 'utf8') > 255
  ) {
    throw new TlogError(
      'CHECKPOINT_MALFORMED',
      `Cannot create log keys for origin "${origin}": an origin is 1 to 255 bytes without spaces, plus or control characters`,
    );
  }
  const keys = LOG_KEY_TYPES.map((type) => ({
    type,
    path: join(keysDir, LOG_KEY_FILES[type]),
    ...generateSignerKey(origin, type),
  }));
  await io(keysDir, 'create key directory', ON_OTHER, () =>
    mkdir(keysDir, { recursive: true, mode: DIRECTORY_MODE }),
  );
  await checkDirectory(keysDir);
  // Refuse before writing anything, so a refusal leaves the directory as it was.
  const existing = await io(keysDir, 'list key directory', ON_OTHER, () => readdir(keysDir));
  for (const key of keys) {
    if (existing.includes(LOG_KEY_FILES[key.type])) {
      throw new TlogError(
        'KEY_FILE_EXISTS',
        `Cannot create key file "${key.path}": ${REASONS.KEY_FILE_EXISTS}`,
        { file: key.path },
      );
    }
  }
  for (const key of keys) await writeNewFile(key.path, `${key.signerKey}\n`);
  await io(keysDir, 'sync key directory', ON_OTHER, () => syncDirectory(keysDir));
  return { verifierKeys: Object.freeze(keys.map((key) => key.verifierKey)) };
}

/**
 * Loads the log's keys from `keysDir`. Refuses a directory or key file that anyone but the owner
 * may use, and a key file that is a symbolic link, with a message that says how to fix it.
 * @throws TlogError NOT_FOUND when the directory or a key file is missing
 * @throws TlogError KEY_FILE_INSECURE when the directory is not 0700 or a file not 0600 (or
 *   stricter), or a key file is a symbolic link
 * @throws TlogError KEY_MALFORMED when a file does not hold a key of its type, or the keys name
 *   different origins
 * @throws TlogError IO_FAILED when the file system fails
 */
export async function loadLogKeys(keysDir: string): Promise<LogKeys> {
  await checkDirectory(keysDir);
  const ed25519 = await loadKeyFile(keysDir, 'ed25519');
  const mlDsa44 = await loadKeyFile(keysDir, 'ml-dsa-44-cosignature');
  if (mlDsa44.signer.name !== ed25519.signer.name) {
    throw new TlogError(
      'KEY_MALFORMED',
      `Cannot use key file "${mlDsa44.path}": its key is named "${mlDsa44.signer.name}", not "${ed25519.signer.name}" like the Ed25519 key`,
      { file: mlDsa44.path },
    );
  }
  return Object.freeze({
    origin: ed25519.signer.name,
    signers: Object.freeze([ed25519.signer, mlDsa44.signer]),
    verifierKeys: Object.freeze([ed25519.verifierKey, mlDsa44.verifierKey]),
  });
}

async function loadKeyFile(
  keysDir: string,
  type: NoteKeyType,
): Promise<ParsedSignerKey & { path: string }> {
  const path = join(keysDir, LOG_KEY_FILES[type]);
  const text = await readKeyFile(path);
  let parsed;
  try {
    parsed = parseSignerKey(text.replace(/\n$/u, ''));
  } catch (error: unknown) {
    throw new TlogError(
      'KEY_MALFORMED',
      `Cannot use key file "${path}": ${(error as Error).message}`,
      { file: path, cause: error },
    );
  }
  if (parsed.signer.type !== type) {
    throw new TlogError(
      'KEY_MALFORMED',
      `Cannot use key file "${path}": it holds a ${parsed.signer.type} key, expected ${type}`,
      {
        file: path,
      },
    );
  }
  return { path, ...parsed };
}

async function checkDirectory(dir: string): Promise<void> {
  const info = await io(dir, 'read key directory', ON_READ, () => stat(dir));
  // Others who can write the directory can replace the keys; others who can list it learn
  // nothing secret, but there is no reason to let them.
  if ((info.mode & 0o077) !== 0) {
    throw new TlogError(
      'KEY_FILE_INSECURE',
      `Cannot use key directory "${dir}": mode is ${octal(info.mode)}, expected 0700 (run chmod 700 "${dir}")`,
      { file: dir },
    );
  }
}

async function readKeyFile(path: string): Promise<string> {
  // O_NOFOLLOW: a symbolic link could point the log at a key someone else controls. The mode is
  // read from the opened descriptor, so the file checked is the file read.
  const handle = await io(path, 'open key file', ON_READ, () =>
    open(path, constants.O_RDONLY | constants.O_NOFOLLOW),
  );
  try {
    const info = await handle.stat();
    if (!info.isFile()) {
      throw new TlogError(
        'KEY_MALFORMED',
        `Cannot use key file "${path}": it is not a regular file`,
        { file: path },
      );
    }
    if ((info.mode & 0o077) !== 0) {
      throw new TlogError(
        'KEY_FILE_INSECURE',
        `Cannot use key file "${path}": mode is ${octal(info.mode)}, expected 0600 (run chmod 600 "${path}")`,
        { file: path },
      );
    }
    const buffer = Buffer.alloc(MAX_KEY_FILE_BYTES + 1);
    const { bytesRead } = await handle.read(buffer, 0, buffer.length, 0);
    if (bytesRead > MAX_KEY_FILE_BYTES) {
      throw new TlogError(
        'KEY_MALFORMED',
        `Cannot use key file "${path}": it is larger than ${MAX_KEY_FILE_BYTES} bytes`,
        {
          file: path,
        },
      );
    }
    return buffer.toString('utf8', 0, bytesRead);
  } finally {
    await handle.close();
  }
}

/** Writes a new file durably, refusing to replace an existing one. */
async function writeNewFile(path: string, text: string): Promise<void> {
  const temporary = `${path}.${randomBytes(8).toString('hex')}.tmp`;
  try {
    await io(temporary, 'write key file', ON_OTHER, async () => {
      const handle = await open(temporary, 'wx', FILE_MODE);
      try {
        // The umask can only clear bits; set the mode exactly anyway.
        await handle.chmod(FILE_MODE);
        await handle.writeFile(text, 'utf8');
        await handle.sync();
      } finally {
        await handle.close();
      }
    });
    await io(path, 'create key file', ON_LINK, () => link(temporary, path));
  } finally {
    await rm(temporary, { force: true });
  }
}

async function syncDirectory(dir: string): Promise<void> {
  const handle = await open(dir, constants.O_RDONLY);
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/** What each handled errno means for a key operation; any other errno is IO_FAILED. */
const ON_READ: Readonly<Partial<Record<string, TlogErrorCode>>> = {
  ENOENT: 'NOT_FOUND',
  ELOOP: 'KEY_FILE_INSECURE',
};
// A link never replaces a file: EEXIST means another process created the key after our check.
const ON_LINK: Readonly<Partial<Record<string, TlogErrorCode>>> = { EEXIST: 'KEY_FILE_EXISTS' };
const ON_OTHER: Readonly<Partial<Record<string, TlogErrorCode>>> = {};

const REASONS: Readonly<Partial<Record<TlogErrorCode, string>>> = {
  NOT_FOUND: 'it does not exist',
  KEY_FILE_INSECURE: 'it is a symbolic link, expected a regular file',
  KEY_FILE_EXISTS:
    'it already exists (keys are never overwritten; move the old keys away first to replace them)',
};

/** Runs a file system call, turning its failure into a coded error that names `path`. */
async function io<T>(
  path: string,
  action: string,
  codes: Readonly<Partial<Record<string, TlogErrorCode>>>,
  call: () => Promise<T>,
): Promise<T> {
  try {
    return await call();
  } catch (error: unknown) {
    const code = codes[String((error as NodeJS.ErrnoException).code)] ?? 'IO_FAILED';
    const reason = REASONS[code] ?? (error as Error).message;
    throw new TlogError(code, `Cannot ${action} "${path}": ${reason}`, {
      file: path,
      cause: error,
    });
  }
}

function octal(mode: number): string {
  return `0${(mode & 0o777).toString(8).padStart(3, '0')}`;
}
