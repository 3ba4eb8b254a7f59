// Server-rendered SVG for the results pages: a horizontal bar chart of the totals and a county
// map of the leader's margin. Both are plain markup with presentation attributes (fill, stroke,
// font-size), never `style`, which the site's Content-Security-Policy forbids. Each is an image
// with a title and a description, colours come with a pattern and a text label so nothing is
// told by colour alone, and the page carries the same numbers as tables. Names and parties are
// attacker-controlled (results files): they go through the escaping `html` tag like any text.
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { geoAlbersUsa, geoBounds, geoCentroid, geoConicEqualArea, geoPath } from 'd3-geo';
import type { GeoProjection } from 'd3-geo';
import { feature } from 'topojson-client';
import type { GeometryCollection, GeometryObject, Topology } from 'topojson-specification';
import type { Feature, FeatureCollection, Geometry } from 'geojson';
import { html } from './html.ts';
import type { Html } from './html.ts';
import { unitOutcome } from './results-view.ts';
import type { ChoiceTotalView, ContestView, UnitOutcome, UnitView } from './results-view.ts';

/**
 * Upper bounds of the margin buckets, in percentage points of the unit's votes; the last
 * bucket is everything above. Four steps a reader can tell apart, as newspapers' maps use.
 */
export const MARGIN_BUCKETS = [5, 15, 30] as const;

/** Words for each margin bucket, in order. */
export const MARGIN_BUCKET_LABELS = [
  'under 5 points',
  '5 to 15 points',
  '15 to 30 points',
  '30 points or more',
] as const;

/** Width of both drawings' coordinate system; they scale to the page with CSS. */
const CHART_WIDTH = 480;
const MAP_WIDTH = 640;
/** Tallest the map gets, so a long narrow state does not fill a screen. */
const MAP_MAX_HEIGHT = 640;
const PAD = 8;
const FONT = 'system-ui, -apple-system, Segoe UI, Roboto, Arial, sans-serif';
const INK = '#1b1b1b';
const TRACK = '#e4e8ee';

/** Light to dark, one per margin bucket; the darker two carry white pattern marks. */
const RAMPS = {
  blue: ['#c6dbef', '#6baed6', '#2171b5', '#08306b'],
  red: ['#fcbba1', '#fb6a4a', '#cb181d', '#67000d'],
  green: ['#c7e9c0', '#74c476', '#238b45', '#00441b'],
  purple: ['#dadaeb', '#9e9ac8', '#6a51a3', '#3f007d'],
  brown: ['#f6e8c3', '#dfc27d', '#a6611a', '#543005'],
} as const;
type RampName = keyof typeof RAMPS;
const FALLBACK_RAMPS: readonly RampName[] = ['green', 'purple', 'brown'];

/** Marks drawn over the fill so that a leader is told apart without colour. */
const PATTERNS = ['solid', 'diagonal', 'dots', 'cross'] as const;
type PatternKind = (typeof PATTERNS)[number];

const TIE_FILL = '#bdbdbd';
const NO_DATA_FILL = '#ffffff';

/** How one choice is drawn: its colour ramp and its pattern. */
interface ChoiceStyle {
  readonly ramp: readonly string[];
  readonly pattern: PatternKind;
}

/**
 * Styles per choice, in totals order: the usual colours for the two major US parties, the
 * other ramps in turn for the rest, and a pattern per position so neighbours differ in marks.
 */
function choiceStyles(totals: readonly ChoiceTotalView[]): ChoiceStyle[] {
  let next = 0;
  return totals.map((total, index) => {
    const party = (total.party ?? '').trim().toUpperCase();
    let ramp: RampName;
    if (party === 'DEM' || party.startsWith('DEMOCRAT')) ramp = 'blue';
    else if (party === 'REP' || party.startsWith('REPUBLICAN')) ramp = 'red';
    else {
      ramp = FALLBACK_RAMPS[next % FALLBACK_RAMPS.length] ?? 'green';
      next += 1;
    }
    return { ramp: RAMPS[ramp], pattern: PATTERNS[index % PATTERNS.length] ?? 'solid' };
  });
}

