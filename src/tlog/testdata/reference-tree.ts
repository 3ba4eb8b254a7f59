// Test-only: a naive RFC 6962 Merkle tree that the tiled code is checked against. It follows the
// recursive definitions word for word, hashes with node:crypto (through hash.ts), and memoizes
// MTH by range only so that trees of 70,000 leaves stay quick to cross-check.
import { HASH_SIZE, emptyRoot, leafHash, nodeHash } from '../hash.ts';
import type { Hash } from '../hash.ts';
import type { Tile, TileReader } from '../tree.ts';

/** The entry bytes every test log uses: `entry <i>`. */
export function testEntry(index: number): Uint8Array {
  return new TextEncoder().encode(`entry ${index}`);
}

/** Leaf hashes of the test entries 0 … count-1. */
export function testLeafHashes(count: number): Hash[] {
  return Array.from({ length: count }, (_, i) => leafHash(testEntry(i)));
}

/** RFC 6962's k: the largest power of two smaller than n (n > 1). */
function largestPowerOfTwoBelow(n: number): number {
  let k = 1;
  while (k * 2 < n) k *= 2;
  return k;
}

/** A reference tree over fixed leaf hashes; every method works on any prefix of them. */
export interface ReferenceTree {
  readonly leaves: readonly Hash[];
  /** MTH(D[lo:hi]) by RFC 6962 §2.1. */
  mth(lo: number, hi: number): Hash;
  /** MTH(D[0:size]); SHA-256() for size 0. */
  root(size: number): Hash;
  /** PATH(m, D[0:size]), RFC 6962 §2.1.1. */
  path(m: number, size: number): Hash[];
  /** PROOF(m, D[0:size]), RFC 6962 §2.1.2; empty for m = 0 or m = size. */
  proof(m: number, size: number): Hash[];
}

/** A reference tree over `leaves`. */
export function referenceTree(leaves: readonly Hash[]): ReferenceTree {
  const memo = new Map<string, Hash>();

  function mth(lo: number, hi: number): Hash {
    if (hi - lo === 1) return leaves[lo]!;
    const key = `${lo}:${hi}`;
    const known = memo.get(key);
    if (known !== undefined) return known;
    const k = largestPowerOfTwoBelow(hi - lo);
    const hash = nodeHash(mth(lo, lo + k), mth(lo + k, hi));
    memo.set(key, hash);
    return hash;
  }

  function path(m: number, lo: number, hi: number): Hash[] {
    if (hi - lo === 1) return [];
    const k = largestPowerOfTwoBelow(hi - lo);
    return m < k
      ? [...path(m, lo, lo + k), mth(lo + k, hi)]
      : [...path(m - k, lo + k, hi), mth(lo, lo + k)];
  }

  function subproof(m: number, lo: number, hi: number, b: boolean): Hash[] {
    if (m === hi - lo) return b ? [] : [mth(lo, hi)];
    const k = largestPowerOfTwoBelow(hi - lo);
    return m <= k
      ? [...subproof(m, lo, lo + k, b), mth(lo + k, hi)]
      : [...subproof(m - k, lo + k, hi, false), mth(lo, lo + k)];
  }

  return {
    leaves,
    mth,
    root: (size) => (size === 0 ? emptyRoot() : mth(0, size)),
    path: (m, size) => path(m, 0, size),
    proof: (m, size) => (m === 0 || m === size ? [] : subproof(m, 0, size, true)),
  };
}

/**
 * The tiles of the tree of `size` leaves computed from the reference MTH alone, straight from
 * the C2SP definition: tile N at level l holds MTH(D[(N·256 + i)·256^l : (N·256 + i + 1)·256^l]).
 */
export function referenceTiles(tree: ReferenceTree, size: number): Tile[] {
  const tiles: Tile[] = [];
  for (let level = 0; Math.floor(size / 256 ** level) > 0; level++) {
    const span = 256 ** level;
    const hashes = Math.floor(size / span);
    for (let index = 0; index * 256 < hashes; index++) {
      const width = Math.min(256, hashes - index * 256);
      const data = new Uint8Array(width * HASH_SIZE);
      for (let i = 0; i < width; i++) {
        const start = (index * 256 + i) * span;
        data.set(tree.mth(start, start + span), i * HASH_SIZE);
      }
      tiles.push({ level, index, width, data });
    }
  }
  return tiles;
}

/** What a {@link memoryTileReader} was asked for. */
export interface TileReadLog {
  readonly reads: string[];
}

/**
 * A TileReader over the tiles of a tree of at least `size` leaves that serves the tree of `size`
 * leaves: a partial tile is the prefix of the larger tree's tile. It fails the test when asked
 * for a tile the tree of `size` does not have, or with another width than it has there, since a
 * C2SP log serves only those.
 */
