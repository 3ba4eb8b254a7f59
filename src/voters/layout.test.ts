import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import {
  checkFields,
  checkHeader,
  detectLayout,
  isRecordConfidential,
  LayoutError,
  loadLayout,
  MINIMUM_CLASS,
  parseLayout,
  parseLayoutDate,
  roleIndex,
  SHIPPED_LAYOUT_IDS,
  shippedLayouts,
} from './layout.ts';
import type { VoterLayout } from './layout.ts';

const FIXTURE_POLICY = fileURLToPath(
  new URL('../../test/fixtures/voters/policy-example.json', import.meta.url),
);

function names(layout: VoterLayout): string[] {
  return layout.columns.map((c) => c.name);
}

/** A valid layout to break in tests. */
function sample(): Record<string, unknown> {
  return JSON.parse(readFileSync(FIXTURE_POLICY, 'utf8')) as Record<string, unknown>;
}

function writePolicy(value: unknown, name = 'policy.json'): string {
  const dir = mkdtempSync(join(tmpdir(), 'vv-layout-'));
  const path = join(dir, name);
  writeFileSync(path, typeof value === 'string' ? value : JSON.stringify(value));
  return path;
}

function loadError(path: string): LayoutError {
  try {
    loadLayout(path);
  } catch (error: unknown) {
    if (error instanceof LayoutError) return error;
    throw error;
  }
  throw new Error(`Layout "${path}" loaded`);
}

describe('shipped layouts', () => {
  it('all load and validate', () => {
    expect(shippedLayouts().map((l) => l.id)).toEqual([...SHIPPED_LAYOUT_IDS]);
  });

  it('follow the NC document: 67 columns from 02/12/2022, 71 before, same codes', () => {
    const nc = loadLayout('nc');
    const legacy = loadLayout('nc-legacy');
    expect(nc.columns).toHaveLength(67);
    expect(legacy.columns).toHaveLength(71);
    expect(names(nc).slice(0, 5)).toEqual([
      'county_id',
      'county_desc',
      'voter_reg_num',
      'ncid',
      'last_name',
    ]);
    expect(names(nc).slice(-2)).toEqual(['vtd_abbrv', 'vtd_desc']);
    expect(names(legacy).slice(-5)).toEqual([
      'confidential_ind',
      'birth_year',
      'ncid',
      'vtd_abbrv',
      'vtd_desc',
    ]);
    expect(names(nc)).toContain('age_at_year_end');
    expect(names(legacy)).toEqual(
      expect.arrayContaining(['absent_ind', 'name_prefx_cd', 'birth_age', 'dist_2_abbrv']),
    );
    const race = nc.columns.find((c) => c.name === 'race_code');
    expect(race).toMatchObject({ class: 'protected', role: 'race', codes: { closed: true } });
    expect(Object.keys(race?.codes?.values ?? {}).sort()).toEqual([
      'A',
      'B',
      'I',
      'M',
      'O',
      'P',
      'U',
      'W',
    ]);
    expect(nc.confidentialMarker).toEqual({ column: 'confidential_ind', values: ['Y'] });
    expect(nc.format).toMatchObject({
      delimiter: 'tab',
      header: 'present',
      encoding: 'windows-1252',
    });
  });

  it('map counties to the right Census FIPS codes', () => {
    const fips = (id: string, code: string): string | undefined =>
      loadLayout(id).counties?.find((c) => c.code === code)?.fips;
    expect(fips('nc', '92')).toBe('37183'); // Wake
    expect(fips('nc', '60')).toBe('37119'); // Mecklenburg
    expect(fips('nc', '100')).toBe('37199'); // Yancey
    expect(fips('oh', '25')).toBe('39049'); // Franklin
    expect(fips('fl', 'DAD')).toBe('12086'); // Miami-Dade
    expect(fips('wa', 'KI')).toBe('53033'); // King
    expect(loadLayout('nc').counties).toHaveLength(100);
    expect(loadLayout('oh').counties).toHaveLength(88);
    expect(loadLayout('fl').counties).toHaveLength(67);
    expect(loadLayout('wa').counties).toHaveLength(39);
  });

  it('never leave a sensitive role below its minimum class', () => {
    const rank = { public: 0, confidential: 1, protected: 2 } as const;
    for (const layout of shippedLayouts()) {
      for (const column of layout.columns) {
        const minimum = MINIMUM_CLASS[column.role];
        if (minimum)
          expect(rank[column.class], `${layout.id} ${column.name}`).toBeGreaterThanOrEqual(
            rank[minimum],
          );
      }
    }
    const fl = loadLayout('fl');
    expect(fl.columns.find((c) => c.name === 'Birth_Date')?.class).toBe('confidential');
    expect(fl.columns.find((c) => c.name === 'Race')?.class).toBe('protected');
    expect(fl.format.header).toBe('absent');
  });

  it('index columns by role', () => {
    const index = roleIndex(loadLayout('nc'));
    expect(index.get('voterId')).toEqual([3]);
    expect(index.get('mailingAddressLine')).toEqual([16, 17, 18, 19]);
  });
});

