import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, DIALECTS } from '../../../test/setup/databases.ts';
import type { TestDatabase } from '../../../test/setup/databases.ts';
import { readCheckpointFile, readEntryBundle } from '../../tlog/index.ts';
import { dataDir } from '../data-dir.ts';
import { main } from '../main.ts';
import { importSummary, osOperator, quarantineDir } from './import.ts';

interface Run {
  readonly code: number;
  readonly out: string;
  readonly err: string;
}

async function run(args: readonly string[], isTty = false): Promise<Run> {
  let out = '';
  let err = '';
  const code = await main(args, {
    out: (t) => (out += t),
    err: (t) => (err += t),
    stdin: Readable.from([]),
    isTty,
  });
  return { code, out, err };
}

let root: string;

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'votervault-cli-import-'));
});

afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

describe('votervault generate', () => {
  it('writes a synthetic file, the same bytes for the same seed', async () => {
    const a = join(root, 'a.txt');
    const b = join(root, 'b.txt');
    const first = await run([
      'generate',
      '--layout',
      'fl',
      '--count',
      '25',
      '--seed',
      's',
      '--out',
      a,
    ]);
    expect(first).toMatchObject({ code: 0, err: '' });
    expect(first.out).toBe(
      `Wrote 25 rows (${(await stat(a)).size.toLocaleString('en-US')} bytes) in layout fl to "${a}"\n`,
    );
    const second = await run(
      ['generate', '--layout', 'fl', '--count', '25', '--seed', 's', '--out', b],
      true,
    );
    expect(second.err).toContain('\rGenerating b.txt [');
    expect(second.err).toContain('100% 25 rows');
    expect(await readFile(b)).toEqual(await readFile(a));
  });

  it('refuses unknown layouts and counts', async () => {
    const out = join(root, 'x.txt');
    const layout = await run([
      'generate',
      '--layout',
      'tx',
      '--count',
      '1',
      '--seed',
      's',
      '--out',
      out,
    ]);
    expect(layout.code).toBe(2);
    expect(layout.err).toContain('Invalid flag "--layout"');
    const zero = await run([
      'generate',
      '--layout',
      'nc',
      '--count',
      '0',
      '--seed',
      's',
      '--out',
      out,
    ]);
    expect(zero.code).toBe(2);
  });
});

describe('importSummary', () => {
  it('says what happened, where the quarantine is and whether the run resumed', () => {
    const text = importSummary('f.txt', {
      importId: 'abc',
      fileSha256: '00',
      layout: 'nc',
      resumedAfterLine: 1201,
      rows: 12000,
      counts: { added: 10, changed: 2, unchanged: 11985, removed: 4, quarantined: 3 },
      quarantineFile: '/d/quarantine/abc.jsonl',
      jurisdictions: ['1'],
    });
    expect(text).toBe(
      'Imported "f.txt" with layout nc (import abc): 12,000 rows; 10 added, 2 changed, 11,985 unchanged, 4 removed, 3 quarantined\n' +
        'Resumed an interrupted run of this file after line 1201\n' +
        'Quarantined rows (line, field, code, reason, raw line) are in "/d/quarantine/abc.jsonl"\n',
    );
    expect(osOperator().length).toBeGreaterThan(0);
  });
});

