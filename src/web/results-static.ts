// The static results site: every page, chart, map and download written as files, so that the
// results can be served by any web server or CDN without votervault running. Assets get
// content-hashed names (`site.<sha256-12>.css`) so they can be cached forever, and the pages'
// references are rewritten to them. The log's tiles are copied beside it by the caller.
import { createHash } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { dirname, join, relative, resolve, sep } from 'node:path';
import {
  contestPage,
  LOG_PROOF_SCRIPT,
  resultsIndexPage,
  VERIFY_RESULTS_SCRIPT,
} from './results-pages.ts';
import type { ContestPageOptions } from './results-pages.ts';
import { countyMarginMap, svgDocument, totalsBarChart } from './results-svg.ts';
import { RESULTS_PATHS, ResultsPageError } from './results-view.ts';
import type { ContestView, ResultsIndexView } from './results-view.ts';

/** Hex digits of SHA-256 kept in an asset's name: 48 bits, plenty against accidental clashes. */
export const ASSET_HASH_LENGTH = 12;

/** The assets the results pages reference, as served under /assets/. */
export const RESULTS_ASSET_NAMES = ['site.css', LOG_PROOF_SCRIPT, VERIFY_RESULTS_SCRIPT] as const;

/** A file served under /assets/ by its plain name. */
export interface StaticAsset {
  /** Plain name, e.g. `site.css`. */
  readonly name: string;
  readonly bytes: Uint8Array | string;
}

/** Any other file of the site, e.g. the NIST SP 1500-100 reports at their RESULTS_PATHS. */
export interface StaticFile {
  /** Site path starting with `/results/`. */
  readonly path: string;
  readonly bytes: Uint8Array | string;
}

/** What the static site shows. */
export interface StaticSiteViews {
  readonly index: ResultsIndexView;
  readonly contests: readonly ContestView[];
  /** More files to write as they are (NIST reports made elsewhere). */
  readonly files?: readonly StaticFile[];
  /** Passed to every contest page. */
  readonly pageOptions?: ContestPageOptions;
}

/** What was written. */
export interface StaticSiteReport {
  /** Paths written, relative to the output directory, with `/` separators, sorted. */
  readonly files: readonly string[];
  /** Plain asset name to its hashed name. */
  readonly assets: Readonly<Record<string, string>>;
}

/**
 * Reads the assets the results pages use from this package's `assets` folder.
 * @throws Error when a file is missing (an installation fault)
 */
export async function readResultsAssets(): Promise<StaticAsset[]> {
  return Promise.all(
    RESULTS_ASSET_NAMES.map(async (name) => ({
      name,
      bytes: await readFile(new URL(`./assets/${name}`, import.meta.url)),
    })),
  );
}

/** Asset names: a plain file name with one extension, no path. */
const ASSET_NAME = /^[a-z0-9][a-z0-9-]{0,60}\.(?:css|js|svg)$/;
/** Site paths of extra files: under /results/, plain segments, the last with an extension. */
const FILE_PATH = /^\/results\/(?:[A-Za-z0-9_-]{1,100}\/)*[A-Za-z0-9_-][A-Za-z0-9_.-]{0,99}$/;

function hashedName(name: string, bytes: Uint8Array | string): string {
  const digest = createHash('sha256').update(bytes).digest('hex').slice(0, ASSET_HASH_LENGTH);
  const dot = name.lastIndexOf('.');
  return `${name.slice(0, dot)}.${digest}${name.slice(dot)}`;
}

/**
 * Writes the results site into `outDir`: `results/index.html`, and per contest its page
 * (`index.html`), `results.csv`, `results.json`, `totals.svg` and `map.svg` (when mapped) at
 * their {@link RESULTS_PATHS}; the assets under `assets/` with hashed names, the pages
 * referring to those; and the extra files as given. Existing files are replaced.
 * @throws ResultsPageError RESULTS_ID_INVALID for an election or contest id that is not a safe
 *   path; RESULTS_EXPORT_INVALID for a bad asset name or file path, or two files at one path
 * @throws Error from the file system (permissions, disk full)
 */
