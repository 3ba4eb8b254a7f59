import { closeSync, openSync, writeSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { availableParallelism, hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, DIALECTS } from '../../../test/setup/databases.ts';
import { createKeyRing } from '../../crypto/index.ts';
import { migrate, openDatabase } from '../../store/index.ts';
import type { DatabaseHandle } from '../../store/index.ts';
import { generateVoterFile } from '../generate.ts';
import { VOTERS_MIGRATIONS } from '../schema.ts';
import {
  appendPendingLogEntries,
  defaultWorkers,
  importLogEntry,
  importVoterFile,
  listImports,
  resolveImportLayout,
} from './pipeline.ts';
import type { ImportDatabase, ImportProgress, ImportVoterFileOptions } from './pipeline.ts';
import { IMPORT_MIGRATIONS } from './schema.ts';

let root: string;
let ncFile: string;
let ncHeader: string;

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'votervault-pipeline-'));
  await createKeyRing({ dir: join(root, 'keys') });
  ncFile = join(root, 'nc.txt');
  await generateVoterFile({ layout: 'nc', count: 120, seed: 'pipeline', out: ncFile });
  ncHeader = (await readFile(ncFile, 'latin1')).split('\n')[0] ?? '';
});

afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

describe('resolveImportLayout', () => {
  it('detects the 2022 and legacy NC layouts from the header', async () => {
    expect(resolveImportLayout('nc', ncHeader)).toMatchObject({
      layout: { id: 'nc' },
      expectedFields: 67,
      headerLines: 1,
    });
    const legacy = join(root, 'legacy.txt');
    await generateVoterFile({ layout: 'nc-legacy', count: 1, seed: 1, out: legacy });
    const header = (await readFile(legacy, 'latin1')).split('\n')[0];
    expect(resolveImportLayout('nc', header).layout.id).toBe('nc-legacy');
    expect(() => resolveImportLayout('nc', 'a\tb\tc')).toThrow(
      expect.objectContaining({ code: 'LAYOUT_UNDETECTED' }),
    );
  });

  it('checks a named layout against the header, and takes a headerless one as named', () => {
    expect(() => resolveImportLayout('wa', ncHeader)).toThrow(
      expect.objectContaining({ code: 'HEADER_MISMATCH', line: 1, column: 1 }),
    );
    // Read as Ohio's comma-separated quoting, the tab-separated header has a stray quote.
    expect(() => resolveImportLayout('oh', ncHeader)).toThrow(
      expect.objectContaining({ code: 'HEADER_MISMATCH', line: 1, column: 11 }),
    );
    expect(resolveImportLayout('fl', 'anything')).toMatchObject({
      layout: { id: 'fl' },
      expectedFields: 38,
      headerLines: 0,
    });
  });

  it('reads nist-vri documents record by record, without a header', () => {
    const resolved = resolveImportLayout('nist-vri', '{');
    expect(resolved.layout.id).toBe('nist-vri');
    expect(resolved.headerLines).toBe(0);
    expect(resolved.expectedFields).toBe(resolved.layout.columns.length);
  });
});

describe('defaultWorkers', () => {
  it('leaves the importing thread a core, and starts at least one worker', () => {
    expect(defaultWorkers()).toBe(Math.max(1, availableParallelism() - 1));
  });
});

