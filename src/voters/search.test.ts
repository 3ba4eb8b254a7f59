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
import { prepareVoterRow, updateVoter, writeVoterRows } from './record.ts';
import type { PreparedVoterRow } from './record.ts';
import { VOTERS_MIGRATIONS } from './schema.ts';
import type { VotersTables } from './schema.ts';
import { MAX_SEARCH_RESULTS, searchVoters, voterJurisdiction } from './search.ts';
import type { SearchQuery } from './search.ts';

const OH = loadLayout('oh');
const NC = loadLayout('nc');

function generate(layout: VoterLayout, count: number, seed: number): string[][] {
  const generator = createVoterGenerator(layout, { seed });
  return Array.from({ length: count }, () => generator.next());
}

function get(layout: VoterLayout, fields: readonly string[], name: string): string {
  return fields[columnIndex(layout, name)] ?? '';
}

function prepare(ring: KeyRing, layout: VoterLayout, fields: readonly string[]): PreparedVoterRow {
  const outcome = prepareVoterRow(ring, layout, fields, undefined);
  if (outcome.kind !== 'prepared') throw new Error(`Row not prepared: ${JSON.stringify(outcome)}`);
  return outcome.row;
}

let keysRoot: string;
let ring: KeyRing;

beforeAll(async () => {
  keysRoot = await mkdtemp(join(tmpdir(), 'votervault-search-'));
  ring = await createKeyRing({ dir: join(keysRoot, 'keys') });
});

afterAll(async () => {
  await rm(keysRoot, { recursive: true, force: true });
});

