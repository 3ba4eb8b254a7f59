import {
  chmod,
  mkdir,
  mkdtemp,
  readFile,
  readdir,
  rm,
  stat,
  symlink,
  writeFile,
} from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  checkKeyDirectory,
  createKeyFile,
  ensureKeyDirectory,
  listKeyDirectory,
  readKeyFile,
  removeKeyFile,
  replaceKeyFile,
  syncDirectory,
} from './key-file.ts';

let base: string;
let dir: string;

beforeEach(async () => {
  base = await mkdtemp(join(tmpdir(), 'crypto-key-file-'));
  dir = join(base, 'keys');
});

afterEach(async () => {
  await rm(base, { recursive: true, force: true });
});

function code(value: string): unknown {
  return expect.objectContaining({ code: value });
}

describe('key directory', () => {
  it('is created with mode 0700, and an existing private one is accepted', async () => {
    await ensureKeyDirectory(dir);
    expect((await stat(dir)).mode & 0o777).toBe(0o700);
    await ensureKeyDirectory(dir);
    expect(await listKeyDirectory(dir)).toEqual([]);
  });

  it('is refused when group or others may use it, with the fix in the message', async () => {
    await mkdir(dir, { mode: 0o755 });
    await chmod(dir, 0o755);
    await expect(checkKeyDirectory(dir)).rejects.toThrow(
      `Cannot use key directory "${dir}": mode is 0755, expected 0700 (run chmod 700 "${dir}")`,
    );
    await expect(ensureKeyDirectory(dir)).rejects.toThrow(code('KEY_FILE_INSECURE'));
  });

  it('is refused when missing or not a directory', async () => {
    await expect(checkKeyDirectory(dir)).rejects.toThrow(code('KEY_NOT_FOUND'));
    await expect(listKeyDirectory(dir)).rejects.toThrow(code('KEY_NOT_FOUND'));
    await writeFile(dir, 'x', { mode: 0o600 });
    await expect(checkKeyDirectory(dir)).rejects.toThrow(code('KEY_MALFORMED'));
  });

  it('reports other file system failures as IO_FAILED', async () => {
    await writeFile(dir, 'x', { mode: 0o600 });
    await expect(ensureKeyDirectory(join(dir, 'below'))).rejects.toThrow(code('IO_FAILED'));
    await expect(syncDirectory(join(base, 'missing'))).rejects.toThrow(code('IO_FAILED'));
  });
});

describe('key files', () => {
  beforeEach(async () => {
    await ensureKeyDirectory(dir);
  });

  it('are created with mode 0600 and read back, leaving no temporary file', async () => {
    const path = join(dir, 'a.key');
    await createKeyFile(path, 'secret\n');
    expect((await stat(path)).mode & 0o777).toBe(0o600);
    expect(await readKeyFile(path, 100)).toBe('secret\n');
    expect(await readdir(dir)).toEqual(['a.key']);
  });

  it('are never overwritten by create, and the temporary file is removed', async () => {
    const path = join(dir, 'a.key');
    await createKeyFile(path, 'first');
    await expect(createKeyFile(path, 'second')).rejects.toThrow(code('KEY_FILE_EXISTS'));
    await expect(createKeyFile(path, 'second')).rejects.toThrow(
      `Cannot create key file "${path}": it already exists (keys are never overwritten; move the old file away first if nothing uses it)`,
    );
    expect(await readFile(path, 'utf8')).toBe('first');
    expect(await readdir(dir)).toEqual(['a.key']);
  });

  it('are replaced atomically and removed', async () => {
    const path = join(dir, 'a.key');
    await replaceKeyFile(path, 'one');
    await replaceKeyFile(path, 'two');
    expect(await readKeyFile(path, 100)).toBe('two');
    expect((await stat(path)).mode & 0o777).toBe(0o600);
    await removeKeyFile(path);
    await removeKeyFile(path);
    expect(await readdir(dir)).toEqual([]);
  });

  it('report a write into a missing directory as IO_FAILED', async () => {
    await expect(createKeyFile(join(dir, 'no', 'a.key'), 'x')).rejects.toThrow(code('IO_FAILED'));
  });

  it('are refused when group or others may read them, with the fix in the message', async () => {
    const path = join(dir, 'a.key');
    await writeFile(path, 'secret');
    await chmod(path, 0o644);
    await expect(readKeyFile(path, 100)).rejects.toThrow(
      `Cannot use key file "${path}": mode is 0644, expected 0600 (run chmod 600 "${path}")`,
    );
    await chmod(path, 0o400);
    expect(await readKeyFile(path, 100)).toBe('secret');
  });

  it('are refused when missing, a symbolic link, not a regular file or too large', async () => {
    const path = join(dir, 'a.key');
    await expect(readKeyFile(path, 100)).rejects.toThrow(code('KEY_NOT_FOUND'));
    await expect(readKeyFile(path, 100)).rejects.toMatchObject({
      message: `Cannot open key file "${path}": it does not exist`,
      file: path,
      cause: expect.objectContaining({ code: 'ENOENT' }),
    });
    await createKeyFile(path, 'x'.repeat(101));
    await expect(readKeyFile(path, 100)).rejects.toThrow(code('KEY_MALFORMED'));
    expect(await readKeyFile(path, 101)).toHaveLength(101);
    const link = join(dir, 'link.key');
    await symlink(path, link);
    await expect(readKeyFile(link, 200)).rejects.toThrow(code('KEY_FILE_INSECURE'));
    const sub = join(dir, 'sub.key');
    await mkdir(sub, { mode: 0o700 });
    await expect(readKeyFile(sub, 100)).rejects.toThrow(code('KEY_MALFORMED'));
  });
});
