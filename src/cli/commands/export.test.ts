import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, DIALECTS } from '../../../test/setup/databases.ts';
import type { TestDatabase } from '../../../test/setup/databases.ts';
import { loadKeyRing } from '../../crypto/index.ts';
import { openDatabase } from '../../store/index.ts';
import { parseCheckpoint, readCheckpointFile, readEntryBundle } from '../../tlog/index.ts';
import {
  createVoterGenerator,
  loadLayout,
  prepareVoterRow,
  writeVoterRows,
} from '../../voters/index.ts';
import type { PreparedVoterRow, VotersTables } from '../../voters/index.ts';
import type { CliIo } from '../command.ts';
import { UsageError } from '../command.ts';
import { dataDir } from '../data-dir.ts';
import { EXPORT_COMMANDS } from './export.ts';
import { initDataDir } from './log.ts';
import { initDataStore } from '../data-store.ts';

const OH = loadLayout('oh');
const VOTERS = 600;

interface Run {
  code: number;
  out: string;
}

async function run(path: string, args: string[]): Promise<Run> {
  const command = EXPORT_COMMANDS.find((c) => c.path.join(' ') === path);
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

async function logEntries(dir: string): Promise<unknown[]> {
  const logDir = dataDir(dir).log;
  const note = String(await readCheckpointFile(logDir));
  const size = Number(parseCheckpoint(`${note.split('\n\n')[0]}\n`).size);
  if (size === 0) return [];
  const entries = await readEntryBundle(logDir, 0, size);
  return entries.map((bytes) => JSON.parse(Buffer.from(bytes).toString('utf8')) as unknown);
}

for (const dialect of DIALECTS) {
  describe(dialect, () => {
    let testDb: TestDatabase;
    let dir: string;
    let database: string[];
    const generator = createVoterGenerator(OH, { seed: 91 });
    const voters = Array.from({ length: VOTERS }, () => generator.next());

    beforeAll(async () => {
      testDb = await createTestDatabase(dialect);
      dir = await mkdtemp(join(tmpdir(), 'votervault-cli-export-'));
      database = dialect === 'sqlite' ? [] : ['--database', testDb.location];
      await initDataDir(dir, 'votervault.test/log');
      await initDataStore(dir, dialect === 'sqlite' ? undefined : testDb.location);
      const ring = await loadKeyRing({ dir: dataDir(dir).keys });
      const handle = await openDatabase<VotersTables>(
        dialect === 'sqlite' ? join(dataDir(dir).root, 'votervault.db') : testDb.location,
      );
      try {
        const rows = voters.map((fields) => {
          const outcome = prepareVoterRow(ring, OH, fields, undefined);
          if (outcome.kind !== 'prepared') throw new Error('row not prepared');
          return outcome.row;
        }) satisfies PreparedVoterRow[];
        await writeVoterRows(handle, rows, { importId: 'i1', changedAt: '2026-01-01T00:00:00Z' });
      } finally {
        await handle.close();
      }
    });

    afterAll(async () => {
      await rm(dir, { recursive: true, force: true });
      await testDb.drop();
    });

    const exportTo = (recipient: string, out: string): Promise<Run> =>
      run('export', [
        '--data',
        dir,
        ...database,
        '--layout',
        'oh',
        '--recipient',
        recipient,
        '--purpose',
        `Get-out-the-vote mailing by ${recipient}`,
        '--out',
        join(dir, out),
      ]);

    it('exports to two recipients, logs both, and traces a file to its recipient', async () => {
      const a = await exportTo('Ohio Alpha Party', 'alpha.csv');
      const b = await exportTo('Ohio Beta Party', 'beta.csv');
      expect(a.code).toBe(0);
      expect(a.out).toContain(`Exported ${VOTERS} voters`);
      expect(a.out).not.toMatch(/canar/i);
      expect(b.code).toBe(0);
      const entries = await logEntries(dir);
      expect(entries).toEqual([
        expect.objectContaining({
          type: 'export',
          channel: 'cli',
          recipient: 'Ohio Alpha Party',
          purpose: 'Get-out-the-vote mailing by Ohio Alpha Party',
          layout: 'oh',
          records: VOTERS,
        }),
        expect.objectContaining({ type: 'export', recipient: 'Ohio Beta Party' }),
      ]);
      const text = await readFile(join(dir, 'alpha.csv'), 'utf8');
      expect(text.split('\n')[0]).toContain('"SOS_VOTERID"');
      expect(text).not.toContain('DATE_OF_BIRTH');
      expect(text).not.toContain(voters[0]![OH.columns.findIndex((c) => c.role === 'birthDate')]);

      const traced = await run('trace', [join(dir, 'beta.csv'), '--data', dir, ...database]);
      expect(traced.code).toBe(0);
      expect(traced.out).toContain('recipient: Ohio Beta Party');
      expect(traced.out).toContain('purpose: Get-out-the-vote mailing by Ohio Beta Party');
      expect(traced.out).not.toContain('Alpha');

      // A third of the rows, without the header.
      const lines = text.trimEnd().split('\n').slice(1);
      await writeFile(join(dir, 'excerpt.csv'), lines.filter((_, i) => i % 3 === 0).join('\n'));
      const excerpt = await run('trace', [
        join(dir, 'excerpt.csv'),
        '--data',
        dir,
        ...database,
        '--json',
      ]);
      expect(excerpt.code).toBe(0);
      expect(JSON.parse(excerpt.out)).toMatchObject({
        header: false,
        match: { recipient: 'Ohio Alpha Party', matched: true },
      });
    });

    it('says no export matched a file from elsewhere, exiting 1', async () => {
      const fields = OH.columns.filter((c) => c.class === 'public');
      const rows = voters.map((v) =>
        fields.map((c) => `"${v[OH.columns.indexOf(c)] ?? ''}"`).join(','),
      );
      const header = fields.map((c) => `"${c.name}"`).join(',');
      await writeFile(join(dir, 'other.csv'), [header, ...rows].join('\n') + '\n');
      const traced = await run('trace', [join(dir, 'other.csv'), '--data', dir, ...database]);
      expect(traced.code).toBe(1);
      expect(traced.out).toContain('No recorded export matched');
    });

    it('refuses an export without a purpose or of a protected column', async () => {
      await expect(
        run('export', [
          '--data',
          dir,
          '--layout',
          'oh',
          '--recipient',
          'X',
          '--purpose',
          ' ',
          '--out',
          join(dir, 'x.csv'),
        ]),
      ).rejects.toBeInstanceOf(UsageError);
      await expect(
        run('export', [
          '--data',
          dir,
          ...database,
          '--layout',
          'oh',
          '--recipient',
          'X',
          '--purpose',
          'Research',
          '--column',
          'SOS_VOTERID',
          '--column',
          'DATE_OF_BIRTH',
          '--out',
          join(dir, 'x.csv'),
        ]),
      ).rejects.toMatchObject({ code: 'EXPORT_COLUMN_NOT_PUBLIC' });
      await expect(run('trace', ['--data', dir])).rejects.toBeInstanceOf(UsageError);
    });
  });
}
