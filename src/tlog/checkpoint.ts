import { HASH_SIZE } from './hash.ts';
import type { Hash } from './hash.ts';
import { TlogError } from './errors.ts';
import { openNote, signNote, signNoteAsync } from './note.ts';
import type { NoteSigner, NoteVerifier } from './note.ts';

/** The signed statement of a log's size and root (the body of a checkpoint note). */
export interface Checkpoint {
  /** Names the log; also the name of its key. */
  readonly origin: string;
  /** Number of entries. A safe integer: 2^53 entries is beyond any log this serves. */
  readonly size: number;
  readonly rootHash: Hash;
  /** Optional extension lines, in order, without their line terminator. */
  readonly extensions: readonly string[];
}

/** Checks an origin line before it is ever signed. */
export function isValidOrigin(origin: string): boolean {
  // SPEC: https://c2sp.org/tlog-checkpoint "The origin line SHOULD be a schema-less URL
  // containing neither Unicode spaces nor plus (U+002B)". Plus would break the key name form.
  return origin.length > 0 && !/[\s+]/u.test(origin);
}

/**
 * Formats a checkpoint body: origin, decimal size, base64 root, extension lines, each ending in
 * a newline.
 * @throws TlogError CHECKPOINT_MALFORMED when a field cannot be represented
 */
export function formatCheckpoint(checkpoint: Checkpoint): string {
  if (!isValidOrigin(checkpoint.origin)) {
    throw new TlogError('CHECKPOINT_MALFORMED', `Cannot use origin "${checkpoint.origin}"`);
  }
  if (!Number.isSafeInteger(checkpoint.size) || checkpoint.size < 0) {
    throw new TlogError('CHECKPOINT_MALFORMED', `Cannot use tree size "${checkpoint.size}"`);
  }
  if (checkpoint.rootHash.length !== HASH_SIZE) {
    throw new TlogError('CHECKPOINT_MALFORMED', 'Cannot use a root hash that is not 32 bytes');
  }
  for (const line of checkpoint.extensions) {
    if (line.length === 0 || line.includes('\n')) {
      throw new TlogError('CHECKPOINT_MALFORMED', `Cannot use extension line "${line}"`);
    }
  }
  const root = Buffer.from(checkpoint.rootHash).toString('base64');
  return [checkpoint.origin, String(checkpoint.size), root, ...checkpoint.extensions]
    .map((line) => `${line}\n`)
    .join('');
}

/**
 * Parses a checkpoint body (the text of a note, signatures already removed).
 * Attacker-controlled: the body comes from files or servers we do not trust; every line is
 * checked against the exact grammar and nothing is coerced.
 * @throws TlogError CHECKPOINT_MALFORMED naming what is wrong
 */
export function parseCheckpoint(body: string, file?: string): Checkpoint {
  const fail = (why: string): TlogError =>
    new TlogError('CHECKPOINT_MALFORMED', `Cannot parse checkpoint: ${why}`, file ? { file } : {});
  if (!body.endsWith('\n')) throw fail('the body does not end with a newline');
  const lines = body.slice(0, -1).split('\n');
  const [origin, sizeText, rootText, ...extensions] = lines;
  if (origin === undefined || sizeText === undefined || rootText === undefined) {
    throw fail('it has fewer than 3 lines');
  }
  if (!isValidOrigin(origin)) throw fail(`origin line "${origin}" is empty or has a space or plus`);
  // SPEC: https://c2sp.org/tlog-checkpoint "the tree size ... as an ASCII decimal number,
  // with no leading zeroes (unless the tree size is zero)".
  if (!/^(?:0|[1-9]\d{0,15})$/.test(sizeText) || !Number.isSafeInteger(Number(sizeText))) {
    throw fail(`tree size "${sizeText}" is not a decimal number without leading zeros`);
  }
  const root = Buffer.from(rootText, 'base64');
  if (root.length !== HASH_SIZE || root.toString('base64') !== rootText) {
    throw fail(`root hash "${rootText}" is not the base64 of 32 bytes`);
  }
  if (extensions.some((line) => line.length === 0)) throw fail('an extension line is empty');
  return { origin, size: Number(sizeText), rootHash: new Uint8Array(root), extensions };
}

