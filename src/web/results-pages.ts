// The public results pages: an index of elections and contests, and one page per contest with
// the totals (chart and table), the county map, every reporting unit, downloads, and a section
// that lets the reader's browser check the publication against the public log. Pure functions
// from a view to a whole page; the same strings are served live and written by the static
// export. Names, parties and ids in the view come from results files (attacker-controlled):
// they are escaped by the `html` tag and never reach a script or style context.
import { Buffer } from 'node:buffer';
import { html, page } from './html.ts';
import type { Html } from './html.ts';
import { countyMarginMap, legendSwatch, outcomeText, totalsBarChart } from './results-svg.ts';
import type { LegendEntry, MapOptions } from './results-svg.ts';
import { RESULTS_PATHS, unitOutcome } from './results-view.ts';
import type {
  ContestSummaryView,
  ContestView,
  ElectionSummaryView,
  InclusionView,
  PublicationView,
  ResultsIndexView,
  UnitOutcome,
  UnitView,
} from './results-view.ts';

/** The script that checks a publication's inclusion proof in the browser. */
export const VERIFY_RESULTS_SCRIPT = 'verify-results.js';
/** The log checks both verifying scripts share; loaded before them. */
export const LOG_PROOF_SCRIPT = 'log-proof.js';

const NAV = html`<nav aria-label="Site">
  <ul>
    <li><a href="${RESULTS_PATHS.index()}">Election results</a></li>
  </ul>
</nav>`;

const DATE_FORMAT = new Intl.DateTimeFormat('en-US', {
  dateStyle: 'long',
  timeZone: 'UTC',
});
const TIME_FORMAT = new Intl.DateTimeFormat('en-US', {
  dateStyle: 'long',
  timeStyle: 'short',
  timeZone: 'UTC',
});

/** A `<time>` element; text the view gives that is not a date is shown as it is. */
function timeHtml(iso: string, withTime: boolean): Html {
  const at = new Date(iso);
  if (Number.isNaN(at.getTime())) return html`<time>${iso}</time>`;
  const text = withTime ? `${TIME_FORMAT.format(at)} UTC` : DATE_FORMAT.format(at);
  return html`<time datetime="${iso}">${text}</time>`;
}

function votes(n: number): string {
  return n.toLocaleString('en-US');
}

function contestTitle(contest: {
  readonly name: string;
  readonly district: string | null;
}): string {
  return contest.district === null || contest.district === ''
    ? contest.name
    : `${contest.name}, district ${contest.district}`;
}

function reportingText(reporting: number, expected: number): string {
  return `${votes(reporting)} of ${votes(expected)} reporting ${expected === 1 ? 'unit' : 'units'} in`;
}

/**
 * The results index: each election (as the view orders them) with its contests, who leads
 * each, how many units have reported, and the election's NIST SP 1500-100 downloads.
 * @throws ResultsPageError RESULTS_ID_INVALID when an election or contest id is not a safe path
 */
export function resultsIndexPage(view: ResultsIndexView): string {
  const elections = view.elections.map((summary) => electionHtml(summary));
  return page({
    site: 'public',
    nav: NAV,
    title: 'Election results',
    main: html`<div class="results-page">
      ${
        elections.length === 0
          ? html`<p>No results are published yet.</p>`
          : html`<p>
                Results as counted and published by the election office. Each publication is signed
                into the public log, so anyone can check that what this site shows is what the
                office published.
              </p>
              ${elections}`
      }
    </div>`,
  });
}

function electionHtml(summary: ElectionSummaryView): Html {
  const { election } = summary;
  const headingId = `election-${election.id}`;
  return html`<section class="results-election" aria-labelledby="${headingId}">
    <h2 id="${headingId}">${election.name}</h2>
    <p class="hint">
      ${timeHtml(election.date, false)}. Last updated ${timeHtml(summary.lastUpdated, true)}.
    </p>
    ${
      summary.contests.length === 0
        ? html`<p>No contests are published yet.</p>`
        : html`<ul class="results-contests">
            ${summary.contests.map((c) => contestItemHtml(election.id, c))}
          </ul>`
    }
    <p class="results-downloads-inline">
      Whole election:
      <a href="${RESULTS_PATHS.nistJson(election.id)}">NIST SP 1500-100 JSON</a>,
      <a href="${RESULTS_PATHS.nistXml(election.id)}">NIST SP 1500-100 XML</a>
    </p>
  </section>`;
}

