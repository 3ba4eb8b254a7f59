import { describe, expect, it } from 'vitest';
import { newMexicoPresidentView } from '../../test/support/results-views.ts';
import { contestPage, resultsIndexPage } from './results-pages.ts';
import { RESULTS_PATHS, ResultsPageError, unitOutcome } from './results-view.ts';
import type { ContestView, ResultsIndexView } from './results-view.ts';

/** Fails on anything the Content-Security-Policy would block or that runs code inline. */
function expectNoInlineCode(page: string): void {
  expect(page).not.toMatch(/<[a-z][^>]*\sstyle=/i);
  expect(page).not.toMatch(/<style/i);
  expect(page).not.toMatch(/<[a-z][^>]*\son[a-z]+=/i);
  expect(page).not.toMatch(/javascript:/i);
  for (const script of page.matchAll(/<script\b([^>]*)>([\s\S]*?)<\/script>/gi)) {
    expect(script[1]).toMatch(/\ssrc="\/assets\/[a-z-]+\.js"/);
    expect(script[2]).toBe('');
  }
}

const PUBLICATION = {
  sequence: 2,
  logIndex: 41,
  sha256: 'a'.repeat(64),
  inclusion: {
    entry: Buffer.from('{"sha256":"' + 'a'.repeat(64) + '","type":"results"}').toString('base64'),
    proof: ['AAAA', 'BBBB'],
    checkpoint: 'example.org/log\n57\nq83vEjRWeJA=\n\n— example.org/log abcd\n',
    verifierKey: 'example.org/log+01234567+AQ==',
  },
};

describe('contest page', () => {
  const view: ContestView = {
    ...newMexicoPresidentView({ suppress: ['Harding'] }),
    publication: PUBLICATION,
  };
  const page = contestPage(view);

  it('is a whole public page with the totals chart, the table and the map', () => {
    expect(page).toMatch(/^<!doctype html>/);
    expect(page).toContain('<title>President — Voter information</title>');
    expect(page).toMatch(/role="img"\s+aria-labelledby="totals-title totals-desc"/);
    expect(page).toMatch(/role="img"\s+aria-labelledby="map-title map-desc"/);
    expect(page.match(/data-fips="35\d{3}"/g)).toHaveLength(33);
    expect(page).toContain('<th scope="row">Joseph R. Biden</th>');
    expect(page).toContain('<td class="num">501,614</td>');
    expect(page).toContain(`<td class="num">${view.totals[0]!.percent}%</td>`);
    expect(page).toContain(
      '<time datetime="2020-11-24T17:30:00Z">November 24, 2020 at 5:30 PM UTC</time>',
    );
    expect(page).toContain('33 of 33 reporting units in');
    expectNoInlineCode(page);
  });

  it('shows percentages exactly as the view gives them', () => {
    const odd = contestPage({
      ...view,
      totals: view.totals.map((t, i) => (i === 1 ? { ...t, percent: '43.7' } : t)),
    });
    expect(odd).toContain('<td class="num">43.7%</td>');
    expect(odd).toContain('· 43.7%');
  });

  it('lists every unit, suppressed ones without any count, total or leader', () => {
    const rows = [...page.matchAll(/<tr[^>]*data-unit="([^"]+)"[^>]*>([\s\S]*?)<\/tr>/g)];
    expect(rows).toHaveLength(33);
    const harding = rows.find((r) => r[1] === 'county:harding')![2]!;
    expect(harding).toContain('Suppressed to protect ballot secrecy (fewer than 10 ballots)');
    const hardingText = harding.replace(/<[^>]*>/g, '').replace('fewer than 10 ballots', '');
    expect(hardingText).not.toMatch(/\d/);
    const unit = view.units.find((u) => u.name === 'Harding')!;
    // Harding's published counts appear nowhere on the page.
    for (const n of unit.choices) {
      if (n !== null && n > 99) expect(page).not.toContain(`>${n.toLocaleString('en-US')}<`);
    }
    const bernalillo = rows.find((r) => r[1] === 'county:bernalillo')![2]!;
    expect(bernalillo).toContain('<td class="num">193,757</td>');
    expect(bernalillo).toMatch(
      /<td class="leader">Joseph R\. Biden<\/td>\s*<td class="num">24\.4<\/td>/,
    );
    // A count the source itself withheld, in a unit that is otherwise published.
    const deBaca = rows.find((r) => r[1] === 'county:de-baca')![2]!;
    expect(deBaca).toContain('not reported');
    expect(view.suppressionNote).toBeDefined();
    expect(page).toContain(view.suppressionNote!);
  });

  it('never shows a suppressed unit’s counts even when the view still holds them', () => {
    const leaky: ContestView = {
      ...view,
      units: view.units.map((u) => (u.name === 'Bernalillo' ? { ...u, suppressed: true } : u)),
    };
    const text = contestPage(leaky);
    expect(text).not.toContain('193,757');
    expect(text).not.toContain('116,135');
    expect(text).toContain('<title>Bernalillo: suppressed to protect ballot secrecy</title>');
  });

  it('escapes hostile names everywhere: title, tables, chart and map', () => {
    const hostile = newMexicoPresidentView({
      rename: { 'Donald J. Trump': '<script>alert(1)</script>' },
    });
    const text = contestPage({
      ...hostile,
      contest: { ...hostile.contest, name: '<img src=x onerror=alert(2)>' },
      units: hostile.units.map((u) => (u.name === 'Lea' ? { ...u, name: '"><script>' } : u)),
    });
    expect(text).not.toContain('<script>alert');
    expect(text).not.toContain('<img');
    expect(text).not.toContain('"><script>');
    expect(text).toContain('&lt;script&gt;alert(1)&lt;/script&gt;');
    expect(text).toContain('<title>&lt;img src=x onerror=alert(2)&gt; — Voter information</title>');
    expectNoInlineCode(text);
  });

  it('links the downloads at their paths', () => {
    for (const path of [
      RESULTS_PATHS.contestCsv('2020-11-03-general', 'president'),
      RESULTS_PATHS.contestJson('2020-11-03-general', 'president'),
      RESULTS_PATHS.nistJson('2020-11-03-general'),
      RESULTS_PATHS.nistXml('2020-11-03-general'),
      RESULTS_PATHS.totalsSvg('2020-11-03-general', 'president'),
      RESULTS_PATHS.mapSvg('2020-11-03-general', 'president'),
    ]) {
      expect(page).toContain(`href="${path}"`);
    }
    expect(RESULTS_PATHS.contestCsv('2020-11-03-general', 'president')).toBe(
      '/results/2020-11-03-general/president/results.csv',
    );
  });

  it('carries the publication for the browser to verify, and the commands without scripts', () => {
    expect(page).toContain('<script src="/assets/log-proof.js" defer></script>');
    expect(page).toContain('<script src="/assets/verify-results.js" defer></script>');
    const section = /<div\s+id="result-proof"([^>]*)>/.exec(page)![1]!;
    expect(section).toContain('data-index="41"');
    expect(section).toContain(`data-entry="${PUBLICATION.inclusion.entry}"`);
    expect(section).toContain('data-proof="AAAA BBBB"');
    expect(section).toContain(`data-sha256="${'a'.repeat(64)}"`);
    expect(section).toContain('data-vkey="example.org/log+01234567+AQ=="');
    expect(section).toContain('data-checkpoint="example.org/log\n57\n');
    expect(page).toContain('votervault log proof inclusion --index 41 --size\n          57');
    expect(page).toContain('Signed checkpoint of 57 entries');
  });

  it('says when results are not in the log yet, and loads no script then', () => {
    const text = contestPage({ ...view, publication: null });
    expect(text).toContain('These results are not yet signed into the public log.');
    expect(text).not.toContain('<script');
  });

  it('has no map when no unit has a county code', () => {
    const text = contestPage({ ...view, units: view.units.map((u) => ({ ...u, fips: null })) });
    expect(text).not.toContain('Map by county');
    expect(text).not.toContain('map.svg');
    expect(text).toContain('Results by reporting unit');
  });

  it('refuses ids that would leave the results folder', () => {
    for (const id of ['../x', 'a/../../b', 'a b', 'x.html', '']) {
      expect(() => contestPage({ ...view, contest: { ...view.contest, id } })).toThrow(
        ResultsPageError,
      );
    }
    expect(() => RESULTS_PATHS.nistJson('a/b')).toThrow(/Cannot use election id "a\/b"/);
    expect(RESULTS_PATHS.contest('e', 'us-house/1')).toBe('/results/e/us-house/1/');
  });
});

