// Interoperability with golang.org/x/mod/sumdb/tlog, the tiled log code of the Go checksum
// database, from which C2SP tlog-tiles grew. A small Go program (testdata/go-tlog) is built once
// per run against the Debian package golang-golang-x-mod-dev and asked for roots, proofs and tile
// contents of the same logs; ours must be byte for byte the same. It also runs x/mod's tile client
// (TileHashReader) over our tiles, which authenticates every tile against our root.
//
// The tiles compared are the files our appender wrote to disk, and the entry bundles on disk
// must hold exactly the entries whose hashes x/mod computed.
//
// Where x/mod and the specifications part ways, we follow the specifications and check here that
// the difference is only that:
// - x/mod's TreeHash(0) is 32 zero bytes; RFC 6962 §2.1 makes the empty tree's root SHA-256().
// - x/mod's ProveTree refuses an old size of 0; our consistencyProof returns an empty proof.
// - x/mod's tile paths carry the tile height, tile/8/L/N; C2SP's have none, tile/L/N. Contents
//   are compared, and x/mod paths are built only to hand it our tiles.
// - x/mod's NewTiles lists every intermediate partial tile (widths 1, 2, …, W of the last tile of
//   each level), and for a growth also the old size's partial tile again; C2SP needs one partial
//   tile per level per checkpointed size, which is what tilesForSize and tilesForGrowth list. The
//   extra ones are prefixes of ours.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { openLogAppender } from './appender.ts';
import { formatCheckpoint } from './checkpoint.ts';
import { createFsTileReader, readEntryBundle } from './driver/fs.ts';
import { leafHash } from './hash.ts';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HASH_SIZE, emptyRoot } from './hash.ts';
import { consistencyProof, inclusionProof, verifyConsistency, verifyInclusion } from './proof.ts';
import { memoryTileReader, testEntry, testLeafHashes } from './testdata/reference-tree.ts';
import { tilesForGrowth, tilesForSize, tilesFromLeafHashes, treeRoot } from './tree.ts';
import type { Tile } from './tree.ts';

const REPOSITORY = join(import.meta.dirname, '..', '..');
/** Where Debian's golang-golang-x-mod-dev puts the source, a GOPATH for GO111MODULE=off. */
const DEBIAN_GOPATH = '/usr/share/gocode';
const LOG_SIZES = [1, 255, 256, 257, 70_000];

interface GoProof {
  readonly a: number;
  readonly b: number;
  readonly proof: string[];
}
interface GoTile {
  readonly path: string;
  readonly level: number;
  readonly index: number;
  readonly width: number;
  readonly data: string | null;
}
interface GoAnswer {
  readonly roots: { readonly size: number; readonly hash: string }[];
  readonly inclusion: GoProof[];
  readonly consistency: GoProof[];
  readonly tiles: GoTile[];
  readonly newTiles: {
    readonly oldSize: number;
    readonly size: number;
    readonly tiles: GoTile[];
  }[];
  readonly fromOurTiles: {
    readonly inclusion: GoProof[] | null;
    readonly consistency: GoProof[] | null;
    readonly error: string;
  };
}

const hex = (bytes: Uint8Array): string => Buffer.from(bytes).toString('hex');
const key = (t: { level: number; index: number; width: number }): string =>
  `${t.level}/${t.index}/${t.width}`;

/** x/mod's path for a tile of height 8: tile/8/L/N[.p/W]. */
function xmodTilePath(tile: Tile): string {
  let rest = tile.index;
  let n = String(rest % 1000).padStart(3, '0');
  for (rest = Math.floor(rest / 1000); rest > 0; rest = Math.floor(rest / 1000)) {
    n = `x${String(rest % 1000).padStart(3, '0')}/${n}`;
  }
  return `tile/8/${tile.level}/${n}${tile.width === 256 ? '' : `.p/${tile.width}`}`;
}

/** A deterministic sample of `count` integers in [min, max], always with both ends. */
function sample(min: number, max: number, count: number, seed: number): number[] {
  const picks = new Set([min, max]);
  let state = seed >>> 0 || 1;
  while (picks.size < Math.min(count, max - min + 1)) {
    // xorshift32: exact in 32-bit integer arithmetic, so the sample is the same on every run.
    state ^= state << 13;
    state ^= state >>> 17;
    state ^= state << 5;
    state >>>= 0;
    picks.add(min + (state % (max - min + 1)));
  }
  return [...picks].sort((x, y) => x - y);
}

let directory = '';
let binary = '';

function goEnvironment(): NodeJS.ProcessEnv {
  return {
    ...process.env,
    GOPATH: DEBIAN_GOPATH,
    GO111MODULE: 'off',
    GOFLAGS: '',
    GOCACHE: join(directory, 'cache'),
  };
}

