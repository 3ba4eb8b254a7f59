// Writes the proof test vectors in vectors/: one file per kind of tampering, each with cases
// over several trees, built from the naive reference tree only (not from the code under test).
// Run from the repository root: node src/tlog/testdata/generate-vectors.ts
import { createHash } from 'node:crypto';
import { mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { emptyRoot, leafHash } from '../hash.ts';
import type { Hash } from '../hash.ts';
import {
  referenceTree,
  referenceVerifyConsistency,
  referenceVerifyInclusion,
  testEntry,
  testLeafHashes,
} from './reference-tree.ts';

const DIRECTORY = join(import.meta.dirname, 'vectors');
const LARGEST = 70_000;

const tree = referenceTree(testLeafHashes(LARGEST));

interface InclusionCase {
  readonly leafIndex: number;
  readonly treeSize: number;
  readonly leafHash: Hash;
  readonly proof: readonly Hash[];
  readonly rootHash: Hash;
}

interface ConsistencyCase {
  readonly oldSize: number;
  readonly newSize: number;
  readonly oldRoot: Hash;
  readonly newRoot: Hash;
  readonly proof: readonly Hash[];
}

/** A hash no honest tree produces, fixed so that the files are reproducible. */
function junk(label: string): Hash {
  return createHash('sha256').update(`junk ${label}`).digest();
}

function flipBit(hash: Hash, bit: number): Hash {
  const copy = Uint8Array.from(hash);
  copy[bit >> 3]! ^= 1 << (bit & 7);
  return copy;
}

const hex = (hash: Hash): string => Buffer.from(hash).toString('hex');

// The honest proofs the tampering starts from.
const INCLUSION_BASES: readonly (readonly [number, number])[] = [
  [0, 1],
  [0, 8],
  [5, 8],
  [6, 7],
  [2, 3],
  [12, 13],
  [255, 256],
  [256, 257],
  [1000, LARGEST],
  [69_999, LARGEST],
];
const CONSISTENCY_BASES: readonly (readonly [number, number])[] = [
  [1, 2],
  [1, 8],
  [3, 7],
  [4, 7],
  [6, 8],
  [7, 8],
  [255, 257],
  [256, 70_000],
  [1000, LARGEST],
  [65_536, LARGEST],
];

function honestInclusion(index: number, size: number): InclusionCase {
  return {
    leafIndex: index,
    treeSize: size,
    leafHash: tree.leaves[index]!,
    proof: tree.path(index, size),
    rootHash: tree.root(size),
  };
}

function honestConsistency(oldSize: number, size: number): ConsistencyCase {
  return {
    oldSize,
    newSize: size,
    oldRoot: tree.root(oldSize),
    newRoot: tree.root(size),
    proof: tree.proof(oldSize, size),
  };
}

/**
 * Whether the reference verifier accepts a case. A tampered case it accepts is left out: RFC
 * 6962 proofs bind the tree size only through the root, so for instance the proof of leaf 0 in
 * a tree of 33 leaves also runs for a claimed size of 34 (with the same root), and no verifier
 * can tell; such a case proves nothing false.
 */
function acceptsInclusion(c: InclusionCase): boolean {
  return referenceVerifyInclusion(c.leafHash, c.leafIndex, c.treeSize, c.proof, c.rootHash);
}
function acceptsConsistency(c: ConsistencyCase): boolean {
  return referenceVerifyConsistency(c.oldSize, c.newSize, c.proof, c.oldRoot, c.newRoot);
}

/** Hashes as lowercase hex (before JSON.stringify, which would turn a Buffer into an object). */
function toJson(value: unknown): unknown {
  if (value instanceof Uint8Array) return hex(value);
  if (Array.isArray(value)) return value.map(toJson);
  if (typeof value === 'object' && value !== null) {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, toJson(v)]));
  }
  return value;
}

type Tamper<C> = (c: C) => C | C[] | undefined;