describe('unit outcome', () => {
  it('finds the leader and the margin over the runner-up among published counts', () => {
    const base = { unitId: 'u', name: 'U', level: 'county', fips: null, suppressed: false };
    expect(unitOutcome({ ...base, choices: [30, 60, null, 10] })).toEqual({
      kind: 'lead',
      choiceIndex: 1,
      marginPoints: 30,
    });
    expect(unitOutcome({ ...base, choices: [5, 5] })).toEqual({ kind: 'tie', votes: 5 });
    expect(unitOutcome({ ...base, choices: [null, 0] })).toEqual({ kind: 'no-votes' });
    expect(unitOutcome({ ...base, choices: [9, 1], suppressed: true })).toEqual({
      kind: 'suppressed',
    });
  });
});

describe('results index', () => {
  const view: ResultsIndexView = {
    elections: [
      {
        election: {
          id: '2020-11-03-general',
          name: 'General election 2020',
          date: '2020-11-03',
          state: 'NM',
        },
        lastUpdated: '2020-11-24T17:30:00Z',
        contests: [
          {
            contest: { id: 'president', name: 'President', kind: 'candidate', district: null },
            leader: { name: 'Joseph R. Biden', percent: '54.29' },
            unitsReporting: 33,
            unitsExpected: 33,
          },
          {
            contest: {
              id: 'us-house/2',
              name: '<b>US House</b>',
              kind: 'candidate',
              district: '2',
            },
            leader: null,
            unitsReporting: 0,
            unitsExpected: 18,
          },
        ],
      },
    ],
  };

  it('lists elections and contests with links, leaders and reporting', () => {
    const text = resultsIndexPage(view);
    expect(text).toContain('<title>Election results — Voter information</title>');
    expect(text).toMatch(/href="\/results\/2020-11-03-general\/president\/"\s*>President<\/a/);
    expect(text).toContain('Leading: Joseph R. Biden, 54.29%.');
    expect(text).toContain('href="/results/2020-11-03-general/us-house/2/"');
    expect(text).toContain('&lt;b&gt;US House&lt;/b&gt;, district 2');
    expect(text).toContain('0 of 18 reporting units in');
    expect(text).toContain('href="/results/2020-11-03-general/nist-1500-100.xml"');
    expectNoInlineCode(text);
    expect(text).not.toContain('<script');
  });

  it('says so when nothing is published', () => {
    expect(resultsIndexPage({ elections: [] })).toContain('No results are published yet.');
  });
});