describe('detectLayout', () => {
  const nc = loadLayout('nc');
  const legacy = loadLayout('nc-legacy');

  it('tells the 2022 NC layout from the older one, quoted or not', () => {
    expect(detectLayout(names(nc).join('\t')).id).toBe('nc');
    expect(detectLayout(names(legacy).join('\t')).id).toBe('nc-legacy');
    expect(
      detectLayout(
        names(nc)
          .map((n) => `"${n}"`)
          .join('\t'),
      ).id,
    ).toBe('nc');
    expect(
      detectLayout(
        `\uFEFF${names(legacy)
          .map((n) => `"${n}"`)
          .join('\t')}\r\n`,
      ).id,
    ).toBe('nc-legacy');
  });

  it('ignores case and surrounding spaces in header names', () => {
    expect(
      detectLayout(
        names(nc)
          .map((n) => ` ${n.toUpperCase()} `)
          .join('\t'),
      ).id,
    ).toBe('nc');
  });

  it('detects Ohio with its election columns and Washington with pipes', () => {
    const oh = loadLayout('oh');
    const header = [...names(oh), 'PRIMARY-03/17/2020', 'GENERAL-11/03/2020']
      .map((n) => `"${n}"`)
      .join(',');
    expect(detectLayout(header).id).toBe('oh');
    expect(checkHeader(oh, [...names(oh), 'GENERAL-11/03/2020'])).toEqual({
      kind: 'match',
      extraColumns: ['GENERAL-11/03/2020'],
    });
    expect(checkHeader(oh, [...names(oh), 'NOTES'])).toMatchObject({
      kind: 'mismatch',
      position: 47,
    });
    expect(detectLayout(names(loadLayout('wa')).join('|')).id).toBe('wa');
  });

  it('refuses a header with one column changed, naming the closest layout and column', () => {
    const changed = names(legacy);
    changed[30] = 'birth_place';
    expect(() => detectLayout(changed.join('\t'))).toThrow(
      /closest: Header column 31 is "birth_place"; layout "nc-legacy" expects "birth_state"/,
    );
  });

  it('cannot detect Florida, which has no header, and says so', () => {
    const row = 'ALA\t100000001\tSMITH\t\tJOHN';
    expect(() => detectLayout(row)).toThrow(LayoutError);
    expect(() => detectLayout(row)).toThrow(/"fl"\) must be named explicitly/);
  });

  it('checks a short header', () => {
    expect(checkHeader(nc, names(nc).slice(0, 10))).toMatchObject({
      kind: 'mismatch',
      position: 11,
    });
  });
});

describe('loadLayout with policy files', () => {
  it('loads the documented example policy', () => {
    const layout = loadLayout(FIXTURE_POLICY);
    expect(layout.id).toBe('county-pollbook');
    expect(layout.columns.every((c) => typeof c.required === 'boolean')).toBe(true);
  });

  it('names the file and the field of a wrong class', () => {
    const policy = sample();
    (policy['columns'] as Record<string, unknown>[])[2]!['class'] = 'secret';
    const path = writePolicy(policy);
    const error = loadError(path);
    expect(error.code).toBe('LAYOUT_INVALID');
    expect(error.file).toBe(path);
    expect(error.field).toBe('columns[2] ("Last Name").class');
    expect(error.message).toContain(`Invalid layout "${path}": columns[2] ("Last Name").class`);
  });

  it('refuses a policy that would publish race or a date of birth', () => {
    const policy = sample();
    const columns = policy['columns'] as Record<string, unknown>[];
    const race = columns.find((c) => c['role'] === 'race')!;
    race['class'] = 'public';
    const error = loadError(writePolicy(policy));
    expect(error.message).toMatch(
      /\("Race"\)\.class: role "race" must be "protected" or stricter, not "public"/,
    );
    const dob = sample();
    (dob['columns'] as Record<string, unknown>[]).find((c) => c['role'] === 'birthDate')!['class'] =
      'public';
    expect(loadError(writePolicy(dob)).message).toMatch(
      /role "birthDate" must be "confidential" or stricter/,
    );
  });

  it('refuses unknown keys, duplicate roles and a marker naming no column', () => {
    const typo = sample();
    (typo['columns'] as Record<string, unknown>[])[0]!['clas'] = 'public';
    expect(loadError(writePolicy(typo)).message).toMatch(
      /columns\[0\] \("Voter ID"\): Unrecognized key: "clas"/,
    );
    const twice = sample();
    (twice['columns'] as Record<string, unknown>[])[3]!['role'] = 'lastName';
    expect(loadError(writePolicy(twice)).message).toMatch(/role "lastName" is already on column 3/);
    const marker = sample();
    marker['confidentialMarker'] = { column: 'Secret', values: ['Y'] };
    const error = loadError(writePolicy(marker));
    expect(error.field).toBe('confidentialMarker.column');
    expect(error.message).toMatch(/no column is named "Secret"/);
  });

  it('refuses a date column without formats and extra columns without a header', () => {
    const policy = sample();
    delete (policy['columns'] as Record<string, unknown>[]).find(
      (c) => c['role'] === 'registrationDate',
    )!['dateFormats'];
    expect(loadError(writePolicy(policy)).message).toMatch(
      /role "registrationDate" needs dateFormats/,
    );
    const extra = sample();
    extra['format'] = { ...(extra['format'] as object), header: 'absent' };
    extra['extraColumns'] = { pattern: '(', class: 'public', role: 'other' };
    const message = loadError(writePolicy(extra)).message;
    expect(message).toMatch(/extra columns are matched by header name/);
    expect(message).toMatch(/extraColumns\.pattern: not a valid regular expression/);
  });

  it('reports malformed JSON and missing files with the file name', () => {
    const path = writePolicy('{ "id": "x", ', 'broken.json');
    const error = loadError(path);
    expect(error.code).toBe('LAYOUT_MALFORMED');
    expect(error.message).toContain(`Cannot parse layout "${path}" as JSON`);
    expect(loadError('no-such-layout').message).toMatch(
      /Cannot read layout "no-such-layout": ENOENT; shipped layouts are "nc"/,
    );
    expect(loadError('no-such-layout').code).toBe('LAYOUT_NOT_FOUND');
  });

  it('validates objects too, with the given source name', () => {
    expect(() => parseLayout({}, 'inline')).toThrow(/Invalid layout "inline": id: /);
  });
});