/**
 * Index into {@link MARGIN_BUCKET_LABELS} of a margin (0 = closest).
 * @throws nothing
 */
export function marginBucket(marginPoints: number): number {
  const at = MARGIN_BUCKETS.findIndex((limit) => marginPoints < limit);
  return at < 0 ? MARGIN_BUCKETS.length : at;
}

function rampColour(style: ChoiceStyle, bucket: number): string {
  return style.ramp[bucket] ?? style.ramp[style.ramp.length - 1] ?? INK;
}

/** Marks contrast with the fill: dark marks on the light two buckets, white on the dark two. */
function markColour(style: ChoiceStyle, bucket: number): string {
  return bucket >= 2 ? '#ffffff' : (style.ramp[3] ?? INK);
}

function patternId(prefix: string, choice: number, bucket: number): string {
  return `${prefix}-c${choice}-b${bucket}`;
}

function patternDef(id: string, fill: string, mark: string, kind: PatternKind): Html {
  switch (kind) {
    case 'solid':
      return html``;
    case 'diagonal':
      return html`<pattern
        id="${id}"
        patternUnits="userSpaceOnUse"
        width="8"
        height="8"
        patternTransform="rotate(45)"
        ><rect width="8" height="8" fill="${fill}" /><rect width="2.5" height="8" fill="${mark}"
      /></pattern>`;
    case 'dots':
      return html`<pattern id="${id}" patternUnits="userSpaceOnUse" width="7" height="7"
        ><rect width="7" height="7" fill="${fill}" /><circle
          cx="3.5"
          cy="3.5"
          r="1.6"
          fill="${mark}"
      /></pattern>`;
    case 'cross':
      return html`<pattern
        id="${id}"
        patternUnits="userSpaceOnUse"
        width="8"
        height="8"
        patternTransform="rotate(45)"
        ><rect width="8" height="8" fill="${fill}" /><rect
          width="2"
          height="8"
          fill="${mark}" /><rect width="8" height="2" fill="${mark}"
      /></pattern>`;
  }
}

/** The fill of one choice at one bucket: a plain colour for solid, else its pattern. */
function fillOf(prefix: string, style: ChoiceStyle, choice: number, bucket: number): string {
  return style.pattern === 'solid'
    ? rampColour(style, bucket)
    : `url(#${patternId(prefix, choice, bucket)})`;
}

function defsFor(
  prefix: string,
  styles: readonly ChoiceStyle[],
  used: readonly (readonly [choice: number, bucket: number])[],
): Html {
  const defs = used.map(([choice, bucket]) => {
    const style = styles[choice];
    if (style === undefined) return html``;
    return patternDef(
      patternId(prefix, choice, bucket),
      rampColour(style, bucket),
      markColour(style, bucket),
      style.pattern,
    );
  });
  const noData = html`<pattern
    id="${prefix}-nodata"
    patternUnits="userSpaceOnUse"
    width="6"
    height="6"
    patternTransform="rotate(45)"
    ><rect width="6" height="6" fill="${NO_DATA_FILL}" /><rect
      width="1.5"
      height="6"
      fill="#767676"
  /></pattern>`;
  return html`<defs>${defs}${noData}</defs>`;
}

function formatVotes(votes: number): string {
  return votes.toLocaleString('en-US');
}

function choiceLabel(total: ChoiceTotalView): string {
  return total.party === null || total.party === '' ? total.name : `${total.name} (${total.party})`;
}

/** Rough width of text in the drawing's units, to decide where a label fits. */
function textWidth(text: string, fontSize: number): number {
  return text.length * fontSize * 0.56;
}

/** Options of both drawings. */
export interface SvgOptions {
  /**
   * Prefix of the ids inside the drawing (title, description, patterns), unique on the page
   * so that two drawings on one page do not share ids.
   */
  readonly idPrefix?: string;
}

/**
 * The totals as a horizontal bar chart: one row per choice, in the view's order, with its name,
 * party, votes and percentage as text and a bar whose length is its share of all votes.
 * @throws nothing
 */
