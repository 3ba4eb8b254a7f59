import { chmod, mkdir, mkdtemp, readFile, rm, stat, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  ensureQuarantineDir,
  openQuarantine,
  quarantinePath,
  readQuarantine,
} from './quarantine.ts';
import type { QuarantineEntry } from './quarantine.ts';

let root: string;

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'votervault-quarantine-'));
});

afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

function entry(line: number): QuarantineEntry {
  return { line, field: null, code: 'STRAY_QUOTE', reason: `bad line ${line}`, raw: `raw ${line}` };
}

describe('quarantine files', () => {
  it('writes private files only when something is quarantined', async () => {
    const dir = join(root, 'a', 'quarantine');
    const writer = await openQuarantine(dir, 'import1');
    await writer.flush();
    await expect(stat(writer.path)).rejects.toMatchObject({ code: 'ENOENT' });
    writer.add(entry(3));
    writer.add({ ...entry(4), field: 'birth_date', code: 'DATE_INVALID', rawBase64: 'gQ==' });
    await writer.flush();
    await writer.close();
    expect((await stat(dir)).mode & 0o777).toBe(0o700);
    expect((await stat(writer.path)).mode & 0o777).toBe(0o600);
    expect(writer.path).toBe(quarantinePath(dir, 'import1'));
    expect(await readQuarantine(writer.path)).toEqual([
      entry(3),
      { ...entry(4), field: 'birth_date', code: 'DATE_INVALID', rawBase64: 'gQ==' },
    ]);
    const text = await readFile(writer.path, 'utf8');
    expect(text.split('\n')).toHaveLength(3);
  });

  it('drops entries after the last committed line when resuming', async () => {
    const dir = join(root, 'b');
    const first = await openQuarantine(dir, 'import2');
    for (const line of [2, 5, 9, 12]) first.add(entry(line));
    await first.flush();
    await first.close();
    await writeFile(quarantinePath(dir, 'import2'), 'not json\n', { flag: 'a' });
    const resumed = await openQuarantine(dir, 'import2', { keepThroughLine: 9 });
    resumed.add(entry(10));
    await resumed.flush();
    await resumed.close();
    expect((await readQuarantine(resumed.path)).map((e) => e.line)).toEqual([2, 5, 9, 10]);
    expect((await stat(resumed.path)).mode & 0o777).toBe(0o600);
    const none = await openQuarantine(dir, 'import2', { keepThroughLine: 1 });
    await none.close();
    await expect(stat(none.path)).rejects.toMatchObject({ code: 'ENOENT' });
  });

  it('refuses a directory or file others may read, and symbolic links', async () => {
    const open = join(root, 'open');
    await mkdir(open, { mode: 0o755 });
    await chmod(open, 0o755);
    await expect(ensureQuarantineDir(open)).rejects.toMatchObject({
      code: 'QUARANTINE_INSECURE',
      message: expect.stringContaining('mode is 0755') as unknown,
    });
    const dir = join(root, 'c');
    await ensureQuarantineDir(dir);
    await writeFile(quarantinePath(dir, 'loose'), '', { mode: 0o644 });
    await chmod(quarantinePath(dir, 'loose'), 0o644);
    const loose = await openQuarantine(dir, 'loose');
    loose.add(entry(1));
    await expect(loose.flush()).rejects.toMatchObject({ code: 'QUARANTINE_INSECURE' });
    await symlink(join(root, 'elsewhere'), quarantinePath(dir, 'linked'));
    const linked = await openQuarantine(dir, 'linked');
    linked.add(entry(1));
    await expect(linked.flush()).rejects.toMatchObject({ code: 'IO_FAILED' });
  });

  it('reads a missing file as no entries', async () => {
    expect(await readQuarantine(join(root, 'missing.jsonl'))).toEqual([]);
  });
});
