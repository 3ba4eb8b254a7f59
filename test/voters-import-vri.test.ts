// Importing NIST SP 1500-102 voter records interchange documents through the same importer as
// delimited files, on every dialect: records stored sealed, records without a state voter id
// quarantined with their JSON pointer, and a document that is not VRI refused whole.
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createKeyRing } from '../src/crypto/index.ts';
import type { KeyRing } from '../src/crypto/index.ts';
import { migrate, openDatabase } from '../src/store/index.ts';
import {
  IMPORT_MIGRATIONS,
  importVoterFile,
  parseVriDocument,
  readQuarantine,
  readVoter,
  VOTERS_MIGRATIONS,
} from '../src/voters/index.ts';
import type { ImportDatabase } from '../src/voters/index.ts';
import { createTestDatabase, DIALECTS } from './setup/databases.ts';

const FIXTURES = resolve(import.meta.dirname, 'fixtures/voters/nist-vri');
const RESULTS = join(FIXTURES, 'voter-record-results.json');
const OHIO = join(FIXTURES, 'ohio_registration.json');

let root: string;
let ring: KeyRing;

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'votervault-vri-import-'));
  ring = await createKeyRing({ dir: join(root, 'keys') });
});

afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

for (const dialect of DIALECTS) {
  describe(`NIST VRI import (${dialect})`, () => {
    it('stores each voter record sealed and quarantines a record without a state voter id', async () => {
      const testDb = await createTestDatabase(dialect);
      const handle = await openDatabase<ImportDatabase>(testDb.location);
      const entries: string[] = [];
      try {
        await migrate(handle, [...VOTERS_MIGRATIONS, ...IMPORT_MIGRATIONS]);
        const options = {
          db: handle,
          layout: 'nist-vri',
          keys: { dir: join(root, 'keys') },
          quarantineDir: join(root, `quarantine-${dialect}`),
          appendLog: (entry: Uint8Array): Promise<void> => {
            entries.push(Buffer.from(entry).toString());
            return Promise.resolve();
          },
          operator: 'test',
          workers: 0,
        };
        const expected = parseVriDocument(await readFile(RESULTS), RESULTS);
        const stored = expected.records.filter((r) => r.kind === 'fields');
        const report = await importVoterFile({ ...options, file: RESULTS });
        expect(report.layout).toBe('nist-vri');
        expect(report.counts.added + report.counts.quarantined).toBe(expected.records.length);
        expect(report.counts.added).toBe(stored.length);
        expect(stored.length).toBeGreaterThan(0);

        // Every stored record opens with its confidential fields (date of birth) sealed inside.
        for (const record of stored) {
          const voterId = record.fields[0]!;
          const view = await readVoter(handle, ring, voterId, {
            fieldClasses: ['public', 'confidential', 'protected'],
          });
          expect(view.voterId).toBe(voterId);
        }

        // NIST's own Ohio example is a new registration: no state voter id, so quarantined.
        const ohio = await importVoterFile({ ...options, file: OHIO });
        expect(ohio.counts).toMatchObject({ added: 0, quarantined: 1 });
        const quarantined = await readQuarantine(ohio.quarantineFile!);
        expect(quarantined).toEqual([
          expect.objectContaining({ line: 1, code: 'VOTER_ID_MISSING' }),
        ]);

        // Not a VRI document at all: refused whole, nothing stored.
        const bogus = join(root, `bogus-${dialect}.json`);
        await writeFile(bogus, JSON.stringify({ '@type': 'VRI.Nothing' }));
        await expect(importVoterFile({ ...options, file: bogus })).rejects.toMatchObject({
          code: expect.stringMatching(/^VRI_/),
        });
        // One log entry per completed import, with no personal data.
        expect(entries).toHaveLength(2);
        expect(entries.join('\n')).not.toContain('ROE');
      } finally {
        await handle.close();
        await testDb.drop();
      }
    });
  });
}
