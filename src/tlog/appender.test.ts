import { createHash } from 'node:crypto';
import { spawnSync } from 'node:child_process';
import {
  mkdir,
  mkdtemp,
  readdir,
  readFile,
  rm,
  symlink,
  unlink,
  writeFile,
} from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openLogAppender } from './appender.ts';
import type { LogAppender, LogAppenderOptions } from './appender.ts';
import { formatCheckpoint, parseCheckpoint } from './checkpoint.ts';
import type { Checkpoint } from './checkpoint.ts';
import { readEntryBundle } from './driver/fs.ts';
import { decodeEntryBundle, encodeEntryBundle } from './entry-bundle.ts';
import { emptyRoot, leafHash, nodeHash } from './hash.ts';
import type { Hash } from './hash.ts';
import { entriesPath, parseTilePath, TILE_WIDTH, tilePath } from './tile-path.ts';

// A naive RFC 6962 tree, written from the RFC and nothing else, to check the appender against.
function referenceRoot(leaves: readonly Hash[], start = 0, end = leaves.length): Hash {
  const n = end - start;
  if (n === 0) return emptyRoot();
  if (n === 1) return leaves[start]!;
  let k = 1;
  while (k * 2 < n) k *= 2; // largest power of two smaller than n
  return nodeHash(referenceRoot(leaves, start, start + k), referenceRoot(leaves, start + k, end));
}

/** Hash i of tile (level, index): MTH of the 256^level leaves it stands for. */
function referenceTile(leaves: readonly Hash[], level: number, index: number, width: number) {
  const span = TILE_WIDTH ** level;
  const hashes: Buffer[] = [];
  for (let i = 0; i < width; i += 1) {
    const start = (index * TILE_WIDTH + i) * span;
    hashes.push(Buffer.from(referenceRoot(leaves, start, start + span)));
  }
  return Buffer.concat(hashes);
}

// A stand-in signer: the lead plugs in the real one. It produces the note shape (body, blank
// line, signature line) without a real signature.
function testSign(checkpoint: Checkpoint): string {
  const body = formatCheckpoint(checkpoint);
  return `${body}\n— test ${createHash('sha256').update(body).digest('base64')}\n`;
}

function entry(i: number, size = 20): Uint8Array {
  const bytes = Buffer.alloc(size, i % 251);
  for (let k = 0; k < Math.min(size, 4); k += 1) bytes[k] = (i >>> (8 * k)) & 0xff;
  return bytes;
}

let dir: string;
let logDir: string;
const open: LogAppender[] = [];

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'tlog-appender-'));
  logDir = join(dir, 'log');
});

afterEach(async () => {
  for (const appender of open.splice(0)) await appender.close();
  await rm(dir, { recursive: true, force: true });
});

async function openLog(options: Partial<LogAppenderOptions> = {}): Promise<LogAppender> {
  const appender = await openLogAppender({
    logDir,
    origin: 'example.com/log',
    sign: testSign,
    ...options,
  });
  open.push(appender);
  return appender;
}

async function closeLog(appender: LogAppender): Promise<void> {
  open.splice(open.indexOf(appender), 1);
  await appender.close();
}

async function listFiles(root: string): Promise<string[]> {
  const found = await readdir(join(root, 'tile'), { recursive: true, withFileTypes: true });
  return found
    .filter((d) => d.isFile())
    .map((d) => join(d.parentPath, d.name).slice(root.length + 1))
    .sort();
}

async function readCheckpoint(): Promise<Checkpoint> {
  const note = await readFile(join(logDir, 'checkpoint'), 'utf8');
  return parseCheckpoint(note.slice(0, note.indexOf('\n\n') + 1));
}

