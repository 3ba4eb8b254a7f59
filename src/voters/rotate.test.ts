import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createTestDatabase, DIALECTS } from '../../test/setup/databases.ts';
import type { TestDatabase } from '../../test/setup/databases.ts';
import { createKeyRing, loadKeyRing } from '../crypto/index.ts';
import type { KeyRing } from '../crypto/index.ts';
import { migrate, openDatabase } from '../store/index.ts';
import type { DatabaseHandle } from '../store/index.ts';
import { createVoterGenerator } from './generate.ts';
import { loadLayout } from './layout.ts';
import { prepareVoterRow, readVoter, shredVoter, updateVoter, writeVoterRows } from './record.ts';
import type { PreparedVoterRow } from './record.ts';
import { rotateKeys } from './rotate.ts';
import type { RotationProgress, RotationSummary } from './rotate.ts';
import { VOTERS_MIGRATIONS } from './schema.ts';
import type { VotersTables } from './schema.ts';
import { verifyStore } from './verify.ts';

const NC = loadLayout('nc');
const VOTERS = 45;

class SimulatedCrash extends Error {}

for (const dialect of DIALECTS) {
  describe(dialect, () => {
    let testDb: TestDatabase;
    let db: DatabaseHandle<VotersTables>;
    let keysRoot: string;
    let ring: KeyRing;
    let voterIds: string[];

    beforeEach(async () => {
      keysRoot = await mkdtemp(join(tmpdir(), 'votervault-rotate-'));
      ring = await createKeyRing({ dir: join(keysRoot, 'keys') });
      testDb = await createTestDatabase(dialect);
      db = await openDatabase<VotersTables>(testDb.location);
      await migrate(db, VOTERS_MIGRATIONS);
      const generator = createVoterGenerator(NC, { seed: 31 });
      const rows: PreparedVoterRow[] = [];
      for (let i = 0; i < VOTERS; i++) {
        const outcome = prepareVoterRow(ring, NC, generator.next(), undefined);
        if (outcome.kind === 'prepared') rows.push(outcome.row);
      }
      await writeVoterRows(db, rows, { importId: 'i1', changedAt: '2026-01-01T00:00:00.000Z' });
      voterIds = rows.map((row) => row.voterId).sort();
      // Some history rows, wrapped under version 1 as well.
      for (const voterId of voterIds.slice(0, 5)) {
        await updateVoter(db, ring, voterId, { protected: { race_code: 'O' } }, { reason: 'test' });
      }
    });

    afterEach(async () => {
      await db.close();
      await testDb.drop();
      await rm(keysRoot, { recursive: true, force: true });
    });

    async function keyVersions(): Promise<number[]> {
      const current = await db.db.selectFrom('voter').select('key_version').execute();
      const history = await db.db.selectFrom('voter_version').select('key_version').execute();
      return [...current, ...history].map((row) => Number(row.key_version));
    }

    it('re-wraps every key, retires the old version and keeps every record readable', async () => {
      const progress: RotationProgress[] = [];
      const logged: RotationSummary[] = [];
      const summary = await rotateKeys(db, ring, {
        batchSize: 16,
        onProgress: (p) => progress.push(p),
        appendLog: (entry) => {
          logged.push(entry);
          return Promise.resolve();
        },
      });
      expect(summary).toMatchObject({
        type: 'key-rotation',
        fromVersions: [1],
        toVersion: 2,
        rowsRewrapped: VOTERS + 5,
        retiredVersions: [1],
        resumed: false,
      });
      expect(logged).toEqual([summary]);
      expect(progress.at(-1)).toMatchObject({ rewrapped: VOTERS + 5, remaining: 0 });
      expect(new Set(await keyVersions())).toEqual(new Set([2]));
      expect(ring.versions()).toEqual([
        { version: 1, status: 'retired' },
        { version: 2, status: 'active' },
      ]);
      expect(existsSync(join(keysRoot, 'keys', 'root-v1.key'))).toBe(false);
      const view = await readVoter(db, ring, voterIds[0]!, { fieldClasses: ['protected'] });
      expect(view.fields.protected?.['race_code']).toBe('O');
      const report = await verifyStore(db, ring);
      expect(report).toMatchObject({ ok: true, checked: VOTERS + 5, problems: [] });
      // The summary carries versions and counts, nothing about a voter.
      expect(JSON.stringify(summary)).not.toMatch(new RegExp(voterIds.join('|')));
    });

    it('resumes after a crash midway, reading every row meanwhile', async () => {
      let batches = 0;
      await expect(
        rotateKeys(db, ring, {
          batchSize: 10,
          onProgress: () => {
            if (++batches === 2) throw new SimulatedCrash('killed');
          },
        }),
      ).rejects.toBeInstanceOf(SimulatedCrash);
      const mixed = await keyVersions();
      expect(mixed.filter((v) => v === 2)).toHaveLength(20);
      expect(mixed.filter((v) => v === 1)).toHaveLength(VOTERS + 5 - 20);
      // A process that starts now loads the ring from disk: both versions open.
      const reloaded = await loadKeyRing({ dir: join(keysRoot, 'keys') });
      expect(reloaded.currentVersion).toBe(2);
      for (const voterId of voterIds) {
        const view = await readVoter(db, reloaded, voterId, { fieldClasses: ['protected'] });
        expect(view.fields.protected?.['race_code']).toBeDefined();
      }
      const summary = await rotateKeys(db, reloaded, { batchSize: 10 });
      expect(summary).toMatchObject({
        rotationId: 1,
        fromVersions: [1],
        toVersion: 2,
        rowsRewrapped: VOTERS + 5,
        retiredVersions: [1],
        resumed: true,
      });
      expect(new Set(await keyVersions())).toEqual(new Set([2]));
      expect((await verifyStore(db, reloaded)).ok).toBe(true);
      // A later rotation starts afresh.
      const next = await rotateKeys(db, reloaded);
      expect(next).toMatchObject({
        rotationId: 2,
        fromVersions: [2],
        toVersion: 3,
        resumed: false,
      });
    });

    it('continues a rotation recorded before the ring rotated', async () => {
      await db.db
        .insertInto('voter_key_rotation')
        .values({
          rotation_id: 1,
          from_versions: '[1]',
          to_version: 2,
          started_at: '2026-01-01T00:00:00.000Z',
          finished_at: null,
          rows_rewrapped: 0,
        })
        .execute();
      expect(ring.currentVersion).toBe(1);
      const summary = await rotateKeys(db, ring);
      expect(summary).toMatchObject({ toVersion: 2, resumed: true, rowsRewrapped: VOTERS + 5 });
      expect(ring.currentVersion).toBe(2);
    });

    it('refuses to continue with a ring that disagrees with the recorded rotation', async () => {
      await db.db
        .insertInto('voter_key_rotation')
        .values({
          rotation_id: 1,
          from_versions: '[1]',
          to_version: 5,
          started_at: '2026-01-01T00:00:00.000Z',
          finished_at: null,
          rows_rewrapped: 0,
        })
        .execute();
      await expect(rotateKeys(db, ring)).rejects.toMatchObject({ code: 'ROTATION_CONFLICT' });
    });

    it('does not re-wrap or count the keys of shredded records', async () => {
      await shredVoter(db, voterIds[0]!);
      const summary = await rotateKeys(db, ring);
      expect(summary.rowsRewrapped).toBe(VOTERS + 5 - 2);
      expect(await verifyStore(db, ring)).toMatchObject({ ok: true, shredded: 2 });
    });
  });
}
