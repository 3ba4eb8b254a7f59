// The public results site on the public listener. It serves only what the office published:
// the latest publication's snapshot, never the live tables an import may be filling. Rendered
// pages are cached per publication; a new publication is seen within PUBLICATION_CHECK_MS.
import type { FastifyInstance, FastifyReply } from 'fastify';
import {
  latestPublication,
  loadElection,
  PERCENT_DECIMALS,
  publishedElections,
  toNistCdfJson,
  toNistCdfXml,
} from '../results/index.ts';
import type {
  ContestResults,
  Count,
  Publication,
  ReportingUnit,
  ResultsDocument,
} from '../results/index.ts';
import {
  createFsTileReader,
  inclusionProof,
  readCheckpointFile,
  readEntryBundle,
} from '../tlog/index.ts';
import type { WebContext } from './context.ts';
import { WebError } from './errors.ts';
import { contestPage, resultsIndexPage } from './results-pages.ts';
import { contestCsv, contestJson } from './results-static.ts';
import {
  countyFipsByName,
  countyMarginMap,
  foldPlaceName,
  STATE_FIPS,
  svgDocument,
  totalsBarChart,
} from './results-svg.ts';
import type { StaticFile, StaticSiteViews } from './results-static.ts';
import type {
  ContestView,
  ElectionSummaryView,
  ResultsIndexView,
  UnitView,
} from './results-view.ts';

/** How often a request checks for a newer publication; the publish-to-visible delay at most. */
export const PUBLICATION_CHECK_MS = 250;
/** Entries per bundle (C2SP tlog-tiles). */
const BUNDLE_WIDTH = 256;
const ID = /^[A-Za-z0-9_-]{1,64}$/;

/** One rendered response. */
interface Rendered {
  readonly type: string;
  /** Encoded once: cached pages are sent many times. */
  readonly body: Buffer;
}

function rendered(type: string, text: string): Rendered {
  return { type, body: Buffer.from(text, 'utf8') };
}

/** What is known of an election's latest publication, and what was rendered from it. */
interface ElectionCache {
  publication: Publication | undefined;
  checkedAt: number;
  /** Promises, so that concurrent first requests share one computation. */
  views: Promise<Map<string, ContestView>> | undefined;
  rendered: Map<string, Promise<Rendered | undefined>>;
}

/** The results site's view of the store: cached publications and rendered pages. */
export interface ResultsSite {
  /** The page or file at `path` under `/results/`, or undefined when there is none. */
  render(path: string): Promise<Rendered | undefined>;
  /** Everything the static export writes: the index, every contest, the NIST reports. */
  staticViews(): Promise<StaticSiteViews>;
}