/** Checks every file under tile/ against the reference tree of `leaves`. */
async function expectTilesMatch(leaves: readonly Hash[], entries: readonly Uint8Array[]) {
  const size = leaves.length;
  const files = await listFiles(logDir);
  const expected = new Set<string>();
  // Every full tile and bundle, and the partial ones for the current size.
  for (let level = 0, span = 1; span <= size; level += 1, span *= TILE_WIDTH) {
    const full = Math.floor(size / span / TILE_WIDTH);
    for (let index = 0; index < full; index += 1) {
      expected.add(tilePath({ level, index, width: TILE_WIDTH }));
    }
    const width = Math.floor(size / span) % TILE_WIDTH;
    if (width > 0) expected.add(tilePath({ level, index: full, width }));
  }
  for (let index = 0; index < Math.floor(size / TILE_WIDTH); index += 1) {
    expected.add(entriesPath(index, TILE_WIDTH));
  }
  if (size % TILE_WIDTH > 0) {
    expected.add(entriesPath(Math.floor(size / TILE_WIDTH), size % TILE_WIDTH));
  }
  for (const path of expected) expect(files).toContain(path);
  for (const file of files) {
    const parsed = parseTilePath(file);
    expect(parsed, `"${file}" is a C2SP tile path`).toBeDefined();
    const { level, index, width } = parsed!;
    const bytes = await readFile(join(logDir, file));
    if (level === 'entries') {
      const start = index * TILE_WIDTH;
      expect(Buffer.from(bytes)).toEqual(
        Buffer.from(encodeEntryBundle(entries.slice(start, start + width))),
      );
    } else {
      // Only partial tiles of sizes that had a checkpoint remain, and never beside their full tile.
      if (width < TILE_WIDTH) {
        expect(files).not.toContain(tilePath({ level, index, width: TILE_WIDTH }));
      }
      expect(Buffer.from(bytes).equals(referenceTile(leaves, level, index, width))).toBe(true);
    }
  }
}

