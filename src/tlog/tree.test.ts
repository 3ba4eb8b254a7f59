import { randomBytes } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { TlogError } from './errors.ts';
import { HASH_SIZE, emptyRoot, leafHash, nodeHash } from './hash.ts';
import type { Hash } from './hash.ts';
import {
  memoryTileReader,
  referenceTiles,
  referenceTree,
  testLeafHashes,
} from './testdata/reference-tree.ts';
import {
  bytesToWords,
  concatHashes,
  createHashReader,
  hashChildren,
  largestPowerOfTwoAtMost,
  nodeHashWords,
  splitHashes,
  subtreeRoot,
  tileHashesFromChildren,
  tileRoot,
  tileWidth,
  tilesForGrowth,
  tilesForSize,
  tilesFromLeafHashes,
  treeRoot,
  wordsToHash,
} from './tree.ts';
import type { TileReader } from './tree.ts';

const hex = (bytes: Uint8Array): string => Buffer.from(bytes).toString('hex');
const unhex = (text: string): Uint8Array => new Uint8Array(Buffer.from(text, 'hex'));

// RFC 6962 test vectors (the Certificate Transparency reference inputs and their roots).
const CT_ENTRIES = [
  '',
  '00',
  '10',
  '2021',
  '3031',
  '40414243',
  '5051525354555657',
  '606162636465666768696a6b6c6d6e6f',
].map(unhex);
const CT_ROOTS = [
  'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855',
  '6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d',
  'fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125',
  'aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77',
  'd37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7',
  '4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4',
  '76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef',
  'ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c',
  '5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328',
];

/** A 70,000-leaf log (the C2SP example size) shared by the tests below. */
const BIG = 70_000;
const bigLeaves = testLeafHashes(BIG);
const bigTree = referenceTree(bigLeaves);
const bigTiles = referenceTiles(bigTree, BIG);

const hashArbitrary = fc.uint8Array({ minLength: HASH_SIZE, maxLength: HASH_SIZE });

function expectTlogError(action: () => unknown, code: string): void {
  try {
    action();
  } catch (error) {
    expect(error).toBeInstanceOf(TlogError);
    expect((error as TlogError).code).toBe(code);
    return;
  }
  expect.fail(`Expected TlogError ${code}`);
}

describe('node hashing on words', () => {
  it('equals SHA-256(0x01 || left || right) from node:crypto', () => {
    fc.assert(
      fc.property(hashArbitrary, hashArbitrary, (left, right) => {
        expect(hex(hashChildren(left, right))).toBe(hex(nodeHash(left, right)));
      }),
      { numRuns: 2000 },
    );
  });

  it('depends on every input bit', () => {
    // A hash that ignored some input bits would let a forged proof element pass.
    const left = randomBytes(HASH_SIZE);
    const right = randomBytes(HASH_SIZE);
    const both = Buffer.concat([left, right]);
    for (let bit = 0; bit < 8 * both.length; bit++) {
      const flipped = Buffer.from(both);
      flipped[bit >> 3]! ^= 1 << (bit & 7);
      const l = flipped.subarray(0, HASH_SIZE);
      const r = flipped.subarray(HASH_SIZE);
      expect(hex(hashChildren(l, r))).toBe(hex(nodeHash(l, r)));
    }
  });

  it('covers every value of the last byte, whose second-block schedule is precomputed', () => {
    const left = randomBytes(HASH_SIZE);
    for (let byte = 0; byte < 256; byte++) {
      const right = randomBytes(HASH_SIZE);
      right[HASH_SIZE - 1] = byte;
      expect(hex(hashChildren(left, right))).toBe(hex(nodeHash(left, right)));
    }
  });

  it('may write its output over either input', () => {
    const left = randomBytes(HASH_SIZE);
    const right = randomBytes(HASH_SIZE);
    const words = new Int32Array(16);
    bytesToWords(left, 0, words, 0);
    bytesToWords(right, 0, words, 8);
    nodeHashWords(words, 0, 8, 8);
    expect(hex(wordsToHash(words, 8))).toBe(hex(nodeHash(left, right)));
    bytesToWords(right, 0, words, 8);
    nodeHashWords(words, 0, 8, 0);
    expect(hex(wordsToHash(words, 0))).toBe(hex(nodeHash(left, right)));
  });

  it('refuses inputs that are not hashes', () => {
    expect(() => hashChildren(new Uint8Array(31), new Uint8Array(32))).toThrow(/non-hash/);
    expect(() => hashChildren(new Uint8Array(32), new Uint8Array(33))).toThrow(/non-hash/);
  });
});