/** Creates the results site over a context. */
export function createResultsSite(context: WebContext): ResultsSite {
  const cache = new Map<string, ElectionCache>();
  const now = (): number => Date.now();

  async function current(electionId: string): Promise<ElectionCache> {
    let entry = cache.get(electionId);
    if (entry !== undefined && now() - entry.checkedAt < PUBLICATION_CHECK_MS) return entry;
    const publication = await latestPublication(context.handle, electionId);
    if (entry === undefined || entry.publication?.sequence !== publication?.sequence) {
      entry = { publication, checkedAt: now(), views: undefined, rendered: new Map() };
      cache.set(electionId, entry);
    } else {
      entry.checkedAt = now();
    }
    return entry;
  }

  function viewsOf(entry: ElectionCache): Promise<Map<string, ContestView>> {
    entry.views ??= computeViews(entry);
    return entry.views;
  }

  async function computeViews(entry: ElectionCache): Promise<Map<string, ContestView>> {
    const publication = entry.publication;
    if (publication === undefined) return new Map();
    const election = await loadElection(context.handle, publication.electionId);
    const units = new Map(election.units.map((unit) => [unit.id, unit]));
    const inclusion = await inclusionOf(context, publication);
    const views = new Map<string, ContestView>();
    for (const contest of publication.snapshot.contests) {
      views.set(contest.contestId, contestView(publication, contest, units, inclusion));
    }
    return views;
  }

  async function indexPage(): Promise<Rendered> {
    return rendered('text/html; charset=utf-8', resultsIndexPage(await indexView()));
  }

  async function indexView(): Promise<ResultsIndexView> {
    const elections: ElectionSummaryView[] = [];
    for (const { electionId } of await publishedElections(context.handle)) {
      const entry = await current(electionId);
      const views = await viewsOf(entry);
      const first = [...views.values()][0];
      if (first === undefined) continue;
      elections.push({
        election: first.election,
        lastUpdated: first.lastUpdated,
        contests: [...views.values()].map((view) => ({
          contest: view.contest,
          leader:
            view.totals[0] === undefined || view.totalVotes === 0
              ? null
              : { name: view.totals[0].name, percent: view.totals[0].percent },
          unitsReporting: view.unitsReporting,
          unitsExpected: view.unitsExpected,
        })),
      });
    }
    return { elections };
  }

  return {
    async render(path) {
      // Attacker-controlled path: split into an election id and a tail, each matched against
      // a fixed grammar before anything is looked up.
      if (path === '') return indexPage();
      const slash = path.indexOf('/');
      const electionId = slash < 0 ? path : path.slice(0, slash);
      const tail = slash < 0 ? '' : path.slice(slash + 1);
      if (!ID.test(electionId)) return undefined;
      const entry = await current(electionId);
      if (entry.publication === undefined) return undefined;
      const publication = entry.publication;
      let rendered = entry.rendered.get(tail);
      if (rendered === undefined) {
        rendered = (async () =>
          renderTail(tail, await viewsOf(entry), publication, await loadUnits(electionId)))();
        entry.rendered.set(tail, rendered);
        // Only what exists is kept: unknown paths must not fill the cache.
        void rendered.then(
          (found) => {
            if (found === undefined) entry.rendered.delete(tail);
          },
          () => entry.rendered.delete(tail),
        );
      }
      return rendered;
    },
    async staticViews() {
      const contests: ContestView[] = [];
      const files: StaticFile[] = [];
      for (const { electionId } of await publishedElections(context.handle)) {
        const entry = await current(electionId);
        contests.push(...(await viewsOf(entry)).values());
        const units = await loadUnits(electionId);
        for (const name of ['nist-1500-100.json', 'nist-1500-100.xml']) {
          const rendered = renderTail(name, new Map(), entry.publication as Publication, units);
          if (rendered !== undefined) {
            files.push({ path: `/results/${electionId}/${name}`, bytes: rendered.body });
          }
        }
      }
      return { index: await indexView(), contests, files };
    },
  };

  async function loadUnits(electionId: string): Promise<readonly ReportingUnit[]> {
    return (await loadElection(context.handle, electionId)).units;
  }
}

/** The response for the part of a path after the election id. */
function renderTail(
  tail: string,
  views: ReadonlyMap<string, ContestView>,
  publication: Publication,
  units: readonly ReportingUnit[],
): Rendered | undefined {
  if (tail === 'nist-1500-100.json') {
    return rendered(
      'application/json',
      JSON.stringify(toNistCdfJson(snapshotDocument(publication, units), cdfOptions(publication))),
    );
  }
  if (tail === 'nist-1500-100.xml') {
    return rendered(
      'application/xml',
      toNistCdfXml(snapshotDocument(publication, units), cdfOptions(publication)),
    );
  }
  const files: Readonly<Record<string, (view: ContestView) => Rendered | undefined>> = {
    '': (view) => rendered('text/html; charset=utf-8', contestPage(view)),
    'results.csv': (view) => rendered('text/csv; charset=utf-8', contestCsv(view)),
    'results.json': (view) => rendered('application/json', contestJson(view)),
    'totals.svg': (view) => rendered('image/svg+xml', svgDocument(totalsBarChart(view))),
    'map.svg': (view) => {
      const map = countyMarginMap(view);
      return map === null ? undefined : rendered('image/svg+xml', svgDocument(map.svg));
    },
  };
  const at = tail.lastIndexOf('/');
  const contestId = tail.slice(0, Math.max(at, 0));
  const file = tail.slice(at + 1);
  const view = views.get(contestId);
  const make = files[file];
  return view === undefined || make === undefined ? undefined : make(view);
}

