import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, DIALECTS } from '../../test/setup/databases.ts';
import type { TestDatabase } from '../../test/setup/databases.ts';
import { createKeyRing } from '../crypto/index.ts';
import type { KeyRing } from '../crypto/index.ts';
import { migrate, openDatabase } from '../store/index.ts';
import type { DatabaseHandle } from '../store/index.ts';
import { formatDelimitedRow, parseDelimitedLine } from './delimited.ts';
import { exportColumns, exportLayout, exportVoters } from './export.ts';
import type { ExportLogEntry, ExportReport, ExportVotersOptions } from './export.ts';
import { EXPORT_MIGRATIONS } from './export-schema.ts';
import type { ExportTables } from './export-schema.ts';
import { createVoterGenerator } from './generate.ts';
import {
  checkFields,
  columnIndex,
  isRecordConfidential,
  layoutDialect,
  loadLayout,
} from './layout.ts';
import type { VoterLayout } from './layout.ts';
import { prepareVoterRow, writeVoterRows } from './record.ts';
import type { PreparedVoterRow } from './record.ts';
import { VOTERS_MIGRATIONS } from './schema.ts';
import { traceFile } from './trace.ts';
import type { TraceReport } from './trace.ts';
import { applyMarks, markColumnsOf } from './watermark.ts';

const FL = loadLayout('fl');
const NC = loadLayout('nc');
const WA = loadLayout('wa');
const FL_EXPORT = exportLayout(FL);

/** Real rows of the Florida roll: enough for a 1 % sample of about a hundred rows. */
const FL_ROWS = 10_000;
const SMALL_ROWS = 1_500;

function generate(layout: VoterLayout, count: number, seed: number): string[][] {
  const generator = createVoterGenerator(layout, { seed });
  return Array.from({ length: count }, () => generator.next());
}

function prepare(
  ring: KeyRing,
  layout: VoterLayout,
  rows: readonly string[][],
): PreparedVoterRow[] {
  return rows.map((fields) => {
    const outcome = prepareVoterRow(ring, layout, fields, undefined);
    if (outcome.kind !== 'prepared')
      throw new Error(`Row not prepared: ${JSON.stringify(outcome)}`);
    return outcome.row;
  });
}

/** A deterministic shuffle (mulberry32), so a failing seed can be replayed. */
function shuffled<T>(items: readonly T[], seed: number): T[] {
  let state = seed >>> 0;
  const random = (): number => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const out = [...items];
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [out[i], out[j]] = [out[j] as T, out[i] as T];
  }
  return out;
}

interface ExportFile {
  readonly header: readonly string[];
  /** Data lines as written (without line ending). */
  readonly lines: readonly string[];
  readonly rows: readonly (readonly string[])[];
}

async function readExport(path: string, layout: VoterLayout): Promise<ExportFile> {
  const bytes = await readFile(path);
  const text =
    layout.format.encoding === 'utf-8' ? bytes.toString('utf8') : bytes.toString('latin1');
  expect(text.endsWith('\n')).toBe(true);
  const [head, ...lines] = text.slice(0, -1).split('\n');
  const parse = (line: string): string[] => {
    const parsed = parseDelimitedLine(line, layoutDialect(layout));
    if (!parsed.ok) throw new Error(`Unparsable line: ${parsed.message}`);
    return parsed.fields;
  };
  return { header: parse(head ?? ''), lines, rows: lines.map(parse) };
}

let dir: string;
let ring: KeyRing;
let flRoll: string[][];
let flPrepared: PreparedVoterRow[];
let smallRolls: { layout: VoterLayout; rows: string[][]; prepared: PreparedVoterRow[] }[];

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'votervault-export-'));
  ring = await createKeyRing({ dir: join(dir, 'keys') });
  flRoll = generate(FL, FL_ROWS, 71);
  // Some voters in Florida's address-confidentiality program, beyond the generator's share.
  const marker = columnIndex(FL, 'Requested_public_records_exemption');
  for (let i = 0; i < FL_ROWS; i += 500) (flRoll[i] as string[])[marker] = 'Y';
  flPrepared = prepare(ring, FL, flRoll);
  smallRolls = [NC, WA].map((layout, k) => {
    const rows = generate(layout, SMALL_ROWS, 80 + k);
    return { layout, rows, prepared: prepare(ring, layout, rows) };
  });
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

