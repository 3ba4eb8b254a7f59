import { createHash } from 'node:crypto';
import { mkdtemp, readFile, rm, readdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { newMexicoPresidentView } from '../../test/support/results-views.ts';
import {
  ASSET_HASH_LENGTH,
  CONTEST_CSV_COLUMNS,
  contestCsv,
  contestJson,
  readResultsAssets,
  writeStaticSite,
} from './results-static.ts';
import type { StaticSiteViews } from './results-static.ts';
import type { ContestView } from './results-view.ts';

let out: string;
beforeEach(async () => {
  out = await mkdtemp(join(tmpdir(), 'results-site-'));
});
afterEach(async () => {
  await rm(out, { recursive: true, force: true });
});

const view: ContestView = {
  ...newMexicoPresidentView({ suppress: ['Harding'] }),
  publication: { sequence: 1, logIndex: 3, sha256: 'b'.repeat(64) },
};

function site(contests: readonly ContestView[] = [view]): StaticSiteViews {
  return {
    index: {
      elections: [
        {
          election: view.election,
          lastUpdated: view.lastUpdated,
          contests: contests.map((c) => ({
            contest: c.contest,
            leader: { name: c.totals[0]!.name, percent: c.totals[0]!.percent },
            unitsReporting: c.unitsReporting,
            unitsExpected: c.unitsExpected,
          })),
        },
      ],
    },
    contests,
    files: [{ path: '/results/2020-11-03-general/nist-1500-100.json', bytes: '{"x":1}\n' }],
  };
}

describe('static results site', () => {
  it('writes pages, drawings, downloads and hashed assets, and points the pages at them', async () => {
    const assets = await readResultsAssets();
    const report = await writeStaticSite(out, site(), assets);
    const css = assets.find((a) => a.name === 'site.css')!;
    const digest = createHash('sha256').update(css.bytes).digest('hex');
    const cssName = `site.${digest.slice(0, ASSET_HASH_LENGTH)}.css`;
    expect(report.assets['site.css']).toBe(cssName);
    expect(report.assets['verify-results.js']).toMatch(/^verify-results\.[0-9a-f]{12}\.js$/);
    expect(report.files).toEqual(
      [
        `assets/${cssName}`,
        `assets/${report.assets['log-proof.js']}`,
        `assets/${report.assets['verify-results.js']}`,
        'results/index.html',
        'results/2020-11-03-general/president/index.html',
        'results/2020-11-03-general/president/results.csv',
        'results/2020-11-03-general/president/results.json',
        'results/2020-11-03-general/president/totals.svg',
        'results/2020-11-03-general/president/map.svg',
        'results/2020-11-03-general/nist-1500-100.json',
      ].sort(),
    );
    expect(await readFile(join(out, 'assets', cssName))).toEqual(Buffer.from(css.bytes));
    const page = await readFile(
      join(out, 'results/2020-11-03-general/president/index.html'),
      'utf8',
    );
    expect(page).toContain(`href="/assets/${cssName}"`);
    expect(page).not.toContain('"/assets/site.css"');
    const index = await readFile(join(out, 'results/index.html'), 'utf8');
    expect(index).toContain(`href="/assets/${cssName}"`);
    expect(index).toContain('href="/results/2020-11-03-general/president/"');
    const map = await readFile(join(out, 'results/2020-11-03-general/president/map.svg'), 'utf8');
    expect(map).toMatch(
      /^<\?xml version="1.0" encoding="UTF-8"\?>\n<svg\s+xmlns="http:\/\/www.w3.org\/2000\/svg"/,
    );
    expect(map.match(/data-fips=/g)).toHaveLength(33);
    expect(map).toContain('class="legend"');
    expect(await readFile(join(out, 'results/2020-11-03-general/nist-1500-100.json'), 'utf8')).toBe(
      '{"x":1}\n',
    );
  });

  it('refuses paths and names that would leave the site, and two files at one path', async () => {
    const assets = await readResultsAssets();
    await expect(
      writeStaticSite(
        out,
        { ...site(), files: [{ path: '/results/../../etc/x', bytes: '' }] },
        assets,
      ),
    ).rejects.toMatchObject({ code: 'RESULTS_EXPORT_INVALID' });
    await expect(
      writeStaticSite(
        out,
        { ...site(), files: [{ path: '/elsewhere/x.json', bytes: '' }] },
        assets,
      ),
    ).rejects.toMatchObject({ code: 'RESULTS_EXPORT_INVALID' });
    await expect(
      writeStaticSite(out, site(), [{ name: '../site.css', bytes: 'x' }]),
    ).rejects.toMatchObject({ code: 'RESULTS_EXPORT_INVALID' });
    await expect(writeStaticSite(out, site([view, view]), assets)).rejects.toMatchObject({
      code: 'RESULTS_EXPORT_INVALID',
    });
    const bad = { ...view, contest: { ...view.contest, id: '../../x' } };
    await expect(writeStaticSite(out, site([bad]), assets)).rejects.toMatchObject({
      code: 'RESULTS_ID_INVALID',
    });
    // Nothing was written by the refused exports.
    expect(await readdir(out)).toEqual([]);
  });
});

describe('contest downloads', () => {
  it('writes one CSV row per unit and choice, suppressed units without counts', () => {
    const csv = contestCsv(view);
    const lines = csv.trimEnd().split('\r\n');
    expect(lines[0]).toBe(CONTEST_CSV_COLUMNS.join(','));
    expect(lines).toHaveLength(1 + view.units.length * view.totals.length);
    expect(lines).toContain(
      '2020-11-03-general,president,President,,county:bernalillo,Bernalillo,county,35001,choice-1,Joseph R. Biden,DEM,193757,false',
    );
    const harding = lines.filter((l) => l.includes(',county:harding,'));
    expect(harding).toHaveLength(view.totals.length);
    for (const line of harding) expect(line).toMatch(/,,true$/);
    expect(csv).toContain('"Sheila ""Samm"" Tittle"');
  });

  it('defuses spreadsheet formulas in names', () => {
    const hostile = newMexicoPresidentView({
      rename: { 'Jo Jorgensen': '=HYPERLINK("http://x")' },
    });
    expect(contestCsv(hostile)).toContain(`"'=HYPERLINK(""http://x"")"`);
  });

  it('writes JSON without suppressed counts or the proof material', () => {
    const leaky: ContestView = {
      ...view,
      units: view.units.map((u) => (u.name === 'Harding' ? { ...u, choices: [111, 222] } : u)),
    };
    const json = JSON.parse(contestJson(leaky)) as {
      units: { name: string; suppressed: boolean; votes: { votes: number | null }[] }[];
      publication: unknown;
      totals: unknown;
    };
    const harding = json.units.find((u) => u.name === 'Harding')!;
    expect(harding.suppressed).toBe(true);
    expect(harding.votes.every((v) => v.votes === null)).toBe(true);
    expect(json.publication).toEqual({ sequence: 1, logIndex: 3, sha256: 'b'.repeat(64) });
    expect(json.totals).toEqual(view.totals);
  });
});
