import { TlogError } from './errors.ts';
import { HASH_SIZE, emptyRoot, equalBytes } from './hash.ts';
import type { Hash } from './hash.ts';
import {
  bytesToWords,
  createHashReader,
  largestPowerOfTwoAtMost,
  nodeHashWords,
  wordsToHash,
} from './tree.ts';
import type { TileReader } from './tree.ts';

// Proofs follow RFC 9162 (Certificate Transparency 2.0), whose proofs are those of RFC 6962 with
// the verification algorithms written out. Both are built from ranges of leaves [start, end)
// whose hashes are read through the tiles of the larger tree, all fetched in parallel.

/** A range of leaves [start, end) whose Merkle Tree Hash is one element of a proof. */
type LeafRange = readonly [start: number, end: number];

/** Largest power of two strictly below `n` (n ≥ 2): RFC 6962's split point k. */
function splitPoint(n: number): number {
  return largestPowerOfTwoAtMost(n - 1);
}

function checkTreeSize(size: number, what: string): void {
  if (!Number.isSafeInteger(size) || size < 0) {
    throw new TlogError('INDEX_OUT_OF_RANGE', `Cannot use ${what} "${size}"`);
  }
}

/**
 * SPEC: https://www.rfc-editor.org/rfc/rfc9162#section-2.1.3.1 "PATH(m, D_n) = PATH(m, D[0:k]) :
 * MTH(D[k:n]) for m < k; and PATH(m, D_n) = PATH(m - k, D[k:n]) : MTH(D[0:k]) for m >= k", with
 * "PATH(0, {d[0]}) = {}". Walked from the root down, so the ranges come out top first.
 */
function inclusionRanges(index: number, size: number): LeafRange[] {
  const ranges: LeafRange[] = [];
  let lo = 0;
  let hi = size;
  while (hi - lo > 1) {
    const k = splitPoint(hi - lo);
    if (index < lo + k) {
      ranges.push([lo + k, hi]);
      hi = lo + k;
    } else {
      ranges.push([lo, lo + k]);
      lo += k;
    }
  }
  return ranges.reverse();
}

/**
 * SPEC: https://www.rfc-editor.org/rfc/rfc9162#section-2.1.4.1 "PROOF(m, D_n) = SUBPROOF(m, D_n,
 * true)", "SUBPROOF(m, D_m, true) = {}", "SUBPROOF(m, D_m, false) = {MTH(D_m)}", and for m < n
 * "SUBPROOF(m, D_n, b) = SUBPROOF(m, D[0:k], b) : MTH(D[k:n])" if m <= k, else
 * "SUBPROOF(m, D_n, b) = SUBPROOF(m - k, D[k:n], false) : MTH(D[0:k])".
 * Here m and n are absolute: the walk narrows [lo, hi) until hi is the old size.
 */
function consistencyRanges(oldSize: number, size: number): LeafRange[] {
  const ranges: LeafRange[] = [];
  let lo = 0;
  let hi = size;
  let complete = true;
  while (hi !== oldSize) {
    const k = splitPoint(hi - lo);
    if (oldSize <= lo + k) {
      ranges.push([lo + k, hi]);
      hi = lo + k;
    } else {
      ranges.push([lo, lo + k]);
      lo += k;
      complete = false;
    }
  }
  if (!complete) ranges.push([lo, hi]);
  return ranges.reverse();
}

/**
 * The inclusion proof (RFC 9162 audit path) of leaf `index` in the tree of `size` leaves, read
 * through that tree's tiles: for a leaf in a tree of n leaves, about log2(n) hashes from at most
 * two tiles per level (the leaf's and the last one).
 * @throws TlogError INDEX_OUT_OF_RANGE unless 0 ≤ index < size; TILE_MALFORMED or the reader's
 * error when a tile cannot be read
 */
export async function inclusionProof(
  index: number,
  size: number,
  readTile: TileReader,
): Promise<Hash[]> {
  checkTreeSize(size, 'tree size');
  if (!Number.isSafeInteger(index) || index < 0 || index >= size) {
    throw new TlogError(
      'INDEX_OUT_OF_RANGE',
      `Cannot prove leaf "${index}" in a tree of size "${size}"`,
    );
  }
  const reader = createHashReader(size, readTile);
  return Promise.all(inclusionRanges(index, size).map(([lo, hi]) => reader.rangeHash(lo, hi)));
}

