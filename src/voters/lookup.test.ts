import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, DIALECTS } from '../../test/setup/databases.ts';
import type { TestDatabase } from '../../test/setup/databases.ts';
import { createKeyRing } from '../crypto/index.ts';
import type { KeyRing } from '../crypto/index.ts';
import { migrate, openDatabase } from '../store/index.ts';
import type { DatabaseHandle } from '../store/index.ts';
import { createVoterGenerator } from './generate.ts';
import { columnIndex, loadLayout } from './layout.ts';
import type { VoterLayout } from './layout.ts';
import { findVoter, lookupVoter, setPollingPlaces } from './lookup.ts';
import type { LookupLogEntry, LookupQuery } from './lookup.ts';
import { prepareVoterRow, writeVoterRows } from './record.ts';
import type { PreparedVoterRow } from './record.ts';
import { VOTERS_MIGRATIONS } from './schema.ts';
import type { VotersTables } from './schema.ts';

const OH = loadLayout('oh');
const WA = loadLayout('wa');
const FL = loadLayout('fl');

function generate(layout: VoterLayout, count: number, seed: number): string[][] {
  const generator = createVoterGenerator(layout, { seed });
  return Array.from({ length: count }, () => generator.next());
}

function get(layout: VoterLayout, fields: readonly string[], name: string): string {
  return fields[columnIndex(layout, name)] ?? '';
}

function countyName(layout: VoterLayout, code: string): string {
  return layout.counties?.find((c) => c.code === code)?.name ?? '';
}

function prepare(ring: KeyRing, layout: VoterLayout, fields: readonly string[]): PreparedVoterRow {
  const outcome = prepareVoterRow(ring, layout, fields, undefined);
  if (outcome.kind !== 'prepared') throw new Error(`Row not prepared: ${JSON.stringify(outcome)}`);
  return outcome.row;
}

let keysRoot: string;
let ring: KeyRing;

beforeAll(async () => {
  keysRoot = await mkdtemp(join(tmpdir(), 'votervault-lookup-'));
  ring = await createKeyRing({ dir: join(keysRoot, 'keys') });
});

afterAll(async () => {
  await rm(keysRoot, { recursive: true, force: true });
});