describe('values', () => {
  it('parses dates in the declared formats only, and only real dates', () => {
    expect(parseLayoutDate('02/29/2024', ['MM/DD/YYYY'])).toEqual({
      year: 2024,
      month: 2,
      day: 29,
    });
    expect(parseLayoutDate('02/29/2023', ['MM/DD/YYYY'])).toBeUndefined();
    expect(parseLayoutDate('2/9/2023', ['MM/DD/YYYY'])).toBeUndefined();
    expect(parseLayoutDate('2/9/2023', ['MM/DD/YYYY', 'M/D/YYYY'])).toEqual({
      year: 2023,
      month: 2,
      day: 9,
    });
    expect(parseLayoutDate('1961', ['YYYY-MM-DD', 'YYYY'])).toEqual({ year: 1961 });
    expect(parseLayoutDate('19610704', ['YYYYMMDD'])).toEqual({ year: 1961, month: 7, day: 4 });
    expect(parseLayoutDate('0000-01-01', ['YYYY-MM-DD'])).toBeUndefined();
  });

  it('checks required values, closed codes, dates and lengths', () => {
    const nc = loadLayout('nc');
    const fields = nc.columns.map(() => '');
    const set = (name: string, value: string): void => {
      fields[nc.columns.findIndex((c) => c.name === name)] = value;
    };
    set('county_id', '100');
    set('county_desc', 'YANCEY');
    set('voter_reg_num', '000000012345');
    set('ncid', 'AB123456');
    set('last_name', 'SMITH');
    set('status_cd', 'A');
    expect(checkFields(nc, fields)).toEqual([]);
    set('county_id', '00');
    expect(checkFields(nc, fields)).toEqual([]);
    set('county_id', '101');
    set('race_code', 'Z');
    set('party_cd', 'NEW');
    set('registr_dt', '13/01/2020');
    set('name_suffix_lbl', 'JUNIOR');
    set('last_name', '  ');
    expect(checkFields(nc, fields).map((i) => `${i.code}:${i.name}`)).toEqual([
      'CODE_UNKNOWN:county_id',
      'REQUIRED_MISSING:last_name',
      'TOO_LONG:name_suffix_lbl',
      'DATE_INVALID:registr_dt',
      'CODE_UNKNOWN:race_code',
    ]);
  });

  it('reads the confidential marker', () => {
    const fl = loadLayout('fl');
    const fields = fl.columns.map(() => '');
    expect(isRecordConfidential(fl, fields)).toBe(false);
    fields[6] = 'Y';
    expect(isRecordConfidential(fl, fields)).toBe(true);
    expect(isRecordConfidential(loadLayout('wa'), fields)).toBe(false);
  });
});

describe('interchange layouts', () => {
  it('loads the NIST SP 1500-102 layout by id, with the columns the VRI reader yields', async () => {
    const { loadVriLayout } = await import('./nist-vri.ts');
    const layout = loadLayout('nist-vri');
    expect(layout.id).toBe('nist-vri');
    expect(layout.columns.map((c) => c.name)).toEqual(loadVriLayout().columns.map((c) => c.name));
  });
});
