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
  checkPrivateDirectory,
  createPrivateFile,
  ensurePrivateDirectory,
  listPrivateDirectory,
  PRIVATE_DIRECTORY_MODE,
  PRIVATE_FILE_ERROR_CODES,
  PRIVATE_FILE_MODE,
  PrivateFileError,
  readPrivateFile,
  removePrivateFile,
  replacePrivateFile,
  syncDirectory,
  translatePrivateFileErrors,
} from './private-file.ts';
import type { PrivateFileOptions } from './private-file.ts';
import { VotervaultError } from './errors.ts';

const SECRETS: PrivateFileOptions = {
  names: { file: 'secret file', directory: 'secret directory' },
};

let base: string;
let dir: string;

beforeEach(async () => {
  base = await mkdtemp(join(tmpdir(), 'basics-private-file-'));
  dir = join(base, 'private');
});

afterEach(async () => {
  await rm(base, { recursive: true, force: true });
});

async function rejection(promise: Promise<unknown>): Promise<PrivateFileError> {
  try {
    await promise;
  } catch (error: unknown) {
    if (error instanceof PrivateFileError) return error;
    throw error;
  }
  throw new Error('Expected a PrivateFileError, the promise resolved');
}

async function modeOf(path: string): Promise<number> {
  return (await stat(path)).mode & 0o777;
}

describe('PrivateFileError', () => {
  it('is a coded VotervaultError that names its file', () => {
    const error = new PrivateFileError('FILE_EXISTS', 'Cannot create file "a": it already exists', {
      file: 'a',
    });
    expect(error).toBeInstanceOf(VotervaultError);
    expect(error.name).toBe('PrivateFileError');
    expect(error.code).toBe('FILE_EXISTS');
    expect(error.file).toBe('a');
    expect(PRIVATE_FILE_ERROR_CODES).toContain(error.code);
    expect([PRIVATE_DIRECTORY_MODE, PRIVATE_FILE_MODE]).toEqual([0o700, 0o600]);
  });
});

describe('private directories', () => {
  it('are created with mode 0700 with their parents, and accepted when they exist', async () => {
    const deep = join(dir, 'a', 'b');
    await ensurePrivateDirectory(deep);
    expect(await modeOf(deep)).toBe(0o700);
    expect(await modeOf(dir)).toBe(0o700);
    await ensurePrivateDirectory(deep, SECRETS);
    await checkPrivateDirectory(deep);
    expect(await listPrivateDirectory(deep)).toEqual([]);
    expect(await listPrivateDirectory(dir, SECRETS)).toEqual(['a']);
  });

  it('are refused when group or others may use them, naming the fix', async () => {
    await mkdir(dir);
    await chmod(dir, 0o750);
    const error = await rejection(checkPrivateDirectory(dir, SECRETS));
    expect(error.code).toBe('FILE_INSECURE');
    expect(error.file).toBe(dir);
    expect(error.cause).toBeUndefined();
    expect(error.message).toBe(
      `Cannot use secret directory "${dir}": mode is 0750, expected 0700 (run chmod 700 "${dir}")`,
    );
    await chmod(dir, 0o701);
    expect((await rejection(ensurePrivateDirectory(dir))).message).toBe(
      `Cannot use directory "${dir}": mode is 0701, expected 0700 (run chmod 700 "${dir}")`,
    );
    await chmod(dir, 0o500);
    await checkPrivateDirectory(dir);
  });

  it('are reported missing, with the file system error as the cause', async () => {
    const error = await rejection(checkPrivateDirectory(dir));
    expect(error.code).toBe('FILE_NOT_FOUND');
    expect(error.message).toBe(`Cannot read directory "${dir}": it does not exist`);
    expect(error.cause).toMatchObject({ code: 'ENOENT' });
    const listed = await rejection(listPrivateDirectory(dir, SECRETS));
    expect(listed.code).toBe('FILE_NOT_FOUND');
    expect(listed.message).toBe(`Cannot list secret directory "${dir}": it does not exist`);
  });

  it('are refused when not a directory, unless only the mode is asked for', async () => {
    await writeFile(dir, 'x', { mode: 0o600 });
    const error = await rejection(checkPrivateDirectory(dir, SECRETS));
    expect(error.code).toBe('FILE_INVALID');
    expect(error.message).toBe(`Cannot use secret directory "${dir}": it is not a directory`);
    await checkPrivateDirectory(dir, { requireDirectory: false });
    await chmod(dir, 0o644);
    const shared = await rejection(checkPrivateDirectory(dir, { requireDirectory: false }));
    expect(shared.code).toBe('FILE_INSECURE');
    expect(shared.message).toContain('mode is 0644, expected 0700');
  });

  it('report other file system failures as IO_FAILED, naming the action', async () => {
    await writeFile(dir, 'x', { mode: 0o600 });
    const below = join(dir, 'below');
    const created = await rejection(ensurePrivateDirectory(below, SECRETS));
    expect(created.code).toBe('IO_FAILED');
    expect(created.file).toBe(below);
    expect(created.message).toMatch(/^Cannot create secret directory ".*": ENOTDIR/u);
    expect((await rejection(listPrivateDirectory(dir))).message).toMatch(
      /^Cannot list directory ".*": ENOTDIR/u,
    );
    const synced = await rejection(syncDirectory(join(base, 'missing'), SECRETS));
    expect(synced.code).toBe('IO_FAILED');
    expect(synced.message).toMatch(/^Cannot sync secret directory ".*": ENOENT/u);
    expect((await rejection(syncDirectory(join(base, 'missing')))).message).toMatch(
      /^Cannot sync directory ".*": ENOENT/u,
    );
  });
});