function contestItemHtml(electionId: string, summary: ContestSummaryView): Html {
  return html`<li>
    <a href="${RESULTS_PATHS.contest(electionId, summary.contest.id)}"
      >${contestTitle(summary.contest)}</a
    >
    <span class="hint">
      ${summary.leader === null ? 'No votes yet' : `Leading: ${summary.leader.name}, ${summary.leader.percent}%`}.
      ${reportingText(summary.unitsReporting, summary.unitsExpected)}.
    </span>
  </li>`;
}

/** Options of {@link contestPage}. */
export interface ContestPageOptions {
  /** The us-atlas county topology for the map; the package's file when absent. */
  readonly topology?: MapOptions['topology'];
  /** The log's address as the reader reaches it, for the commands shown (e.g. `https://…/log/`). */
  readonly logUrl?: string;
}

/**
 * A contest's page: totals as a bar chart and a table, the county map of the leader's margin
 * when units have county FIPS codes, every reporting unit (suppressed ones without counts),
 * downloads, the time of the latest results, and the publication's log proof for the
 * browser to check (with `verify-results.js`) or the reader to check with the command line.
 * @throws ResultsPageError RESULTS_ID_INVALID when the election or contest id is not a safe path
 */
export function contestPage(view: ContestView, options: ContestPageOptions = {}): string {
  const { election, contest } = view;
  const map = countyMarginMap(view, {
    idPrefix: 'map',
    ...(options.topology === undefined ? {} : { topology: options.topology }),
  });
  const inclusion = view.publication?.inclusion;
  return page({
    site: 'public',
    nav: NAV,
    title: contestTitle(contest),
    ...(inclusion === undefined ? {} : { scripts: [LOG_PROOF_SCRIPT, VERIFY_RESULTS_SCRIPT] }),
    main: html`<div class="results-page">
      <p class="results-meta">
        <a href="${RESULTS_PATHS.index()}">${election.name}</a>, ${timeHtml(election.date, false)}
      </p>
      <p class="results-meta">
        <strong>Last updated ${timeHtml(view.lastUpdated, true)}.</strong>
        ${reportingText(view.unitsReporting, view.unitsExpected)}.
      </p>
      ${totalsSection(view)} ${map === null ? '' : mapSection(view, map.svg, map.legend)}
      ${unitsSection(view)} ${downloadsSection(view, map !== null)}
      ${verifySection(view.publication, options.logUrl)}
    </div>`,
  });
}

function totalsSection(view: ContestView): Html {
  return html`<section aria-labelledby="totals-heading">
    <h2 id="totals-heading">Totals</h2>
    ${
      view.totals.length === 0
        ? html`<p>No votes are reported yet.</p>`
        : html`<figure class="results-figure">
            ${totalsBarChart(view, { idPrefix: 'totals' })}
            <figcaption>
              Each bar is the choice's share of all ${votes(view.totalVotes)} votes. The same
              numbers are in the table below.
            </figcaption>
          </figure>`
    }
    <div class="table-scroll">
      <table class="results-totals">
        <caption>
          Votes by choice
        </caption>
        <thead>
          <tr>
            <th scope="col">Choice</th>
            <th scope="col">Party</th>
            <th scope="col" class="num">Votes</th>
            <th scope="col" class="num">Percent</th>
          </tr>
        </thead>
        <tbody>
          ${view.totals.map(
            (t) =>
              html`<tr>
                <th scope="row">${t.name}</th>
                <td>${t.party ?? ''}</td>
                <td class="num">${votes(t.votes)}</td>
                <td class="num">${t.percent}%</td>
              </tr>`,
          )}
        </tbody>
        <tfoot>
          <tr>
            <th scope="row">Total</th>
            <td></td>
            <td class="num">${votes(view.totalVotes)}</td>
            <td></td>
          </tr>
        </tfoot>
      </table>
    </div>
  </section>`;
}