export function totalsBarChart(view: ContestView, options: SvgOptions = {}): Html {
  const prefix = options.idPrefix ?? 'totals';
  const styles = choiceStyles(view.totals);
  const fontSize = 18;
  const rowHeight = 64;
  const barHeight = 24;
  const inner = CHART_WIDTH - 2 * PAD;
  // Long names push the figures under the bar, which makes that row taller.
  const layout = view.totals.map((total) => {
    const label = choiceLabel(total);
    const value = `${formatVotes(total.votes)} · ${total.percent}%`;
    const fits = textWidth(label, fontSize) + textWidth(value, fontSize) + 16 <= inner;
    return { label, value, fits };
  });
  const tops: number[] = [];
  let height = PAD;
  for (const row of layout) {
    tops.push(height);
    height += rowHeight + (row.fits ? 0 : fontSize + 4);
  }
  height = Math.max(height, PAD + rowHeight) + PAD;
  const rows = view.totals.map((total, index) => {
    const style = styles[index];
    const top = tops[index] ?? PAD;
    const { label, value, fits } = layout[index] ?? { label: '', value: '', fits: true };
    const width = view.totalVotes > 0 ? (total.votes / view.totalVotes) * inner : 0;
    const fill = style === undefined ? INK : barFill(prefix, style, index);
    const valueText = fits
      ? html`<text x="${CHART_WIDTH - PAD}" y="${top + fontSize}" text-anchor="end" fill="${INK}"
          >${value}</text
        >`
      : html`<text x="${PAD}" y="${top + fontSize + 6 + barHeight + fontSize + 2}" fill="${INK}"
          >${value}</text
        >`;
    return html`<g data-choice="${total.choiceId}">
      <text x="${PAD}" y="${top + fontSize}" fill="${INK}" font-weight="700">${label}</text>
      ${valueText}
      <rect
        x="${PAD}"
        y="${top + fontSize + 6}"
        width="${inner}"
        height="${barHeight}"
        fill="${TRACK}"
      />
      <rect
        class="bar"
        x="${PAD}"
        y="${top + fontSize + 6}"
        width="${round(width)}"
        height="${barHeight}"
        fill="${fill}"
        stroke="${INK}"
        stroke-width="${width > 0 ? 1 : 0}"
        data-votes="${total.votes}"
      />
    </g>`;
  });
  const defs = defsFor(
    prefix,
    styles,
    view.totals.map((_, index) => [index, 2] as const),
  );
  const desc = view.totals
    .map((t) => `${choiceLabel(t)}: ${formatVotes(t.votes)} votes, ${t.percent}%`)
    .join('; ');
  return html`<svg
    xmlns="http://www.w3.org/2000/svg"
    viewBox="0 0 ${CHART_WIDTH} ${height}"
    width="${CHART_WIDTH}"
    height="${height}"
    role="img"
    aria-labelledby="${prefix}-title ${prefix}-desc"
    font-family="${FONT}"
    font-size="${fontSize}"
    class="results-chart"
  >
    <title id="${prefix}-title">Votes for ${view.contest.name}</title>
    <desc id="${prefix}-desc">${desc === '' ? 'No votes reported yet.' : desc}</desc>
    ${defs}${rows}
  </svg>`;
}

/** Bars use the third shade of each ramp, dark enough for 3:1 against the page. */
function barFill(prefix: string, style: ChoiceStyle, choice: number): string {
  return fillOf(prefix, style, choice, 2);
}

function round(value: number): number {
  return Math.round(value * 100) / 100;
}

/** A county's place on the map. */
interface MappedUnit {
  readonly unit: UnitView;
  readonly outcome: UnitOutcome;
}

/** The counties of one or more states, from a us-atlas county TopoJSON. */
interface AtlasCounties {
  readonly counties: FeatureCollection<Geometry, { name?: string }>;
  readonly states: FeatureCollection<Geometry, { name?: string }>;
}

let usCounties: Topology | undefined;