describe('openLogAppender', () => {
  it('starts an empty log with a signed checkpoint of size 0', async () => {
    const log = await openLog();
    expect(log.size).toBe(0);
    expect(Buffer.from(log.rootHash())).toEqual(Buffer.from(emptyRoot()));
    expect(log.checkpoint()).toBe(
      testSign({ origin: 'example.com/log', size: 0, rootHash: emptyRoot(), extensions: [] }),
    );
    expect(await readFile(join(logDir, 'checkpoint'), 'utf8')).toBe(log.checkpoint());
    expect(await log.appendMany([])).toBe(0);
    await closeLog(log);
    const again = await openLog();
    expect(again.size).toBe(0);
  });

  it('grows across tile boundaries with the RFC 6962 root and the C2SP files', async () => {
    const log = await openLog();
    const entries: Uint8Array[] = [];
    const leaves: Hash[] = [];
    for (const target of [1, 255, 256, 257, 511, 512, 700]) {
      const batch = [];
      for (let i = entries.length; i < target; i += 1) batch.push(entry(i));
      expect(await log.appendMany(batch)).toBe(entries.length);
      entries.push(...batch);
      leaves.push(...batch.map((e) => leafHash(e)));
      expect(log.size).toBe(target);
      expect(Buffer.from(log.rootHash())).toEqual(Buffer.from(referenceRoot(leaves)));
      const checkpoint = await readCheckpoint();
      expect(checkpoint.size).toBe(target);
      expect(Buffer.from(checkpoint.rootHash)).toEqual(Buffer.from(referenceRoot(leaves)));
    }
    await closeLog(log);
    await expectTilesMatch(leaves, entries);
    const names = await readdir(logDir, { recursive: true });
    expect(names.filter((n) => n.endsWith('.tmp'))).toEqual([]);
  });

  it('writes a level-2 tile past 65,536 entries and resumes from it', async () => {
    const log = await openLog();
    const entries = Array.from({ length: 65_537 }, (_, i) => entry(i, 3));
    expect(await log.appendMany(entries)).toBe(0);
    await closeLog(log);
    const leaves = entries.map((e) => leafHash(e));
    await expectTilesMatch(leaves, entries);
    expect(await listFiles(logDir)).toContain('tile/2/000.p/1');

    const again = await openLog();
    expect(again.size).toBe(65_537);
    const more = Array.from({ length: 300 }, (_, i) => entry(65_537 + i, 3));
    expect(await again.appendMany(more)).toBe(65_537);
    await closeLog(again);
    entries.push(...more);
    leaves.push(...more.map((e) => leafHash(e)));
    expect(Buffer.from((await readCheckpoint()).rootHash)).toEqual(
      Buffer.from(referenceRoot(leaves)),
    );
    await expectTilesMatch(leaves, entries);
  });

  it('reopens and continues at every kind of edge', async () => {
    const entries: Uint8Array[] = [];
    for (const step of [1, 2, 253, 1, 1, 255, 0, 300]) {
      const log = await openLog();
      expect(log.size).toBe(entries.length);
      const batch = Array.from({ length: step }, (_, i) => entry(entries.length + i));
      if (step > 0) expect(await log.appendMany(batch)).toBe(entries.length);
      entries.push(...batch);
      await closeLog(log);
    }
    const leaves = entries.map((e) => leafHash(e));
    expect(Buffer.from((await readCheckpoint()).rootHash)).toEqual(
      Buffer.from(referenceRoot(leaves)),
    );
    await expectTilesMatch(leaves, entries);
  });

  it('gives concurrent appends distinct contiguous indices, each holding its entry', async () => {
    const log = await openLog({ maxBatchSize: 64 });
    const entries = Array.from({ length: 1000 }, (_, i) => entry(i, 1 + (i % 40)));
    const indices = await Promise.all(entries.map((e) => log.append(e)));
    expect([...indices].sort((a, b) => a - b)).toEqual(entries.map((_, i) => i));
    expect(log.size).toBe(1000);
    const stored: Uint8Array[] = [];
    for (let index = 0; index * TILE_WIDTH < 1000; index += 1) {
      stored.push(
        ...(await readEntryBundle(logDir, index, Math.min(TILE_WIDTH, 1000 - index * TILE_WIDTH))),
      );
    }
    indices.forEach((index, i) =>
      expect(Buffer.from(stored[index]!)).toEqual(Buffer.from(entries[i]!)),
    );
    expect(Buffer.from(log.rootHash())).toEqual(
      Buffer.from(referenceRoot(stored.map((e) => leafHash(e)))),
    );
  });

  it('keeps order over thousands of queued appends', async () => {
    const log = await openLog({ maxBatchSize: 1100 });
    const indices = await Promise.all(
      Array.from({ length: 3000 }, (_, i) => log.append(entry(i, 4))),
    );
    expect(indices).toEqual(indices.map((_, i) => i));
    expect(log.size).toBe(3000);
  });

  it('keeps each appendMany contiguous across batches and between other appends', async () => {
    const log = await openLog({ maxBatchSize: 7, maxBatchDelayMs: 1 });
    const single = log.append(entry(9999));
    const many = log.appendMany(Array.from({ length: 30 }, (_, i) => entry(i)));
    const other = log.append(entry(8888));
    expect(await single).toBe(0);
    expect(await many).toBe(1);
    expect(await other).toBe(31);
    const bundle = await readEntryBundle(logDir, 0, 32);
    expect(Buffer.from(bundle[1]!)).toEqual(Buffer.from(entry(0)));
    expect(Buffer.from(bundle[30]!)).toEqual(Buffer.from(entry(29)));
    expect(Buffer.from(bundle[31]!)).toEqual(Buffer.from(entry(8888)));
  });

  it('accepts entries of 0 and 65,535 bytes and refuses 65,536 naming size and limit', async () => {
    const log = await openLog();
    expect(await log.append(new Uint8Array(0))).toBe(0);
    expect(await log.append(new Uint8Array(65_535).fill(1))).toBe(1);
    await expect(log.append(new Uint8Array(65_536))).rejects.toMatchObject({
      code: 'ENTRY_TOO_LARGE',
      message: expect.stringMatching(/"65536" bytes.*65535/),
    });
    // One oversized entry refuses the whole call: nothing of it is appended.
    await expect(log.appendMany([entry(1), new Uint8Array(70_000)])).rejects.toMatchObject({
      code: 'ENTRY_TOO_LARGE',
    });
    expect(log.size).toBe(2);
    const bundle = await readEntryBundle(logDir, 0, 2);
    expect(bundle.map((e) => e.length)).toEqual([0, 65_535]);
  });

  it('grows the bundle buffer for large entries', async () => {
    const log = await openLog();
    const big = Array.from({ length: 5 }, (_, i) => new Uint8Array(60_000).fill(i));
    await log.appendMany(big);
    const bundle = await readEntryBundle(logDir, 0, 5);
    expect(bundle.map((e) => e[0])).toEqual([0, 1, 2, 3, 4]);
    await closeLog(log);
    const again = await openLog();
    await again.append(new Uint8Array(60_000).fill(5));
    expect((await readEntryBundle(logDir, 0, 6)).map((e) => e[0])).toEqual([0, 1, 2, 3, 4, 5]);
  });

  it('waits for queued appends on close, then refuses with LOG_CLOSED', async () => {
    const log = await openLog();
    const pending = log.appendMany([entry(0), entry(1)]);
    await log.close();
    expect(await pending).toBe(0);
    await log.close();
    await expect(log.append(entry(2))).rejects.toMatchObject({ code: 'LOG_CLOSED' });
    open.splice(open.indexOf(log), 1);
    const again = await openLog();
    expect(again.size).toBe(2);
  });

  it('refuses a second writer with LOG_LOCKED and takes over a lock left by a dead process', async () => {
    const log = await openLog();
    await expect(openLog()).rejects.toMatchObject({ code: 'LOG_LOCKED' });
    await closeLog(log);
    // A process that has exited: its pid in the lock file is stale.
    const dead = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))']);
    await writeFile(join(logDir, '.lock'), `${dead.stdout.toString()}\n`);
    const again = await openLog();
    expect(again.size).toBe(0);
    // A live process (our parent) holds it: refused, naming the pid.
    await closeLog(again);
    await writeFile(join(logDir, '.lock'), `${process.ppid}\n`);
    await expect(openLog()).rejects.toMatchObject({
      code: 'LOG_LOCKED',
      message: expect.stringContaining(String(process.ppid)),
    });
  });

  it('refuses an invalid origin or a checkpoint of another log', async () => {
    await expect(openLog({ origin: 'has space' })).rejects.toMatchObject({
      code: 'CHECKPOINT_MALFORMED',
    });
    await closeLog(await openLog());
    await expect(openLog({ origin: 'example.com/other' })).rejects.toMatchObject({
      code: 'CHECKPOINT_MALFORMED',
      message: expect.stringContaining('example.com/other'),
    });
    // The failed open released the lock.
    await writeFile(
      join(logDir, 'checkpoint'),
      'example.com/log\n0\n47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=\n',
    );
    await expect(openLog()).rejects.toMatchObject({
      code: 'CHECKPOINT_MALFORMED',
      message: expect.stringContaining('blank line'),
    });
  });

  it('fails a batch whose signer throws, and stays usable', async () => {
    let fail = true;
    const log = await openLog({
      sign: (checkpoint) => {
        if (checkpoint.size > 0 && fail) throw new Error('signer offline');
        return testSign(checkpoint);
      },
    });
    await expect(log.append(entry(0))).rejects.toThrow('signer offline');
    expect(log.size).toBe(0);
    fail = false;
    expect(await log.append(entry(1))).toBe(0);
    expect(Buffer.from(log.rootHash())).toEqual(Buffer.from(leafHash(entry(1))));
  });

  it('fails a batch whose asynchronous signer rejects, and resumes from the last checkpoint', async () => {
    let fail = false;
    const log = await openLog({
      sign: async (checkpoint) => {
        await new Promise((resolve) => setTimeout(resolve, 1));
        if (fail) throw new Error('signer offline');
        return testSign(checkpoint);
      },
    });
    await log.appendMany([entry(0), entry(1)]);
    const before = log.checkpoint();
    fail = true;
    await expect(log.append(entry(2))).rejects.toThrow('signer offline');
    expect(log.size).toBe(2);
    expect(log.checkpoint()).toBe(before);
    expect(await readFile(join(logDir, 'checkpoint'), 'utf8')).toBe(before);
    fail = false;
    expect(await log.append(entry(3))).toBe(2);
  });

  it('crashes a batch whose signer returns a note of another checkpoint', async () => {
    const log = await openLog({
      sign: (checkpoint) => (checkpoint.size > 0 ? 'example.com/log\n9\n' : testSign(checkpoint)),
    });
    await expect(log.append(entry(0))).rejects.toMatchObject({ name: 'AssertionError' });
  });
});