for (const dialect of DIALECTS) {
  describe(dialect, () => {
    let testDb: TestDatabase;
    let db: DatabaseHandle<VotersTables>;
    const oh = generate(OH, 40, 21);
    const wa = generate(WA, 40, 22);
    const fl = generate(FL, 20, 23);
    // A second voter with the name, date of birth and ZIP of oh[1] (another id, same county).
    const twin = [...oh[1]!];
    twin[columnIndex(OH, 'SOS_VOTERID')] = 'OH0000000001';
    const confidential = [...fl[0]!];
    confidential[columnIndex(FL, 'Requested_public_records_exemption')] = 'Y';
    fl[0] = confidential;

    const ohQuery = (fields: readonly string[]): LookupQuery => ({
      last: get(OH, fields, 'LAST_NAME').toLowerCase(),
      first: ` ${get(OH, fields, 'FIRST_NAME')} `,
      dob: get(OH, fields, 'DATE_OF_BIRTH'),
      zip: get(OH, fields, 'RESIDENTIAL_ZIP'),
    });

    beforeAll(async () => {
      testDb = await createTestDatabase(dialect);
      db = await openDatabase<VotersTables>(testDb.location);
      await migrate(db, VOTERS_MIGRATIONS);
      const rows = [
        ...oh.map((f) => prepare(ring, OH, f)),
        prepare(ring, OH, twin),
        ...wa.map((f) => prepare(ring, WA, f)),
        ...fl.map((f) => prepare(ring, FL, f)),
      ];
      await writeVoterRows(db, rows, { importId: 'i1', changedAt: '2026-01-01T00:00:00.000Z' });
      await setPollingPlaces(db, [
        {
          jurisdiction: get(OH, oh[0]!, 'COUNTY_NUMBER'),
          precinct: get(OH, oh[0]!, 'PRECINCT_CODE'),
          name: 'Central Library',
          address: '1 Main St',
        },
        {
          jurisdiction: get(FL, confidential, 'County_Code'),
          precinct: get(FL, confidential, 'Precinct'),
          name: 'Fire Station 3',
          address: '3 Oak Ave',
        },
      ]);
    });

    afterAll(async () => {
      await db.close();
      await testDb.drop();
    });

    it('finds a voter by name, full date of birth and ZIP, answering only status and place', async () => {
      const result = await findVoter(db, ring, ohQuery(oh[0]!));
      expect(result.answer).toEqual({
        status: 'found',
        voterStatus: get(OH, oh[0]!, 'VOTER_STATUS'),
        precinct: get(OH, oh[0]!, 'PRECINCT_CODE'),
        pollingPlace: { name: 'Central Library', address: '1 Main St' },
      });
      expect(result.subject).toBe(ring.subjectTag(get(OH, oh[0]!, 'SOS_VOTERID')));
      expect(JSON.stringify(result.answer)).not.toContain(get(OH, oh[0]!, 'DATE_OF_BIRTH'));
    });

    it('finds a voter by county name instead of ZIP', async () => {
      const fields = oh[2]!;
      const { last, first, dob } = ohQuery(fields);
      const query = { last, first, dob };
      const county = `${countyName(OH, get(OH, fields, 'COUNTY_NUMBER'))} County`;
      const result = await findVoter(db, ring, { ...query, county });
      expect(result.answer).toMatchObject({ status: 'found', pollingPlace: null });
    });

    it('answers no match and several matches identically', async () => {
      const none = await findVoter(db, ring, { ...ohQuery(oh[0]!), dob: '1901-01-01' });
      const several = await findVoter(db, ring, ohQuery(oh[1]!));
      expect(none).toEqual({ answer: { status: 'not-found' }, subject: undefined });
      expect(several).toEqual(none);
      expect(JSON.stringify(several)).toBe(JSON.stringify(none));
    });

    it('does not find a full-date record by its birth year alone', async () => {
      const query = ohQuery(oh[3]!);
      const result = await findVoter(db, ring, { ...query, dob: query.dob.slice(0, 4) });
      expect(result.answer.status).toBe('not-found');
    });

    it('finds a year-only record by its birth year or by any full date in that year', async () => {
      const fields = wa[0]!;
      const year = get(WA, fields, 'Birthyear');
      const base = {
        last: get(WA, fields, 'LName'),
        first: get(WA, fields, 'FName'),
        county: countyName(WA, get(WA, fields, 'CountyCode')),
      };
      const byYear = await findVoter(db, ring, { ...base, dob: year });
      expect(byYear.answer).toMatchObject({
        status: 'found',
        voterStatus: get(WA, fields, 'StatusCode'),
        precinct: get(WA, fields, 'PrecinctCode'),
      });
      const byDate = await findVoter(db, ring, { ...base, dob: `${year}-07-04` });
      expect(byDate).toEqual(byYear);
      const otherYear = await findVoter(db, ring, { ...base, dob: `${Number(year) + 1}` });
      expect(otherYear.answer.status).toBe('not-found');
    });

    it("opens a confidential voter's record for its sealed precinct", async () => {
      const [m, d, y] = get(FL, confidential, 'Birth_Date').split('/');
      const result = await findVoter(db, ring, {
        last: get(FL, confidential, 'Name_Last'),
        first: get(FL, confidential, 'Name_First'),
        dob: `${y}-${m}-${d}`,
        county: countyName(FL, get(FL, confidential, 'County_Code')),
      });
      expect(result.answer).toEqual({
        status: 'found',
        voterStatus: get(FL, confidential, 'Voter_Status'),
        precinct: get(FL, confidential, 'Precinct'),
        pollingPlace: { name: 'Fire Station 3', address: '3 Oak Ave' },
      });
    });

    it('answers concurrent lookups, batched, as it answers them one by one', async () => {
      const queries = [
        ...oh.slice(0, 20).map(ohQuery),
        ...oh.slice(0, 10).map((f) => ({ ...ohQuery(f), dob: '1900-02-03' })),
      ];
      const oneByOne = [];
      for (const query of queries) oneByOne.push(await findVoter(db, ring, query));
      const together = await Promise.all(queries.map((query) => findVoter(db, ring, query)));
      expect(together).toEqual(oneByOne);
      expect(together.filter((r) => r.answer.status === 'found')).toHaveLength(19);
    });

    it('logs every lookup with the subject tag only', async () => {
      const entries: LookupLogEntry[] = [];
      const options = {
        channel: 'test',
        appendLog: (entry: LookupLogEntry) => {
          entries.push(entry);
          return Promise.resolve();
        },
        now: () => new Date('2026-11-03T12:00:00.000Z'),
      };
      const found = await lookupVoter(db, ring, ohQuery(oh[0]!), options);
      const missing = await lookupVoter(db, ring, ohQuery(oh[1]!), options);
      expect(found.answer.status).toBe('found');
      expect(found.subject).toBe(ring.subjectTag(get(OH, oh[0]!, 'SOS_VOTERID')));
      expect(missing).toEqual({ answer: { status: 'not-found' }, subject: undefined });
      expect(entries).toEqual([
        {
          type: 'lookup',
          channel: 'test',
          result: 'found',
          subjects: [ring.subjectTag(get(OH, oh[0]!, 'SOS_VOTERID'))],
          time: '2026-11-03T12:00:00.000Z',
        },
        {
          type: 'lookup',
          channel: 'test',
          result: 'not-found',
          subjects: [],
          time: '2026-11-03T12:00:00.000Z',
        },
      ]);
      // No answer without its log entry.
      await expect(
        lookupVoter(db, ring, ohQuery(oh[0]!), {
          channel: 'test',
          appendLog: () => Promise.reject(new Error('log is down')),
        }),
      ).rejects.toThrow('log is down');
    });

    it('refuses malformed queries with a coded error that quotes no value', async () => {
      const base = ohQuery(oh[0]!);
      for (const query of [
        { ...base, dob: '01/02/1980' },
        { ...base, dob: '1980-02-30' },
        { last: base.last, first: base.first, dob: base.dob },
        { ...base, last: "'--" },
        { ...base, first: 'x'.repeat(300) },
        { ...base, zip: 'ABCDE' },
      ]) {
        const error: unknown = await findVoter(db, ring, query).catch((e: unknown) => e);
        expect(error).toMatchObject({ code: 'LOOKUP_QUERY_INVALID' });
        expect((error as Error).message).not.toContain(base.last);
      }
    });
  });
}