function cdfOptions(publication: Publication): { readonly generatedDate: Date } {
  return { generatedDate: new Date(publication.publishedAt) };
}

/** The log entry announcing a publication, its inclusion proof and the checkpoint it leads to. */
async function inclusionOf(
  context: WebContext,
  publication: Publication,
): Promise<ContestView['publication']> {
  const logIndex = publication.logIndex;
  if (logIndex === null) return null;
  const note = (await readCheckpointFile(context.logDir)) ?? '';
  const size = Number(note.split('\n')[1]);
  if (!(logIndex < size))
    return { sequence: publication.sequence, logIndex, sha256: publication.sha256 };
  const bundle = Math.floor(logIndex / BUNDLE_WIDTH);
  const entries = await readEntryBundle(
    context.logDir,
    bundle,
    Math.min(BUNDLE_WIDTH, size - bundle * BUNDLE_WIDTH),
  );
  const entry = entries[logIndex % BUNDLE_WIDTH] ?? new Uint8Array();
  const proof = await inclusionProof(logIndex, size, createFsTileReader(context.logDir));
  return {
    sequence: publication.sequence,
    logIndex,
    sha256: publication.sha256,
    inclusion: {
      entry: Buffer.from(entry).toString('base64'),
      proof: proof.map((hash) => Buffer.from(hash).toString('base64')),
      checkpoint: note,
      verifierKey: context.verifierKeys[0] ?? '',
    },
  };
}

/** A published contest as the pages show it: county rows with FIPS codes for the map. */
function contestView(
  publication: Publication,
  contest: ContestResults,
  units: ReadonlyMap<string, ReportingUnit>,
  inclusion: ContestView['publication'],
): ContestView {
  const { election } = publication.snapshot;
  const stateFips = election.state === null ? undefined : STATE_FIPS[election.state];
  const fipsByName =
    stateFips === undefined ? new Map<string, string>() : countyFipsByName(stateFips);
  const fipsOf = (unit: ReportingUnit | undefined, name: string): string | null =>
    unit?.fips ?? fipsByName.get(foldPlaceName(name)) ?? null;
  return {
    election: { id: election.id, name: election.name, date: election.date, state: election.state },
    contest: {
      id: contest.contestId,
      name: contest.name,
      kind: contest.kind,
      district: contest.district,
    },
    totals: contest.choices.map((choice) => ({
      choiceId: choice.choiceId,
      name: choice.name,
      party: choice.party,
      votes: choice.votes ?? 0,
      percent: choice.percent === null ? '—' : `${choice.percent.toFixed(PERCENT_DECIMALS)}%`,
    })),
    totalVotes: contest.totalVotes ?? 0,
    units: countyRows(contest, units, fipsOf),
    unitsReporting: contest.unitsReporting,
    unitsExpected: contest.unitsExpected,
    lastUpdated: publication.publishedAt,
    publication: inclusion,
    suppressionNote: `Reporting units with fewer than ${publication.snapshot.smallUnitBallots} ballots are combined with others of their county so that no count can reveal how a person voted.`,
  };
}

/**
 * Unit rows for the table and the map. Precinct results are summed per county (the published
 * rows of small precincts are already combined into one row per county, so the sums are whole);
 * county results are shown as they are.
 */
