// Storage, publication and verification of results on every dialect, with a real log.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  RESULTS_MIGRATIONS,
  electionResults,
  importResults,
  latestPublication,
  loadElection,
  parseOpenElectionsCsv,
  publicationHistory,
  publishResults,
  readResultsFile,
  verifyPublication,
} from '../src/results/index.ts';
import type { ResultsTables } from '../src/results/index.ts';
import { migrate, openDatabase } from '../src/store/index.ts';
import type { DatabaseHandle } from '../src/store/index.ts';
import {
  createLogKeys,
  loadLogKeys,
  openLogAppender,
  parseVerifierKey,
  signCheckpoint,
} from '../src/tlog/index.ts';
import type { LogAppender, NoteVerifier } from '../src/tlog/index.ts';
import { createTestDatabase, DIALECTS } from './setup/databases.ts';
import type { TestDatabase } from './setup/databases.ts';

const DATA = resolve(import.meta.dirname, '../../shared/data/results');
const DE = resolve(DATA, 'openelections-de/20201103__de__general__county.csv');
const DE_ID = 'de-2020-11-03-general';

interface Log {
  readonly dir: string;
  readonly appender: LogAppender;
  readonly verifiers: NoteVerifier[];
}

async function openLog(): Promise<Log> {
  const dir = await mkdtemp(join(tmpdir(), 'votervault-results-log-'));
  await createLogKeys(join(dir, 'keys'), 'votervault.test/results');
  const keys = await loadLogKeys(join(dir, 'keys'));
  const appender = await openLogAppender({
    logDir: join(dir, 'log'),
    origin: keys.origin,
    sign: (checkpoint) => signCheckpoint(checkpoint, keys.signers),
  });
  return { dir, appender, verifiers: keys.verifierKeys.map((k) => parseVerifierKey(k)) };
}

for (const dialect of DIALECTS) {
  describe(dialect, () => {
    let testDb: TestDatabase;
    let handle: DatabaseHandle<ResultsTables>;
    let log: Log;
    beforeAll(async () => {
      testDb = await createTestDatabase(dialect);
      handle = await openDatabase<ResultsTables>(testDb.location);
      await migrate(handle, RESULTS_MIGRATIONS);
      log = await openLog();
    });
    afterAll(async () => {
      await handle.close();
      await testDb.drop();
      await log.appender.close();
      await rm(log.dir, { recursive: true, force: true });
    });

    const publish = (now?: () => Date): ReturnType<typeof publishResults> =>
      publishResults(handle, DE_ID, {
        appendLog: (entry) => log.appender.append(entry),
        ...(now === undefined ? {} : { now }),
      });
    const verify = (sequence?: number): ReturnType<typeof verifyPublication> =>
      verifyPublication(handle, DE_ID, {
        logDir: join(log.dir, 'log'),
        verifiers: log.verifiers,
        ...(sequence === undefined ? {} : { sequence }),
      });
    /** Overwrites a column of the first publication, as someone with database access could. */
    const tamperFirst = (set: { snapshot: string } | { sha256: string }): Promise<unknown> =>
      handle.db
        .updateTable('results_publication')
        .set(set)
        .where('election_id', '=', DE_ID)
        .where('sequence', '=', 1)
        .execute();

    it('imports a file, re-imports it idempotently, and rolls a failed import back', async () => {
      const { document } = await readResultsFile(DE);
      const first = await importResults(handle, document, { fileName: 'de.csv' });
      expect(first).toMatchObject({
        replaced: false,
        counts: 144,
        electionId: DE_ID,
      });
      const before = await loadElection(handle, DE_ID);
      const again = await importResults(handle, document, { fileName: 'de.csv' });
      expect(again.replaced).toBe(true);
      const after = await loadElection(handle, DE_ID);
      expect(after.counts).toEqual(before.counts);
      expect(after.contests).toEqual(document.contests);
      expect(electionResults(after, { view: 'public' }).contests).toEqual(
        electionResults(document, { view: 'public' }).contests,
      );
      // Two contests with one id break a primary key: nothing of the failed import remains.
      const broken = { ...document, contests: [...document.contests, document.contests[0]!] };
      await expect(importResults(handle, broken, { fileName: 'de.csv' })).rejects.toMatchObject({
        code: 'CONSTRAINT_VIOLATION',
      });
      expect((await loadElection(handle, DE_ID)).counts).toEqual(before.counts);
    });

    it('publishes, lists the history with changes, and verifies against the log', async () => {
      const first = await publish(() => new Date('2020-11-04T02:00:00Z'));
      expect(first.sequence).toBe(1);
      expect(first.logIndex).toEqual(expect.any(Number));
      expect(first.changes.every((c) => c.change === 'added')).toBe(true);
      const v1 = await verify();
      expect(v1).toMatchObject({ sequence: 1, matchesCurrentData: true, logIndex: first.logIndex });

      // A correction: one county's count for one choice changes.
      const text = (await import('node:fs')).readFileSync(DE, 'utf8').replace(',195034', ',195035');
      const corrected = parseOpenElectionsCsv(text, '20201103__de__general__county.csv');
      await importResults(handle, corrected, { fileName: 'de.csv' });
      expect((await verify()).matchesCurrentData).toBe(false);
      const second = await publish();
      expect(second.sequence).toBe(2);
      const history = await publicationHistory(handle, DE_ID);
      expect(history.map((h) => h.sequence)).toEqual([1, 2]);
      expect(history[1]?.changes).toEqual([
        {
          contestId: 'president',
          name: 'President',
          change: 'changed',
          choices: [expect.objectContaining({ before: 296268, after: 296269 })],
        },
      ]);
      const latest = await latestPublication(handle, DE_ID);
      expect(latest?.sequence).toBe(2);
      expect(latest?.snapshot.format).toBe('votervault-results/1');
      expect(latest?.snapshot.contests[0]?.view).toBe('public');
      // The first publication still verifies: corrections never overwrite.
      await expect(verify(1)).resolves.toMatchObject({ sequence: 1 });
    });

    it('detects a stored snapshot that was edited', async () => {
      const row = await handle.db
        .selectFrom('results_publication')
        .select(['snapshot'])
        .where('election_id', '=', DE_ID)
        .where('sequence', '=', 1)
        .executeTakeFirstOrThrow();
      const forged = row.snapshot.replace('296268', '296000');
      await tamperFirst({ snapshot: forged });
      await expect(verify(1)).rejects.toMatchObject({ code: 'PUBLICATION_INVALID' });
      // Editing the hash too is caught by the log entry.
      const edited = await latestPublication(handle, DE_ID);
      const { createHash } = await import('node:crypto');
      await tamperFirst({ sha256: createHash('sha256').update(forged).digest('hex') });
      await expect(verify(1)).rejects.toThrow(/does not announce this snapshot/);
      expect(edited?.sequence).toBe(2);
    });

    it('refuses unknown elections and removes the row when the log refuses the entry', async () => {
      await expect(loadElection(handle, 'nope')).rejects.toMatchObject({
        code: 'ELECTION_NOT_FOUND',
      });
      await expect(
        publishResults(handle, DE_ID, {
          appendLog: () => Promise.reject(new Error('log down')),
        }),
      ).rejects.toThrow('log down');
      expect((await publicationHistory(handle, DE_ID)).map((h) => h.sequence)).toEqual([1, 2]);
    });
  });
}