for (const dialect of DIALECTS) {
  describe(`votervault import (${dialect})`, () => {
    let testDb: TestDatabase;
    let data: string;
    let database: string[];

    beforeAll(async () => {
      testDb = await createTestDatabase(dialect);
      data = join(root, `data-${dialect}`);
      database = dialect === 'sqlite' ? [] : ['--database', testDb.location];
      const init = await run(['init', '--data', data, ...database]);
      expect(init.code).toBe(0);
    });

    afterAll(async () => {
      await testDb.drop();
    });

    it('imports files, quarantines bad rows, logs one entry per file', async () => {
      const nc = join(root, `nc-${dialect}.txt`);
      const bad = join(root, `bad-${dialect}.txt`);
      expect(
        (await run(['generate', '--layout', 'nc', '--count', '300', '--seed', 'cli', '--out', nc]))
          .code,
      ).toBe(0);
      const lines = (await readFile(nc, 'latin1')).split('\n');
      await writeFile(
        bad,
        [...lines.slice(0, 50), 'short\trow', ...lines.slice(50, 60)].join('\n'),
        'latin1',
      );
      const result = await run(
        ['import', '--data', data, ...database, '--layout', 'nc', '--operator', 'clerk 7', nc, bad],
        true,
      );
      expect(result.code).toBe(0);
      expect(result.out).toMatch(
        /^Imported ".*nc-\w+\.txt" with layout nc \(import [0-9a-f]{32}\): 300 rows; 300 added, 0 changed, 0 unchanged, 0 removed, 0 quarantined\n/,
      );
      // The second file lists 59 of the voters: those of the counties it covers that it no
      // longer lists are removed, as from a newer extract of those counties.
      expect(result.out).toMatch(
        /Imported ".*bad-\w+\.txt" with layout nc \(import [0-9a-f]{32}\): 60 rows; 0 added, 0 changed, 59 unchanged, [1-9]\d* removed, 1 quarantined\n/,
      );
      expect(result.out).toContain(`are in "${quarantineDir(data)}/`);
      expect(result.err).toContain('\rHashing nc-');
      expect(result.err).toContain('Importing nc-');
      expect(result.err).toContain('rows/s');
      const checkpoint = (await readCheckpointFile(dataDir(data).log)) ?? '';
      expect(checkpoint.split('\n')[1]).toBe('2');
      const bundle = await readEntryBundle(dataDir(data).log, 0, 2);
      const entries = bundle.map((e) => JSON.parse(Buffer.from(e).toString('utf8')) as object);
      expect(entries).toMatchObject([
        { type: 'import', layout: 'nc', operator: 'clerk 7', counts: { added: 300 } },
        { type: 'import', layout: 'nc', operator: 'clerk 7', counts: { quarantined: 1 } },
      ]);
    });

    it('prints a plain progress line per N rows when not on a terminal', async () => {
      const fl = join(root, `fl-${dialect}.txt`);
      await run(['generate', '--layout', 'fl', '--count', '120', '--seed', 'p', '--out', fl]);
      const result = await run([
        'import',
        '--data',
        data,
        ...database,
        '--layout',
        'fl',
        '--batch-size',
        '50',
        '--progress-every',
        '100',
        '--workers',
        '1',
        fl,
      ]);
      expect(result.code).toBe(0);
      expect(result.err).toMatch(
        /^Importing fl-\w+\.txt \d+% 100 rows [\d,]+ rows\/s( ETA \w+)?\n$/,
      );
    });

    it('refuses bad flags, unsupported layouts and a data directory without keys', async () => {
      expect((await run(['import', '--data', data, '--layout', 'nc'])).code).toBe(2);
      expect((await run(['import', '--data', data, '--layout', 'texas', 'f.txt'])).code).toBe(2);
      expect(
        (await run(['import', '--data', data, '--layout', 'nc', '--operator', 'a\nb', 'f'])).code,
      ).toBe(2);
      const vri = await run([
        'import',
        '--data',
        data,
        ...database,
        '--layout',
        'nist-vri',
        join(root, 'a.txt'),
      ]);
      expect(vri).toMatchObject({ code: 1 });
      // A delimited file given as NIST SP 1500-102 JSON is refused whole.
      expect(vri.err).toContain('Error VRI_NOT_JSON');
      const empty = await run(['import', '--data', join(root, 'nothing'), '--layout', 'nc', 'f']);
      expect(empty).toMatchObject({ code: 1 });
      expect(empty.err).toContain('Error STORE_NOT_READY');
    });
  });
}
