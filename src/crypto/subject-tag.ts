// Subject tags: how a voter appears in the public log. A tag is HMAC-SHA256 of the voter id under
// a key derived from the ring's stable secret, so it stays the same across root key rotations
// (the log keeps it forever) and nobody without the key can compute a voter's tag or test a
// guessed voter id against the log.
import { createHmac } from 'node:crypto';
import type { KeyObject } from 'node:crypto';
import type { Brand } from '../basics/index.ts';
import { LONE_SURROGATE } from './encoding.ts';
import { CryptoError } from './errors.ts';

/** A voter's subject tag: lower-case hex of a 32-byte HMAC-SHA256 of the voter id. */
export type SubjectTag = Brand<string, 'SubjectTag'>;

const SUBJECT_TAG = /^[0-9a-f]{64}$/;

/**
 * HMAC-SHA256(key, UTF-8 voter id) in lower-case hex.
 * @throws CryptoError VALUE_INVALID when the voter id is empty or not well-formed text
 */
export function computeSubjectTag(key: KeyObject, voterId: string): SubjectTag {
  if (voterId.length === 0 || LONE_SURROGATE.test(voterId)) {
    throw new CryptoError(
      'VALUE_INVALID',
      'Cannot compute subject tag: the voter id is empty or not well-formed text',
    );
  }
  return createHmac('sha256', key).update(voterId, 'utf8').digest('hex') as SubjectTag;
}

/**
 * Checks text from outside (a log entry, a query string) is a subject tag: 64 lower-case hex
 * digits.
 * @throws CryptoError VALUE_INVALID when it is not
 */
export function parseSubjectTag(text: string): SubjectTag {
  if (!SUBJECT_TAG.test(text)) {
    throw new CryptoError(
      'VALUE_INVALID',
      'Cannot parse subject tag: expected 64 lower-case hex digits',
    );
  }
  return text as SubjectTag;
}