const INCLUSION_TAMPERINGS: Record<string, [description: string, Tamper<InclusionCase>]> = {
  'wrong-index': [
    'The leaf index is one more than the proven one',
    (c) => ({ ...c, leafIndex: c.leafIndex + 1 }),
  ],
  'index-minus-one': [
    'The leaf index is one less than the proven one',
    (c) => (c.leafIndex > 0 ? { ...c, leafIndex: c.leafIndex - 1 } : undefined),
  ],
  'index-equals-size': [
    'The leaf index equals the tree size, one past the last leaf',
    (c) => ({ ...c, leafIndex: c.treeSize }),
  ],
  'index-beyond-size': [
    'The leaf index is far beyond the tree',
    (c) => ({ ...c, leafIndex: c.treeSize * 2 + 5 }),
  ],
  'wrong-size': [
    'The tree size is one more than the proven one where that changes how the proof runs',
    (c) => ({ ...c, treeSize: c.treeSize + 1 }),
  ],
  'size-minus-one': [
    'The tree size is one less than the proven one where that changes how the proof runs',
    (c) => ({ ...c, treeSize: c.treeSize - 1 }),
  ],
  'size-doubled': [
    'The tree size is doubled where that changes how the proof runs',
    (c) => ({ ...c, treeSize: c.treeSize * 2 }),
  ],
  'size-halved': [
    'The tree size is halved where that changes how the proof runs',
    (c) => ({ ...c, treeSize: Math.floor(c.treeSize / 2) }),
  ],
  'size-zero': ['The tree is claimed empty', (c) => ({ ...c, treeSize: 0 })],
  'truncated-proof': [
    'The last hash of the proof is missing',
    (c) => (c.proof.length > 0 ? { ...c, proof: c.proof.slice(0, -1) } : undefined),
  ],
  'missing-first-hash': [
    'The first hash of the proof is missing',
    (c) => (c.proof.length > 0 ? { ...c, proof: c.proof.slice(1) } : undefined),
  ],
  'empty-proof': [
    'The proof has no hashes',
    (c) => (c.proof.length > 0 ? { ...c, proof: [] } : undefined),
  ],
  'extra-hash': [
    'A hash is appended to the proof',
    (c) => ({ ...c, proof: [...c.proof, junk('appended')] }),
  ],
  'prepended-hash': [
    'A hash is put before the proof',
    (c) => ({ ...c, proof: [junk('prepended'), ...c.proof] }),
  ],
  'inserted-hash': [
    'A hash is inserted in the middle of the proof',
    (c) =>
      c.proof.length > 1
        ? { ...c, proof: [...c.proof.slice(0, 1), junk('inserted'), ...c.proof.slice(1)] }
        : undefined,
  ],
  'duplicated-hash': [
    'The last hash of the proof is repeated',
    (c) => (c.proof.length > 0 ? { ...c, proof: [...c.proof, c.proof.at(-1)!] } : undefined),
  ],
  'root-appended': [
    'The root is appended to the proof',
    (c) => ({ ...c, proof: [...c.proof, c.rootHash] }),
  ],
  'reversed-proof': [
    'The proof hashes are in reverse order',
    (c) => (c.proof.length > 1 ? { ...c, proof: c.proof.toReversed() } : undefined),
  ],
  'modified-proof': [
    'One bit of one proof hash is flipped (a case per hash)',
    (c) =>
      c.proof.map((_, i) => ({
        ...c,
        proof: c.proof.map((h, j) => (i === j ? flipBit(h, 3 + 8 * i) : h)),
      })),
  ],
  'wrong-leaf': [
    'The leaf hash is that of another entry',
    (c) => ({ ...c, leafHash: leafHash(testEntry(c.leafIndex + 1)) }),
  ],
  'leaf-without-prefix': [
    'The leaf hash is SHA-256(entry) without the 0x00 leaf prefix',
    (c) => ({ ...c, leafHash: createHash('sha256').update(testEntry(c.leafIndex)).digest() }),
  ],
  'modified-leaf': [
    'One bit of the leaf hash is flipped',
    (c) => ({ ...c, leafHash: flipBit(c.leafHash, 255) }),
  ],
  'wrong-root': ['The root is an unrelated hash', (c) => ({ ...c, rootHash: junk('root') })],
  'root-of-previous-size': [
    'The root is that of the tree one entry smaller',
    (c) => (c.treeSize > 1 ? { ...c, rootHash: tree.root(c.treeSize - 1) } : undefined),
  ],
  'empty-tree-root': ['The root is the empty tree root', (c) => ({ ...c, rootHash: emptyRoot() })],
  'leaf-as-root': [
    'The root is the leaf hash (honest only in a tree of one leaf)',
    (c) => (c.treeSize > 1 ? { ...c, rootHash: c.leafHash } : undefined),
  ],
  'short-hash': [
    'A proof hash is cut to 31 bytes',
    (c) =>
      c.proof.length > 0
        ? { ...c, proof: [c.proof[0]!.subarray(0, 31), ...c.proof.slice(1)] }
        : undefined,
  ],
  'long-hash': [
    'A proof hash has a 33rd byte',
    (c) =>
      c.proof.length > 0
        ? { ...c, proof: [Uint8Array.from([...c.proof[0]!, 0]), ...c.proof.slice(1)] }
        : undefined,
  ],
  'short-root': [
    'The root is cut to 31 bytes',
    (c) => ({ ...c, rootHash: c.rootHash.subarray(0, 31) }),
  ],
};

