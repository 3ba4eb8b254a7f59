import { HASH_SIZE } from './hash.ts';
import type { Hash } from './hash.ts';
import { TlogError } from './errors.ts';

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
