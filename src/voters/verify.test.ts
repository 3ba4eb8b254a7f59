import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeAll, beforeEach, afterAll, describe, expect, it } from 'vitest';
import { createTestDatabase, DIALECTS } from '../../test/setup/databases.ts';
import type { TestDatabase } from '../../test/setup/databases.ts';
import { createKeyRing } from '../crypto/index.ts';
import type { KeyRing } from '../crypto/index.ts';
import { migrate, openDatabase } from '../store/index.ts';
import type { DatabaseHandle } from '../store/index.ts';
import { createVoterGenerator } from './generate.ts';
import { loadLayout } from './layout.ts';
import { prepareVoterRow, readVoter, shredVoter, updateVoter, writeVoterRows } from './record.ts';
import type { PreparedVoterRow } from './record.ts';
import { VOTERS_MIGRATIONS } from './schema.ts';
import type { VotersTables } from './schema.ts';
import { verifyStore } from './verify.ts';
import type { RowProblem } from './verify.ts';

const OH = loadLayout('oh');

let keysRoot: string;
let ring: KeyRing;

beforeAll(async () => {
  keysRoot = await mkdtemp(join(tmpdir(), 'votervault-verify-'));
  ring = await createKeyRing({ dir: join(keysRoot, 'keys') });
});

afterAll(async () => {
  await rm(keysRoot, { recursive: true, force: true });
});

for (const dialect of DIALECTS) {
  describe(dialect, () => {
    let testDb: TestDatabase;
    let db: DatabaseHandle<VotersTables>;
    let ids: string[];

    beforeEach(async () => {
      testDb = await createTestDatabase(dialect);
      db = await openDatabase<VotersTables>(testDb.location);
      await migrate(db, VOTERS_MIGRATIONS);
      const generator = createVoterGenerator(OH, { seed: 41 });
      const rows: PreparedVoterRow[] = [];
      for (let i = 0; i < 12; i++) {
        const outcome = prepareVoterRow(ring, OH, generator.next(), undefined);
        if (outcome.kind === 'prepared') rows.push(outcome.row);
      }
      await writeVoterRows(db, rows, { importId: 'i1', changedAt: '2026-01-01T00:00:00.000Z' });
      ids = rows.map((row) => row.voterId).sort();
      await updateVoter(
        db,
        ring,
        ids[0]!,
        { public: { PARTY_AFFILIATION: 'L' } },
        { reason: 'test' },
      );
    });

    afterEach(async () => {
      await db.close();
      await testDb.drop();
    });

    async function sealedOf(voterId: string) {
      return db.db
        .selectFrom('voter')
        .select(['sealed', 'wrapped_key', 'public_fields'])
        .where('voter_id', '=', voterId)
        .executeTakeFirstOrThrow();
    }

    function problem(voterId: string, reason: RowProblem['reason'], rowVersion = 1): RowProblem {
      return { voterId, rowVersion, table: 'current', reason };
    }

    it('passes an untouched store, history included', async () => {
      const report = await verifyStore(db, ring);
      expect(report).toEqual({ checked: 13, problems: [], shredded: 0, ok: true });
    });

    it('detects public fields edited in the database', async () => {
      const row = await sealedOf(ids[1]!);
      const edited = JSON.stringify({ ...JSON.parse(row.public_fields), LAST_NAME: 'SOMEONE' });
      await db.db
        .updateTable('voter')
        .set({ public_fields: edited })
        .where('voter_id', '=', ids[1]!)
        .execute();
      await db.db
        .updateTable('voter')
        .set({ public_fields: '{"LAST_NAME":' })
        .where('voter_id', '=', ids[2]!)
        .execute();
      const report = await verifyStore(db, ring);
      expect(report.ok).toBe(false);
      expect(report.problems).toEqual([
        problem(ids[1]!, 'public-fields-altered'),
        problem(ids[2]!, 'public-fields-altered'),
      ]);
      // Readers refuse the edited row rather than show the edit.
      await expect(
        readVoter(db, ring, ids[1]!, { fieldClasses: ['confidential'] }),
      ).rejects.toMatchObject({ code: 'ENVELOPE_INVALID' });
    });

    it('detects sealed blobs swapped between two rows', async () => {
      const a = await sealedOf(ids[3]!);
      const b = await sealedOf(ids[4]!);
      // Whole envelopes (ciphertext and wrapped key) of two voters.
      await db.db
        .updateTable('voter')
        .set({ sealed: b.sealed, wrapped_key: b.wrapped_key })
        .where('voter_id', '=', ids[3]!)
        .execute();
      await db.db
        .updateTable('voter')
        .set({ sealed: a.sealed, wrapped_key: a.wrapped_key })
        .where('voter_id', '=', ids[4]!)
        .execute();
      // Ciphertexts alone of two others.
      const c = await sealedOf(ids[5]!);
      const d = await sealedOf(ids[6]!);
      await db.db
        .updateTable('voter')
        .set({ sealed: d.sealed })
        .where('voter_id', '=', ids[5]!)
        .execute();
      await db.db
        .updateTable('voter')
        .set({ sealed: c.sealed })
        .where('voter_id', '=', ids[6]!)
        .execute();
      const report = await verifyStore(db, ring);
      expect(report.problems).toEqual([
        problem(ids[3]!, 'wrapped-key-invalid'),
        problem(ids[4]!, 'wrapped-key-invalid'),
        problem(ids[5]!, 'ciphertext-invalid'),
        problem(ids[6]!, 'ciphertext-invalid'),
      ]);
    });

    it('detects a flipped ciphertext byte, a changed key version and edited clear columns', async () => {
      const row = await sealedOf(ids[7]!);
      const flipped = Buffer.from(row.sealed);
      flipped[20] = (flipped[20] ?? 0) ^ 0x01;
      await db.db
        .updateTable('voter')
        .set({ sealed: flipped })
        .where('voter_id', '=', ids[7]!)
        .execute();
      await db.db
        .updateTable('voter')
        .set({ key_version: 7 })
        .where('voter_id', '=', ids[8]!)
        .execute();
      await db.db
        .updateTable('voter')
        .set({ status: 'ACTIVE-X' })
        .where('voter_id', '=', ids[9]!)
        .execute();
      await db.db
        .updateTable('voter')
        .set({ jurisdiction: '99' })
        .where('voter_id', '=', ids[10]!)
        .execute();
      const report = await verifyStore(db, ring);
      expect(report.problems).toEqual([
        problem(ids[7]!, 'ciphertext-invalid'),
        problem(ids[8]!, 'key-version-unknown'),
        problem(ids[9]!, 'clear-columns-altered'),
        problem(ids[10]!, 'ciphertext-invalid'),
      ]);
    });

    it('checks history rows and reports shredded rows apart from tampering', async () => {
      await db.db
        .updateTable('voter_version')
        .set({ public_fields: '{}' })
        .where('voter_id', '=', ids[0]!)
        .execute();
      await shredVoter(db, ids[11]!);
      const report = await verifyStore(db, ring);
      expect(report.shredded).toBe(1);
      expect(report.ok).toBe(false);
      expect(report.problems).toEqual([
        problem(ids[11]!, 'shredded'),
        { voterId: ids[0]!, rowVersion: 1, table: 'history', reason: 'public-fields-altered' },
      ]);
      // Nothing in the report is a field value.
      expect(JSON.stringify(report)).not.toMatch(/LAST_NAME|DATE_OF_BIRTH|\d{4}-\d{2}-\d{2}/);
    });
  });
}