for (const dialect of DIALECTS) {
  describe(dialect, () => {
    let testDb: TestDatabase;
    let db: DatabaseHandle<ExportTables>;
    let out: string;
    const logged: ExportLogEntry[] = [];
    let toA: ExportReport;
    let toB: ExportReport;
    let fileA: ExportFile;
    let fileB: ExportFile;

    const options = (
      name: string,
      extra: Partial<ExportVotersOptions> = {},
    ): ExportVotersOptions => ({
      layout: FL,
      recipient: `${name} Campaign Committee`,
      purpose: `Voter contact for the ${name} campaign`,
      out: join(out, `${dialect}-${name}.tsv`),
      appendLog: (entry) => {
        logged.push(entry);
        return Promise.resolve();
      },
      now: () => new Date('2026-03-01T12:00:00.000Z'),
      ...extra,
    });

    /** Writes lines (with the export's header first unless `header` is false) and traces them. */
    const traceLines = async (
      name: string,
      lines: readonly string[],
      header: boolean | readonly string[] = true,
    ): Promise<TraceReport> => {
      const path = join(out, `${dialect}-${name}`);
      const head =
        header === true
          ? [formatDelimitedRow(fileA.header, { ...layoutDialect(FL), quoteAll: false })]
          : header === false
            ? []
            : header;
      await writeFile(path, [...head, ...lines].join('\n') + '\n');
      return traceFile(db, ring, path);
    };

    beforeAll(async () => {
      testDb = await createTestDatabase(dialect);
      db = await openDatabase<ExportTables>(testDb.location);
      await migrate(db, [...VOTERS_MIGRATIONS, ...EXPORT_MIGRATIONS]);
      await writeVoterRows(db, [...flPrepared, ...smallRolls.flatMap((r) => r.prepared)], {
        importId: 'i1',
        changedAt: '2026-01-01T00:00:00.000Z',
      });
      out = await mkdtemp(join(tmpdir(), `votervault-export-${dialect}-`));
      toA = await exportVoters(db, ring, options('Alpha'));
      toB = await exportVoters(db, ring, options('Beta'));
      fileA = await readExport(join(out, `${dialect}-Alpha.tsv`), FL);
      fileB = await readExport(join(out, `${dialect}-Beta.tsv`), FL);
    });

    afterAll(async () => {
      await db.close();
      await testDb.drop();
      await rm(out, { recursive: true, force: true });
    });

    it('writes only public columns, and every public value as stored', () => {
      const publicNames = FL.columns.filter((c) => c.class === 'public').map((c) => c.name);
      expect(fileA.header).toEqual(publicNames);
      for (const name of [
        'Birth_Date',
        'Race',
        'Gender',
        'Daytime_Phone_Number',
        'Email_address',
      ]) {
        expect(fileA.header).not.toContain(name);
      }
      const byId = new Map(
        flRoll.map((fields) => [fields[columnIndex(FL, 'Voter_ID')] ?? '', fields]),
      );
      const marks = markColumnsOf(FL_EXPORT.columns);
      const secret = ['Birth_Date', 'Daytime_Phone_Number', 'Email_address'].map((n) =>
        columnIndex(FL, n),
      );
      let real = 0;
      for (const row of fileA.rows) {
        expect(row).toHaveLength(publicNames.length);
        const original = byId.get(row[columnIndex(FL_EXPORT, 'Voter_ID')] ?? '');
        if (original === undefined) continue;
        real += 1;
        // Once the address designators are abbreviated again, the row is the voter's public
        // record, value for value: nothing altered, nothing added.
        const unmarked = [...row];
        applyMarks(unmarked, marks, 0);
        expect(unmarked).toEqual(
          publicNames.map((n) => (original[columnIndex(FL, n)] ?? '').trim()),
        );
        for (const i of secret) {
          const value = (original[i] ?? '').trim();
          if (value !== '') expect(row).not.toContain(value);
        }
      }
      expect(real).toBe(toA.records);
      const text = fileA.lines.join('\n');
      for (const fields of flRoll.slice(0, 2_000)) {
        const email = fields[columnIndex(FL, 'Email_address')] ?? '';
        if (email !== '') expect(text).not.toContain(email);
      }
    });

    it('leaves out voters in the address-confidentiality program', () => {
      const marker = columnIndex(FL, 'Requested_public_records_exemption');
      const confidential = flRoll.filter((f) => f[marker] === 'Y');
      expect(confidential.length).toBeGreaterThanOrEqual(FL_ROWS / 500);
      const ids = new Set(fileA.rows.map((r) => r[columnIndex(FL_EXPORT, 'Voter_ID')]));
      for (const fields of confidential) {
        expect(ids.has(fields[columnIndex(FL, 'Voter_ID')])).toBe(false);
      }
      expect(toA.records).toBe(FL_ROWS - confidential.length);
      // The other layouts' voters are stored under other column names.
      const others = smallRolls.flatMap((r) =>
        r.rows.filter((f) => !isRecordConfidential(r.layout, f)),
      );
      expect(toA.skipped).toBe(others.length);
    });

    it("seeds canary records that look like the layout's rows, sorted in place", async () => {
      const rollIds = new Set(flRoll.map((f) => f[columnIndex(FL, 'Voter_ID')]));
      const idAt = columnIndex(FL_EXPORT, 'Voter_ID');
      const canaries = fileA.rows.filter((r) => !rollIds.has(r[idAt]));
      expect(canaries).toHaveLength(toA.canaries);
      expect(toA.canaries).toBe(10);
      for (const row of [...canaries, ...fileA.rows.slice(0, 50)]) {
        expect(checkFields(FL_EXPORT, row)).toEqual([]);
      }
      const ids = fileA.rows.map((r) => r[idAt] ?? '');
      expect(ids).toEqual([...ids].sort());
      const stored = await db.db
        .selectFrom('voter_export')
        .select(['canaries', 'record_count', 'recipient', 'purpose', 'layout_id', 'columns'])
        .where('export_id', '=', toA.exportId)
        .executeTakeFirstOrThrow();
      const recorded = JSON.parse(stored.canaries) as { id: string }[];
      expect(recorded.map((c) => c.id).sort()).toEqual(canaries.map((r) => r[idAt]).sort());
      expect(stored).toMatchObject({
        record_count: toA.records,
        recipient: 'Alpha Campaign Committee',
        purpose: 'Voter contact for the Alpha campaign',
        layout_id: 'fl',
      });
      const asVoters = await db.db
        .selectFrom('voter')
        .select('voter_id')
        .where(
          'voter_id',
          'in',
          recorded.map((c) => c.id),
        )
        .execute();
      expect(asVoters).toEqual([]);
      // Another recipient gets other canaries.
      const other = new Set(fileB.rows.filter((r) => !rollIds.has(r[idAt])).map((r) => r[idAt]));
      expect(recorded.some((c) => other.has(c.id))).toBe(false);
    });

    it('logs each export with its recipient, purpose and count, and no voter data', () => {
      const entries = logged.filter((e) => e.export === toA.exportId || e.export === toB.exportId);
      expect(entries).toEqual([
        {
          type: 'export',
          export: toA.exportId,
          recipient: 'Alpha Campaign Committee',
          purpose: 'Voter contact for the Alpha campaign',
          layout: 'fl',
          jurisdictions: [],
          records: toA.records,
          time: '2026-03-01T12:00:00.000Z',
        },
        expect.objectContaining({ export: toB.exportId, recipient: 'Beta Campaign Committee' }),
      ]);
      const text = JSON.stringify(entries);
      for (const fields of flRoll.slice(0, 200)) {
        expect(text).not.toContain(fields[columnIndex(FL, 'Voter_ID')]);
      }
    });

    it('traces a whole copy to its export and not to the other', async () => {
      for (const report of [toA, toB]) {
        const name = report === toA ? 'Alpha' : 'Beta';
        const trace = await traceFile(db, ring, join(out, `${dialect}-${name}.tsv`));
        expect(trace.match?.exportId).toBe(report.exportId);
        expect(trace.match).toMatchObject({
          recipient: report.recipient,
          purpose: report.purpose,
          time: report.time,
          canaries: { issued: 10, found: 10, confirmed: 10 },
        });
        expect(trace.match?.fingerprint.agreeing).toBe(trace.match?.fingerprint.compared);
        const other = trace.candidates.find((c) => c.exportId !== report.exportId);
        expect(other?.matched).toBe(false);
        expect(other?.canaries.found).toBe(0);
      }
    });

    it('traces random 1 % samples, shuffled, to the right export only', async () => {
      const take = Math.floor(fileA.lines.length / 100);
      for (const seed of [1, 2, 3, 4, 5]) {
        const sample = shuffled(fileA.lines, seed).slice(0, take);
        const trace = await traceLines(`sample-${seed}`, sample, seed % 2 === 0);
        expect(trace.rows).toBe(take);
        expect(trace.match?.exportId).toBe(toA.exportId);
        expect(trace.match?.recipient).toBe('Alpha Campaign Committee');
        expect(trace.match?.fingerprint.pValue).toBeLessThan(1e-20);
        const other = trace.candidates.find((c) => c.exportId === toB.exportId);
        expect(other?.matched).toBe(false);
        expect(other?.fingerprint.pValue).toBeGreaterThan(1e-6);
      }
      const sampleB = shuffled(fileB.lines, 9).slice(0, take);
      const traceB = await traceLines('sample-b', sampleB);
      expect(traceB.match?.exportId).toBe(toB.exportId);
    });

    it('traces a shuffled whole copy with its header somewhere inside', async () => {
      const headerLine = formatDelimitedRow(fileA.header, {
        ...layoutDialect(FL),
        quoteAll: false,
      });
      const lines = shuffled([...fileA.lines, headerLine], 42);
      const trace = await traceLines('shuffled', lines, false);
      expect(trace.match?.exportId).toBe(toA.exportId);
      expect(trace.match?.canaries.confirmed).toBe(10);
    });

    it('attributes a file from neither export to no one', async () => {
      // The same voters, unmarked: what the office's own public file would hold.
      const names = fileA.header;
      const lines = flRoll
        .filter((f) => f[columnIndex(FL, 'Requested_public_records_exemption')] !== 'Y')
        .map((f) =>
          formatDelimitedRow(
            names.map((n) => (f[columnIndex(FL, n)] ?? '').trim()),
            { ...layoutDialect(FL), quoteAll: false },
          ),
        );
      const trace = await traceLines('neither', lines);
      expect(trace.match).toBeUndefined();
      expect(trace.comparedRows).toBeGreaterThan(5_000);
      for (const candidate of trace.candidates.filter((c) => c.layout === 'fl')) {
        const { compared, agreeing } = candidate.fingerprint;
        expect(candidate.matched).toBe(false);
        expect(Math.abs(agreeing / compared - 0.5)).toBeLessThan(0.05);
      }
      const few = await traceLines('neither-sample', shuffled(lines, 7).slice(0, 100));
      expect(few.match).toBeUndefined();
    });

    it('exports chosen counties only, with canaries from them', async () => {
      const countyAt = columnIndex(FL, 'County_Code');
      const counties = [...new Set(flRoll.map((f) => f[countyAt] ?? ''))].sort().slice(0, 2);
      const report = await exportVoters(db, ring, options('Gamma', { jurisdictions: counties }));
      const file = await readExport(join(out, `${dialect}-Gamma.tsv`), FL);
      const expected = flRoll.filter(
        (f) =>
          counties.includes(f[countyAt] ?? '') &&
          f[columnIndex(FL, 'Requested_public_records_exemption')] !== 'Y',
      );
      expect(report.records).toBe(expected.length);
      expect(file.rows).toHaveLength(report.records + report.canaries);
      for (const row of file.rows) expect(counties).toContain(row[countyAt]);
      expect(report.jurisdictions).toEqual(counties);
    });

    it('writes other layouts in their own dialect and encoding, and traces them', async () => {
      for (const { layout, rows } of smallRolls) {
        const report = await exportVoters(db, ring, {
          ...options(`Delta-${layout.id}`),
          layout,
        });
        expect(report.records).toBe(rows.filter((f) => !isRecordConfidential(layout, f)).length);
        const path = join(out, `${dialect}-Delta-${layout.id}.tsv`);
        const file = await readExport(path, layout);
        const restricted = exportLayout(layout);
        expect(file.header).toEqual(restricted.columns.map((c) => c.name));
        for (const row of file.rows) expect(checkFields(restricted, row)).toEqual([]);
        if (layout.format.quoteAll) expect(file.lines[0]?.startsWith('"')).toBe(true);
        const trace = await traceFile(db, ring, path);
        expect(trace.layout).toBe(layout.id);
        expect(trace.match?.exportId).toBe(report.exportId);
      }
    });

    it('refuses confidential and protected columns, and exports without a purpose', async () => {
      for (const column of ['Race', 'Birth_Date', 'Gender', 'Email_address']) {
        await expect(
          exportVoters(db, ring, options('Eps', { columns: ['Voter_ID', column] })),
        ).rejects.toMatchObject({ code: 'EXPORT_COLUMN_NOT_PUBLIC' });
      }
      expect(() => exportColumns(FL, ['Name_Last'])).toThrow(
        expect.objectContaining({ code: 'EXPORT_COLUMNS_INVALID' }),
      );
      expect(() => exportColumns(FL, ['Nope'])).toThrow(
        expect.objectContaining({ code: 'EXPORT_COLUMN_UNKNOWN' }),
      );
      await expect(exportVoters(db, ring, options('Eps', { purpose: '  ' }))).rejects.toMatchObject(
        { code: 'EXPORT_PURPOSE_REQUIRED' },
      );
      await expect(
        exportVoters(db, ring, options('Eps', { recipient: 'A\nB' })),
      ).rejects.toMatchObject({ code: 'EXPORT_RECIPIENT_INVALID' });
      await expect(
        exportVoters(db, ring, options('Eps', { jurisdictions: ['ZZZ'] })),
      ).rejects.toMatchObject({ code: 'EXPORT_JURISDICTION_UNKNOWN' });
      await expect(exportVoters(db, ring, options('Alpha'))).rejects.toMatchObject({
        code: 'EXPORT_OUT_EXISTS',
      });
      expect(existsSync(join(out, `${dialect}-Eps.tsv`))).toBe(false);
    });

    it('leaves no file and no record when the log refuses the entry', async () => {
      const before = await db.db.selectFrom('voter_export').select('export_id').execute();
      await expect(
        exportVoters(db, ring, {
          ...options('Zeta', { columns: ['Voter_ID', 'Name_Last', 'Residence_Address_Line_1'] }),
          appendLog: () => Promise.reject(new Error('log is down')),
        }),
      ).rejects.toThrow('log is down');
      expect(existsSync(join(out, `${dialect}-Zeta.tsv`))).toBe(false);
      expect(existsSync(join(out, `${dialect}-Zeta.tsv.partial`))).toBe(false);
      const after = await db.db.selectFrom('voter_export').select('export_id').execute();
      expect(after).toHaveLength(before.length);
    });
  });
}