/**
 * The consistency proof that the tree of `oldSize` leaves is a prefix of the tree of `size`
 * leaves, read through the larger tree's tiles. Empty when `oldSize` is 0 or equals `size`: there
 * is nothing to prove (RFC 9162 defines proofs for 0 < oldSize < size only).
 * @throws TlogError INDEX_OUT_OF_RANGE unless 0 ≤ oldSize ≤ size; TILE_MALFORMED or the reader's
 * error when a tile cannot be read
 */
export async function consistencyProof(
  oldSize: number,
  size: number,
  readTile: TileReader,
): Promise<Hash[]> {
  checkTreeSize(oldSize, 'old tree size');
  checkTreeSize(size, 'tree size');
  if (oldSize > size) {
    throw new TlogError(
      'INDEX_OUT_OF_RANGE',
      `Cannot prove a tree of size "${oldSize}" consistent with a smaller one of size "${size}"`,
    );
  }
  if (oldSize === 0 || oldSize === size) return [];
  const reader = createHashReader(size, readTile);
  return Promise.all(consistencyRanges(oldSize, size).map(([lo, hi]) => reader.rangeHash(lo, hi)));
}

// ---------------------------------------------------------------------------------------------
// Verification. Everything here is attacker-controlled: sizes, indices and proofs come from the
// log or from whoever hands a proof to a voter. Sizes must be safe integers, every hash must be
// 32 bytes, and the RFC 9162 loops stop failing once a proof runs longer than the tree allows,
// so a huge proof costs at most ~53 steps. Every failure says why.
// ---------------------------------------------------------------------------------------------

function invalid(message: string): TlogError {
  return new TlogError('PROOF_INVALID', message);
}

function checkCount(value: number, what: string): void {
  if (!Number.isSafeInteger(value) || value < 0) {
    throw invalid(`Cannot verify a proof with ${what} "${String(value)}"`);
  }
}

function checkHash(hash: unknown, what: string): asserts hash is Hash {
  if (!(hash instanceof Uint8Array) || hash.length !== HASH_SIZE) {
    const length = hash instanceof Uint8Array ? `${hash.length} bytes` : typeof hash;
    throw invalid(`Cannot verify a proof whose ${what} is ${length}, expected ${HASH_SIZE} bytes`);
  }
}

/**
 * Scratch words for verification: the running hashes, the proof element and the expected root.
 * Verification is synchronous and calls nothing that could re-enter it, so one buffer serves
 * every call and a proof check allocates nothing until it fails.
 */
const scratch = new Int32Array(32);
const EXPECTED_AT = 24;

/** Constant-time comparison of the hash in `words[at..at+8]` with `hash`. */
function wordsEqualHash(words: Int32Array, at: number, hash: Hash): boolean {
  bytesToWords(hash, 0, words, EXPECTED_AT);
  let difference = 0;
  for (let i = 0; i < 8; i++) difference |= words[at + i]! ^ words[EXPECTED_AT + i]!;
  return difference === 0;
}

