import {
  chmod,
  mkdir,
  mkdtemp,
  readFile,
  readdir,
  rename,
  rm,
  stat,
  symlink,
  writeFile,
} from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeEach, describe, expect, it } from 'vitest';
import { TlogError } from './errors.ts';
import { signCheckpoint, verifyCheckpoint } from './checkpoint.ts';
import { LOG_KEY_FILES, createLogKeys, loadLogKeys } from './keys.ts';
import { generateSignerKey, parseVerifierKey } from './note.ts';

const ORIGIN = 'votes.example/county-log';
const root = await mkdtemp(join(tmpdir(), 'votervault-keys-'));
let dir: string;
let counter = 0;

beforeEach(() => {
  counter += 1;
  dir = join(root, `case-${counter}`, 'keys');
});

afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

async function rejection(promise: Promise<unknown>): Promise<TlogError> {
  try {
    await promise;
  } catch (error: unknown) {
    if (error instanceof TlogError) return error;
    throw error;
  }
  throw new Error('Expected a TlogError, the promise resolved');
}

const edPath = (): string => join(dir, LOG_KEY_FILES.ed25519);
const mlPath = (): string => join(dir, LOG_KEY_FILES['ml-dsa-44-cosignature']);

describe('createLogKeys and loadLogKeys', () => {
  it('create a private directory and private key files that load back', async () => {
    const { verifierKeys } = await createLogKeys(dir, ORIGIN);
    expect((await stat(dir)).mode & 0o777).toBe(0o700);
    expect((await stat(edPath())).mode & 0o777).toBe(0o600);
    expect((await stat(mlPath())).mode & 0o777).toBe(0o600);
    expect((await readdir(dir)).sort()).toEqual(
      [LOG_KEY_FILES.ed25519, LOG_KEY_FILES['ml-dsa-44-cosignature']].sort(),
    );
    expect(await readFile(edPath(), 'utf8')).toMatch(
      /^PRIVATE\+KEY\+votes\.example\/county-log\+[0-9a-f]{8}\+\S+\n$/u,
    );

    const keys = await loadLogKeys(dir);
    expect(keys.origin).toBe(ORIGIN);
    expect(keys.verifierKeys).toEqual(verifierKeys);
    expect(keys.signers.map((s) => s.type)).toEqual(['ed25519', 'ml-dsa-44-cosignature']);
    expect(verifierKeys.map((k) => parseVerifierKey(k).type)).toEqual([
      'ed25519',
      'ml-dsa-44-cosignature',
    ]);

    const note = signCheckpoint(
      { origin: ORIGIN, size: 3, rootHash: new Uint8Array(32).fill(1), extensions: [] },
      keys.signers,
    );
    for (const vkey of verifierKeys) {
      expect(verifyCheckpoint(note, [parseVerifierKey(vkey)], { origin: ORIGIN }).size).toBe(3);
    }
  });

  it('accept an existing private directory and a key file without a final newline', async () => {
    await mkdir(dir, { recursive: true, mode: 0o700 });
    await createLogKeys(dir, ORIGIN);
    await writeFile(edPath(), (await readFile(edPath(), 'utf8')).trimEnd(), { mode: 0o600 });
    expect((await loadLogKeys(dir)).origin).toBe(ORIGIN);
  });
});

describe('createLogKeys refusals', () => {
  it('never overwrites keys, and refuses before writing anything', async () => {
    await createLogKeys(dir, ORIGIN);
    const ed = await readFile(edPath(), 'utf8');
    const ml = await readFile(mlPath(), 'utf8');
    const again = await rejection(createLogKeys(dir, ORIGIN));
    expect(again.code).toBe('KEY_FILE_EXISTS');
    expect(again.file).toBe(edPath());
    expect(await readFile(edPath(), 'utf8')).toBe(ed);
    expect(await readFile(mlPath(), 'utf8')).toBe(ml);

    await rm(edPath());
    const error = await rejection(createLogKeys(dir, ORIGIN));
    expect(error.code).toBe('KEY_FILE_EXISTS');
    expect(error.file).toBe(mlPath());
    expect(error.message).toBe(
      `Cannot create key file "${mlPath()}": it already exists (keys are never overwritten; move the old keys away first to replace them)`,
    );
    expect(await readdir(dir)).toEqual([LOG_KEY_FILES['ml-dsa-44-cosignature']]);
  });

  it('lets exactly one of two concurrent creations win', async () => {
    const results = await Promise.allSettled([
      createLogKeys(dir, ORIGIN),
      createLogKeys(dir, ORIGIN),
    ]);
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
    const failed = results.find((r) => r.status === 'rejected');
    expect(failed?.reason).toBeInstanceOf(TlogError);
    expect((failed?.reason as TlogError).code).toBe('KEY_FILE_EXISTS');
    // Whether the loser saw the winner's file when listing or when linking, it says the same.
    expect((failed?.reason as TlogError).message).toMatch(
      /^Cannot create key file ".*": it already exists \(keys are never overwritten; move the old keys away first to replace them\)$/u,
    );
    const winner = results.find((r) => r.status === 'fulfilled');
    expect((await loadLogKeys(dir)).verifierKeys).toEqual(winner?.value.verifierKeys);
    expect((await readdir(dir)).filter((name) => name.endsWith('.tmp'))).toEqual([]);
  });

  it.each([
    ['a space', 'votes example'],
    ['a plus', 'votes+example'],
    ['more than 255 bytes', 'v'.repeat(256)],
    ['nothing', ''],
  ])('refuses an origin with %s', async (_what, origin) => {
    const error = await rejection(createLogKeys(dir, origin));
    expect(error.code).toBe('CHECKPOINT_MALFORMED');
    await expect(stat(dir)).rejects.toThrow();
  });

  it('refuses a directory that others may use, saying how to fix it', async () => {
    await mkdir(dir, { recursive: true });
    await chmod(dir, 0o755);
    const error = await rejection(createLogKeys(dir, ORIGIN));
    expect(error.code).toBe('KEY_FILE_INSECURE');
    expect(error.message).toBe(
      `Cannot use key directory "${dir}": mode is 0755, expected 0700 (run chmod 700 "${dir}")`,
    );
  });

  it('reports a path that cannot be a directory as a file system failure', async () => {
    await mkdir(join(dir, '..'), { recursive: true });
    await writeFile(dir, 'not a directory');
    const error = await rejection(createLogKeys(dir, ORIGIN));
    expect(error.code).toBe('IO_FAILED');
    expect(error.message).toMatch(/^Cannot create key directory ".*": EEXIST/u);
    expect(error.file).toBe(dir);
  });
});