function mapSection(view: ContestView, svg: Html, legend: readonly LegendEntry[]): Html {
  return html`<section aria-labelledby="map-heading">
    <h2 id="map-heading">Map by county</h2>
    <div class="results-map-layout">
      <figure class="results-figure">
        ${svg}
        <figcaption>
          Shade shows by how many percentage points the leader of each county is ahead of the
          runner-up; colour and pattern show who leads. Every county's votes are in the
          <a href="#units">table of reporting units</a>.
        </figcaption>
      </figure>
      <div class="results-legend" role="group" aria-labelledby="legend-heading">
        <h3 id="legend-heading">Legend</h3>
        ${legend.map(
          (entry, row) =>
            html`<div class="legend-row">
              <p class="legend-label">${entry.label}</p>
              <ul>
                ${entry.swatches.map(
                  (swatch, i) =>
                    html`<li>
                      ${legendSwatch(view, swatch.fill, `legend-${row}-${i}`)} ${swatch.label}
                    </li>`,
                )}
              </ul>
            </div>`,
        )}
      </div>
    </div>
  </section>`;
}

function unitsSection(view: ContestView): Html {
  const anySuppressed = view.units.some((u) => u.suppressed);
  return html`<section id="units" aria-labelledby="units-heading" tabindex="-1">
    <h2 id="units-heading">Results by reporting unit</h2>
    ${view.suppressionNote === undefined ? '' : html`<p class="hint">${view.suppressionNote}</p>`}
    ${
      anySuppressed
        ? html`<p class="hint">
            Units marked “suppressed to protect ballot secrecy” had so few ballots that their counts
            could show how a person voted, so their counts are not shown on their own.
          </p>`
        : ''
    }
    ${
      view.units.length === 0
        ? html`<p>No reporting units have results yet.</p>`
        : html`<div class="table-scroll" role="region" aria-labelledby="units-caption" tabindex="0">
            <table class="results-units">
              <caption id="units-caption">
                Votes by reporting unit and choice
              </caption>
              <thead>
                <tr>
                  <th scope="col">Unit</th>
                  ${view.totals.map((t) => html`<th scope="col" class="num">${t.name}</th>`)}
                  <th scope="col" class="num">Total</th>
                  <th scope="col">Leader</th>
                  <th scope="col" class="num">Margin (points)</th>
                </tr>
              </thead>
              <tbody>
                ${view.units.map((unit) => unitRow(view, unit))}
              </tbody>
            </table>
          </div>`
    }
  </section>`;
}

function unitRow(view: ContestView, unit: UnitView): Html {
  if (unit.suppressed) {
    // Never a count, a total or a leader for a suppressed unit, whatever the view holds.
    return html`<tr class="suppressed" data-unit="${unit.unitId}">
      <th scope="row">${unit.name}</th>
      <td colspan="${view.totals.length + 3}">
        Suppressed to protect ballot secrecy${unit.reason === undefined ? '' : ` (${unit.reason})`}
      </td>
    </tr>`;
  }
  let total = 0;
  const cells = view.totals.map((_, index) => {
    const n = unit.choices[index] ?? null;
    if (n === null) return html`<td class="num not-reported">not reported</td>`;
    total += n;
    return html`<td class="num">${votes(n)}</td>`;
  });
  return html`<tr data-unit="${unit.unitId}">
    <th scope="row">${unit.name}</th>
    ${cells}
    <td class="num">${votes(total)}</td>
    ${leaderCells(view, unitOutcome(unit))}
  </tr>`;
}

/** The leader and margin cells of a published unit's row. */
function leaderCells(view: ContestView, outcome: UnitOutcome): Html {
  switch (outcome.kind) {
    case 'lead':
      return html`<td class="leader">${view.totals[outcome.choiceIndex]?.name ?? ''}</td>
        <td class="num">${outcome.marginPoints.toFixed(1)}</td>`;
    case 'tie':
      return html`<td class="leader">Tied</td>
        <td class="num">0.0</td>`;
    case 'suppressed':
    case 'no-votes':
      return html`<td class="leader">${outcomeText(view, outcome)}</td>
        <td class="num"></td>`;
  }
}

