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
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { encodeEntryBundle } from '../entry-bundle.ts';
import { leafHash } from '../hash.ts';
import { encodeTile } from '../tile.ts';
import {
  beginDurableWrites,
  createDirectory,
  createFsTileReader,
  durableWriteFile,
  durableWriteFiles,
  lockLogDirectory,
  pathExists,
  readCheckpointFile,
  readEntryBundle,
  readLogFile,
} from './fs.ts';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'tlog-fs-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

const hashes = Array.from({ length: 256 }, (_, i) => leafHash(Uint8Array.of(i)));
const entries = Array.from({ length: 256 }, (_, i) => Buffer.from(`entry ${i}`));

async function put(path: string, bytes: Uint8Array | string): Promise<void> {
  await mkdir(join(dir, path, '..'), { recursive: true });
  await writeFile(join(dir, path), bytes);
}

async function allNames(): Promise<string[]> {
  return (await readdir(dir, { recursive: true })).sort();
}

describe('durable writes', () => {
  it('creates missing directories, replaces the file and leaves no temporary file', async () => {
    const file = join(dir, 'a/b/c/checkpoint');
    await durableWriteFile(file, 'one\n');
    expect(await readFile(file, 'utf8')).toBe('one\n');
    await durableWriteFile(file, Uint8Array.of(1, 2));
    expect([...(await readFile(file))]).toEqual([1, 2]);
    expect((await allNames()).filter((n) => n.endsWith('.tmp'))).toEqual([]);
  });

  it('writes the last file only once the others are in place', async () => {
    await durableWriteFiles(
      [
        { path: join(dir, 'new/x/one'), bytes: 'a' },
        { path: join(dir, 'new/x/two'), bytes: 'b' },
        { path: join(dir, 'new/y'), bytes: 'c' },
      ],
      { path: join(dir, 'last'), bytes: 'd' },
    );
    expect(await allNames()).toEqual(['last', 'new', 'new/x', 'new/x/one', 'new/x/two', 'new/y']);
  });

  it('turns ENOSPC into DISK_FULL naming the file, and leaves the old file', async () => {
    // /dev/full fails every write with ENOSPC: a temporary file linked to it is a full disk.
    const file = join(dir, 'checkpoint');
    await writeFile(file, 'old');
    await symlink('/dev/full', `${file}.tmp`);
    await expect(durableWriteFile(file, 'new')).rejects.toMatchObject({
      code: 'DISK_FULL',
      file,
      message: `Cannot write "${file}": no space left (ENOSPC)`,
    });
    expect(await readFile(file, 'utf8')).toBe('old');
    expect(await allNames()).toEqual(['checkpoint']);
  });

  it('fails the commit when one file fails, after every write stopped, keeping the last file', async () => {
    await writeFile(join(dir, 'last'), 'old');
    await mkdir(join(dir, 'd'));
    await symlink('/dev/full', join(dir, 'd/bad'));
    const writes = beginDurableWrites();
    writes.add({ path: join(dir, 'd/good'), bytes: 'g' });
    writes.add({ path: join(dir, 'd/bad'), bytes: 'b' });
    await expect(writes.commit({ path: join(dir, 'last'), bytes: 'new' })).rejects.toMatchObject({
      code: 'DISK_FULL',
      file: join(dir, 'd/bad'),
    });
    expect(await readFile(join(dir, 'last'), 'utf8')).toBe('old');
    // The files of the failed set are removed: nothing committed points at them.
    expect(await allNames()).toEqual(['d', 'last']);
  });

  it('abandons writes under way without leaving their files', async () => {
    const writes = beginDurableWrites();
    writes.add({ path: join(dir, 'x/one'), bytes: 'a' });
    await writes.abandon();
    expect(await allNames()).toEqual(['x']);
  });

  it('reports IO_FAILED naming the file for other failures', async () => {
    await writeFile(join(dir, 'plain'), '');
    await expect(durableWriteFile(join(dir, 'plain/child'), 'x')).rejects.toMatchObject({
      code: 'IO_FAILED',
      file: join(dir, 'plain/child'),
      message: expect.stringContaining('ENOTDIR'),
    });
    // A directory that cannot be made even though its parent exists.
    await expect(durableWriteFile('/proc/votervault-none/file', 'x')).rejects.toMatchObject({
      code: 'IO_FAILED',
      file: '/proc/votervault-none',
    });
    await expect(createDirectory(join(dir, 'plain/child'))).rejects.toMatchObject({
      code: 'IO_FAILED',
    });
    // The target is a directory: the rename fails.
    await mkdir(join(dir, 'taken/inside'), { recursive: true });
    await expect(durableWriteFile(join(dir, 'taken'), 'x')).rejects.toMatchObject({
      code: 'IO_FAILED',
      file: join(dir, 'taken'),
    });
  });

  it('fails a directory fsync with IO_FAILED naming the directory', async () => {
    // A rename into a directory that vanished before its fsync.
    const writes = beginDurableWrites();
    writes.add({ path: join(dir, 'gone/file'), bytes: 'a' });
    await new Promise((resolve) => setTimeout(resolve, 50));
    await rm(join(dir, 'gone'), { recursive: true });
    await expect(writes.commit({ path: join(dir, 'last'), bytes: 'b' })).rejects.toMatchObject({
      code: 'IO_FAILED',
      file: join(dir, 'gone'),
    });
  });

  it('creates directories durably and tells whether paths exist', async () => {
    await createDirectory(join(dir, 'p/q'));
    await createDirectory(join(dir, 'p/q'));
    expect(await pathExists(join(dir, 'p/q'))).toBe(true);
    expect(await pathExists(join(dir, 'p/r'))).toBe(false);
    await writeFile(join(dir, 'f'), '');
    await expect(pathExists(join(dir, 'f/g'))).rejects.toMatchObject({
      code: 'IO_FAILED',
      file: join(dir, 'f/g'),
    });
  });
});

