import { createHash } from 'node:crypto';
import { createReadStream, mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { readDelimited } from './delimited.ts';
import type { DelimitedRecord } from './delimited.ts';
import {
  CONFIDENTIAL_SHARE,
  createVoterGenerator,
  DEFAULT_AS_OF,
  GenerateError,
  generateVoterFile,
} from './generate.ts';
import { nameTables } from './generate-names.ts';
import {
  checkFields,
  checkHeader,
  columnIndex,
  detectLayout,
  isRecordConfidential,
  layoutDialect,
  loadLayout,
  SHIPPED_LAYOUT_IDS,
} from './layout.ts';
import type { FieldRole, VoterLayout } from './layout.ts';

const dir = mkdtempSync(join(tmpdir(), 'vv-generate-'));
const FIXTURES = new URL('../../test/fixtures/voters/', import.meta.url);
/** File names of the checked-in samples, as the states name their files. */
const FIXTURE_FILES: Readonly<Record<string, string>> = {
  nc: 'ncvoter-2022-sample.txt',
  'nc-legacy': 'ncvoter-legacy-sample.txt',
  oh: 'SWVF-sample.txt',
  fl: 'fl-extract-sample.txt',
  wa: 'VRDB_Extract-sample.txt',
};
const FIXTURE_ROWS = 12;
const FIXTURE_SEED = 'fixture';

async function readFile(
  path: string,
  layout: VoterLayout,
  expectedFields?: number,
): Promise<DelimitedRecord[]> {
  const records: DelimitedRecord[] = [];
  const options = {
    ...layoutDialect(layout),
    encoding: layout.format.encoding,
    ...(expectedFields === undefined ? {} : { expectedFields }),
  };
  for await (const record of readDelimited(createReadStream(path), options)) records.push(record);
  return records;
}

function sha256(path: string): string {
  return createHash('sha256').update(readFileSync(path)).digest('hex');
}

function column(layout: VoterLayout, fields: readonly string[], role: FieldRole): string {
  const i = layout.columns.findIndex((c) => c.role === role);
  return fields[i] ?? '';
}

describe('generateVoterFile', () => {
  for (const id of SHIPPED_LAYOUT_IDS) {
    it(`writes a ${id} file that parses back with its own layout`, async () => {
      const layout = loadLayout(id);
      const path = join(dir, `${id}.txt`);
      const count = 3000;
      const result = await generateVoterFile({ layout: id, count, seed: 7, out: path });
      expect(result).toEqual({ rows: count, bytes: statSync(path).size });
      const records = await readFile(path, layout);
      const invalid = records.filter((r) => r.kind === 'invalid');
      expect(invalid).toEqual([]);
      const rows = records.flatMap((r) => (r.kind === 'fields' ? [r.fields] : []));
      let data = rows;
      if (layout.format.header === 'present') {
        const header = rows[0] ?? [];
        expect(checkHeader(layout, header).kind).toBe('match');
        data = rows.slice(1);
      }
      expect(data).toHaveLength(count);
      const width = (rows[0] ?? []).length;
      const ids = new Set<string>();
      for (const fields of data) {
        expect(fields).toHaveLength(width);
        expect(checkFields(layout, fields)).toEqual([]);
        ids.add(column(layout, fields, 'voterId'));
        if (isRecordConfidential(layout, fields)) {
          expect(column(layout, fields, 'zip')).toBe('');
          expect(column(layout, fields, 'residenceCity')).toBe('');
        } else {
          expect(column(layout, fields, 'zip')).toMatch(/^\d{5}$/);
        }
      }
      expect(ids.size).toBe(count);
    });
  }

  it('writes accented names in the layout encoding (windows-1252 for NC, UTF-8 for FL)', async () => {
    const nc = loadLayout('nc');
    const path = join(dir, 'nc.txt');
    await generateVoterFile({ layout: nc, count: 3000, seed: 7, out: path });
    const bytes = readFileSync(path);
    expect(
      bytes.includes(Buffer.from('Ñ', 'latin1')) || bytes.includes(Buffer.from('Á', 'latin1')),
    ).toBe(true);
    expect(bytes.includes(Buffer.from([0xc3]))).toBe(false);
    const records = await readFile(path, nc);
    const last = columnIndex(nc, 'last_name');
    expect(records.some((r) => r.kind === 'fields' && /[ÁÉÍÓÚÑ]/.test(r.fields[last] ?? ''))).toBe(
      true,
    );
    const fl = loadLayout('fl');
    const flPath = join(dir, 'fl-accents.txt');
    await generateVoterFile({ layout: fl, count: 3000, seed: 7, out: flPath });
    expect(
      (await readFile(flPath, fl)).some(
        (r) => r.kind === 'fields' && /[ÁÉÍÓÚÑ]/.test(r.fields[2] ?? ''),
      ),
    ).toBe(true);
  });

  it('is deterministic per seed', async () => {
    const a = join(dir, 'a.txt');
    const b = join(dir, 'b.txt');
    const c = join(dir, 'c.txt');
    await generateVoterFile({ layout: 'oh', count: 500, seed: 'same', out: a });
    await generateVoterFile({ layout: 'oh', count: 500, seed: 'same', out: b });
    await generateVoterFile({ layout: 'oh', count: 500, seed: 'other', out: c });
    expect(sha256(a)).toBe(sha256(b));
    expect(sha256(a)).not.toBe(sha256(c));
    const d = join(dir, 'd.txt');
    await generateVoterFile({ layout: 'oh', count: 500, seed: 'same', out: d, asOf: '2030-01-01' });
    expect(sha256(a)).not.toBe(sha256(d));
  });

  it('writes the same bytes to a stream as to a file, and reports progress', async () => {
    const path = join(dir, 'wa.txt');
    await generateVoterFile({ layout: 'wa', count: 120_000, seed: 3, out: path });
    const chunks: Buffer[] = [];
    const sink = new Writable({
      write(chunk: Buffer, _encoding, callback) {
        chunks.push(chunk);
        callback();
      },
    });
    const progress: number[] = [];
    const result = await generateVoterFile({
      layout: 'wa',
      count: 120_000,
      seed: 3,
      out: sink,
      onProgress: (p) => progress.push(p.rows),
    });
    expect(Buffer.concat(chunks).equals(readFileSync(path))).toBe(true);
    expect(progress).toEqual([50_000, 100_000, 120_000]);
    expect(result.rows).toBe(120_000);
  });

  it('writes headers the layout detector recognises; Florida has none', async () => {
    for (const id of ['nc', 'nc-legacy', 'oh', 'wa'] as const) {
      const path = join(dir, `${id}-header.txt`);
      await generateVoterFile({ layout: id, count: 1, seed: 1, out: path });
      const firstLine = readFileSync(path, 'latin1').split('\n')[0] ?? '';
      expect(detectLayout(firstLine).id).toBe(id);
    }
    const path = join(dir, 'fl-header.txt');
    await generateVoterFile({ layout: 'fl', count: 1, seed: 1, out: path });
    const line = readFileSync(path, 'utf8').split('\n')[0] ?? '';
    expect(() => detectLayout(line)).toThrow(/must be named explicitly/);
    expect(checkFields(loadLayout('fl'), line.split('\t'))).toEqual([]);
  });

  it('refuses bad options', async () => {
    const out = join(dir, 'never.txt');
    await expect(generateVoterFile({ layout: 'nc', count: -1, seed: 1, out })).rejects.toThrow(
      GenerateError,
    );
    await expect(generateVoterFile({ layout: 'nc', count: 1.5, seed: 1, out })).rejects.toThrow(
      /expected a whole number/,
    );
    await expect(
      generateVoterFile({ layout: 'nc', count: 1, seed: 1, out, asOf: '2026-02-30' }),
    ).rejects.toThrow(/expected YYYY-MM-DD/);
    await expect(generateVoterFile({ layout: 'xx', count: 1, seed: 1, out })).rejects.toMatchObject(
      { code: 'LAYOUT_NOT_FOUND' },
    );
  });

  it('generates for an office policy file through the generic profile', async () => {
    const layout = loadLayout(fileURLToPath(new URL('policy-example.json', FIXTURES)));
    const path = join(dir, 'example.csv');
    await generateVoterFile({ layout, count: 300, seed: 1, out: path });
    const records = await readFile(path, layout, layout.columns.length);
    expect(records).toHaveLength(301);
    for (const record of records.slice(1)) {
      expect(record.kind === 'fields' ? checkFields(layout, record.fields) : record).toEqual([]);
    }
  });
});

describe('generated distributions', () => {
  const fl = loadLayout('fl');
  const count = 20_000;
  const generator = createVoterGenerator(fl, { seed: 'distribution' });
  const rows = Array.from({ length: count }, () => generator.next());
  const share = (role: FieldRole, value: string): number =>
    rows.filter((r) => column(fl, r, role) === value).length / count;

  it('follows the Census surname race shares', () => {
    const groups = nameTables().groupShares;
    // FL codes: 5 white, 3 black, 2 Asian/PI, 1 AIAN, 7 multi, 4 Hispanic; 4.5 % are written 9 or 6.
    const expected: Readonly<Record<string, number>> = {
      '5': groups.white,
      '3': groups.black,
      '2': groups.api,
      '4': groups.hispanic,
      '7': groups.multi,
    };
    for (const [code, target] of Object.entries(expected)) {
      expect(Math.abs(share('race', code) - target * 0.955), `race ${code}`).toBeLessThan(0.015);
    }
    expect(groups.white).toBeGreaterThan(0.5);
    expect(groups.hispanic).toBeGreaterThan(0.1);
  });

  it('keeps about 0.5 % of voters confidential, and parties near the profile', () => {
    const confidential = rows.filter((r) => isRecordConfidential(fl, r)).length / count;
    expect(confidential).toBeGreaterThan(CONFIDENTIAL_SHARE * 0.5);
    expect(confidential).toBeLessThan(CONFIDENTIAL_SHARE * 1.6);
    expect(share('party', 'REP')).toBeCloseTo(0.39, 1);
    expect(share('party', 'NPA')).toBeCloseTo(0.254, 1);
  });

  it('gives adults ages 18 to 100 on the generation date, minors only as pre-registered', () => {
    const asOf = Number(DEFAULT_AS_OF.replaceAll('-', ''));
    for (const r of rows) {
      const [m, d, y] = column(fl, r, 'birthDate').split('/').map(Number) as [
        number,
        number,
        number,
      ];
      const age = Math.floor((asOf - (y * 10_000 + m * 100 + d)) / 10_000);
      const status = column(fl, r, 'status');
      if (status === 'PRE') expect([16, 17]).toContain(age);
      else expect(age >= 18 && age <= 100, `age ${age}`).toBe(true);
      const [rm, rd, ry] = column(fl, r, 'registrationDate').split('/').map(Number) as [
        number,
        number,
        number,
      ];
      expect(ry * 10_000 + rm * 100 + rd).toBeLessThanOrEqual(asOf);
      expect(ry * 10_000 + rm * 100 + rd).toBeGreaterThan(y * 10_000 + m * 100 + d);
    }
  });

  it('uses only fictional phone numbers and reserved e-mail domains', () => {
    const phones = rows.map((r) => column(fl, r, 'phone')).filter(Boolean);
    const emails = rows.map((r) => column(fl, r, 'email')).filter(Boolean);
    expect(phones.length).toBeGreaterThan(count * 0.2);
    expect(emails.length).toBeGreaterThan(count * 0.1);
    for (const phone of phones) expect(phone).toMatch(/^55501\d\d$/);
    for (const email of emails) expect(email).toMatch(/^[a-z0-9.]+@example\.(com|net|org)$/);
  });
});

describe('name tables', () => {
  it('hold only characters every layout can write', () => {
    const read = (file: string): unknown =>
      JSON.parse(readFileSync(new URL(`data/${file}`, import.meta.url), 'utf8'));
    const surnames = read('surnames.json') as { names: [string][] };
    const spanish = read('spanish-surnames.json') as { names: string[] };
    const first = read('first-names.json') as Record<'F' | 'M', Record<string, [string][]>>;
    const names = [
      ...surnames.names.map(([name]) => name),
      ...spanish.names,
      ...[first.F, first.M].flatMap((groups) =>
        Object.values(groups).flatMap((list) => list.map(([name]) => name)),
      ),
    ];
    expect(names.length).toBeGreaterThan(5000);
    for (const name of names) expect(name).toMatch(/^[A-Z][A-Z' -]*$/);
  });
});

describe('fixtures', () => {
  // The samples in test/fixtures/voters are this generator's output; regenerate them with
  // UPDATE_FIXTURES=1 after an intended change to the generator.
  for (const id of SHIPPED_LAYOUT_IDS) {
    it(`reproduces ${FIXTURE_FILES[id] ?? id} byte for byte`, async () => {
      const fixture = new URL(FIXTURE_FILES[id] ?? id, FIXTURES);
      const path = join(dir, `fixture-${id}.txt`);
      await generateVoterFile({ layout: id, count: FIXTURE_ROWS, seed: FIXTURE_SEED, out: path });
      if (process.env['UPDATE_FIXTURES'] === '1') writeFileSync(fixture, readFileSync(path));
      expect(readFileSync(path).equals(readFileSync(fixture))).toBe(true);
    });
  }
});