/** Runs RFC 9162 §2.1.3.2 and leaves the computed root in `words[0..8]`. */
function foldInclusionProof(
  words: Int32Array,
  leaf: Hash,
  index: number,
  size: number,
  proof: readonly Hash[],
): void {
  checkHash(leaf, 'leaf hash');
  checkCount(index, 'leaf index');
  checkCount(size, 'tree size');
  // SPEC: https://www.rfc-editor.org/rfc/rfc9162#section-2.1.3.2
  // "1. Compare leaf_index from the inclusion_proof_v2 structure against tree_size. If
  // leaf_index is greater than or equal to tree_size, then fail the proof verification."
  if (index >= size) {
    throw invalid(`Inclusion proof names leaf "${index}" in a tree of size "${size}"`);
  }
  // "2. Set fn to leaf_index and sn to tree_size - 1." "3. Set r to hash."
  // Indices go up to 2^53, beyond 32-bit shifts: halving is Math.floor(x / 2).
  let fn = index;
  let sn = size - 1;
  bytesToWords(leaf, 0, words, 0); // r in words[0..8], p in words[8..16]
  // "4. For each value p in the inclusion_path array:"
  for (let i = 0; i < proof.length; i++) {
    // "a. If sn is 0, then stop the iteration and fail the proof verification."
    if (sn === 0) {
      throw invalid(
        `Inclusion proof has ${proof.length} hashes, more than leaf "${index}" in a tree of size "${size}" needs`,
      );
    }
    const p: unknown = proof[i];
    checkHash(p, `hash ${i}`);
    bytesToWords(p, 0, words, 8);
    // "b. If LSB(fn) is set, or if fn is equal to sn, then:"
    if (fn % 2 === 1 || fn === sn) {
      // "i. Set r to HASH(0x01 || p || r)."
      nodeHashWords(words, 8, 0, 0);
      // "ii. If LSB(fn) is not set, then right-shift both fn and sn equally until either LSB(fn)
      // is set or fn is 0."
      while (fn % 2 === 0 && fn !== 0) {
        fn /= 2;
        sn = Math.floor(sn / 2);
      }
    } else {
      // "Otherwise: i. Set r to HASH(0x01 || r || p)."
      nodeHashWords(words, 0, 8, 0);
    }
    // "c. Finally, right-shift both fn and sn one time."
    fn = Math.floor(fn / 2);
    sn = Math.floor(sn / 2);
  }
  // "5. Compare sn to 0. Compare r against the root_hash. If sn is equal to 0 and r and the
  // root_hash are equal, then the log has proven the inclusion of hash. Otherwise, fail the
  // proof verification."
  if (sn !== 0) {
    throw invalid(
      `Inclusion proof has ${proof.length} hashes, fewer than leaf "${index}" in a tree of size "${size}" needs`,
    );
  }
}

/**
 * The root hash that an inclusion proof of `leaf` at `index` in a tree of `size` leaves leads to
 * (RFC 9162 §2.1.3.2 without the final comparison): a caller that holds several candidate roots,
 * or wants to look the root up, runs the proof once.
 * @throws TlogError PROOF_INVALID when the proof cannot be run: sizes or hashes malformed, the
 * index not in the tree, or the proof the wrong length for that index and size
 */
export function rootFromInclusionProof(
  leaf: Hash,
  index: number,
  size: number,
  proof: readonly Hash[],
): Hash {
  foldInclusionProof(scratch, leaf, index, size, proof);
  return wordsToHash(scratch, 0);
}

/**
 * Checks that `proof` proves `leaf` (a leaf hash, SHA-256(0x00 || entry)) to be leaf `index` of
 * the tree of `size` leaves whose root is `root`. Returns only if it does.
 * @throws TlogError PROOF_INVALID saying why the proof does not hold
 */
export function verifyInclusion(
  leaf: Hash,
  index: number,
  size: number,
  proof: readonly Hash[],
  root: Hash,
): void {
  checkHash(root, 'root hash');
  foldInclusionProof(scratch, leaf, index, size, proof);
  if (!wordsEqualHash(scratch, 0, root)) {
    throw invalid(
      `Inclusion proof of leaf "${index}" in a tree of size "${size}" does not lead to the given root`,
    );
  }
}

/**
 * Checks that `proof` proves the tree of `oldSize` leaves with root `oldRoot` to be a prefix of
 * the tree of `size` leaves with root `newRoot`. Returns only if it does.
 *
 * RFC 9162 §2.1.4.2 covers 0 < oldSize < size. Beyond it: equal sizes are consistent with an
 * empty proof when the roots are equal (as in x/mod's CheckTree), and the empty tree, whose root
 * must be SHA-256 of nothing, is consistent with every tree by an empty proof.
 * @throws TlogError PROOF_INVALID saying why the proof does not hold
 */
