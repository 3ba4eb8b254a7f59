// The log's own signing keys on disk: one Ed25519 signer and one ML-DSA-44 cosigner, each a
// private key string in a file of mode 0600 in a directory of mode 0700, kept outside the
// directory the log is served from.
import { join } from 'node:path';
import {
  checkPrivateDirectory,
  createPrivateFile,
  ensurePrivateDirectory,
  listPrivateDirectory,
  readPrivateFile,
  syncDirectory,
  translatePrivateFileErrors,
} from '../basics/index.ts';
import type { PrivateFileErrorCode, PrivateFileOptions } from '../basics/index.ts';
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
const KEY_FILES: PrivateFileOptions = { names: { file: 'key file', directory: 'key directory' } };

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
  // Refuse before writing anything, so a refusal leaves the directory as it was.
  const existing = await asKeyFile(async () => {
    await ensurePrivateDirectory(keysDir, KEY_FILES);
    return await listPrivateDirectory(keysDir, KEY_FILES);
  });
  for (const key of keys) {
    if (existing.includes(LOG_KEY_FILES[key.type])) {
      throw new TlogError(
        'KEY_FILE_EXISTS',
        `Cannot create key file "${key.path}": it already exists${KEY_EXISTS_ADVICE}`,
        { file: key.path },
      );
    }
  }
  await asKeyFile(async () => {
    for (const key of keys) await createPrivateFile(key.path, `${key.signerKey}\n`, KEY_FILES);
    await syncDirectory(keysDir, KEY_FILES);
  });
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
  // Others who can write the directory can replace the keys. A path that is not a directory is
  // reported when the first key file in it is opened.
  await asKeyFile(() => checkPrivateDirectory(keysDir, { ...KEY_FILES, requireDirectory: false }));
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
  // The path is the operator's, but a symbolic link could point the log at a key someone else
  // controls: readPrivateFile refuses links (O_NOFOLLOW) and checks the mode of the opened file.
  const text = await asKeyFile(() => readPrivateFile(path, MAX_KEY_FILE_BYTES, KEY_FILES));
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

/** Codes of the private file failures of a key operation. */
const CODES: Readonly<Record<PrivateFileErrorCode, TlogErrorCode>> = {
  FILE_INSECURE: 'KEY_FILE_INSECURE',
  FILE_EXISTS: 'KEY_FILE_EXISTS',
  FILE_NOT_FOUND: 'NOT_FOUND',
  FILE_INVALID: 'KEY_MALFORMED',
  IO_FAILED: 'IO_FAILED',
};

const KEY_EXISTS_ADVICE =
  ' (keys are never overwritten; move the old keys away first to replace them)';
/** What the message of a private file failure adds for the log's keys. */
const ADVICE: Readonly<Partial<Record<PrivateFileErrorCode, string>>> = {
  FILE_EXISTS: KEY_EXISTS_ADVICE,
};

/**
 * Runs a private file operation, reporting its failure as the TlogError of a key file; the file
 * system's own error stays the cause.
 */
async function asKeyFile<T>(call: () => Promise<T>): Promise<T> {
  return await translatePrivateFileErrors(
    call,
    (error) =>
      new TlogError(CODES[error.code], `${error.message}${ADVICE[error.code] ?? ''}`, {
        file: error.file,
        ...(error.cause === undefined ? {} : { cause: error.cause }),
      }),
  );
}
