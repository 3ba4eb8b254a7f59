import { describe, expect, it } from 'vitest';
import { newMexicoPresidentView, NM_STATE_FIPS } from '../../test/support/results-views.ts';
import {
  countyMarginMap,
  hasCountyMap,
  loadUsCounties,
  marginBucket,
  totalsBarChart,
} from './results-svg.ts';
import { unitOutcome } from './results-view.ts';
import type { ContestView } from './results-view.ts';

/** Attributes of each element `tag` carrying `marker` in a drawing. */
function elements(svg: string, tag: string, marker: string): Record<string, string>[] {
  const out: Record<string, string>[] = [];
  for (const match of svg.matchAll(new RegExp(`<${tag}\\b([^>]*)>`, 'g'))) {
    const body = match[1] ?? '';
    if (!body.includes(marker)) continue;
    const attrs: Record<string, string> = {};
    for (const a of body.matchAll(/([\w:-]+)="([^"]*)"/g)) attrs[a[1]!] = a[2]!;
    out.push(attrs);
  }
  return out;
}

function countiesOfState(stateFips: string): number {
  const counties = loadUsCounties().objects['counties'];
  if (counties?.type !== 'GeometryCollection') return 0;
  return counties.geometries.filter((g) => String(g.id).startsWith(stateFips)).length;
}

describe('totals bar chart', () => {
  const view = newMexicoPresidentView();
  const svg = totalsBarChart(view).text;

  it('draws one bar per choice, each as long as its share of all votes', () => {
    const bars = elements(svg, 'rect', 'class="bar"');
    expect(bars).toHaveLength(view.totals.length);
    const tracks = elements(svg, 'rect', `fill="#e4e8ee"`);
    const full = Number(tracks[0]!['width']);
    expect(full).toBeGreaterThan(400);
    view.totals.forEach((total, index) => {
      const width = Number(bars[index]!['width']);
      expect(bars[index]!['data-votes']).toBe(String(total.votes));
      expect(width / full).toBeCloseTo(total.votes / view.totalVotes, 3);
    });
    // Biden's 501,614 against Trump's 401,894: the ratio of the bars is the ratio of the votes.
    const [biden, trump] = bars.map((b) => Number(b['width']));
    expect(biden! / trump!).toBeCloseTo(view.totals[0]!.votes / view.totals[1]!.votes, 2);
  });

  it('shows the percentages as the view gives them, with the votes', () => {
    const odd: ContestView = {
      ...view,
      totals: view.totals.map((t, i) => (i === 0 ? { ...t, percent: '54.2900' } : t)),
    };
    const text = totalsBarChart(odd).text;
    expect(text).toContain(`${view.totals[0]!.votes.toLocaleString('en-US')} · 54.2900%`);
    expect(text).toContain(`${view.totals[1]!.percent}%`);
  });

  it('is an accessible image with a title and a description', () => {
    expect(svg).toMatch(/<svg[^>]*role="img"[^>]*aria-labelledby="totals-title totals-desc"/);
    expect(svg).toContain('<title id="totals-title">Votes for President</title>');
    expect(svg).toMatch(/<desc id="totals-desc">Joseph R\. Biden \(DEM\): 501,614 votes/);
  });

  it('escapes hostile names and never uses style attributes', () => {
    const hostile = newMexicoPresidentView({
      rename: { 'Joseph R. Biden': '<script>alert(1)</script>"><img src=x onerror=alert(2)>' },
    });
    const text = totalsBarChart(hostile).text;
    expect(text).not.toContain('<script');
    expect(text).not.toContain('<img');
    expect(text).toContain('&lt;script&gt;alert(1)&lt;/script&gt;&quot;&gt;&lt;img');
    expect(text).not.toMatch(/\sstyle=/);
    // The quoted nickname in the real data is escaped too.
    expect(text).toContain('Sheila &quot;Samm&quot; Tittle');
  });

  it('draws empty bars when nothing is counted yet', () => {
    const empty: ContestView = {
      ...view,
      totalVotes: 0,
      totals: view.totals.map((t) => ({ ...t, votes: 0, percent: '0.00' })),
    };
    const bars = elements(totalsBarChart(empty).text, 'rect', 'class="bar"');
    expect(bars.map((b) => b['width'])).toEqual(view.totals.map(() => '0'));
  });
});