/**
 * The us-atlas county topology (`counties-10m.json`), read once. Its county features have the
 * five-digit FIPS code as `id` and the county's name in `properties.name`.
 * @throws Error when the package's file cannot be read (an installation fault)
 */
export function loadUsCounties(): Topology {
  if (usCounties === undefined) {
    const require = createRequire(import.meta.url);
    usCounties = JSON.parse(
      readFileSync(require.resolve('us-atlas/counties-10m.json'), 'utf8'),
    ) as Topology;
  }
  return usCounties;
}

function pick(topology: Topology, name: string, keep: (id: string) => boolean): FeatureCollection {
  const object = topology.objects[name];
  if (object?.type !== 'GeometryCollection') return { type: 'FeatureCollection', features: [] };
  const geometries = (object as GeometryCollection).geometries.filter(
    (g: GeometryObject) => typeof g.id === 'string' && keep(g.id),
  );
  return feature(topology, { type: 'GeometryCollection', geometries });
}

function atlasFor(topology: Topology, states: ReadonlySet<string>): AtlasCounties {
  return {
    counties: pick(topology, 'counties', (id) =>
      states.has(id.slice(0, 2)),
    ) as AtlasCounties['counties'],
    states: pick(topology, 'states', (id) => states.has(id)) as AtlasCounties['states'],
  };
}

/**
 * A projection fitted to the features: for one state an equal-area conic centred on it, with
 * standard parallels at a sixth and five sixths of its latitudes; for several, Albers USA.
 */
function fittedProjection(
  shapes: FeatureCollection,
  single: boolean,
  width: number,
  height: number,
): GeoProjection {
  const extent: [[number, number], [number, number]] = [
    [PAD, PAD],
    [width - PAD, height - PAD],
  ];
  if (!single) return geoAlbersUsa().fitExtent(extent, shapes);
  const [[, south], [, north]] = geoBounds(shapes);
  const [lon] = geoCentroid(shapes);
  const span = north - south;
  return geoConicEqualArea()
    .rotate([-lon, 0])
    .parallels([south + span / 6, north - span / 6])
    .fitExtent(extent, shapes);
}

/** Options of {@link countyMarginMap}. */
export interface MapOptions extends SvgOptions {
  /** A us-atlas county topology; {@link loadUsCounties} when absent. */
  readonly topology?: Topology;
  /** Draw the legend inside the drawing (for the standalone file); pages show it as HTML. */
  readonly legend?: boolean;
}

/** Which unit of the view each county FIPS code shows, and the states they lie in. */
function mappedUnits(view: ContestView): Map<string, MappedUnit> {
  const byFips = new Map<string, MappedUnit>();
  for (const unit of view.units) {
    // Only five-digit codes: anything else from the file cannot name a county.
    if (unit.fips === null || !/^\d{5}$/.test(unit.fips)) continue;
    byFips.set(unit.fips, { unit, outcome: unitOutcome(unit) });
  }
  return byFips;
}

/**
 * True when the contest has units with county FIPS codes to map.
 * @throws nothing
 */
export function hasCountyMap(view: ContestView): boolean {
  return mappedUnits(view).size > 0;
}

/** One entry of the map's legend. */
export interface LegendEntry {
  /** Who leads, or the tie and no-data entries. */
  readonly label: string;
  readonly swatches: readonly { readonly fill: string; readonly label: string }[];
}

/**
 * The county map of the leader's margin over the runner-up, for the states of the view's
 * counties (the first two digits of their FIPS codes): one path per county of those states,
 * filled by leader (colour and pattern) and margin bucket (shade); counties without published
 * results are hatched grey. Null when no unit has a county FIPS code.
 * @throws nothing
 */