function downloadsSection(view: ContestView, withMap: boolean): Html {
  const e = view.election.id;
  const c = view.contest.id;
  return html`<section aria-labelledby="downloads-heading">
    <h2 id="downloads-heading">Download these results</h2>
    <ul class="results-downloads">
      <li><a href="${RESULTS_PATHS.contestCsv(e, c)}">This contest by reporting unit (CSV)</a></li>
      <li><a href="${RESULTS_PATHS.contestJson(e, c)}">This contest (JSON)</a></li>
      <li>
        <a href="${RESULTS_PATHS.nistJson(e)}"
          >The whole election, NIST SP 1500-100 election results report (JSON)</a
        >
      </li>
      <li>
        <a href="${RESULTS_PATHS.nistXml(e)}"
          >The whole election, NIST SP 1500-100 election results report (XML)</a
        >
      </li>
      <li><a href="${RESULTS_PATHS.totalsSvg(e, c)}">Bar chart of the totals (SVG)</a></li>
      ${withMap ? html`<li><a href="${RESULTS_PATHS.mapSvg(e, c)}">County map (SVG)</a></li>` : ''}
    </ul>
  </section>`;
}

/** The tree size a checkpoint note names (its second line), or null when it has none. */
function checkpointSize(note: string): number | null {
  const line = note.split('\n')[1] ?? '';
  return /^\d{1,16}$/.test(line) ? Number(line) : null;
}

function verifySection(publication: PublicationView | null, logUrl: string | undefined): Html {
  if (publication === null) {
    return html`<section aria-labelledby="verify-heading">
      <h2 id="verify-heading">Verify this result</h2>
      <p>These results are not yet signed into the public log.</p>
    </section>`;
  }
  return html`<section aria-labelledby="verify-heading">
    <h2 id="verify-heading">Verify this result</h2>
    <p>
      These results are publication ${publication.sequence} of this election, written to the public
      log as entry ${publication.logIndex}. The entry names the SHA-256 digest of the published
      results:
    </p>
    <p><code class="digest">${publication.sha256}</code></p>
    ${
      publication.inclusion === undefined
        ? html`<p>
            Check it with
            <code
              >votervault log verify --url ${logUrl ?? '<this site>/log/'} --vkey &lt;log
              key&gt;</code
            >.
          </p>`
        : inclusionHtml(publication, publication.inclusion, logUrl)
    }
  </section>`;
}

function inclusionHtml(
  publication: PublicationView,
  inclusion: InclusionView,
  logUrl: string | undefined,
): Html {
  const size = checkpointSize(inclusion.checkpoint);
  const entryText = Buffer.from(inclusion.entry, 'base64').toString('utf8');
  return html`<div
      id="result-proof"
      class="result-proof"
      data-checkpoint="${inclusion.checkpoint}"
      data-vkey="${inclusion.verifierKey}"
      data-index="${publication.logIndex}"
      data-entry="${inclusion.entry}"
      data-proof="${inclusion.proof.join(' ')}"
      data-sha256="${publication.sha256}"
      aria-live="polite"
    >
      <p id="result-checkpoint-status" class="proof-status">
        Signed checkpoint of ${size ?? 'an unknown number of'} entries. Not checked yet: this
        browser checks it when scripts run.
      </p>
      <p id="result-entry-status" class="proof-status">
        Log entry ${publication.logIndex}. Not checked yet.
      </p>
    </div>
    <details>
      <summary>The log entry and how to check it yourself</summary>
      <pre>${entryText}</pre>
      <p>
        Inclusion proof (${inclusion.proof.length} hashes) to the checkpoint of
        ${size ?? 'unknown size'} entries. Check it on a copy of the log with
        <code
          >votervault log proof inclusion --index ${publication.logIndex} --size
          ${size ?? '<size>'}</code
        >, or verify the whole log with
        <code
          >votervault log verify --url ${logUrl ?? '<this site>/log/'} --vkey
          ${inclusion.verifierKey}</code
        >.
      </p>
    </details>`;
}