describe('county margin map', () => {
  const view = newMexicoPresidentView({ suppress: ['Harding'] });
  const map = countyMarginMap(view)!;
  const svg = map.svg.text;
  const paths = elements(svg, 'path', 'data-fips=');

  it('draws one path per county of the state, New Mexico having 33', () => {
    expect(countiesOfState(NM_STATE_FIPS)).toBe(33);
    expect(paths).toHaveLength(33);
    expect(new Set(paths.map((p) => p['data-fips']))).toEqual(
      new Set(view.units.map((u) => u.fips)),
    );
    for (const p of paths) expect(p['d']).toMatch(/^M[\d.-]+,[\d.-]+L/);
  });

  it('fills each county by its leader and margin bucket', () => {
    const fillOf = (name: string) => {
      const unit = view.units.find((u) => u.name === name)!;
      return paths.find((p) => p['data-fips'] === unit.fips)!['fill'];
    };
    // Bernalillo: Biden ahead by about 24 points: the third blue, solid (first choice).
    const bernalillo = unitOutcome(view.units.find((u) => u.name === 'Bernalillo')!);
    expect(bernalillo.kind === 'lead' && marginBucket(bernalillo.marginPoints)).toBe(2);
    expect(fillOf('Bernalillo')).toBe('#2171b5');
    // Lea: Trump ahead by far more than 30 points: the darkest red, hatched (second choice).
    const lea = unitOutcome(view.units.find((u) => u.name === 'Lea')!);
    expect(lea.kind === 'lead' && lea.choiceIndex === 1 && lea.marginPoints > 30).toBe(true);
    expect(fillOf('Lea')).toBe('url(#map-c1-b3)');
    expect(svg).toMatch(/<pattern\s+id="map-c1-b3"[^>]*>\s*<rect[^>]*fill="#67000d"/);
    // Harding is suppressed: hatched grey, no leader in its tooltip.
    expect(fillOf('Harding')).toBe('url(#map-nodata)');
    expect(svg).toContain('<title>Harding: suppressed to protect ballot secrecy</title>');
  });

  it('defines every pattern it references', () => {
    const referenced = new Set([...svg.matchAll(/url\(#([^)]+)\)/g)].map((m) => m[1]));
    const defined = new Set([...svg.matchAll(/<pattern\s+id="([^"]+)"/g)].map((m) => m[1]));
    for (const id of referenced) expect(defined).toContain(id);
  });

  it('counts each margin bucket as the table would', () => {
    const expected = new Map<string, number>();
    for (const unit of view.units) {
      const o = unitOutcome(unit);
      const key = o.kind === 'lead' ? `${o.choiceIndex}/${marginBucket(o.marginPoints)}` : 'nodata';
      expected.set(key, (expected.get(key) ?? 0) + 1);
    }
    const drawn = new Map<string, number>();
    for (const p of paths) {
      const fill = p['fill']!;
      const m = /map-c(\d+)-b(\d+)/.exec(fill);
      const key =
        m !== null
          ? `${m[1]}/${m[2]}`
          : fill === 'url(#map-nodata)'
            ? 'nodata'
            : `0/${['#c6dbef', '#6baed6', '#2171b5', '#08306b'].indexOf(fill)}`;
      drawn.set(key, (drawn.get(key) ?? 0) + 1);
    }
    expect(drawn).toEqual(expected);
  });

  it('lists a legend row per leader, with words for every bucket', () => {
    expect(map.legend.map((e) => e.label)).toEqual([
      'Joseph R. Biden (DEM) leads by',
      'Donald J. Trump (REP) leads by',
      'No results shown',
    ]);
    expect(map.legend[0]!.swatches.map((s) => s.label)).toEqual([
      'under 5 points',
      '5 to 15 points',
      '15 to 30 points',
      '30 points or more',
    ]);
    const withLegend = countyMarginMap(view, { legend: true })!.svg.text;
    expect(withLegend).toContain('>30 points or more</text');
    expect(withLegend).toContain('>Donald J. Trump (REP) leads by</text>');
  });

  it('is an accessible image, escapes names in tooltips and uses no style attribute', () => {
    expect(svg).toMatch(/<svg[^>]*role="img"/);
    expect(svg).toContain('<title id="map-title">Map of President by county, New Mexico</title>');
    expect(svg).toMatch(/<desc id="map-desc">Joseph R\. Biden \(DEM\) leads in \d+ counties;/);
    expect(svg).not.toMatch(/\sstyle=/);
    const hostile: ContestView = {
      ...view,
      units: view.units.map((u) => (u.name === 'Lea' ? { ...u, name: '<script>x</script>' } : u)),
    };
    const text = countyMarginMap(hostile)!.svg.text;
    expect(text).not.toContain('<script>');
    expect(text).toContain('<title>&lt;script&gt;x&lt;/script&gt;: ');
  });

  it('maps nothing when no unit has a county FIPS code', () => {
    const noFips: ContestView = { ...view, units: view.units.map((u) => ({ ...u, fips: null })) };
    expect(hasCountyMap(noFips)).toBe(false);
    expect(countyMarginMap(noFips)).toBeNull();
    const bad: ContestView = { ...view, units: view.units.map((u) => ({ ...u, fips: '35<1' })) };
    expect(countyMarginMap(bad)).toBeNull();
  });

  it('draws the counties of every state the units lie in', () => {
    const two: ContestView = {
      ...view,
      units: [...view.units, { ...view.units[0]!, unitId: 'county:x', fips: '04001' }],
    };
    const drawn = elements(countyMarginMap(two)!.svg.text, 'path', 'data-fips=');
    expect(drawn).toHaveLength(33 + countiesOfState('04'));
  });
});
