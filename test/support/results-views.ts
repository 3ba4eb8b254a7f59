// Views of real public results for the results renderers' tests: New Mexico's 2020
// presidential vote per county (test/fixtures/results-web), with counties matched to their
// us-atlas FIPS codes by name, as an importer has to.
import { readFileSync } from 'node:fs';
import { countyFipsByName, foldPlaceName } from '../../src/web/results-svg.ts';
import type { ContestView, UnitView } from '../../src/web/results-view.ts';

const FIXTURE = new URL('../fixtures/results-web/nm-2020-president-counties.csv', import.meta.url);

/** New Mexico's state FIPS code. */
export const NM_STATE_FIPS = '35';

/** Splits one CSV line (RFC 4180 quoting, no newlines inside fields). */
function csvLine(line: string): string[] {
  const out: string[] = [];
  let field = '';
  let quoted = false;
  for (let i = 0; i < line.length; i += 1) {
    const c = line[i]!;
    if (quoted) {
      if (c === '"' && line[i + 1] === '"') {
        field += '"';
        i += 1;
      } else if (c === '"') quoted = false;
      else field += c;
    } else if (c === '"') quoted = true;
    else if (c === ',') {
      out.push(field);
      field = '';
    } else field += c;
  }
  out.push(field);
  return out;
}

/** A county name folded for matching: no accents, lower case, single spaces. */
/** Options of {@link newMexicoPresidentView}. */
export interface NmViewOptions {
  /** Counties shown as suppressed (by name as in the file), to exercise that path. */
  readonly suppress?: readonly string[];
  /** Replaces a candidate's name (to test hostile names). */
  readonly rename?: Readonly<Record<string, string>>;
}

/** The 2020 New Mexico presidential contest per county, as the results pages take it. */
export function newMexicoPresidentView(options: NmViewOptions = {}): ContestView {
  const lines = readFileSync(FIXTURE, 'utf8').trim().split('\n').slice(1).map(csvLine);
  const fipsByName = countyFipsByName(NM_STATE_FIPS);
  const candidates = new Map<string, { party: string; votes: number }>();
  const counties = new Map<string, Map<string, number | null>>();
  for (const [county, party, candidate, votes] of lines) {
    // An empty count is one the source withheld: it stays withheld and out of the totals.
    const n = votes === '' ? null : Number(votes);
    const c = candidates.get(candidate!) ?? { party: party!, votes: 0 };
    c.votes += n ?? 0;
    candidates.set(candidate!, c);
    const row = counties.get(county!) ?? new Map<string, number | null>();
    row.set(candidate!, n);
    counties.set(county!, row);
  }
  const order = [...candidates].sort((a, b) => b[1].votes - a[1].votes);
  const totalVotes = order.reduce((sum, [, c]) => sum + c.votes, 0);
  const suppress = new Set(options.suppress ?? []);
  const units: UnitView[] = [...counties].map(([county, row]) => {
    const fips = fipsByName.get(foldPlaceName(county));
    if (fips === undefined) throw new Error(`No FIPS code for county "${county}"`);
    return {
      unitId: `county:${foldPlaceName(county).replaceAll(' ', '-')}`,
      name: county,
      level: 'county',
      fips,
      choices: order.map(([name]) => row.get(name) ?? null),
      suppressed: suppress.has(county),
      ...(suppress.has(county) ? { reason: 'fewer than 10 ballots' } : {}),
    };
  });
  return {
    election: {
      id: '2020-11-03-general',
      name: 'General election 2020',
      date: '2020-11-03',
      state: 'NM',
    },
    contest: { id: 'president', name: 'President', kind: 'candidate', district: null },
    totals: order.map(([name, c], index) => ({
      choiceId: `choice-${index + 1}`,
      name: options.rename?.[name] ?? name,
      party: c.party,
      votes: c.votes,
      percent: ((c.votes / totalVotes) * 100).toFixed(2),
    })),
    totalVotes,
    units,
    unitsReporting: units.length,
    unitsExpected: units.length,
    lastUpdated: '2020-11-24T17:30:00Z',
    publication: null,
    suppressionNote:
      'Counts of a unit with fewer than 10 ballots are not shown, so that no count can reveal how a person voted.',
  };
}