describe('subtreeRoot', () => {
  it('matches the RFC 6962 test vectors for sizes 0 to 8', () => {
    const leaves = CT_ENTRIES.map(leafHash);
    for (let size = 0; size <= 8; size++) {
      expect(hex(subtreeRoot(leaves.slice(0, size))), `size ${size}`).toBe(CT_ROOTS[size]);
    }
  });

  it('is SHA-256 of nothing for no hashes, unlike x/mod whose TreeHash(0) is all zeros', () => {
    expect(hex(subtreeRoot([]))).toBe(
      'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855',
    );
  });

  it('equals the recursive MTH for every count up to 600', () => {
    for (let size = 1; size <= 600; size++) {
      expect(hex(subtreeRoot(bigLeaves.slice(0, size))), `size ${size}`).toBe(
        hex(bigTree.root(size)),
      );
    }
  });

  it('equals the recursive MTH of random hashes', () => {
    fc.assert(
      fc.property(fc.array(hashArbitrary, { minLength: 1, maxLength: 100 }), (hashes) => {
        expect(hex(subtreeRoot(hashes))).toBe(hex(referenceTree(hashes).root(hashes.length)));
      }),
      { numRuns: 200 },
    );
  });

  it('refuses a hash of the wrong length', () => {
    expect(() => subtreeRoot([new Uint8Array(32), new Uint8Array(5)])).toThrow(/Hash 1 has 5/);
  });
});

describe('tile arithmetic', () => {
  it('lays out a tree of 70,000 as the C2SP example says', () => {
    const tiles = tilesForSize(BIG);
    const count = (level: number, full: boolean): number =>
      tiles.filter((t) => t.level === level && (t.width === 256) === full).length;
    expect(count(0, true)).toBe(273);
    expect(tiles.filter((t) => t.level === 0 && t.width < 256)).toEqual([
      { level: 0, index: 273, width: 112 },
    ]);
    expect(count(1, true)).toBe(1);
    expect(tiles.filter((t) => t.level === 1 && t.width < 256)).toEqual([
      { level: 1, index: 1, width: 17 },
    ]);
    expect(tiles.filter((t) => t.level === 2)).toEqual([{ level: 2, index: 0, width: 1 }]);
    expect(tiles).toHaveLength(277);
  });

  it('represents a tree of 256 by a full level 0 tile and a level 1 tile of width 1', () => {
    expect(tilesForSize(256)).toEqual([
      { level: 0, index: 0, width: 256 },
      { level: 1, index: 0, width: 1 },
    ]);
    expect(tilesForSize(0)).toEqual([]);
    expect(tilesForSize(1)).toEqual([{ level: 0, index: 0, width: 1 }]);
  });

  it('gives each tile its width for a size, 0 once it is beyond the tree', () => {
    expect(tileWidth(BIG, 0, 0)).toBe(256);
    expect(tileWidth(BIG, 0, 273)).toBe(112);
    expect(tileWidth(BIG, 0, 274)).toBe(0);
    expect(tileWidth(BIG, 1, 1)).toBe(17);
    expect(tileWidth(BIG, 2, 0)).toBe(1);
    expect(tileWidth(BIG, 3, 0)).toBe(0);
  });

  it('lists for a growth the new full tiles and one partial tile per level', () => {
    expect(tilesForGrowth(0, 10)).toEqual([{ level: 0, index: 0, width: 10 }]);
    expect(tilesForGrowth(10, 10)).toEqual([]);
    expect(tilesForGrowth(10, 11)).toEqual([{ level: 0, index: 0, width: 11 }]);
    expect(tilesForGrowth(255, 513)).toEqual([
      { level: 0, index: 0, width: 256 },
      { level: 0, index: 1, width: 256 },
      { level: 0, index: 2, width: 1 },
      { level: 1, index: 0, width: 2 },
    ]);
    // Growth within one level-0 tile leaves the level-1 tile as it was.
    expect(tilesForGrowth(513, 600)).toEqual([{ level: 0, index: 2, width: 88 }]);
  });

  it('makes a growth exactly the tiles whose content changed', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: BIG }), fc.integer({ min: 0, max: BIG }), (x, y) => {
        const [oldSize, size] = x <= y ? [x, y] : [y, x];
        const key = (t: { level: number; index: number; width: number }): string =>
          `${t.level}/${t.index}/${t.width}`;
        const before = new Set(tilesForSize(oldSize).map(key));
        const changed = tilesForSize(size).filter((t) => !before.has(key(t)));
        expect(tilesForGrowth(oldSize, size)).toEqual(changed);
      }),
      { numRuns: 300 },
    );
  });

  it('refuses sizes that are not safe integers and shrinking trees', () => {
    for (const size of [-1, 1.5, Number.NaN, 2 ** 53]) {
      expectTlogError(() => tilesForSize(size), 'INDEX_OUT_OF_RANGE');
      expectTlogError(() => tilesForGrowth(size, 10), 'INDEX_OUT_OF_RANGE');
    }
    expectTlogError(() => tilesForGrowth(11, 10), 'INDEX_OUT_OF_RANGE');
  });

  it('finds the largest power of two not above n for every safe magnitude', () => {
    expect(largestPowerOfTwoAtMost(1)).toBe(1);
    expect(largestPowerOfTwoAtMost(2)).toBe(2);
    expect(largestPowerOfTwoAtMost(3)).toBe(2);
    expect(largestPowerOfTwoAtMost(2 ** 53 - 1)).toBe(2 ** 52);
    expect(largestPowerOfTwoAtMost(2 ** 52)).toBe(2 ** 52);
  });
});