describe('reading tiles, bundles and the checkpoint', () => {
  const readTile = () => createFsTileReader(dir);

  it('reads a partial tile, or falls back to the full one, or to a wider partial one', async () => {
    await put('tile/1/000.p/3', encodeTile(hashes.slice(0, 3)));
    expect(Buffer.from(await readTile()(1, 0, 3))).toEqual(
      Buffer.from(encodeTile(hashes.slice(0, 3))),
    );
    // Partial 2 is gone; a wider one (but not a non-canonical name or a narrower one) serves.
    await put('tile/1/000.p/9', encodeTile(hashes.slice(0, 9)));
    await put('tile/1/000.p/05', 'junk');
    await put('tile/1/000.p/1', 'junk');
    await put('tile/1/000.p/7.tmp', 'junk');
    expect(Buffer.from(await readTile()(1, 0, 2))).toEqual(
      Buffer.from(encodeTile(hashes.slice(0, 2))),
    );
    expect(Buffer.from(await readTile()(1, 0, 4))).toEqual(
      Buffer.from(encodeTile(hashes.slice(0, 4))),
    );
    // The full tile wins over wider partial ones.
    await put('tile/1/000', encodeTile(hashes));
    expect(Buffer.from(await readTile()(1, 0, 5))).toEqual(
      Buffer.from(encodeTile(hashes.slice(0, 5))),
    );
    expect((await readTile()(1, 0, 256)).length).toBe(8192);
  });

  it('refuses NOT_FOUND naming the tile asked for, and TILE_MALFORMED naming the file read', async () => {
    await expect(readTile()(0, 1234067, 5)).rejects.toMatchObject({
      code: 'NOT_FOUND',
      file: join(dir, 'tile/0/x001/x234/067.p/5'),
    });
    await put('tile/0/002.p/3', encodeTile(hashes.slice(0, 3)));
    await expect(readTile()(0, 2, 7)).rejects.toMatchObject({ code: 'NOT_FOUND' });
    await expect(readTile()(0, 2, 256)).rejects.toMatchObject({
      code: 'NOT_FOUND',
      file: join(dir, 'tile/0/002'),
    });
    await put('tile/0/000', encodeTile(hashes.slice(0, 200)));
    await expect(readTile()(0, 0, 5)).rejects.toMatchObject({
      code: 'TILE_MALFORMED',
      file: join(dir, 'tile/0/000'),
    });
    await put('tile/0/001.p/4', encodeTile(hashes.slice(0, 3)));
    await expect(readTile()(0, 1, 4)).rejects.toMatchObject({
      code: 'TILE_MALFORMED',
      file: join(dir, 'tile/0/001.p/4'),
    });
    // A ".p" that is not a directory.
    await put('tile/0/003.p', 'not a directory');
    await expect(readTile()(0, 3, 4)).rejects.toMatchObject({
      code: 'IO_FAILED',
      file: join(dir, 'tile/0/003.p/4'),
    });
  });

  it('reads entry bundles with the same fallback and refuses a wrong count', async () => {
    await put('tile/entries/000.p/4', encodeEntryBundle(entries.slice(0, 4)));
    expect((await readEntryBundle(dir, 0, 4)).map(String)).toEqual([
      'entry 0',
      'entry 1',
      'entry 2',
      'entry 3',
    ]);
    expect((await readEntryBundle(dir, 0, 2)).map(String)).toEqual(['entry 0', 'entry 1']);
    await put('tile/entries/000', encodeEntryBundle(entries));
    expect(await readEntryBundle(dir, 0, 100)).toHaveLength(100);
    await put('tile/entries/001.p/9', encodeEntryBundle(entries.slice(0, 8)));
    await expect(readEntryBundle(dir, 1, 9)).rejects.toMatchObject({
      code: 'BUNDLE_MALFORMED',
      file: join(dir, 'tile/entries/001.p/9'),
      message: expect.stringContaining('"8" entries, expected 9'),
    });
    await put('tile/entries/002.p/9', Uint8Array.of(0, 5, 1));
    await expect(readEntryBundle(dir, 2, 9)).rejects.toMatchObject({
      code: 'BUNDLE_MALFORMED',
      file: join(dir, 'tile/entries/002.p/9'),
    });
    await expect(readEntryBundle(dir, 3, 1)).rejects.toMatchObject({ code: 'NOT_FOUND' });
  });

  it('reads the checkpoint, or undefined before there is one', async () => {
    expect(await readCheckpointFile(dir)).toBeUndefined();
    await writeFile(join(dir, 'checkpoint'), 'origin\n0\nroot\n\n— sig\n');
    expect(await readCheckpointFile(dir)).toBe('origin\n0\nroot\n\n— sig\n');
    await expect(readLogFile(dir)).rejects.toMatchObject({
      code: 'IO_FAILED',
      file: dir,
      message: expect.stringContaining('EISDIR'),
    });
  });
});