export function memoryTileReader(
  tiles: readonly Tile[],
  size: number,
): { readonly readTile: TileReader; readonly log: TileReadLog } {
  const byKey = new Map(tiles.map((tile) => [`${tile.level}/${tile.index}`, tile]));
  const log: TileReadLog = { reads: [] };
  const readTile: TileReader = (level, index, width) => {
    log.reads.push(`${level}/${index}/${width}`);
    const expected = Math.min(256, Math.floor(size / 256 ** level) - index * 256);
    const tile = byKey.get(`${level}/${index}`);
    if (expected < 1 || width !== expected || tile === undefined || tile.width < width) {
      return Promise.reject(
        new Error(`Tile ${level}/${index} of width ${width} is not in a tree of size ${size}`),
      );
    }
    return Promise.resolve(tile.data.slice(0, width * HASH_SIZE));
  };
  return { readTile, log };
}

function isHash(hash: unknown): hash is Hash {
  return hash instanceof Uint8Array && hash.length === HASH_SIZE;
}

function sameHash(a: Hash, b: Hash): boolean {
  return Buffer.from(a).equals(b);
}

/**
 * Whether `proof` proves `leaf` at `index` in the tree of `size` leaves with root `root`,
 * decided by recursion over RFC 6962 §2.1.1's PATH (x/mod's runRecordProof) rather than by RFC
 * 9162's loop, so that the two verifiers can be checked against each other.
 */
export function referenceVerifyInclusion(
  leaf: Hash,
  index: number,
  size: number,
  proof: readonly Hash[],
  root: Hash,
): boolean {
  if (!Number.isSafeInteger(index) || !Number.isSafeInteger(size)) return false;
  if (index < 0 || index >= size || !isHash(leaf) || !isHash(root) || !proof.every(isHash)) {
    return false;
  }
  function run(p: readonly Hash[], lo: number, hi: number): Hash | undefined {
    if (hi - lo === 1) return p.length === 0 ? leaf : undefined;
    if (p.length === 0) return undefined;
    const k = largestPowerOfTwoBelow(hi - lo);
    const sibling = p.at(-1)!;
    if (index < lo + k) {
      const left = run(p.slice(0, -1), lo, lo + k);
      return left === undefined ? undefined : nodeHash(left, sibling);
    }
    const right = run(p.slice(0, -1), lo + k, hi);
    return right === undefined ? undefined : nodeHash(sibling, right);
  }
  const computed = run(proof, 0, size);
  return computed !== undefined && sameHash(computed, root);
}

/**
 * Whether `proof` proves the tree of `oldSize` with root `oldRoot` a prefix of the tree of
 * `size` with root `newRoot`, by recursion over RFC 6962 §2.1.2's SUBPROOF (x/mod's
 * runTreeProof); equal sizes need equal roots and the empty tree SHA-256(), both with no proof.
 */
export function referenceVerifyConsistency(
  oldSize: number,
  size: number,
  proof: readonly Hash[],
  oldRoot: Hash,
  newRoot: Hash,
): boolean {
  if (!Number.isSafeInteger(oldSize) || !Number.isSafeInteger(size)) return false;
  if (oldSize < 0 || oldSize > size || !isHash(oldRoot) || !isHash(newRoot)) return false;
  if (!proof.every(isHash)) return false;
  if (oldSize === 0) return proof.length === 0 && sameHash(oldRoot, emptyRoot());
  if (oldSize === size) return proof.length === 0 && sameHash(oldRoot, newRoot);
  function run(p: readonly Hash[], lo: number, hi: number): [Hash, Hash] | undefined {
    if (hi === oldSize) {
      if (lo === 0) return p.length === 0 ? [oldRoot, oldRoot] : undefined;
      return p.length === 1 ? [p[0]!, p[0]!] : undefined;
    }
    if (p.length === 0) return undefined;
    const k = largestPowerOfTwoBelow(hi - lo);
    const sibling = p.at(-1)!;
    if (oldSize <= lo + k) {
      const inner = run(p.slice(0, -1), lo, lo + k);
      return inner === undefined ? undefined : [inner[0], nodeHash(inner[1], sibling)];
    }
    const inner = run(p.slice(0, -1), lo + k, hi);
    return inner === undefined
      ? undefined
      : [nodeHash(sibling, inner[0]), nodeHash(sibling, inner[1])];
  }
  const computed = run(proof, 0, size);
  return computed !== undefined && sameHash(computed[0], oldRoot) && sameHash(computed[1], newRoot);
}