describe('building tiles', () => {
  it('builds from leaf hashes the tiles of the C2SP definition', () => {
    for (const size of [0, 1, 255, 256, 257, 511, 512, 65535, 65536, 65537, BIG]) {
      const ours = tilesFromLeafHashes(bigLeaves.slice(0, size));
      const reference = referenceTiles(bigTree, size);
      expect(ours.map(({ level, index, width }) => ({ level, index, width }))).toEqual(
        tilesForSize(size),
      );
      expect(ours.map((t) => hex(t.data))).toEqual(reference.map((t) => hex(t.data)));
    }
  });

  it('hashes a full tile into the level above and each level from the one below', () => {
    const level0 = bigTiles.filter((t) => t.level === 0 && t.width === 256);
    const level1 = bigTiles.find((t) => t.level === 1 && t.index === 0)!;
    expect(hex(tileHashesFromChildren(level0.slice(0, 256).map((t) => t.data)))).toBe(
      hex(level1.data),
    );
    const partial = bigTiles.find((t) => t.level === 1 && t.index === 1)!;
    expect(hex(tileHashesFromChildren(level0.slice(256).map((t) => t.data)))).toBe(
      hex(partial.data),
    );
    expect(hex(tileRoot(level0[5]!.data))).toBe(hex(bigTree.mth(5 * 256, 6 * 256)));
  });

  it('refuses partial or malformed tiles as children', () => {
    const full = bigTiles[0]!.data;
    expectTlogError(() => tileRoot(full.subarray(0, 8160)), 'TILE_MALFORMED');
    expectTlogError(() => tileHashesFromChildren([]), 'TILE_MALFORMED');
    expectTlogError(
      () => tileHashesFromChildren(Array.from({ length: 257 }, () => full)),
      'TILE_MALFORMED',
    );
    expectTlogError(() => tileHashesFromChildren([full, full.subarray(32)]), 'TILE_MALFORMED');
  });

  it('splits and joins tile data', () => {
    const hashes = bigLeaves.slice(0, 3);
    const data = concatHashes(hashes);
    expect(data).toHaveLength(96);
    const split = splitHashes(data);
    expect(split.map(hex)).toEqual(hashes.map(hex));
    data.fill(0);
    expect(split.map(hex)).toEqual(hashes.map(hex));
    expectTlogError(() => splitHashes(new Uint8Array(33)), 'TILE_MALFORMED');
    expect(() => concatHashes([new Uint8Array(31)])).toThrow(/Hash 0 has 31/);
  });
});