describe('resuming a damaged log', () => {
  async function logOf(size: number): Promise<void> {
    const log = await openLog();
    await log.appendMany(Array.from({ length: size }, (_, i) => entry(i)));
    await closeLog(log);
  }

  it('refuses ROOT_MISMATCH naming the tile when a tile was altered', async () => {
    await logOf(300);
    const file = join(logDir, 'tile/0/001.p/44');
    const bytes = await readFile(file);
    bytes[5]! ^= 1;
    await writeFile(file, bytes);
    await expect(openLog()).rejects.toMatchObject({
      code: 'ROOT_MISMATCH',
      message: expect.stringContaining('tile/0/001.p/44'),
      file: join(logDir, 'tile/0/001.p/44'),
    });
  });

  it('refuses ROOT_MISMATCH for a non-empty checkpoint root on an empty log', async () => {
    await logOf(0);
    await writeFile(
      join(logDir, 'checkpoint'),
      testSign({
        origin: 'example.com/log',
        size: 0,
        rootHash: new Uint8Array(32),
        extensions: [],
      }),
    );
    await expect(openLog()).rejects.toMatchObject({
      code: 'ROOT_MISMATCH',
      file: join(logDir, 'checkpoint'),
    });
  });

  it('refuses BUNDLE_MISMATCH when an entry was altered', async () => {
    await logOf(10);
    const file = join(logDir, 'tile/entries/000.p/10');
    const entries = decodeEntryBundle(await readFile(file));
    entries[3] = new Uint8Array([1, 2, 3]);
    await writeFile(file, encodeEntryBundle(entries));
    await expect(openLog()).rejects.toMatchObject({ code: 'BUNDLE_MISMATCH', file });
  });

  it('refuses BUNDLE_MALFORMED and TILE_MALFORMED naming the file', async () => {
    await logOf(10);
    const bundle = join(logDir, 'tile/entries/000.p/10');
    const entries = decodeEntryBundle(await readFile(bundle));
    await writeFile(bundle, encodeEntryBundle(entries.slice(0, 9)));
    await expect(openLog()).rejects.toMatchObject({ code: 'BUNDLE_MALFORMED', file: bundle });
    await writeFile(bundle, (await readFile(bundle)).subarray(0, 5));
    await expect(openLog()).rejects.toMatchObject({ code: 'BUNDLE_MALFORMED', file: bundle });
    const tile = join(logDir, 'tile/0/000.p/10');
    await writeFile(tile, (await readFile(tile)).subarray(0, 300));
    await expect(openLog()).rejects.toMatchObject({ code: 'TILE_MALFORMED', file: tile });
  });

  it('refuses NOT_FOUND when a partial tile or bundle is missing', async () => {
    await logOf(10);
    await unlink(join(logDir, 'tile/entries/000.p/10'));
    await expect(openLog()).rejects.toMatchObject({
      code: 'NOT_FOUND',
      file: join(logDir, 'tile/entries/000.p/10'),
    });
    await unlink(join(logDir, 'tile/0/000.p/10'));
    await expect(openLog()).rejects.toMatchObject({
      code: 'NOT_FOUND',
      file: join(logDir, 'tile/0/000.p/10'),
    });
  });

  it('refuses CHECKPOINT_ROLLBACK when an older checkpoint is put back', async () => {
    await logOf(100);
    const old = await readFile(join(logDir, 'checkpoint'));
    const log = await openLog();
    await log.appendMany(Array.from({ length: 200 }, (_, i) => entry(100 + i)));
    await closeLog(log);
    // The partials for size 100 were deleted once tile 0 was full and checkpointed.
    await writeFile(join(logDir, 'checkpoint'), old);
    await expect(openLog()).rejects.toMatchObject({
      code: 'CHECKPOINT_ROLLBACK',
      file: join(logDir, 'tile/0/000.p/100'),
    });
    await unlink(join(logDir, 'checkpoint'));
    await expect(openLog()).rejects.toMatchObject({ code: 'CHECKPOINT_ROLLBACK' });
  });

  it('overwrites what a crashed batch wrote past the checkpoint', async () => {
    await logOf(10);
    // What a batch that crashed before its checkpoint may leave: files past size 10.
    await writeFile(join(logDir, 'tile/0/000.p/20'), Buffer.alloc(20 * 32, 7));
    await writeFile(
      join(logDir, 'tile/entries/000.p/20'),
      encodeEntryBundle(Array.from({ length: 20 }, () => entry(7))),
    );
    await writeFile(join(logDir, 'tile/0/000'), Buffer.alloc(256 * 32, 7));
    await writeFile(join(logDir, 'tile/0/000.p/20.tmp'), 'half');
    const log = await openLog();
    expect(log.size).toBe(10);
    const more = Array.from({ length: 290 }, (_, i) => entry(10 + i));
    await log.appendMany(more.slice(0, 10));
    await log.appendMany(more.slice(10));
    await closeLog(log);
    const entries = [...Array.from({ length: 10 }, (_, i) => entry(i)), ...more];
    await expectTilesMatch(
      entries.map((e) => leafHash(e)),
      entries,
    );
  });
});