beforeAll(() => {
  const version = spawnSync('go', ['version'], { encoding: 'utf8' });
  if (version.error !== undefined || version.status !== 0) {
    throw new Error(
      'The Go toolchain is needed for the x/mod interoperability test and "go" did not run: ' +
        'install the Debian packages golang-go and golang-golang-x-mod-dev',
    );
  }
  if (!existsSync(join(DEBIAN_GOPATH, 'src/golang.org/x/mod/sumdb/tlog/tlog.go'))) {
    throw new Error(
      `golang.org/x/mod is not in "${DEBIAN_GOPATH}": install the Debian package golang-golang-x-mod-dev`,
    );
  }
  directory = mkdtempSync(join(tmpdir(), 'votervault-go-tlog-'));
  binary = join(directory, 'go-tlog');
  const build = spawnSync('go', ['build', '-o', binary, './src/tlog/testdata/go-tlog'], {
    cwd: REPOSITORY,
    timeout: 120_000,
    env: goEnvironment(),
    encoding: 'utf8',
  });
  if (build.status !== 0) throw new Error(`Cannot build go-tlog: ${build.stderr}`);
});

afterAll(() => {
  if (directory !== '') rmSync(directory, { recursive: true, force: true });
});

function askGo(request: object): GoAnswer {
  const run = spawnSync(binary, [], {
    input: JSON.stringify(request),
    encoding: 'utf8',
    maxBuffer: 256 * 1024 * 1024,
    timeout: 120_000,
    env: goEnvironment(),
  });
  if (run.status !== 0) throw new Error(`go-tlog failed: ${run.stderr}`);
  return JSON.parse(run.stdout) as GoAnswer;
}