/** Options of {@link verifyCheckpoint}. */
export interface VerifyCheckpointOptions {
  /** Names the file the checkpoint was read from, in errors. */
  readonly file?: string;
  /** The origin the checkpoint must have; without it, the origin is the name of a key that verified. */
  readonly origin?: string;
}

/**
 * Signs a checkpoint: its body as a signed note, one signature line per signer.
 * @throws TlogError CHECKPOINT_MALFORMED when a field cannot be represented
 * @throws TlogError KEY_MALFORMED or NOTE_MALFORMED from {@link signNote}
 */
export function signCheckpoint(checkpoint: Checkpoint, signers: readonly NoteSigner[]): string {
  return signNote(formatCheckpoint(checkpoint), signers);
}

/**
 * As {@link signCheckpoint}, signing off the main thread: what a log writer uses, so that it
 * keeps hashing the next batch while this one's checkpoint is signed.
 * @throws TlogError as {@link signCheckpoint}
 */
export function signCheckpointAsync(
  checkpoint: Checkpoint,
  signers: readonly NoteSigner[],
): Promise<string> {
  return signNoteAsync(formatCheckpoint(checkpoint), signers);
}

/**
 * Opens a checkpoint note with whichever keys are given and returns the checkpoint.
 * Attacker-controlled: the note comes from files or servers we do not trust. {@link openNote}
 * checks its grammar and signatures before the body is parsed.
 *
 * The log signs with its origin as key name, so a key named after the origin must have
 * verified: a valid signature by some other key (a witness, or another log) does not make a
 * checkpoint this log's. ML-DSA-44 cosignatures do not cover extension lines, so extension
 * lines are accepted only when an Ed25519 signature, which covers the whole text, verified.
 * SPEC: https://c2sp.org/tlog-checkpoint "Note that ML-DSA-44 checkpoint cosignatures don't sign
 * the extension lines" and "When the log is authenticating itself, the cosigner name SHOULD be
 * the log origin."
 * @throws TlogError NOTE_MALFORMED or SIGNATURE_INVALID from {@link openNote}
 * @throws TlogError SIGNATURE_INVALID when the origin is not the expected one or no key named
 *   after it verified, or when unsigned extension lines are present
 * @throws TlogError CHECKPOINT_MALFORMED when the body is not a checkpoint
 */
export function verifyCheckpoint(
  note: string | Uint8Array,
  verifiers: readonly NoteVerifier[],
  options: VerifyCheckpointOptions = {},
): Checkpoint {
  return openCheckpoint(note, verifiers, options).checkpoint;
}

/** A verified checkpoint and the given keys whose signatures on it verified. */
export interface OpenedCheckpoint {
  readonly checkpoint: Checkpoint;
  readonly verifiedBy: readonly NoteVerifier[];
}

/**
 * {@link verifyCheckpoint}, also telling which of the given keys verified.
 * @throws TlogError as {@link verifyCheckpoint}
 */
export function openCheckpoint(
  note: string | Uint8Array,
  verifiers: readonly NoteVerifier[],
  options: VerifyCheckpointOptions = {},
): OpenedCheckpoint {
  const { file } = options;
  const where = file === undefined ? {} : { file };
  const opened = openNote(note, verifiers, where);
  const checkpoint = parseCheckpoint(opened.text, file);
  const fail = (why: string): TlogError =>
    new TlogError(
      'SIGNATURE_INVALID',
      `Cannot verify checkpoint${file === undefined ? '' : ` "${file}"`}: ${why}`,
      where,
    );
  if (options.origin !== undefined && checkpoint.origin !== options.origin) {
    throw fail(`its origin "${checkpoint.origin}" is not the expected "${options.origin}"`);
  }
  const logKeys = opened.verifiedBy.filter((verifier) => verifier.name === checkpoint.origin);
  if (logKeys.length === 0) {
    const names = opened.verifiedBy.map((verifier) => `"${verifier.name}"`).join(', ');
    throw fail(
      `no key named after its origin "${checkpoint.origin}" signed it (verified keys: ${names})`,
    );
  }
  if (
    checkpoint.extensions.length > 0 &&
    !logKeys.some((verifier) => verifier.type === 'ed25519')
  ) {
    throw fail(
      'its extension lines are not covered by a verified signature (ML-DSA-44 cosignatures do not sign them)',
    );
  }
  return { checkpoint, verifiedBy: opened.verifiedBy };
}
