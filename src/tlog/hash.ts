import { createHash, timingSafeEqual } from 'node:crypto';

/** Size in bytes of every hash in the tree (SHA-256). */
export const HASH_SIZE = 32;

// SPEC: RFC 6962 §2.1 "The leaf hash ... MTH({d(0)}) = SHA-256(0x00 || d(0))" and
// "MTH(D[n]) = SHA-256(0x01 || MTH(D[0:k]) || MTH(D[k:n]))". The prefixes separate leaves
// from interior nodes so that no leaf can be passed off as a node (second preimage).
const LEAF_PREFIX = new Uint8Array([0x00]);
const NODE_PREFIX = new Uint8Array([0x01]);

/** A SHA-256 tree hash: always {@link HASH_SIZE} bytes. */
export type Hash = Uint8Array;

/** SHA-256(0x00 || entry). */
export function leafHash(entry: Uint8Array): Hash {
  return createHash('sha256').update(LEAF_PREFIX).update(entry).digest();
}

/** SHA-256(0x01 || left || right). */
export function nodeHash(left: Hash, right: Hash): Hash {
  return createHash('sha256').update(NODE_PREFIX).update(left).update(right).digest();
}

/**
 * Root of the empty tree.
 * SPEC: RFC 6962 §2.1 "The hash of an empty list is the hash of an empty string: MTH({}) = SHA-256()".
 */
export function emptyRoot(): Hash {
  return createHash('sha256').digest();
}

/** Constant-time equality of two byte strings of any length. */
export function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && timingSafeEqual(a, b);
}