for (const dialect of DIALECTS) {
  describe(dialect, () => {
    let testDb: Awaited<ReturnType<typeof createTestDatabase>>;
    let handle: DatabaseHandle<ImportDatabase>;

    beforeAll(async () => {
      testDb = await createTestDatabase(dialect);
      handle = await openDatabase<ImportDatabase>(testDb.location);
      await migrate(handle, [...VOTERS_MIGRATIONS, ...IMPORT_MIGRATIONS]);
    });

    afterAll(async () => {
      await handle.close();
      await testDb.drop();
    });

    function options(overrides: Partial<ImportVoterFileOptions>): ImportVoterFileOptions {
      return {
        db: handle,
        file: ncFile,
        layout: 'nc',
        keys: { dir: join(root, 'keys') },
        quarantineDir: join(root, `quarantine-${dialect}`),
        appendLog: () => Promise.resolve(),
        operator: 'clerk',
        workers: 0,
        batchSize: 50,
        ...overrides,
      };
    }

    it('reports progress and keeps a log entry it could not append for the next run', async () => {
      const progress: ImportProgress[] = [];
      await expect(
        importVoterFile(
          options({
            appendLog: () => Promise.reject(new Error('log is full')),
            onProgress: (p) => progress.push(p),
          }),
        ),
      ).rejects.toThrow('log is full');
      expect(progress[0]?.phase).toBe('hashing');
      expect(progress.filter((p) => p.phase === 'importing').map((p) => p.rows)).toEqual([
        50, 100, 120,
      ]);
      const [row] = await listImports(handle);
      expect(row).toMatchObject({ status: 'done', logged_at: null, added: 120, last_line: 121 });

      const appended: Uint8Array[] = [];
      const again = await importVoterFile(
        options({ appendLog: (entry) => Promise.resolve(void appended.push(entry)) }),
      );
      expect(again.counts.unchanged).toBe(120);
      expect(appended).toHaveLength(2);
      expect(appended[0]).toEqual(importLogEntry(row!));
      expect(await appendPendingLogEntries(handle, () => Promise.resolve())).toBe(0);
      expect((await listImports(handle)).every((r) => r.logged_at !== null)).toBe(true);
    });

    it('refuses to run an import another live process holds', async () => {
      const file = join(root, `running-${dialect}.txt`);
      await generateVoterFile({ layout: 'nc', count: 5, seed: `running-${dialect}`, out: file });
      const progress: ImportProgress[] = [];
      // Stop the first run after its first batch, as a crash would.
      await expect(
        importVoterFile(
          options({
            file,
            batchSize: 2,
            onProgress: (p) => {
              progress.push(p);
              if (p.phase === 'importing') throw new Error('stopped');
            },
          }),
        ),
      ).rejects.toThrow('stopped');
      const running = (await listImports(handle)).find((r) => r.status === 'running');
      expect(running).toMatchObject({ last_line: 3, rows: 2 });
      const dir = join(root, `quarantine-${dialect}`);
      await writeFile(join(dir, `${running?.id}.lock`), `${process.pid}\n${hostname()}\n`);
      await expect(importVoterFile(options({ file }))).rejects.toMatchObject({
        code: 'IMPORT_RUNNING',
      });
      // A lock left by a process that is gone is taken over, and the run resumes.
      await writeFile(join(dir, `${running?.id}.lock`), `999999999\n${hostname()}\n`);
      const resumed = await importVoterFile(options({ file }));
      expect(resumed).toMatchObject({ importId: running?.id, resumedAfterLine: 3, rows: 5 });
      expect(resumed.counts.added).toBe(5);
    });

    it('does not finish an import whose file changed after it was hashed', async () => {
      const file = join(root, `changing-${dialect}.txt`);
      await generateVoterFile({ layout: 'fl', count: 20, seed: `changing-${dialect}`, out: file });
      await expect(
        importVoterFile(
          options({
            file,
            layout: 'fl',
            onProgress: (p) => {
              // Same size, other bytes: the county code of the first row becomes "XXX".
              if (p.phase === 'hashing' && p.bytesDone === p.bytesTotal) {
                const fd = openSync(file, 'r+');
                writeSync(fd, 'XXX', 0);
                closeSync(fd);
              }
            },
          }),
        ),
      ).rejects.toMatchObject({ code: 'FILE_CHANGED' });
      const row = (await listImports(handle)).find(
        (r) => r.status === 'running' && r.layout === 'fl',
      );
      expect(row?.rows).toBe(20);
    });

    it('refuses a missing file and a directory', async () => {
      await expect(
        importVoterFile(options({ file: join(root, 'none.txt') })),
      ).rejects.toMatchObject({ code: 'FILE_UNREADABLE' });
      await expect(importVoterFile(options({ file: root }))).rejects.toMatchObject({
        code: 'FILE_UNREADABLE',
      });
    });
  });
}