export async function writeStaticSite(
  outDir: string,
  views: StaticSiteViews,
  assets: readonly StaticAsset[],
): Promise<StaticSiteReport> {
  const root = resolve(outDir);
  const hashed: Record<string, string> = {};
  const files = new Map<string, Uint8Array | string>();
  const add = (sitePath: string, bytes: Uint8Array | string): void => {
    const relativePath = sitePath.replace(/^\//, '').replace(/\/$/, '/index.html');
    if (files.has(relativePath)) {
      throw new ResultsPageError(
        'RESULTS_EXPORT_INVALID',
        `Cannot write the results site: two files at "${sitePath}"`,
      );
    }
    files.set(relativePath, bytes);
  };

  for (const asset of assets) {
    if (!ASSET_NAME.test(asset.name)) {
      throw new ResultsPageError(
        'RESULTS_EXPORT_INVALID',
        `Cannot write asset "${asset.name.slice(0, 80)}": use a plain .css, .js or .svg name`,
      );
    }
    hashed[asset.name] = hashedName(asset.name, asset.bytes);
    add(`/assets/${hashed[asset.name]}`, asset.bytes);
  }
  const rewrite = (text: string): string => {
    let out = text;
    for (const [name, target] of Object.entries(hashed)) {
      out = out.replaceAll(`"/assets/${name}"`, `"/assets/${target}"`);
    }
    return out;
  };

  add(RESULTS_PATHS.index(), rewrite(resultsIndexPage(views.index)));
  for (const view of views.contests) {
    const e = view.election.id;
    const c = view.contest.id;
    add(RESULTS_PATHS.contest(e, c), rewrite(contestPage(view, views.pageOptions ?? {})));
    add(RESULTS_PATHS.contestCsv(e, c), contestCsv(view));
    add(RESULTS_PATHS.contestJson(e, c), contestJson(view));
    add(RESULTS_PATHS.totalsSvg(e, c), svgDocument(totalsBarChart(view)));
    const topology = views.pageOptions?.topology;
    const map = countyMarginMap(view, {
      legend: true,
      ...(topology === undefined ? {} : { topology }),
    });
    if (map !== null) add(RESULTS_PATHS.mapSvg(e, c), svgDocument(map.svg));
  }
  for (const file of views.files ?? []) {
    // Paths come from the caller, but from ids that came from results files: checked anyway.
    if (!FILE_PATH.test(file.path) || file.path.split('/').some((s) => s === '..')) {
      throw new ResultsPageError(
        'RESULTS_EXPORT_INVALID',
        `Cannot write file "${file.path.slice(0, 120)}": use a plain path under /results/`,
      );
    }
    add(file.path, file.bytes);
  }

  for (const [path, bytes] of files) {
    const target = join(root, ...path.split('/'));
    // Belt and braces: nothing lands outside the output directory.
    if (relative(root, target).split(sep)[0] === '..') {
      throw new ResultsPageError(
        'RESULTS_EXPORT_INVALID',
        `Cannot write "${path}" outside the site`,
      );
    }
    await mkdir(dirname(target), { recursive: true });
    await writeFile(target, bytes);
  }
  return { files: [...files.keys()].sort(), assets: hashed };
}

/** Characters that make a spreadsheet read a cell as a formula. */
const FORMULA_START = /^[=+\-@\t\r]/;

function csvField(value: string | number | boolean | null): string {
  if (value === null) return '';
  if (typeof value !== 'string') return String(value);
  // Attacker-controlled text (names from results files) must not run as a spreadsheet
  // formula when a reader opens the download (OWASP CSV injection): prefix a quote.
  const text = FORMULA_START.test(value) ? `'${value}` : value;
  return /[",\r\n]/.test(text) ? `"${text.replaceAll('"', '""')}"` : text;
}

/** Columns of the contest CSV, one row per reporting unit and choice. */
export const CONTEST_CSV_COLUMNS = [
  'election_id',
  'contest_id',
  'contest',
  'district',
  'unit_id',
  'unit',
  'level',
  'fips',
  'choice_id',
  'choice',
  'party',
  'votes',
  'suppressed',
] as const;

/**
 * A contest's counts as CSV (RFC 4180, CRLF line ends): one row per reporting unit and choice.
 * A suppressed unit's rows have empty votes and `suppressed` true, whatever the view holds.
 * @throws nothing
 */
export function contestCsv(view: ContestView): string {
  const lines = [CONTEST_CSV_COLUMNS.join(',')];
  for (const unit of view.units) {
    view.totals.forEach((choice, index) => {
      const count = unit.suppressed ? null : (unit.choices[index] ?? null);
      lines.push(
        [
          view.election.id,
          view.contest.id,
          view.contest.name,
          view.contest.district,
          unit.unitId,
          unit.name,
          unit.level,
          unit.fips,
          choice.choiceId,
          choice.name,
          choice.party,
          count,
          unit.suppressed,
        ]
          .map(csvField)
          .join(','),
      );
    });
  }
  return `${lines.join('\r\n')}\r\n`;
}

/**
 * A contest as JSON: the election, the contest, totals, units (a suppressed unit without
 * counts, whatever the view holds) and the publication's log reference.
 * @throws nothing
 */
export function contestJson(view: ContestView): string {
  const document = {
    election: view.election,
    contest: view.contest,
    lastUpdated: view.lastUpdated,
    unitsReporting: view.unitsReporting,
    unitsExpected: view.unitsExpected,
    totalVotes: view.totalVotes,
    totals: view.totals,
    units: view.units.map((unit) => ({
      unitId: unit.unitId,
      name: unit.name,
      level: unit.level,
      fips: unit.fips,
      suppressed: unit.suppressed,
      ...(unit.reason === undefined ? {} : { reason: unit.reason }),
      votes: view.totals.map((choice, index) => ({
        choiceId: choice.choiceId,
        votes: unit.suppressed ? null : (unit.choices[index] ?? null),
      })),
    })),
    publication:
      view.publication === null
        ? null
        : {
            sequence: view.publication.sequence,
            logIndex: view.publication.logIndex,
            sha256: view.publication.sha256,
          },
    ...(view.suppressionNote === undefined ? {} : { suppressionNote: view.suppressionNote }),
  };
  return `${JSON.stringify(document, null, 2)}\n`;
}