describe('loadLogKeys refusals', () => {
  it('refuses a key file readable by others, naming the file and the fix', async () => {
    await createLogKeys(dir, ORIGIN);
    await chmod(edPath(), 0o644);
    const error = await rejection(loadLogKeys(dir));
    expect(error.code).toBe('KEY_FILE_INSECURE');
    expect(error.file).toBe(edPath());
    expect(error.message).toBe(
      `Cannot use key file "${edPath()}": mode is 0644, expected 0600 (run chmod 600 "${edPath()}")`,
    );
    await chmod(edPath(), 0o640);
    expect((await rejection(loadLogKeys(dir))).message).toContain('mode is 0640');
    await chmod(edPath(), 0o400);
    expect((await loadLogKeys(dir)).origin).toBe(ORIGIN);
  });

  it('refuses a key directory that others may use', async () => {
    await createLogKeys(dir, ORIGIN);
    await chmod(dir, 0o750);
    expect((await rejection(loadLogKeys(dir))).code).toBe('KEY_FILE_INSECURE');
  });

  it('refuses a key file that is a symbolic link', async () => {
    await createLogKeys(dir, ORIGIN);
    await rename(edPath(), join(dir, 'elsewhere.key'));
    await symlink(join(dir, 'elsewhere.key'), edPath());
    const error = await rejection(loadLogKeys(dir));
    expect(error.code).toBe('KEY_FILE_INSECURE');
    expect(error.message).toBe(
      `Cannot open key file "${edPath()}": it is a symbolic link, expected a regular file`,
    );
  });

  it('reports a missing directory or key file as not found', async () => {
    const missing = await rejection(loadLogKeys(dir));
    expect(missing.code).toBe('NOT_FOUND');
    expect(missing.message).toBe(`Cannot read key directory "${dir}": it does not exist`);
    await createLogKeys(dir, ORIGIN);
    await rm(mlPath());
    const error = await rejection(loadLogKeys(dir));
    expect(error.code).toBe('NOT_FOUND');
    expect(error.file).toBe(mlPath());
  });

  it('reports other file system failures as IO_FAILED', async () => {
    await mkdir(join(dir, '..'), { recursive: true });
    await writeFile(dir, 'a file, not a directory', { mode: 0o600 });
    const error = await rejection(loadLogKeys(dir));
    expect(error.code).toBe('IO_FAILED');
    expect(error.message).toMatch(/^Cannot open key file ".*": ENOTDIR/u);
  });

  it('refuses a key file that is a directory or too large', async () => {
    await createLogKeys(dir, ORIGIN);
    await rm(edPath());
    await mkdir(edPath(), { mode: 0o700 });
    expect((await rejection(loadLogKeys(dir))).message).toBe(
      `Cannot use key file "${edPath()}": it is not a regular file`,
    );
    await rm(edPath(), { recursive: true });
    await writeFile(edPath(), 'x'.repeat(4097), { mode: 0o600 });
    const error = await rejection(loadLogKeys(dir));
    expect(error.code).toBe('KEY_MALFORMED');
    expect(error.message).toBe(`Cannot use key file "${edPath()}": it is larger than 4096 bytes`);
  });

  it('refuses a file that does not hold a key, without showing its content', async () => {
    await createLogKeys(dir, ORIGIN);
    await writeFile(edPath(), 'PRIVATE+KEY+secret-looking+00000000+AAAA\n', { mode: 0o600 });
    const error = await rejection(loadLogKeys(dir));
    expect(error.code).toBe('KEY_MALFORMED');
    expect(error.file).toBe(edPath());
    expect(error.message).toMatch(/^Cannot use key file ".*": Cannot parse signer key: /u);
    expect(error.message).not.toContain('AAAA');
  });

  it('refuses keys of the wrong type or of different origins', async () => {
    await createLogKeys(dir, ORIGIN);
    const ed = await readFile(edPath(), 'utf8');
    const ml = await readFile(mlPath(), 'utf8');
    await writeFile(edPath(), ml, { mode: 0o600 });
    await writeFile(mlPath(), ed, { mode: 0o600 });
    expect((await rejection(loadLogKeys(dir))).message).toBe(
      `Cannot use key file "${edPath()}": it holds a ml-dsa-44-cosignature key, expected ed25519`,
    );
    await writeFile(edPath(), ed, { mode: 0o600 });
    await writeFile(
      mlPath(),
      `${generateSignerKey('other.example', 'ml-dsa-44-cosignature').signerKey}\n`,
      { mode: 0o600 },
    );
    const error = await rejection(loadLogKeys(dir));
    expect(error.code).toBe('KEY_MALFORMED');
    expect(error.message).toBe(
      `Cannot use key file "${mlPath()}": its key is named "other.example", not "${ORIGIN}" like the Ed25519 key`,
    );
  });
});