export function verifyConsistency(
  oldSize: number,
  size: number,
  proof: readonly Hash[],
  oldRoot: Hash,
  newRoot: Hash,
): void {
  checkCount(oldSize, 'old tree size');
  checkCount(size, 'tree size');
  checkHash(oldRoot, 'old root hash');
  checkHash(newRoot, 'new root hash');
  if (oldSize > size) {
    throw invalid(`Consistency proof goes from size "${oldSize}" back to size "${size}"`);
  }
  if (oldSize === size || oldSize === 0) {
    if (proof.length !== 0) {
      throw invalid(
        `Consistency proof from size "${oldSize}" to "${size}" has ${proof.length} hashes, expected none`,
      );
    }
    const expected = oldSize === 0 ? emptyRoot() : newRoot;
    if (!equalBytes(oldRoot, expected)) {
      throw invalid(
        oldSize === 0
          ? 'Consistency proof from size "0" has an old root other than the empty tree root'
          : `Consistency proof for one size "${size}" has two different roots`,
      );
    }
    return;
  }
  // SPEC: https://www.rfc-editor.org/rfc/rfc9162#section-2.1.4.2
  // "1. If consistency_path is an empty array, stop and fail the proof verification."
  if (proof.length === 0) {
    throw invalid(`Consistency proof from size "${oldSize}" to "${size}" is empty`);
  }
  // "2. If first is an exact power of 2, then prepend first_hash to the consistency_path array."
  const path = largestPowerOfTwoAtMost(oldSize) === oldSize ? [oldRoot, ...proof] : proof;
  // "3. Set fn to first - 1 and sn to second - 1."
  let fn = oldSize - 1;
  let sn = size - 1;
  // "4. If LSB(fn) is set, then right-shift both fn and sn equally until LSB(fn) is not set."
  while (fn % 2 === 1) {
    fn = Math.floor(fn / 2);
    sn = Math.floor(sn / 2);
  }
  // "5. Set both fr and sr to the first value in the consistency_path array."
  // fr in words[0..8], sr in words[8..16], c in words[16..24].
  const words = scratch;
  const first: unknown = path[0];
  checkHash(first, 'hash 0');
  bytesToWords(first, 0, words, 0);
  bytesToWords(first, 0, words, 8);
  // "6. For each subsequent value c in the consistency_path array:"
  for (let i = 1; i < path.length; i++) {
    // "a. If sn is 0, then stop the iteration and fail the proof verification."
    if (sn === 0) {
      throw invalid(
        `Consistency proof from size "${oldSize}" to "${size}" has ${proof.length} hashes, more than it needs`,
      );
    }
    const c: unknown = path[i];
    checkHash(c, `hash ${i - path.length + proof.length}`);
    bytesToWords(c, 0, words, 16);
    // "b. If LSB(fn) is set, or if fn is equal to sn, then:"
    if (fn % 2 === 1 || fn === sn) {
      // "i. Set fr to HASH(0x01 || c || fr). Set sr to HASH(0x01 || c || sr)."
      nodeHashWords(words, 16, 0, 0);
      nodeHashWords(words, 16, 8, 8);
      // "ii. If LSB(fn) is not set, then right-shift both fn and sn equally until either LSB(fn)
      // is set or fn is 0."
      while (fn % 2 === 0 && fn !== 0) {
        fn /= 2;
        sn = Math.floor(sn / 2);
      }
    } else {
      // "Otherwise: i. Set sr to HASH(0x01 || sr || c)."
      nodeHashWords(words, 8, 16, 8);
    }
    // "c. Finally, right-shift both fn and sn one time."
    fn = Math.floor(fn / 2);
    sn = Math.floor(sn / 2);
  }
  // "7. After completing iterating through the consistency_path array as described above,
  // verify that the fr calculated is equal to the first_hash supplied, that the sr calculated is
  // equal to the second_hash supplied, and that sn is 0."
  if (sn !== 0) {
    throw invalid(
      `Consistency proof from size "${oldSize}" to "${size}" has ${proof.length} hashes, fewer than it needs`,
    );
  }
  if (!wordsEqualHash(words, 0, oldRoot)) {
    throw invalid(
      `Consistency proof from size "${oldSize}" to "${size}" does not lead to the old root`,
    );
  }
  if (!wordsEqualHash(words, 8, newRoot)) {
    throw invalid(
      `Consistency proof from size "${oldSize}" to "${size}" does not lead to the new root`,
    );
  }
}
