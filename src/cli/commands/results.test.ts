import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CliIo } from '../command.ts';
import { initDataStore } from '../data-store.ts';
import { initDataDir } from './log.ts';
import { RESULTS_COMMANDS } from './results.ts';

const DATA = resolve(import.meta.dirname, '../../../../shared/data/results');

async function run(path: string, args: string[]): Promise<{ code: number; out: string }> {
  const command = RESULTS_COMMANDS.find((c) => c.path.join(' ') === path);
  if (command === undefined) throw new Error(`no command "${path}"`);
  let out = '';
  const io: CliIo = {
    out: (t) => (out += t),
    err: () => undefined,
    stdin: Readable.from([]),
    isTty: false,
  };
  const code = await command.run(args, io);
  return { code, out };
}

describe('results commands', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'votervault-results-cli-'));
    await initDataDir(dir, 'votervault.test/results-cli');
    await initDataStore(dir);
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('imports, publishes, lists and verifies', async () => {
    const file = join(DATA, 'openelections-nm/20161108__nm__general__county.csv');
    const imported = await run('results import', [
      '--data',
      dir,
      '--election',
      'nm-2016',
      '--name',
      'NM general 2016',
      '--date',
      '2016-11-08',
      file,
    ]);
    expect(imported.code).toBe(0);
    expect(imported.out).toContain('guessed format openelections-csv');
    expect(imported.out).toContain('719 counts, 0 anomalies');
    const published = await run('results publish', ['--data', dir, '--election', 'nm-2016']);
    expect(published.out).toMatch(/^Published "nm-2016" sequence 1: sha256 [0-9a-f]{64}/);
    const history = JSON.parse(
      (await run('results history', ['--data', dir, '--election', 'nm-2016'])).out,
    ) as unknown[];
    expect(history).toHaveLength(1);
    const verified = await run('results verify', ['--data', dir, '--election', 'nm-2016']);
    expect(verified.out).toMatch(/^OK "nm-2016" sequence 1 .* still give this snapshot/);
  });

  it('refuses a file it cannot read as results', async () => {
    await expect(
      run('results import', [
        '--data',
        dir,
        '--election',
        'x',
        join(DATA, 'medsl-2024/codebook.md'),
      ]),
    ).rejects.toMatchObject({ code: 'FORMAT_UNKNOWN' });
  });
});