export function countyMarginMap(
  view: ContestView,
  options: MapOptions = {},
): { readonly svg: Html; readonly legend: readonly LegendEntry[] } | null {
  const byFips = mappedUnits(view);
  if (byFips.size === 0) return null;
  const prefix = options.idPrefix ?? 'map';
  const states = new Set([...byFips.keys()].map((fips) => fips.slice(0, 2)));
  const atlas = atlasFor(options.topology ?? loadUsCounties(), states);
  if (atlas.counties.features.length === 0) return null;
  const styles = choiceStyles(view.totals);

  // Fit to the width first to learn the shape's height, then to the box that height gives.
  const probe = fittedProjection(atlas.counties, states.size === 1, MAP_WIDTH, MAP_MAX_HEIGHT);
  const [[x0, y0], [x1, y1]] = geoPath(probe).bounds(atlas.counties);
  const aspect = (y1 - y0) / Math.max(1, x1 - x0);
  const mapHeight = Math.round(Math.min(MAP_MAX_HEIGHT, aspect * (MAP_WIDTH - 2 * PAD) + 2 * PAD));
  const path = geoPath(
    fittedProjection(atlas.counties, states.size === 1, MAP_WIDTH, mapHeight),
  ).digits(1);

  const used = new Map<string, readonly [number, number]>();
  const fillFor = (outcome: UnitOutcome | undefined): string => {
    if (outcome === undefined) return `url(#${prefix}-nodata)`;
    switch (outcome.kind) {
      case 'lead': {
        const style = styles[outcome.choiceIndex];
        if (style === undefined) return INK;
        const bucket = marginBucket(outcome.marginPoints);
        used.set(`${outcome.choiceIndex}/${bucket}`, [outcome.choiceIndex, bucket]);
        return fillOf(prefix, style, outcome.choiceIndex, bucket);
      }
      case 'tie':
        return TIE_FILL;
      case 'suppressed':
      case 'no-votes':
        return `url(#${prefix}-nodata)`;
    }
  };

  const counties = atlas.counties.features.map((county: Feature<Geometry, { name?: string }>) => {
    const fips = String(county.id);
    const mapped = byFips.get(fips);
    const name = mapped?.unit.name ?? county.properties.name ?? fips;
    return html`<path
      d="${path(county) ?? ''}"
      fill="${fillFor(mapped?.outcome)}"
      stroke="#ffffff"
      stroke-width="0.75"
      data-fips="${fips}"
      ><title>${name}: ${outcomeText(view, mapped?.outcome)}</title></path
    >`;
  });
  const outlines = atlas.states.features.map(
    (state) =>
      html`<path d="${path(state) ?? ''}" fill="none" stroke="${INK}" stroke-width="1.5" />`,
  );

  const legend = legendEntries(view, styles, prefix, [...byFips.values()]);
  // Every bucket of every leader appears in the legend: each needs its pattern defined.
  for (const { outcome } of byFips.values()) {
    if (outcome.kind !== 'lead') continue;
    for (let bucket = 0; bucket <= MARGIN_BUCKETS.length; bucket += 1) {
      used.set(`${outcome.choiceIndex}/${bucket}`, [outcome.choiceIndex, bucket]);
    }
  }
  const legendHeight = options.legend === true ? legendBlockHeight(legend) : 0;
  const height = mapHeight + legendHeight;
  const statesNames = atlas.states.features.map((s) => s.properties.name ?? '').join(', ');
  const svg = html`<svg
    xmlns="http://www.w3.org/2000/svg"
    viewBox="0 0 ${MAP_WIDTH} ${height}"
    width="${MAP_WIDTH}"
    height="${height}"
    role="img"
    aria-labelledby="${prefix}-title ${prefix}-desc"
    font-family="${FONT}"
    font-size="16"
    class="results-map"
  >
    <title id="${prefix}-title">Map of ${view.contest.name} by county, ${statesNames}</title>
    <desc id="${prefix}-desc">${mapDescription(view, [...byFips.values()])}</desc>
    ${defsFor(prefix, styles, [...used.values()])}
    <g class="counties">${counties}</g>
    <g class="states">${outlines}</g>
    ${options.legend === true ? legendBlock(legend, mapHeight) : ''}
  </svg>`;
  return { svg, legend };
}

function leadsLabel(view: ContestView, index: number): string {
  const total = view.totals[index];
  return total === undefined ? '' : `${choiceLabel(total)} leads by`;
}

