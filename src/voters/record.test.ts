import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sql } from 'kysely';
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
import { findVoter } from './lookup.ts';
import {
  existingVoters,
  markUnseenRemoved,
  prepareVoterRow,
  readVoter,
  shredVoter,
  touchVoters,
  updateVoter,
  VoterStoreError,
  writeVoterRows,
} from './record.ts';
import type { PreparedVoterRow } from './record.ts';
import { VOTERS_MIGRATIONS } from './schema.ts';
import type { VotersTables } from './schema.ts';
import { verifyStore } from './verify.ts';

const FL = loadLayout('fl');
const NC = loadLayout('nc');

function field(layout: VoterLayout, fields: readonly string[], name: string): string {
  return fields[columnIndex(layout, name)] ?? '';
}

function prepared(ring: KeyRing, layout: VoterLayout, fields: readonly string[]): PreparedVoterRow {
  const outcome = prepareVoterRow(ring, layout, fields, undefined);
  if (outcome.kind !== 'prepared') throw new Error(`Row not prepared: ${JSON.stringify(outcome)}`);
  return outcome.row;
}

function generate(layout: VoterLayout, count: number, seed: number): string[][] {
  const generator = createVoterGenerator(layout, { seed });
  return Array.from({ length: count }, () => generator.next());
}

let keysRoot: string;
let ring: KeyRing;

beforeAll(async () => {
  keysRoot = await mkdtemp(join(tmpdir(), 'votervault-record-'));
  ring = await createKeyRing({ dir: join(keysRoot, 'keys') });
});

afterAll(async () => {
  await rm(keysRoot, { recursive: true, force: true });
});

describe('prepareVoterRow', () => {
  it('puts public columns in clear and seals confidential and protected ones', () => {
    const [fields] = generate(FL, 1, 1);
    const row = prepared(ring, FL, fields!);
    expect(row.voterId).toBe(field(FL, fields!, 'Voter_ID'));
    expect(row.jurisdiction).toBe(field(FL, fields!, 'County_Code'));
    expect(row.publicFields['Name_Last']).toBe(field(FL, fields!, 'Name_Last'));
    expect(row.publicFields).not.toHaveProperty('Birth_Date');
    expect(row.publicFields).not.toHaveProperty('Race');
    expect(row.publicFields).not.toHaveProperty('Gender');
    expect(row.status).toBe(field(FL, fields!, 'Voter_Status'));
    expect(row.precinct).toBe(field(FL, fields!, 'Precinct'));
    expect(row.rowVersion).toBe(1);
    expect(row.lookupDigests.length).toBeGreaterThan(0);
    expect(Buffer.from(row.sealed).toString('latin1')).not.toContain(
      field(FL, fields!, 'Birth_Date'),
    );
  });

  it('seals every field of a confidential-record voter and withholds its precinct', () => {
    const [fields] = generate(FL, 1, 2);
    fields![columnIndex(FL, 'Requested_public_records_exemption')] = 'Y';
    const row = prepared(ring, FL, fields!);
    expect(row.confidentialRecord).toBe(true);
    expect(row.publicFields).toEqual({});
    expect(row.precinct).toBe('');
    expect(row.status).toBe(field(FL, fields!, 'Voter_Status'));
  });

  it('reports an impossible date of birth as invalid, naming the column but not the value', () => {
    const [fields] = generate(FL, 1, 3);
    fields![columnIndex(FL, 'Birth_Date')] = '02/30/1980';
    const outcome = prepareVoterRow(ring, FL, fields!, undefined);
    expect(outcome).toMatchObject({ kind: 'invalid', field: 'Birth_Date', code: 'DATE_INVALID' });
    expect(JSON.stringify(outcome)).not.toContain('1980');
  });

  it('tells an unchanged row by its MAC and versions a changed one', () => {
    const [fields] = generate(NC, 1, 4);
    const first = prepared(ring, NC, fields!);
    const existing = { rowVersion: 3, rowMac: first.rowMac, removed: false };
    expect(prepareVoterRow(ring, NC, fields!, existing)).toEqual({
      kind: 'unchanged',
      voterId: first.voterId,
    });
    // A removed voter listed again comes back as a new version even when nothing changed.
    expect(prepareVoterRow(ring, NC, fields!, { ...existing, removed: true })).toMatchObject({
      kind: 'prepared',
      change: 'changed',
      row: { rowVersion: 4 },
    });
    const changed = [...fields!];
    changed[columnIndex(NC, 'race_code')] =
      changed[columnIndex(NC, 'race_code')] === 'W' ? 'B' : 'W';
    expect(prepareVoterRow(ring, NC, changed, existing)).toMatchObject({
      kind: 'prepared',
      change: 'changed',
      row: { rowVersion: 4 },
    });
  });
});