const CONSISTENCY_TAMPERINGS: Record<string, [description: string, Tamper<ConsistencyCase>]> = {
  'swapped-sizes': [
    'The old and new sizes are swapped',
    (c) => ({ ...c, oldSize: c.newSize, newSize: c.oldSize }),
  ],
  'swapped-roots': [
    'The old and new roots are swapped',
    (c) => ({ ...c, oldRoot: c.newRoot, newRoot: c.oldRoot }),
  ],
  'swapped-sizes-and-roots': [
    'Both sizes and roots are swapped: a proof that the tree shrank',
    (c) => ({
      ...c,
      oldSize: c.newSize,
      newSize: c.oldSize,
      oldRoot: c.newRoot,
      newRoot: c.oldRoot,
    }),
  ],
  'wrong-old-root': ['The old root is an unrelated hash', (c) => ({ ...c, oldRoot: junk('old') })],
  'wrong-new-root': ['The new root is an unrelated hash', (c) => ({ ...c, newRoot: junk('new') })],
  'modified-old-root': [
    'One bit of the old root is flipped',
    (c) => ({ ...c, oldRoot: flipBit(c.oldRoot, 0) }),
  ],
  'modified-new-root': [
    'One bit of the new root is flipped',
    (c) => ({ ...c, newRoot: flipBit(c.newRoot, 0) }),
  ],
  'new-root-of-fork': [
    'The new root is that of a tree whose last entry differs (a fork)',
    (c) => {
      const leaves = [...tree.leaves.slice(0, c.newSize - 1), junk('fork leaf')];
      return { ...c, newRoot: referenceTree(leaves).root(c.newSize) };
    },
  ],
  'old-size-plus-one': [
    'The old size is one more than the proven one where that changes how the proof runs',
    (c) => (c.oldSize + 1 < c.newSize ? { ...c, oldSize: c.oldSize + 1 } : undefined),
  ],
  'old-size-minus-one': [
    'The old size is one less than the proven one where that changes how the proof runs',
    (c) => ({ ...c, oldSize: c.oldSize - 1 }),
  ],
  'new-size-plus-one': [
    'The new size is one more than the proven one where that changes how the proof runs',
    (c) => ({ ...c, newSize: c.newSize + 1 }),
  ],
  'new-size-minus-one': [
    'The new size is one less than the proven one where that changes how the proof runs',
    (c) => (c.newSize - 1 > c.oldSize ? { ...c, newSize: c.newSize - 1 } : undefined),
  ],
  'new-size-doubled': [
    'The new size is doubled where that changes how the proof runs',
    (c) => ({ ...c, newSize: c.newSize * 2 }),
  ],
  'old-size-beyond-new': [
    'The old size is larger than the new one',
    (c) => ({ ...c, oldSize: c.newSize + 1 }),
  ],
  'truncated-proof': [
    'The last hash of the proof is missing',
    (c) => ({ ...c, proof: c.proof.slice(0, -1) }),
  ],
  'missing-first-hash': [
    'The first hash of the proof is missing',
    (c) => ({ ...c, proof: c.proof.slice(1) }),
  ],
  'empty-proof': ['The proof has no hashes', (c) => ({ ...c, proof: [] })],
  'extra-hash': [
    'A hash is appended to the proof',
    (c) => ({ ...c, proof: [...c.proof, junk('appended')] }),
  ],
  'prepended-hash': [
    'A hash is put before the proof',
    (c) => ({ ...c, proof: [junk('prepended'), ...c.proof] }),
  ],
  'prepended-old-root': [
    'The old root is put before the proof (RFC 9162 leaves it out and the verifier adds it when the old size is a power of two)',
    (c) => ({ ...c, proof: [c.oldRoot, ...c.proof] }),
  ],
  'duplicated-hash': [
    'The last hash of the proof is repeated',
    (c) => ({ ...c, proof: [...c.proof, c.proof.at(-1)!] }),
  ],
  'reversed-proof': [
    'The proof hashes are in reverse order',
    (c) => (c.proof.length > 1 ? { ...c, proof: c.proof.toReversed() } : undefined),
  ],
  'modified-proof': [
    'One bit of one proof hash is flipped (a case per hash)',
    (c) =>
      c.proof.map((_, i) => ({
        ...c,
        proof: c.proof.map((h, j) => (i === j ? flipBit(h, 5 + 8 * i) : h)),
      })),
  ],
  'short-hash': [
    'A proof hash is cut to 31 bytes',
    (c) => ({ ...c, proof: [c.proof[0]!.subarray(0, 31), ...c.proof.slice(1)] }),
  ],
  'long-hash': [
    'The last proof hash has a 33rd byte',
    (c) => ({ ...c, proof: [...c.proof.slice(0, -1), Uint8Array.from([...c.proof.at(-1)!, 0])] }),
  ],
  'short-new-root': [
    'The new root is cut to 31 bytes',
    (c) => ({ ...c, newRoot: c.newRoot.subarray(0, 31) }),
  ],
};