function countyRows(
  contest: ContestResults,
  units: ReadonlyMap<string, ReportingUnit>,
  fipsOf: (unit: ReportingUnit | undefined, name: string) => string | null,
): UnitView[] {
  const counties = new Map<
    string,
    { name: string; unit: ReportingUnit | undefined; votes: (number | null)[] }
  >();
  const direct: UnitView[] = [];
  for (const row of contest.rows) {
    const parent = row.parentId === null ? undefined : units.get(row.parentId);
    if ((row.level === 'precinct' || row.level === 'combined') && parent?.level === 'county') {
      let county = counties.get(parent.id);
      if (county === undefined) {
        county = { name: parent.name, unit: parent, votes: row.votes.map(() => null) };
        counties.set(parent.id, county);
      }
      row.votes.forEach((votes, i) => {
        if (votes !== null) county.votes[i] = (county.votes[i] ?? 0) + votes;
      });
      continue;
    }
    const unit = units.get(row.unitId);
    direct.push({
      unitId: row.unitId,
      name: row.name,
      level: row.level,
      fips: row.level === 'county' ? fipsOf(unit, row.name) : null,
      choices: row.votes,
      suppressed: row.level === 'combined' || row.suppression !== null,
      ...(row.level === 'combined' ? { reason: 'fewer than the ballot-secrecy threshold' } : {}),
    });
  }
  const summed = [...counties.entries()].map(([id, county]) => ({
    unitId: id,
    name: county.name,
    level: 'county',
    fips: fipsOf(county.unit, county.name),
    choices: county.votes,
    suppressed: false,
  }));
  return [...direct, ...summed].sort((a, b) => a.name.localeCompare(b.name));
}

/** The published snapshot as a results document, for the NIST SP 1500-100 downloads. */
function snapshotDocument(
  publication: Publication,
  units: readonly ReportingUnit[],
): ResultsDocument {
  const { snapshot } = publication;
  const known = new Map(units.map((unit) => [unit.id, unit]));
  const used = new Map<string, ReportingUnit>();
  const counts: Count[] = [];
  const source = { file: `publication-${publication.sequence}`, line: 0 };
  for (const contest of snapshot.contests) {
    for (const row of contest.rows) {
      const unit: ReportingUnit = known.get(row.unitId) ?? {
        id: row.unitId,
        name: row.name,
        level: 'other',
        parentId: row.parentId,
        fips: null,
      };
      used.set(unit.id, unit);
      if (unit.parentId !== null) {
        const parent = known.get(unit.parentId);
        if (parent !== undefined) used.set(parent.id, parent);
      }
      contest.choices.forEach((choice, i) => {
        counts.push({
          contestId: contest.contestId,
          choiceId: choice.choiceId,
          unitId: unit.id,
          mode: 'total',
          votes: row.votes[i] ?? null,
          computed: false,
          source,
        });
      });
    }
  }
  return {
    election: snapshot.election,
    format: 'nist-cdf-json',
    units: [...used.values()],
    contests: snapshot.contests.map((contest) => ({
      id: contest.contestId,
      name: contest.name,
      kind: contest.kind,
      district: contest.district,
      voteFor: contest.voteFor,
      choices: contest.choices.map((choice) => ({
        id: choice.choiceId,
        name: choice.name,
        party: choice.party,
        writeIn: choice.writeIn,
      })),
    })),
    counts,
    anomalies: [],
  };
}

/** Registers `/results/…` on the public listener. */
export function registerResultsRoutes(app: FastifyInstance, site: ResultsSite): void {
  const send = (reply: FastifyReply, rendered: Rendered): FastifyReply =>
    reply
      .header('content-type', rendered.type)
      // Published results are public; a few seconds of shared caching absorbs election night.
      .header('cache-control', 'public, max-age=5')
      .send(rendered.body);
  app.get('/results', (_request, reply) => reply.redirect('/results/', 301));
  app.get<{ Params: { '*': string } }>('/results/*', async (request, reply) => {
    const rendered = await site.render(request.params['*']);
    if (rendered === undefined) {
      throw new WebError('NOT_FOUND', 'There are no published results at this address');
    }
    return send(reply, rendered);
  });
}