describe('a full disk', () => {
  // /dev/full is the Linux device whose every write fails with ENOSPC. A file the write goes
  // to that is a symbolic link to it makes the real write of the real code path fail as on a
  // full disk, with no hook in the code under test. Tiles and bundles are written in place;
  // the checkpoint goes through its temporary file.
  async function fillDiskAt(path: string): Promise<void> {
    await mkdir(dirname(join(logDir, path)), { recursive: true });
    const written = path === 'checkpoint' ? `${path}.tmp` : path;
    await symlink('/dev/full', join(logDir, written));
  }

  it('fails the batch with DISK_FULL naming the file, keeps the checkpoint, stays usable', async () => {
    const log = await openLog();
    await log.appendMany(Array.from({ length: 5 }, (_, i) => entry(i)));
    const before = log.checkpoint();
    await fillDiskAt('tile/entries/000.p/6');
    await expect(log.append(entry(5))).rejects.toMatchObject({
      code: 'DISK_FULL',
      file: join(logDir, 'tile/entries/000.p/6'),
      message: expect.stringContaining('tile/entries/000.p/6'),
    });
    expect(log.checkpoint()).toBe(before);
    expect(await readFile(join(logDir, 'checkpoint'), 'utf8')).toBe(before);
    // Space is back (the link went with the failed batch's files).
    expect(await log.append(entry(5))).toBe(5);
    const entries = Array.from({ length: 6 }, (_, i) => entry(i));
    expect(Buffer.from(log.rootHash())).toEqual(
      Buffer.from(referenceRoot(entries.map((e) => leafHash(e)))),
    );
  });

  it('fails the batch when the checkpoint cannot be written', async () => {
    const log = await openLog();
    await log.append(entry(0));
    await fillDiskAt('checkpoint');
    await expect(log.append(entry(1))).rejects.toMatchObject({
      code: 'DISK_FULL',
      file: join(logDir, 'checkpoint'),
    });
    expect(log.size).toBe(1);
    expect(await log.append(entry(2))).toBe(1);
    await closeLog(log);
    expect((await readCheckpoint()).size).toBe(2);
  });

  it('drops the rest of a failed appendMany and gives later appends the next indices', async () => {
    const log = await openLog({ maxBatchSize: 4 });
    // Entries 0-3 go in the first batch; the second batch (4-7) hits the full disk.
    await fillDiskAt('tile/entries/000.p/8');
    const many = log.appendMany(Array.from({ length: 10 }, (_, i) => entry(i)));
    const after = log.append(entry(100));
    await expect(many).rejects.toMatchObject({ code: 'DISK_FULL' });
    expect(await after).toBe(4);
    expect(log.size).toBe(5);
    const bundle = await readEntryBundle(logDir, 0, 5);
    expect(Buffer.from(bundle[3]!)).toEqual(Buffer.from(entry(3)));
    expect(Buffer.from(bundle[4]!)).toEqual(Buffer.from(entry(100)));
  });

  it('puts back the batch computed behind a failed one, even one that failed itself', async () => {
    const log = await openLog({
      maxBatchSize: 1,
      sign: (checkpoint) => {
        if (checkpoint.size === 2) throw new Error('no size 2 today');
        return testSign(checkpoint);
      },
    });
    // The first batch (size 1) hits the full disk; the second (size 2) was computed meanwhile
    // and failed to sign. Once the first fails, the second is taken again at size 1.
    await fillDiskAt('checkpoint');
    const first = log.append(entry(0));
    const second = log.append(entry(1));
    await expect(first).rejects.toMatchObject({ code: 'DISK_FULL' });
    expect(await second).toBe(0);
    expect(Buffer.from(log.rootHash())).toEqual(Buffer.from(leafHash(entry(1))));
  });

  it('stops appending while the checkpoint on disk went back, and resumes once it is restored', async () => {
    const log = await openLog();
    await log.append(entry(0));
    const one = await readFile(join(logDir, 'checkpoint'));
    await log.append(entry(1));
    const two = await readFile(join(logDir, 'checkpoint'));
    // Someone puts an older checkpoint back; the next batch fails, and reloading refuses.
    await writeFile(join(logDir, 'checkpoint'), one);
    await fillDiskAt('checkpoint');
    await expect(log.append(entry(2))).rejects.toMatchObject({ code: 'DISK_FULL' });
    await expect(log.append(entry(2))).rejects.toMatchObject({ code: 'CHECKPOINT_ROLLBACK' });
    await unlink(join(logDir, 'checkpoint'));
    await expect(log.append(entry(2))).rejects.toMatchObject({ code: 'CHECKPOINT_ROLLBACK' });
    await writeFile(join(logDir, 'checkpoint'), two);
    expect(await log.append(entry(2))).toBe(2);
  });
});