describe('private files', () => {
  beforeEach(async () => {
    await ensurePrivateDirectory(dir);
  });

  it('are created with mode 0600 and read back, leaving no temporary file', async () => {
    const path = join(dir, 'a.secret');
    await createPrivateFile(path, 'secret\n');
    await createPrivateFile(join(dir, 'b.secret'), 'ünïcode', SECRETS);
    await syncDirectory(dir);
    expect(await modeOf(path)).toBe(0o600);
    expect(await readPrivateFile(path, 100)).toBe('secret\n');
    expect(await readPrivateFile(join(dir, 'b.secret'), 100, SECRETS)).toBe('ünïcode');
    expect((await readdir(dir)).sort()).toEqual(['a.secret', 'b.secret']);
  });

  it('get mode 0600 whatever the umask', async () => {
    const previous = process.umask(0o000);
    try {
      await createPrivateFile(join(dir, 'a.secret'), 'x');
      await replacePrivateFile(join(dir, 'b.secret'), 'y');
    } finally {
      process.umask(previous);
    }
    expect(await modeOf(join(dir, 'a.secret'))).toBe(0o600);
    expect(await modeOf(join(dir, 'b.secret'))).toBe(0o600);
  });

  it('are never overwritten by create, and the temporary file is removed', async () => {
    const path = join(dir, 'a.secret');
    await createPrivateFile(path, 'first');
    const error = await rejection(createPrivateFile(path, 'second', SECRETS));
    expect(error.code).toBe('FILE_EXISTS');
    expect(error.file).toBe(path);
    expect(error.message).toBe(`Cannot create secret file "${path}": it already exists`);
    expect(await readFile(path, 'utf8')).toBe('first');
    expect(await readdir(dir)).toEqual(['a.secret']);
  });

  it('let exactly one of two concurrent creations win', async () => {
    const path = join(dir, 'a.secret');
    const results = await Promise.allSettled([
      createPrivateFile(path, 'one'),
      createPrivateFile(path, 'two'),
    ]);
    const failed = results.filter((r) => r.status === 'rejected');
    expect(failed).toHaveLength(1);
    expect(failed[0]?.reason).toMatchObject({ code: 'FILE_EXISTS' });
    expect(['one', 'two']).toContain(await readFile(path, 'utf8'));
    expect(await readdir(dir)).toEqual(['a.secret']);
  });

  it('report a write into a missing directory as IO_FAILED on the temporary file', async () => {
    const path = join(dir, 'no', 'a.secret');
    const error = await rejection(createPrivateFile(path, 'x', SECRETS));
    expect(error.code).toBe('IO_FAILED');
    expect(error.file).toMatch(/a\.secret\.[0-9a-f]{16}\.tmp$/u);
    expect(error.message).toMatch(/^Cannot write secret file ".*\.tmp": ENOENT/u);
  });

  it('are replaced atomically, and removed', async () => {
    const path = join(dir, 'a.secret');
    await replacePrivateFile(path, 'one');
    await replacePrivateFile(path, 'two', SECRETS);
    expect(await readPrivateFile(path, 100)).toBe('two');
    expect(await modeOf(path)).toBe(0o600);
    await removePrivateFile(path);
    await removePrivateFile(path, SECRETS);
    expect(await readdir(dir)).toEqual([]);
  });

  it('report a failed replace or remove as IO_FAILED, leaving no temporary file', async () => {
    const sub = join(dir, 'sub');
    await mkdir(sub, { mode: 0o700 });
    await writeFile(join(sub, 'inside'), 'x');
    const replaced = await rejection(replacePrivateFile(sub, 'x', SECRETS));
    expect(replaced.code).toBe('IO_FAILED');
    expect(replaced.file).toBe(sub);
    expect(replaced.message).toMatch(/^Cannot replace secret file ".*":/u);
    expect(await readdir(dir)).toEqual(['sub']);
    const removed = await rejection(removePrivateFile(sub));
    expect(removed.code).toBe('IO_FAILED');
    expect(removed.message).toMatch(/^Cannot delete file ".*":/u);
  });

  it('are refused when group or others may read them, naming the fix', async () => {
    const path = join(dir, 'a.secret');
    await writeFile(path, 'secret');
    await chmod(path, 0o644);
    const error = await rejection(readPrivateFile(path, 100, SECRETS));
    expect(error.code).toBe('FILE_INSECURE');
    expect(error.file).toBe(path);
    expect(error.message).toBe(
      `Cannot use secret file "${path}": mode is 0644, expected 0600 (run chmod 600 "${path}")`,
    );
    await chmod(path, 0o604);
    expect((await rejection(readPrivateFile(path, 100))).message).toContain('mode is 0604');
    await chmod(path, 0o400);
    expect(await readPrivateFile(path, 100)).toBe('secret');
  });

  it('are refused when a symbolic link, even to a private file', async () => {
    const path = join(dir, 'a.secret');
    await createPrivateFile(path, 'secret');
    const link = join(dir, 'link.secret');
    await symlink(path, link);
    const error = await rejection(readPrivateFile(link, 100, SECRETS));
    expect(error.code).toBe('FILE_INSECURE');
    expect(error.message).toBe(
      `Cannot open secret file "${link}": it is a symbolic link, expected a regular file`,
    );
  });

  it('are refused when missing, not a regular file or larger than the limit', async () => {
    const path = join(dir, 'a.secret');
    const missing = await rejection(readPrivateFile(path, 100));
    expect(missing.code).toBe('FILE_NOT_FOUND');
    expect(missing.message).toBe(`Cannot open file "${path}": it does not exist`);
    await createPrivateFile(path, 'x'.repeat(101));
    const large = await rejection(readPrivateFile(path, 100, SECRETS));
    expect(large.code).toBe('FILE_INVALID');
    expect(large.message).toBe(`Cannot use secret file "${path}": it is larger than 100 bytes`);
    expect(await readPrivateFile(path, 101)).toHaveLength(101);
    const sub = join(dir, 'sub');
    await mkdir(sub, { mode: 0o700 });
    const notFile = await rejection(readPrivateFile(sub, 100));
    expect(notFile.code).toBe('FILE_INVALID');
    expect(notFile.message).toBe(`Cannot use file "${sub}": it is not a regular file`);
  });

  it('report an unusable path as IO_FAILED', async () => {
    const path = join(dir, 'a.secret');
    await createPrivateFile(path, 'x');
    const error = await rejection(readPrivateFile(join(path, 'below'), 100));
    expect(error.code).toBe('IO_FAILED');
    expect(error.message).toMatch(/^Cannot open file ".*": ENOTDIR/u);
  });
});

describe('translatePrivateFileErrors', () => {
  class OtherError extends VotervaultError<'OTHER'> {}
  const translate = (error: PrivateFileError): Error =>
    new OtherError('OTHER', `Translated: ${error.message}`, { cause: error });

  it('returns the result of a call that succeeds', async () => {
    expect(await translatePrivateFileErrors(() => Promise.resolve(7), translate)).toBe(7);
  });

  it('replaces a PrivateFileError with its translation', async () => {
    const path = join(dir, 'missing.secret');
    const error: unknown = await translatePrivateFileErrors(
      () => readPrivateFile(path, 10),
      translate,
    ).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(OtherError);
    expect((error as OtherError).message).toBe(
      `Translated: Cannot open file "${path}": it does not exist`,
    );
    expect((error as OtherError).cause).toBeInstanceOf(PrivateFileError);
  });

  it('lets any other error through unchanged', async () => {
    const bug = new RangeError('A bug, not a file failure');
    await expect(translatePrivateFileErrors(() => Promise.reject(bug), translate)).rejects.toBe(
      bug,
    );
  });
});