for (const dialect of DIALECTS) {
  describe(dialect, () => {
    let testDb: TestDatabase;
    let db: DatabaseHandle<VotersTables>;
    const flRows = generate(FL, 60, 11);

    beforeAll(async () => {
      testDb = await createTestDatabase(dialect);
      db = await openDatabase<VotersTables>(testDb.location);
      await migrate(db, VOTERS_MIGRATIONS);
      await writeVoterRows(
        db,
        flRows.map((fields) => prepared(ring, FL, fields)),
        { importId: 'import-1', changedAt: '2026-01-01T00:00:00.000Z' },
      );
    });

    afterAll(async () => {
      await db.close();
      await testDb.drop();
    });

    it('reads back public fields, and sealed classes only when asked', async () => {
      const fields = flRows[0]!;
      const voterId = field(FL, fields, 'Voter_ID');
      const publicOnly = await readVoter(db, ring, voterId, { fieldClasses: ['public'] });
      expect(publicOnly.fields.public['Name_First']).toBe(field(FL, fields, 'Name_First'));
      expect(publicOnly.fields.confidential).toBeUndefined();
      expect(publicOnly.fields.protected).toBeUndefined();
      const all = await readVoter(db, ring, voterId, {
        fieldClasses: ['public', 'confidential', 'protected'],
      });
      expect(all.fields.confidential?.['Birth_Date']).toBe(field(FL, fields, 'Birth_Date'));
      expect(all.fields.protected?.['Race']).toBe(field(FL, fields, 'Race'));
      expect(all.fields.protected?.['Gender']).toBe(field(FL, fields, 'Gender'));
      const protectedOnly = await readVoter(db, ring, voterId, { fieldClasses: ['protected'] });
      expect(protectedOnly.fields.confidential).toBeUndefined();
      expect(protectedOnly.fields.protected?.['Race']).toBe(field(FL, fields, 'Race'));
      await expect(readVoter(db, ring, 'nobody', { fieldClasses: ['public'] })).rejects.toThrow(
        expect.objectContaining({ code: 'VOTER_NOT_FOUND' }),
      );
    });

    it('stores values that JSON escapes exactly as written, and verifies them', async () => {
      const fields = [...generate(FL, 1, 21)[0]!];
      const odd = {
        Residence_Address_Line_2: 'Apt "B" \\ 2\u0001 é 😀',
        Email_address: 'a"b\\c\u0007@example.test',
        Gender: 'X\\"\ud83d',
      };
      for (const [name, value] of Object.entries(odd)) fields[columnIndex(FL, name)] = value;
      const row = prepared(ring, FL, fields);
      const sorted = Object.fromEntries(
        Object.entries(row.publicFields).sort(([a], [b]) => (a < b ? -1 : 1)),
      );
      expect(row.publicJson).toBe(JSON.stringify(sorted));
      await writeVoterRows(db, [row], { importId: 'import-odd', changedAt: 'x' });
      const back = await readVoter(db, ring, row.voterId, {
        fieldClasses: ['public', 'confidential', 'protected'],
      });
      expect(back.fields.public['Residence_Address_Line_2']).toBe(odd.Residence_Address_Line_2);
      expect(back.fields.confidential?.['Email_address']).toBe(odd.Email_address);
      expect(back.fields.protected?.['Gender']).toBe(odd.Gender);
      expect(await verifyStore(db, ring)).toMatchObject({ ok: true });
      const again = prepareVoterRow(
        ring,
        FL,
        fields,
        (await existingVoters(db, [row.voterId])).get(row.voterId),
      );
      expect(again.kind).toBe('unchanged');
    });

    it('stores no confidential or protected plaintext in the database', async () => {
      let dump: string;
      if (dialect === 'sqlite') {
        // The whole file, the write-ahead log included.
        const main = await readFile(testDb.location);
        const wal = await readFile(`${testDb.location}-wal`).catch(() => Buffer.alloc(0));
        dump = Buffer.concat([main, wal]).toString('latin1');
      } else {
        const tables = ['voter', 'voter_version', 'voter_lookup'];
        const parts: string[] = [];
        for (const table of tables) {
          const { rows } = await sql<{
            t: string;
          }>`select t::text as t from ${sql.table(table)} t`.execute(db.db);
          parts.push(...rows.map((row) => row.t));
        }
        // bytea renders as hex: decode it so plaintext inside a blob would show.
        let blobs = 0;
        dump = parts.join('\n').replace(/\\\\x([0-9a-f]+)/g, (_, hex: string) => {
          blobs++;
          return Buffer.from(hex, 'hex').toString('latin1');
        });
        expect(blobs).toBeGreaterThan(flRows.length);
      }
      expect(dump).toContain(field(FL, flRows[0]!, 'Name_Last'));
      let checked = 0;
      for (const fields of flRows) {
        const dob = field(FL, fields, 'Birth_Date');
        expect(dump).not.toContain(dob);
        const phone = field(FL, fields, 'Daytime_Phone_Number');
        if (phone !== '') expect(dump).not.toContain(phone);
        const email = field(FL, fields, 'Email_address');
        if (email !== '') expect(dump).not.toContain(email);
        checked++;
      }
      expect(checked).toBe(flRows.length);
      expect(dump).not.toMatch(/"Race"|"Gender"|"Birth_Date"|"Email_address"/);
    });

    it('writes a new version and keeps the old one in the history', async () => {
      const fields = flRows[1]!;
      const voterId = field(FL, fields, 'Voter_ID');
      const existing = (await existingVoters(db, [voterId, 'nobody'])).get(voterId)!;
      expect(existing.rowVersion).toBe(1);
      const changed = [...fields];
      changed[columnIndex(FL, 'Party_Affiliation')] = 'NPA';
      const outcome = prepareVoterRow(ring, FL, changed, existing);
      if (outcome.kind !== 'prepared') throw new Error('expected a new version');
      await writeVoterRows(db, [outcome.row], {
        importId: 'import-2',
        changedAt: '2026-02-01T00:00:00.000Z',
      });
      const view = await readVoter(db, ring, voterId, { fieldClasses: ['public', 'protected'] });
      expect(view.rowVersion).toBe(2);
      expect(view.fields.public['Party_Affiliation']).toBe('NPA');
      const history = await db.db
        .selectFrom('voter_version')
        .select(['row_version', 'public_fields'])
        .where('voter_id', '=', voterId)
        .execute();
      expect(history.map((row) => row.row_version)).toEqual([1]);
      expect(history[0]?.public_fields).toContain(field(FL, fields, 'Party_Affiliation'));
      // Writing the same version again is a conflict, not a silent overwrite.
      await expect(
        writeVoterRows(db, [outcome.row], { importId: 'import-2', changedAt: 'x' }),
      ).rejects.toThrow(expect.objectContaining({ code: 'VERSION_CONFLICT' }));
    });

    it('updates fields with a stated reason and re-indexes the lookup', async () => {
      const fields = flRows[2]!;
      const voterId = field(FL, fields, 'Voter_ID');
      await expect(
        updateVoter(
          db,
          ring,
          voterId,
          { confidential: { Birth_Date: '01/02/1950' } },
          { reason: ' ' },
        ),
      ).rejects.toThrow(expect.objectContaining({ code: 'CHANGE_REASON_REQUIRED' }));
      await expect(
        updateVoter(db, ring, voterId, { public: { Birth_Date: '01/02/1950' } }, { reason: 'x' }),
      ).rejects.toThrow(expect.objectContaining({ code: 'CHANGE_INVALID' }));
      await expect(
        updateVoter(
          db,
          ring,
          voterId,
          { confidential: { Birth_Date: '02/30/1950' } },
          { reason: 'Correction requested by the voter' },
        ),
      ).rejects.toThrow(expect.objectContaining({ code: 'FIELD_INVALID' }));
      const version = await updateVoter(
        db,
        ring,
        voterId,
        { confidential: { Birth_Date: '01/02/1950' }, protected: { Race: '9' } },
        { reason: 'Correction requested by the voter', changedAt: '2026-03-01T00:00:00.000Z' },
      );
      expect(version).toBe(2);
      const view = await readVoter(db, ring, voterId, {
        fieldClasses: ['confidential', 'protected'],
      });
      expect(view.fields.confidential?.['Birth_Date']).toBe('01/02/1950');
      expect(view.fields.protected?.['Race']).toBe('9');
      const query = {
        last: field(FL, fields, 'Name_Last'),
        first: field(FL, fields, 'Name_First'),
        zip: field(FL, fields, 'Residence_Zipcode'),
      };
      expect((await findVoter(db, ring, { ...query, dob: '1950-01-02' })).answer.status).toBe(
        'found',
      );
      const [m, d, y] = field(FL, fields, 'Birth_Date').split('/');
      expect((await findVoter(db, ring, { ...query, dob: `${y}-${m}-${d}` })).answer.status).toBe(
        'not-found',
      );
      const reasons = await db.db
        .selectFrom('voter')
        .select('change_reason')
        .where('voter_id', '=', voterId)
        .executeTakeFirstOrThrow();
      expect(reasons.change_reason).toBe('Correction requested by the voter');
      expect((await verifyStore(db, ring)).ok).toBe(true);
    });

    it('marks voters an import did not list as removed, keeping their records', async () => {
      const jurisdiction = field(FL, flRows[3]!, 'County_Code');
      const inJurisdiction = flRows
        .filter((f) => field(FL, f, 'County_Code') === jurisdiction)
        .map((f) => field(FL, f, 'Voter_ID'));
      const [kept, ...dropped] = inJurisdiction;
      await touchVoters(db, [kept!], 'import-3');
      const removed = await markUnseenRemoved(db, {
        importId: 'import-3',
        jurisdictions: [jurisdiction],
        changedAt: '2026-04-01T00:00:00.000Z',
      });
      expect(removed).toEqual([...dropped].sort());
      // Only once.
      expect(
        await markUnseenRemoved(db, {
          importId: 'import-3',
          jurisdictions: [jurisdiction],
          changedAt: '2026-04-02T00:00:00.000Z',
        }),
      ).toEqual([]);
      const voterId = dropped[0]!;
      const view = await readVoter(db, ring, voterId, { fieldClasses: ['public', 'protected'] });
      expect(view.removed).toBe(true);
      expect(view.fields.protected?.['Race']).toBeDefined();
      const fields = flRows.find((f) => field(FL, f, 'Voter_ID') === voterId)!;
      const [m, d, y] = field(FL, fields, 'Birth_Date').split('/');
      const lookup = await findVoter(db, ring, {
        last: field(FL, fields, 'Name_Last'),
        first: field(FL, fields, 'Name_First'),
        dob: `${y}-${m}-${d}`,
        zip: field(FL, fields, 'Residence_Zipcode'),
      });
      expect(lookup.answer).toEqual({ status: 'not-found' });
      expect((await verifyStore(db, ring)).ok).toBe(true);
    });

    it('crypto-shreds every version of a record', async () => {
      const fields = flRows[1]!;
      const voterId = field(FL, fields, 'Voter_ID');
      const report = await shredVoter(db, voterId, { shreddedAt: '2026-05-01T00:00:00.000Z' });
      expect(report.versions).toBe(2);
      await expect(
        readVoter(db, ring, voterId, { fieldClasses: ['confidential'] }),
      ).rejects.toThrow(expect.objectContaining({ code: 'VOTER_SHREDDED' }));
      const publicView = await readVoter(db, ring, voterId, { fieldClasses: ['public'] });
      expect(publicView.shredded).toBe(true);
      const keys = await db.db
        .selectFrom('voter_version')
        .select(['wrapped_key', 'key_version'])
        .where('voter_id', '=', voterId)
        .execute();
      expect(keys).toEqual([{ wrapped_key: null, key_version: null }]);
      const verify = await verifyStore(db, ring);
      expect(verify.ok).toBe(true);
      expect(verify.shredded).toBe(2);
      expect(verify.problems.every((p) => p.voterId === voterId && p.reason === 'shredded')).toBe(
        true,
      );
      await expect(shredVoter(db, 'nobody')).rejects.toBeInstanceOf(VoterStoreError);
    });
  });
}