describe('reading a tree through its tiles', () => {
  it('computes the root of every size up to 600 and the RFC 6962 vectors', async () => {
    for (let size = 0; size <= 600; size++) {
      const { readTile } = memoryTileReader(bigTiles, size);
      expect(hex(await treeRoot(size, readTile)), `size ${size}`).toBe(hex(bigTree.root(size)));
    }
    const ct = CT_ENTRIES.map(leafHash);
    const ctTiles = tilesFromLeafHashes(ct);
    for (let size = 0; size <= 8; size++) {
      const { readTile } = memoryTileReader(ctTiles, size);
      expect(hex(await treeRoot(size, readTile))).toBe(CT_ROOTS[size]);
    }
  });

  it('computes the root of random sizes up to 70,000 from the partial tiles alone', async () => {
    const sizes = fc.oneof(
      fc.integer({ min: 1, max: BIG }),
      fc.integer({ min: 1, max: 273 }).map((n) => n * 256),
    );
    await fc.assert(
      fc.asyncProperty(sizes, async (size) => {
        const { readTile, log } = memoryTileReader(bigTiles, size);
        expect(hex(await treeRoot(size, readTile))).toBe(hex(bigTree.root(size)));
        const partial = tilesForSize(size).filter((t) => t.width < 256);
        expect(log.reads.toSorted()).toEqual(
          partial.map((t) => `${t.level}/${t.index}/${t.width}`).toSorted(),
        );
      }),
      { numRuns: 100 },
    );
  });

  it('returns SHA-256 of nothing for the empty tree without reading a tile', async () => {
    const { readTile, log } = memoryTileReader([], 0);
    expect(hex(await treeRoot(0, readTile))).toBe(hex(emptyRoot()));
    expect(log.reads).toEqual([]);
  });

  it('reads every node and range of a tree of 70,000 like the reference', async () => {
    const { readTile, log } = memoryTileReader(bigTiles, BIG);
    const reader = createHashReader(BIG, readTile);
    expect(reader.size).toBe(BIG);
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 0, max: 16 }), fc.nat(), async (height, seed) => {
        const index = seed % Math.floor(BIG / 2 ** height);
        const start = index * 2 ** height;
        expect(hex(await reader.nodeHash(height, index))).toBe(
          hex(bigTree.mth(start, start + 2 ** height)),
        );
      }),
      { numRuns: 300 },
    );
    expect(hex(await reader.rangeHash(69_632, BIG))).toBe(hex(bigTree.mth(69_632, BIG)));
    expect(hex(await reader.rangeHash(4, 7))).toBe(hex(bigTree.mth(4, 7)));
    // Every tile is read once however many nodes come from it.
    expect(new Set(log.reads).size).toBe(log.reads.length);
  });

  it('shares one read between concurrent lookups in the same tile', async () => {
    const { readTile, log } = memoryTileReader(bigTiles, BIG);
    const reader = createHashReader(BIG, readTile);
    await Promise.all([reader.nodeHash(0, 3), reader.nodeHash(1, 7), reader.nodeHash(7, 1)]);
    expect(log.reads).toEqual(['0/0/256']);
  });

  it('refuses nodes and ranges that are not complete subtrees of the tree', async () => {
    const { readTile, log } = memoryTileReader(bigTiles, 1000);
    const reader = createHashReader(1000, readTile);
    const refused = async (promise: Promise<Hash>): Promise<void> => {
      await expect(promise).rejects.toMatchObject({ code: 'INDEX_OUT_OF_RANGE' });
    };
    await refused(reader.nodeHash(0, 1000));
    await refused(reader.nodeHash(3, 125));
    await refused(reader.nodeHash(10, 0));
    await refused(reader.nodeHash(-1, 0));
    await refused(reader.nodeHash(0, -1));
    await refused(reader.nodeHash(0.5, 0));
    await refused(reader.nodeHash(0, Number.NaN));
    await refused(reader.nodeHash(2000, 0));
    await refused(reader.rangeHash(0, 1001));
    await refused(reader.rangeHash(-1, 5));
    await refused(reader.rangeHash(5, 5));
    await refused(reader.rangeHash(0.5, 5));
    await refused(reader.rangeHash(0, Number.POSITIVE_INFINITY));
    await refused(reader.rangeHash(1, 4)); // MTH(D[1:4]) splits into [1,3) and [3,4)
    expect(log.reads).toEqual([]);
    expect(() => createHashReader(-1, readTile)).toThrow(TlogError);
    await expect(treeRoot(Number.NaN, readTile)).rejects.toMatchObject({
      code: 'INDEX_OUT_OF_RANGE',
    });
  });

  it('names the tile file when a tile has the wrong length', async () => {
    const truncated: TileReader = (level, index, width) =>
      Promise.resolve(new Uint8Array(width * HASH_SIZE - 1));
    await expect(treeRoot(70_000, truncated)).rejects.toMatchObject({
      code: 'TILE_MALFORMED',
      file: 'tile/2/000.p/1',
    });
    const long: TileReader = () => Promise.resolve(new Uint8Array(256 * HASH_SIZE + 32));
    await expect(createHashReader(BIG, long).nodeHash(0, 0)).rejects.toMatchObject({
      code: 'TILE_MALFORMED',
      file: 'tile/0/000',
    });
  });

  it('passes on the reader’s own error', async () => {
    const failing: TileReader = () =>
      Promise.reject(new TlogError('NOT_FOUND', 'No tile', { file: 'tile/0/000.p/3' }));
    await expect(treeRoot(3, failing)).rejects.toMatchObject({
      code: 'NOT_FOUND',
      file: 'tile/0/000.p/3',
    });
  });
});