/** Cases outside RFC 9162's 0 < old < new, where the answer is by definition. */
const CONSISTENCY_EDGES: Record<string, [string, boolean, ConsistencyCase[]]> = {
  'equal-sizes': [
    'A tree is consistent with itself by an empty proof',
    true,
    [1, 8, 256, LARGEST].map((size) => honestConsistency(size, size)),
  ],
  'equal-sizes-different-roots': [
    'Two different roots for one size are a fork',
    false,
    [1, 8, LARGEST].map((size) => ({ ...honestConsistency(size, size), newRoot: junk('fork') })),
  ],
  'equal-sizes-with-proof': [
    'A tree is consistent with itself only by an empty proof',
    false,
    [1, 8, LARGEST].map((size) => ({ ...honestConsistency(size, size), proof: [junk('extra')] })),
  ],
  'empty-old-tree': [
    'The empty tree is consistent with every tree by an empty proof',
    true,
    [1, 7, LARGEST].map((size) => honestConsistency(0, size)),
  ],
  'empty-old-tree-with-proof': [
    'The empty tree needs no proof, and one with hashes is refused',
    false,
    [1, 7, LARGEST].map((size) => ({ ...honestConsistency(0, size), proof: [tree.root(size)] })),
  ],
  'empty-old-tree-wrong-root': [
    'The old tree is empty but its root is not SHA-256 of nothing (x/mod uses all zeros)',
    false,
    [1, 7, LARGEST].map((size) => ({
      ...honestConsistency(0, size),
      oldRoot: new Uint8Array(32),
    })),
  ],
};

function write(name: string, description: string, valid: boolean, cases: object[]): void {
  if (cases.length === 0) throw new Error(`No cases for ${name}`);
  const body = { description, valid, cases };
  writeFileSync(join(DIRECTORY, `${name}.json`), `${JSON.stringify(toJson(body), null, 2)}\n`);
}

function tamperAll<C extends object>(
  bases: readonly C[],
  tamper: Tamper<C>,
  accepts: (c: C) => boolean,
): C[] {
  const cases: C[] = [];
  for (const base of bases) {
    if (!accepts(base)) throw new Error('The reference verifier rejects an honest case');
    const result = tamper(base);
    for (const c of result === undefined ? [] : Array.isArray(result) ? result : [result]) {
      if (!accepts(c)) cases.push(c);
    }
  }
  return cases;
}

mkdirSync(DIRECTORY, { recursive: true });
for (const file of readdirSync(DIRECTORY)) rmSync(join(DIRECTORY, file));

const inclusionBases = INCLUSION_BASES.map(([i, n]) => honestInclusion(i, n));
write('inclusion-happy-path', 'Honest inclusion proofs', true, inclusionBases);
for (const [name, [description, tamper]] of Object.entries(INCLUSION_TAMPERINGS)) {
  const cases = tamperAll(inclusionBases, tamper, acceptsInclusion);
  write(`inclusion-${name}`, description, false, cases);
}

const consistencyBases = CONSISTENCY_BASES.map(([m, n]) => honestConsistency(m, n));
write('consistency-happy-path', 'Honest consistency proofs', true, consistencyBases);
for (const [name, [description, tamper]] of Object.entries(CONSISTENCY_TAMPERINGS)) {
  const cases = tamperAll(consistencyBases, tamper, acceptsConsistency);
  write(`consistency-${name}`, description, false, cases);
}
for (const [name, [description, valid, cases]] of Object.entries(CONSISTENCY_EDGES)) {
  if (cases.some((c) => acceptsConsistency(c) !== valid)) throw new Error(`Edge ${name} is wrong`);
  write(`consistency-${name}`, description, valid, cases);
}
