import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, DIALECTS } from '../../../test/setup/databases.ts';
import type { TestDatabase } from '../../../test/setup/databases.ts';
import { VotervaultError } from '../../basics/index.ts';
import { createKeyRing } from '../../crypto/index.ts';
import { migrate, openDatabase } from '../../store/index.ts';
import { generateVoterFile } from '../generate.ts';
import { VOTERS_MIGRATIONS } from '../schema.ts';
import { ImportError } from './errors.ts';
import {
  describeThreadFailure,
  importThreadResourceLimits,
  importVoterFileInThread,
  rebuildThreadFailure,
} from './import-thread.ts';
import type { ImportInThreadOptions } from './import-thread.ts';
import type { ImportProgress } from './pipeline.ts';
import { IMPORT_MIGRATIONS } from './schema.ts';

let root: string;
let file: string;

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'votervault-import-thread-'));
  await createKeyRing({ dir: join(root, 'keys') });
  file = join(root, 'wa.txt');
  await generateVoterFile({ layout: 'wa', count: 150, seed: 'thread', out: file });
});

afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

describe('thread failures', () => {
  it('keep their code, name and position across the thread boundary', () => {
    const input = new ImportError('HEADER_MISMATCH', 'Cannot import', { line: 1, column: 4 });
    const rebuilt = rebuildThreadFailure(describeThreadFailure(input));
    expect(rebuilt).toBeInstanceOf(ImportError);
    expect(rebuilt).toMatchObject({ code: 'HEADER_MISMATCH', line: 1, column: 4 });
    const other = rebuildThreadFailure(
      describeThreadFailure(new VotervaultError('DATABASE_BUSY', 'Busy')),
    );
    expect(other).toMatchObject({ name: 'VotervaultError', code: 'DATABASE_BUSY' });
    const bug = rebuildThreadFailure(describeThreadFailure(new TypeError('x is undefined')));
    expect(bug).toMatchObject({ name: 'TypeError', message: 'x is undefined' });
    expect(importThreadResourceLimits(100).maxOldGenerationSizeMb).toBe(96);
    expect(importThreadResourceLimits(10_000).maxOldGenerationSizeMb).toBe(200);
  });
});

for (const dialect of DIALECTS) {
  describe(dialect, () => {
    let testDb: TestDatabase;

    beforeAll(async () => {
      testDb = await createTestDatabase(dialect);
      const handle = await openDatabase(testDb.location);
      try {
        await migrate(handle, [...VOTERS_MIGRATIONS, ...IMPORT_MIGRATIONS]);
      } finally {
        await handle.close();
      }
    });

    afterAll(async () => {
      await testDb.drop();
    });

    function options(overrides: Partial<ImportInThreadOptions>): ImportInThreadOptions {
      return {
        database: testDb.location,
        file,
        layout: 'wa',
        keys: { dir: join(root, 'keys') },
        quarantineDir: join(root, `quarantine-${dialect}`),
        appendLog: () => Promise.resolve(),
        operator: 'clerk',
        workers: 1,
        batchSize: 100,
        ...overrides,
      };
    }

    it('imports on its own thread, logging and reporting progress here', async () => {
      const entries: Uint8Array[] = [];
      const progress: ImportProgress[] = [];
      const report = await importVoterFileInThread(
        options({
          appendLog: (entry) => Promise.resolve(void entries.push(entry)),
          onProgress: (p) => progress.push(p),
        }),
      );
      expect(report.counts).toMatchObject({ added: 150, quarantined: 0 });
      expect(entries).toHaveLength(1);
      expect(progress.filter((p) => p.phase === 'importing').map((p) => p.rows)).toEqual([
        100, 150,
      ]);
    });

    it('passes errors of the import and of the log back with their codes', async () => {
      await expect(importVoterFileInThread(options({ layout: 'oh' }))).rejects.toMatchObject({
        name: 'ImportError',
        code: 'HEADER_MISMATCH',
        line: 1,
      });
      const failing = importVoterFileInThread(
        options({
          appendLog: () => Promise.reject(new VotervaultError('DISK_FULL', 'No space left')),
        }),
      );
      await expect(failing).rejects.toMatchObject({ code: 'DISK_FULL', message: 'No space left' });
    });
  });
}