/** Legend rows: one per choice that leads somewhere, then tied and no results if present. */
function legendEntries(
  view: ContestView,
  styles: readonly ChoiceStyle[],
  prefix: string,
  mapped: readonly MappedUnit[],
): LegendEntry[] {
  const leaders = new Set<number>();
  let tie = false;
  for (const { outcome } of mapped) {
    if (outcome.kind === 'lead') leaders.add(outcome.choiceIndex);
    if (outcome.kind === 'tie') tie = true;
  }
  const entries: LegendEntry[] = [...leaders]
    .sort((a, b) => a - b)
    .flatMap((index) => {
      const style = styles[index];
      if (style === undefined) return [];
      return [
        {
          label: leadsLabel(view, index),
          swatches: MARGIN_BUCKET_LABELS.map((label, bucket) => ({
            fill: fillOf(prefix, style, index, bucket),
            label,
          })),
        },
      ];
    });
  if (tie) entries.push({ label: 'Tied', swatches: [{ fill: TIE_FILL, label: 'tied' }] });
  entries.push({
    label: 'No results shown',
    swatches: [{ fill: `url(#${prefix}-nodata)`, label: 'suppressed or not reported' }],
  });
  return entries;
}

const LEGEND_ROW = 58;

function legendBlockHeight(legend: readonly LegendEntry[]): number {
  return PAD + legend.length * LEGEND_ROW;
}

function legendBlock(legend: readonly LegendEntry[], top: number): Html {
  const rows = legend.map((entry, row) => {
    const y = top + PAD + row * LEGEND_ROW;
    const swatches = entry.swatches.map(
      (swatch, i) =>
        html`<rect
            x="${PAD + i * 156}"
            y="${y + 24}"
            width="28"
            height="18"
            fill="${swatch.fill}"
            stroke="${INK}"
            stroke-width="1"
          /><text x="${PAD + i * 156 + 34}" y="${y + 38}" fill="${INK}" font-size="14"
            >${swatch.label}</text
          >`,
    );
    return html`<g class="legend-row">
      <text x="${PAD}" y="${y + 16}" fill="${INK}" font-weight="700">${entry.label}</text>
      ${swatches}
    </g>`;
  });
  return html`<g class="legend">${rows}</g>`;
}

/**
 * Words for a unit's outcome, as the map's tooltips say it.
 * @throws nothing
 */
export function outcomeText(view: ContestView, outcome: UnitOutcome | undefined): string {
  if (outcome === undefined) return 'no results reported';
  switch (outcome.kind) {
    case 'lead': {
      const total = view.totals[outcome.choiceIndex];
      return `${total === undefined ? 'unknown' : choiceLabel(total)} leads by ${outcome.marginPoints.toFixed(1)} points`;
    }
    case 'tie':
      return 'tied';
    case 'suppressed':
      return 'suppressed to protect ballot secrecy';
    case 'no-votes':
      return 'no votes reported';
  }
}

function mapDescription(view: ContestView, mapped: readonly MappedUnit[]): string {
  const counts = new Map<string, number>();
  let hidden = 0;
  for (const { outcome } of mapped) {
    if (outcome.kind === 'lead') {
      const total = view.totals[outcome.choiceIndex];
      const name = total === undefined ? 'unknown' : choiceLabel(total);
      counts.set(name, (counts.get(name) ?? 0) + 1);
    } else if (outcome.kind !== 'tie') hidden += 1;
  }
  const parts = [...counts].map(
    ([name, n]) => `${name} leads in ${n} ${n === 1 ? 'county' : 'counties'}`,
  );
  if (hidden > 0)
    parts.push(`${hidden} ${hidden === 1 ? 'county has' : 'counties have'} no results shown`);
  return `${parts.join('; ')}. The table of reporting units gives every county's votes.`;
}

/**
 * A legend swatch as a small standalone SVG for the HTML legend, carrying its own pattern so
 * it does not depend on the map's definitions.
 * @throws nothing
 */