for (const dialect of DIALECTS) {
  describe(dialect, () => {
    let testDb: TestDatabase;
    let db: DatabaseHandle<VotersTables>;
    const oh = generate(OH, 30, 31);
    const nc = generate(NC, 30, 32);
    const original = oh[1]!;
    // Two more voters with the name, date of birth and ZIP of oh[1]: one in another county.
    const twin = [...original];
    twin[columnIndex(OH, 'SOS_VOTERID')] = 'OH0000000001';
    const elsewhere = [...original];
    elsewhere[columnIndex(OH, 'SOS_VOTERID')] = 'OH0000000002';
    const ownCounty = get(OH, original, 'COUNTY_NUMBER');
    const otherCounty = OH.counties!.find((c) => c.code !== ownCounty)!.code;
    elsewhere[columnIndex(OH, 'COUNTY_NUMBER')] = otherCounty;

    const ohQuery = (fields: readonly string[]): SearchQuery => ({
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
        prepare(ring, OH, elsewhere),
        ...nc.map((f) => prepare(ring, NC, f)),
      ];
      await writeVoterRows(db, rows, { importId: 'i1', changedAt: '2026-01-01T00:00:00.000Z' });
    });

    afterAll(async () => {
      await db.close();
      await testDb.drop();
    });

    it('lists every voter matching, ordered by id, with public fields only', async () => {
      const result = await searchVoters(db, ring, ohQuery(original), {
        jurisdictions: 'state',
        limit: 10,
        offset: 0,
      });
      const ids = [get(OH, original, 'SOS_VOTERID'), 'OH0000000001', 'OH0000000002'].sort();
      expect(result.hits.map((hit) => hit.voterId)).toEqual(ids);
      expect(result).toMatchObject({ total: 3, hasMore: false, limit: 10, offset: 0 });
      const hit = result.hits.find((h) => h.voterId === 'OH0000000001')!;
      expect(hit.jurisdiction).toBe(ownCounty);
      expect(hit.status).toBe(get(OH, twin, 'VOTER_STATUS'));
      expect(hit.publicFields['LAST_NAME']).toBe(get(OH, twin, 'LAST_NAME'));
      // The date of birth is confidential in Ohio: never among the public fields of a hit.
      expect(hit.publicFields).not.toHaveProperty('DATE_OF_BIRTH');
    });

    it('keeps to the jurisdictions asked', async () => {
      const own = await searchVoters(db, ring, ohQuery(original), {
        jurisdictions: [ownCounty],
        limit: 10,
        offset: 0,
      });
      expect(own.hits.map((h) => h.jurisdiction)).toEqual([ownCounty, ownCounty]);
      expect(own.total).toBe(2);
      const other = await searchVoters(db, ring, ohQuery(original), {
        jurisdictions: [otherCounty],
        limit: 10,
        offset: 0,
      });
      expect(other.hits.map((h) => h.voterId)).toEqual(['OH0000000002']);
      const none = await searchVoters(db, ring, ohQuery(original), {
        jurisdictions: [],
        limit: 10,
        offset: 0,
      });
      expect(none).toMatchObject({ hits: [], total: 0, hasMore: false });
    });

    it('pages through the matches and caps the page size', async () => {
      const first = await searchVoters(db, ring, ohQuery(original), {
        jurisdictions: 'state',
        limit: 2,
        offset: 0,
      });
      const second = await searchVoters(db, ring, ohQuery(original), {
        jurisdictions: 'state',
        limit: 2,
        offset: 2,
      });
      expect(first).toMatchObject({ total: 3, hasMore: true });
      expect(second).toMatchObject({ total: 3, hasMore: false });
      expect([...first.hits, ...second.hits].map((h) => h.voterId)).toEqual(
        [get(OH, original, 'SOS_VOTERID'), 'OH0000000001', 'OH0000000002'].sort(),
      );
      const capped = await searchVoters(db, ring, ohQuery(original), {
        jurisdictions: 'state',
        limit: 10_000,
        offset: 0,
      });
      expect(capped.limit).toBe(MAX_SEARCH_RESULTS);
      const past = await searchVoters(db, ring, ohQuery(original), {
        jurisdictions: 'state',
        limit: 5,
        offset: 50,
      });
      expect(past).toMatchObject({ hits: [], total: 3, hasMore: false });
    });

    it('finds a birth-year record by county name, and by the full date', async () => {
      const voter = nc[3]!;
      const countyCode = get(NC, voter, 'county_id');
      const countyName = get(NC, voter, 'county_desc');
      const query = {
        last: get(NC, voter, 'last_name'),
        first: get(NC, voter, 'first_name'),
        county: countyName.toLowerCase(),
      };
      const byYear = await searchVoters(
        db,
        ring,
        { ...query, dob: get(NC, voter, 'birth_year') },
        { jurisdictions: [countyCode], limit: 5, offset: 0 },
      );
      expect(byYear.hits.map((h) => h.voterId)).toContain(get(NC, voter, 'ncid'));
      // Race is a protected attribute: it is never in a hit.
      expect(byYear.hits[0]!.publicFields).not.toHaveProperty('race_code');
      const byDate = await searchVoters(
        db,
        ring,
        { ...query, dob: `${get(NC, voter, 'birth_year')}-06-15` },
        { jurisdictions: 'state', limit: 5, offset: 0 },
      );
      expect(byDate.hits.map((h) => h.voterId)).toContain(get(NC, voter, 'ncid'));
    });

    it('finds a changed voter under the new name only', async () => {
      const voter = oh[5]!;
      const id = get(OH, voter, 'SOS_VOTERID');
      await updateVoter(
        db,
        ring,
        id,
        { public: { LAST_NAME: 'Quillfeather' } },
        { reason: 'name change' },
      );
      const old = await searchVoters(db, ring, ohQuery(voter), {
        jurisdictions: 'state',
        limit: 5,
        offset: 0,
      });
      expect(old.hits.map((h) => h.voterId)).not.toContain(id);
      const renamed = await searchVoters(
        db,
        ring,
        { ...ohQuery(voter), last: 'QUILLFEATHER' },
        { jurisdictions: 'state', limit: 5, offset: 0 },
      );
      expect(renamed.hits.map((h) => h.voterId)).toEqual([id]);
    });

    it('refuses malformed queries and pages without naming the values', async () => {
      const query = ohQuery(original);
      const page = { jurisdictions: 'state', limit: 5, offset: 0 } as const;
      await expect(
        searchVoters(db, ring, { ...query, dob: '15/06/1980' }, page),
      ).rejects.toMatchObject({
        code: 'LOOKUP_QUERY_INVALID',
      });
      const noPlace: SearchQuery = { last: query.last, first: query.first, dob: query.dob };
      await expect(searchVoters(db, ring, noPlace, page)).rejects.toMatchObject({
        code: 'LOOKUP_QUERY_INVALID',
      });
      await expect(
        searchVoters(db, ring, { ...query, last: 'x'.repeat(5000) }, page),
      ).rejects.toMatchObject({ code: 'LOOKUP_QUERY_INVALID' });
      await expect(searchVoters(db, ring, query, { ...page, offset: -1 })).rejects.toMatchObject({
        code: 'LOOKUP_QUERY_INVALID',
      });
      await expect(searchVoters(db, ring, query, { ...page, limit: 0 })).rejects.toMatchObject({
        code: 'LOOKUP_QUERY_INVALID',
      });
    });

    it('reads a voter’s jurisdiction without opening the record', async () => {
      expect(await voterJurisdiction(db, 'OH0000000002')).toBe(otherCounty);
      expect(await voterJurisdiction(db, 'OH9999999999')).toBeUndefined();
    });
  });
}