describe.each(LOG_SIZES)('a log of %i entries', (entries) => {
  const leaves = testLeafHashes(entries);
  let tiles: Tile[] = [];
  let tileByCoordinates = new Map<string, Tile>();
  let logDir = '';
  const reader = (size: number): ReturnType<typeof memoryTileReader>['readTile'] =>
    memoryTileReader(tiles, size).readTile;

  const rootSizes = [...new Set([0, ...sample(1, entries, 40, entries)])];
  const inclusionPairs = sample(1, entries, 25, entries + 1).flatMap((size) =>
    sample(0, size - 1, 4, size).map((index) => [index, size] as const),
  );
  const consistencyPairs = sample(1, entries, 25, entries + 2).flatMap((size) =>
    sample(1, size, 4, size + 3).map((oldSize) => [oldSize, size] as const),
  );
  const growthPairs = sample(0, entries, 12, entries + 4).flatMap((size) =>
    sample(0, size, 3, size + 5).map((oldSize) => [oldSize, size] as const),
  );

  let go: GoAnswer;
  let ourRoot: Uint8Array;

  beforeAll(async () => {
    // Write the log with the real appender, in batches that cross tile boundaries, and take
    // its tiles from disk.
    logDir = join(directory, `log-${entries}`);
    const appender = await openLogAppender({
      logDir,
      origin: 'interop.test/log',
      sign: (checkpoint) => `${formatCheckpoint(checkpoint)}\n— interop.test/log AAAA\n`,
      maxBatchSize: 300,
    });
    await appender.appendMany(Array.from({ length: entries }, (_, i) => testEntry(i)));
    await appender.close();
    const readFromDisk = createFsTileReader(logDir);
    tiles = await Promise.all(
      tilesForSize(entries).map(async (t) => ({
        ...t,
        data: await readFromDisk(t.level, t.index, t.width),
      })),
    );
    tileByCoordinates = new Map(tiles.map((t) => [`${t.level}/${t.index}`, t]));
    ourRoot = await treeRoot(entries, reader(entries));
    go = askGo({
      entries,
      roots: rootSizes,
      inclusion: inclusionPairs,
      consistency: consistencyPairs,
      newTiles: growthPairs,
      ourTiles: Object.fromEntries(
        tiles.map((t) => [xmodTilePath(t), Buffer.from(t.data).toString('base64')]),
      ),
      ourRoot: hex(ourRoot),
    });
  });

  it('has the same roots as tlog.TreeHash, except that the empty tree is SHA-256()', async () => {
    expect(go.roots.map((r) => r.size)).toEqual(rootSizes);
    for (const { size, hash } of go.roots) {
      const ours = hex(await treeRoot(size, reader(size)));
      if (size === 0) {
        expect(hash).toBe('00'.repeat(HASH_SIZE));
        expect(ours).toBe(hex(emptyRoot()));
      } else {
        expect(ours, `size ${size}`).toBe(hash);
      }
    }
  });

  it('has the same inclusion proofs as tlog.ProveRecord', async () => {
    expect(go.inclusion).toHaveLength(inclusionPairs.length);
    for (const { a: index, b: size, proof } of go.inclusion) {
      const ours = await inclusionProof(index, size, reader(size));
      expect(ours.map(hex), `leaf ${index} of ${size}`).toEqual(proof);
      verifyInclusion(leaves[index]!, index, size, ours, await treeRoot(size, reader(size)));
    }
  });

  it('has the same consistency proofs as tlog.ProveTree', async () => {
    expect(go.consistency).toHaveLength(consistencyPairs.length);
    for (const { a: oldSize, b: size, proof } of go.consistency) {
      const ours = await consistencyProof(oldSize, size, reader(size));
      expect(ours.map(hex), `${oldSize} to ${size}`).toEqual(proof);
      const [oldRoot, newRoot] = await Promise.all([
        treeRoot(oldSize, reader(oldSize)),
        treeRoot(size, reader(size)),
      ]);
      verifyConsistency(oldSize, size, ours, oldRoot, newRoot);
    }
  });

  it('writes to disk the tiles that tree.ts computes from the leaf hashes', () => {
    const computed = tilesFromLeafHashes(leaves);
    expect(tiles.map((t) => `${key(t)}:${hex(t.data)}`)).toEqual(
      computed.map((t) => `${key(t)}:${hex(t.data)}`),
    );
  });

  it('keeps in its entry bundles exactly the entries x/mod hashed into level 0', async () => {
    const level0 = go.tiles.filter((t) => t.level === 0);
    for (const tile of tiles.filter((t) => t.level === 0)) {
      const bundle = await readEntryBundle(logDir, tile.index, tile.width);
      const theirs = level0.find((t) => t.index === tile.index && t.width === tile.width);
      const theirHashes = Buffer.from(theirs!.data!, 'base64');
      bundle.forEach((entry, i) => {
        const n = tile.index * 256 + i;
        expect(Buffer.from(entry).toString(), `entry ${n}`).toBe(`entry ${n}`);
        expect(hex(leafHash(entry))).toBe(
          theirHashes.subarray(i * HASH_SIZE, (i + 1) * HASH_SIZE).toString('hex'),
        );
      });
    }
  });

  it('writes tiles with the contents of tlog.ReadTileData', () => {
    const goTiles = new Map(go.tiles.map((t) => [key(t), t]));
    // Every C2SP tile of the log is among x/mod's, with the same bytes.
    for (const tile of tiles) {
      const theirs = goTiles.get(key(tile));
      expect(theirs, key(tile)).toBeDefined();
      expect(Buffer.from(theirs!.data!, 'base64').toString('hex'), key(tile)).toBe(hex(tile.data));
    }
    // x/mod's other tiles are the intermediate partial tiles: prefixes of our last ones.
    for (const theirs of go.tiles) {
      const ours = tileByCoordinates.get(`${theirs.level}/${theirs.index}`);
      expect(ours, theirs.path).toBeDefined();
      expect(theirs.width).toBeLessThanOrEqual(ours!.width);
      const prefix = hex(ours!.data.subarray(0, theirs.width * HASH_SIZE));
      expect(Buffer.from(theirs.data!, 'base64').toString('hex'), theirs.path).toBe(prefix);
    }
    expect(go.tiles.length).toBeGreaterThanOrEqual(tiles.length);
    expect(tiles.map(key)).toEqual(tilesForSize(entries).map(key));
  });

  it('lists for each growth the tiles of tlog.NewTiles less the intermediate partial ones', () => {
    expect(go.newTiles).toHaveLength(growthPairs.length);
    for (const { oldSize, size, tiles: theirs } of go.newTiles) {
      const ours = tilesForGrowth(oldSize, size);
      const final = new Map(tilesForSize(size).map((t) => [`${t.level}/${t.index}`, t.width]));
      const before = new Set(tilesForSize(oldSize).map(key));
      const expected = theirs.filter(
        (t) => final.get(`${t.level}/${t.index}`) === t.width && !before.has(key(t)),
      );
      expect(ours.map(key), `${oldSize} to ${size}`).toEqual(expected.map(key));
      for (const extra of theirs.filter((t) => !expected.includes(t))) {
        const isIntermediate = extra.width < final.get(`${extra.level}/${extra.index}`)!;
        expect(isIntermediate || before.has(key(extra)), extra.path).toBe(true);
      }
    }
  });

  it('serves tiles that x/mod’s tile client authenticates and proves from', async () => {
    expect(go.fromOurTiles.error).toBe('');
    const inclusion = go.fromOurTiles.inclusion ?? [];
    const consistency = go.fromOurTiles.consistency ?? [];
    expect(inclusion.length + consistency.length).toBeGreaterThan(0);
    for (const { a: index, b: size, proof } of inclusion) {
      expect((await inclusionProof(index, size, reader(size))).map(hex)).toEqual(proof);
    }
    for (const { a: oldSize, b: size, proof } of consistency) {
      expect((await consistencyProof(oldSize, size, reader(size))).map(hex)).toEqual(proof);
    }
  });
});

describe('the x/mod tile client', () => {
  it('rejects a tile we corrupt, so the check above is not vacuous', async () => {
    const leaves = testLeafHashes(300);
    const tiles = tilesFromLeafHashes(leaves);
    const root = await treeRoot(300, memoryTileReader(tiles, 300).readTile);
    const corrupted = tiles.map((t) =>
      t.level === 0 && t.index === 1 ? { ...t, data: Uint8Array.from(t.data).fill(7, 0, 1) } : t,
    );
    const answer = askGo({
      entries: 300,
      roots: [],
      inclusion: [[299, 300]],
      consistency: [],
      newTiles: [],
      ourTiles: Object.fromEntries(
        corrupted.map((t) => [xmodTilePath(t), Buffer.from(t.data).toString('base64')]),
      ),
      ourRoot: hex(root),
    });
    expect(answer.fromOurTiles.error).toMatch(/inconsistent tile/);
  });
});