export function legendSwatch(view: ContestView, fill: string, idPrefix: string): Html {
  // The fill is one this module made: a colour or url(#<prefix>-c<i>-b<j>) / url(#<prefix>-nodata).
  const match = /^url\(#(.+)-c(\d+)-b(\d+)\)$/.exec(fill);
  const styles = choiceStyles(view.totals);
  let defs: Html = html``;
  let own = fill;
  if (match !== null) {
    const choice = Number(match[2]);
    const bucket = Number(match[3]);
    const style = styles[choice];
    if (style !== undefined) {
      defs = html`<defs
        >${patternDef(`${idPrefix}-p`, rampColour(style, bucket), markColour(style, bucket), style.pattern)}</defs
      >`;
      own = `url(#${idPrefix}-p)`;
    }
  } else if (fill.endsWith('-nodata)')) {
    defs = defsFor(idPrefix, styles, []);
    own = `url(#${idPrefix}-nodata)`;
  }
  return html`<svg
    xmlns="http://www.w3.org/2000/svg"
    viewBox="0 0 28 18"
    width="28"
    height="18"
    aria-hidden="true"
    focusable="false"
    class="swatch"
  >
    ${defs}
    <rect x="0.5" y="0.5" width="27" height="17" fill="${own}" stroke="${INK}" stroke-width="1" />
  </svg>`;
}

/**
 * A drawing as a standalone SVG file (XML declaration, then the drawing).
 * @throws nothing
 */
export function svgDocument(svg: Html): string {
  return `<?xml version="1.0" encoding="UTF-8"?>\n${svg.text}\n`;
}

/** Two-letter state and territory codes to two-digit FIPS codes (ANSI INCITS 38). */
export const STATE_FIPS: Readonly<Record<string, string>> = {
  AL: '01',
  AK: '02',
  AZ: '04',
  AR: '05',
  CA: '06',
  CO: '08',
  CT: '09',
  DE: '10',
  DC: '11',
  FL: '12',
  GA: '13',
  HI: '15',
  ID: '16',
  IL: '17',
  IN: '18',
  IA: '19',
  KS: '20',
  KY: '21',
  LA: '22',
  ME: '23',
  MD: '24',
  MA: '25',
  MI: '26',
  MN: '27',
  MS: '28',
  MO: '29',
  MT: '30',
  NE: '31',
  NV: '32',
  NH: '33',
  NJ: '34',
  NM: '35',
  NY: '36',
  NC: '37',
  ND: '38',
  OH: '39',
  OK: '40',
  OR: '41',
  PA: '42',
  RI: '44',
  SC: '45',
  SD: '46',
  TN: '47',
  TX: '48',
  UT: '49',
  VT: '50',
  VA: '51',
  WA: '53',
  WV: '54',
  WI: '55',
  WY: '56',
  PR: '72',
};

const fipsByState = new Map<string, Map<string, string>>();

/** A place name folded for matching: no accents, lower case, single spaces, no "county". */
export function foldPlaceName(name: string): string {
  return name
    .normalize('NFD')
    .replace(/\p{M}/gu, '')
    .toLowerCase()
    .replace(/\s+/g, ' ')
    .replace(/ (county|parish|borough|census area)$/, '')
    .trim();
}

/**
 * County names of one state (folded with {@link foldPlaceName}) to five-digit FIPS codes, from
 * the us-atlas geometry: how results files that name counties but give no code get on the map.
 */
export function countyFipsByName(stateFips: string): ReadonlyMap<string, string> {
  const known = fipsByState.get(stateFips);
  if (known !== undefined) return known;
  const counties = loadUsCounties().objects['counties'];
  const map = new Map<string, string>();
  fipsByState.set(stateFips, map);
  if (counties?.type !== 'GeometryCollection') return map;
  for (const g of counties.geometries) {
    const id = String(g.id);
    const name = (g.properties as { name?: string } | undefined)?.name;
    if (id.startsWith(stateFips) && name !== undefined) map.set(foldPlaceName(name), id);
  }
  return map;
}