describe('the log lock', () => {
  const lockFile = () => join(dir, '.lock');

  it('is exclusive within the process and released once', async () => {
    const lock = await lockLogDirectory(dir);
    expect(await readFile(lockFile(), 'utf8')).toBe(`${process.pid}\n`);
    await expect(lockLogDirectory(dir)).rejects.toMatchObject({
      code: 'LOG_LOCKED',
      file: lockFile(),
    });
    await lock.release();
    await lock.release();
    expect(await pathExists(lockFile())).toBe(false);
    const again = await lockLogDirectory(dir);
    // Someone removed it meanwhile: releasing still works.
    await unlink(lockFile());
    await again.release();
  });

  it('takes over a lock of a dead process, of this pid, or with unreadable content', async () => {
    const dead = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))']);
    for (const content of [`${dead.stdout.toString()}\n`, `${process.pid}\n`, 'garbage', '']) {
      await writeFile(lockFile(), content);
      const lock = await lockLogDirectory(dir);
      expect(await readFile(lockFile(), 'utf8')).toBe(`${process.pid}\n`);
      await lock.release();
    }
    expect(await allNames()).toEqual([]);
  });

  it('refuses LOG_LOCKED naming a live holder', async () => {
    await writeFile(lockFile(), `${process.ppid}\n`);
    await expect(lockLogDirectory(dir)).rejects.toMatchObject({
      code: 'LOG_LOCKED',
      message: `Cannot lock "${lockFile()}": process ${process.ppid} holds it`,
    });
    expect(await readFile(lockFile(), 'utf8')).toBe(`${process.ppid}\n`);
  });

  it('reports IO_FAILED when the lock cannot be written, read or removed', async () => {
    await expect(lockLogDirectory(join(dir, 'missing'))).rejects.toMatchObject({
      code: 'IO_FAILED',
    });
    await mkdir(lockFile());
    await expect(lockLogDirectory(dir)).rejects.toMatchObject({
      code: 'IO_FAILED',
      file: lockFile(),
    });
    await rm(lockFile(), { recursive: true });
    const lock = await lockLogDirectory(dir);
    await unlink(lockFile());
    await mkdir(lockFile());
    await expect(lock.release()).rejects.toMatchObject({ code: 'IO_FAILED', file: lockFile() });
  });
});