describe('writing on a thread of its own', () => {
  it('writes the same files and root as the main thread, and resumes from them', async () => {
    const entries = Array.from({ length: 700 }, (_, i) => entry(i));
    const threaded = await openLog({ writeThread: true, maxBatchSize: 64 });
    await Promise.all(entries.slice(0, 300).map((e) => threaded.append(e)));
    await threaded.appendMany(entries.slice(300));
    const files = await listFiles(logDir);
    const root = Buffer.from(threaded.rootHash());
    await closeLog(threaded);
    expect(root).toEqual(Buffer.from(referenceRoot(entries.map((e) => leafHash(e)))));
    // Reopened on the main thread: the edge on disk is complete and checks out.
    const reopened = await openLog();
    expect(reopened.size).toBe(700);
    expect(Buffer.from(reopened.rootHash())).toEqual(root);
    expect(files).toContain('tile/0/001');
    expect(files).toContain('tile/entries/001');
  });

  it('reports a full disk with its code and file across the thread', async () => {
    const log = await openLog({ writeThread: true });
    await log.append(entry(0));
    await mkdir(join(logDir, 'tile/entries/000.p'), { recursive: true });
    await symlink('/dev/full', join(logDir, 'tile/entries/000.p/2'));
    await expect(log.append(entry(1))).rejects.toMatchObject({
      name: 'TlogError',
      code: 'DISK_FULL',
      file: join(logDir, 'tile/entries/000.p/2'),
    });
    expect(log.size).toBe(1);
    expect(await log.append(entry(1))).toBe(1);
  });
});
