// The view model of the public results pages: plain data, already aggregated and already
// suppressed for ballot secrecy, that the renderers turn into HTML, SVG, CSV and JSON. The
// renderers never compute or un-suppress a count; they only show what the view holds. Every
// string in a view (names, parties, ids) comes from results files an outsider may have
// written, so renderers escape it and paths built from ids are checked here.
import { VotervaultError } from '../basics/index.ts';

/** Stable codes of failures while rendering or exporting results pages. */
export const RESULTS_PAGE_ERROR_CODES = [
  /** An election or contest id cannot be used as a path segment of the site. */
  'RESULTS_ID_INVALID',
  /** A file or asset of the static export has a name or path the export refuses. */
  'RESULTS_EXPORT_INVALID',
] as const;

/** One of {@link RESULTS_PAGE_ERROR_CODES}. */
export type ResultsPageErrorCode = (typeof RESULTS_PAGE_ERROR_CODES)[number];

/** A failure of the results renderers or the static export, with a stable code. */
export class ResultsPageError extends VotervaultError<ResultsPageErrorCode> {}

/** An election as the pages name it. */
export interface ElectionRef {
  readonly id: string;
  readonly name: string;
  /** ISO date, YYYY-MM-DD. */
  readonly date: string;
  /** Two-letter state code; null when the results span states. */
  readonly state: string | null;
}

/** A contest as the pages name it. */
export interface ContestRef {
  /** Id within the election; may hold `/` (e.g. `us-house/1`), each part a path segment. */
  readonly id: string;
  readonly name: string;
  /** `candidate`, `ballot-measure` or `retention`. */
  readonly kind: string;
  /** District of the office; null when statewide or none. */
  readonly district: string | null;
}

/** One choice's total over the contest. */
export interface ChoiceTotalView {
  readonly choiceId: string;
  readonly name: string;
  readonly party: string | null;
  readonly votes: number;
  /** Share of the votes, formatted by the aggregation (e.g. "54.29"); shown as given. */
  readonly percent: string;
}

/** One reporting unit's row. */
export interface UnitView {
  readonly unitId: string;
  readonly name: string;
  /** `state`, `county`, `district`, `precinct` or `other`. */
  readonly level: string;
  /** Five-digit county FIPS code when known; the map draws only units that have one. */
  readonly fips: string | null;
  /**
   * Votes per choice, in the order of {@link ContestView.totals}; null where the count is
   * not published. Ignored entirely when `suppressed` is true: a suppressed unit's counts are
   * never shown, whatever this holds.
   */
  readonly choices: readonly (number | null)[];
  /** True when the unit's counts are withheld to protect ballot secrecy. */
  readonly suppressed: boolean;
  /** Why, in words for the public (e.g. "fewer than 10 ballots"). */
  readonly reason?: string;
}

/**
 * What a page needs to let a browser check a publication against the log: the entry's bytes,
 * its RFC 9162 inclusion proof and the signed checkpoint the proof leads to.
 */
export interface InclusionView {
  /** The publication's canonical JSON log entry, base64. */
  readonly entry: string;
  /** Inclusion proof hashes, base64, in RFC 9162 order. */
  readonly proof: readonly string[];
  /** The signed checkpoint note (C2SP tlog-checkpoint), as served at /log/checkpoint. */
  readonly checkpoint: string;
  /** The log's verifier key, `name+hexid+base64key`. */
  readonly verifierKey: string;
}

/** A signed publication of these results in the log. */
export interface PublicationView {
  /** Publication number within the election (1 for the first, then each update). */
  readonly sequence: number;
  /** Index of the publication's entry in the log. */
  readonly logIndex: number;
  /** SHA-256 of the published results, lower-case hex; the log entry names it. */
  readonly sha256: string;
  /** Present when the page should carry an in-browser check. */
  readonly inclusion?: InclusionView;
}

/** Everything a contest page shows. */
export interface ContestView {
  readonly election: ElectionRef;
  readonly contest: ContestRef;
  /** Totals per choice, in the order the page lists them (usually most votes first). */
  readonly totals: readonly ChoiceTotalView[];
  readonly totalVotes: number;
  readonly units: readonly UnitView[];
  readonly unitsReporting: number;
  readonly unitsExpected: number;
  /** ISO 8601 timestamp of the latest results. */
  readonly lastUpdated: string;
  readonly publication: PublicationView | null;
  /** How the aggregation protects ballot secrecy, in words for the public. */
  readonly suppressionNote?: string;
}

/** One contest in the results index. */
export interface ContestSummaryView {
  readonly contest: ContestRef;
  /** The leading choice, when there are votes. */
  readonly leader: { readonly name: string; readonly percent: string } | null;
  readonly unitsReporting: number;
  readonly unitsExpected: number;
}

/** One election in the results index. */
export interface ElectionSummaryView {
  readonly election: ElectionRef;
  readonly lastUpdated: string;
  readonly contests: readonly ContestSummaryView[];
}

/** Everything the results index shows: elections, newest first, with their contests. */
export interface ResultsIndexView {
  readonly elections: readonly ElectionSummaryView[];
}

/** The leader of a unit and by how much, computed from the published counts only. */
export type UnitOutcome =
  | { readonly kind: 'lead'; readonly choiceIndex: number; readonly marginPoints: number }
  | { readonly kind: 'tie'; readonly votes: number }
  | { readonly kind: 'suppressed' }
  | { readonly kind: 'no-votes' };

/**
 * Who leads a unit and by how many percentage points over the runner-up, among the counts the
 * unit publishes. A suppressed unit has no outcome: showing its leader would leak its counts.
 * @throws nothing
 */
export function unitOutcome(unit: UnitView): UnitOutcome {
  if (unit.suppressed) return { kind: 'suppressed' };
  let total = 0;
  let first = -1;
  let firstVotes = -1;
  let secondVotes = 0;
  unit.choices.forEach((votes, index) => {
    if (votes === null) return;
    total += votes;
    if (votes > firstVotes) {
      secondVotes = Math.max(secondVotes, firstVotes);
      first = index;
      firstVotes = votes;
    } else if (votes > secondVotes) {
      secondVotes = votes;
    }
  });
  if (total <= 0 || first < 0) return { kind: 'no-votes' };
  if (firstVotes === secondVotes) return { kind: 'tie', votes: firstVotes };
  return {
    kind: 'lead',
    choiceIndex: first,
    marginPoints: ((firstVotes - secondVotes) / total) * 100,
  };
}

/**
 * Path segments the site accepts: letters, digits, `-` and `_`, at most 100. No dot, so no
 * `..`, and no clash with the files (`index.html`, `results.csv`) beside a contest's page.
 */
const SEGMENT = /^[A-Za-z0-9_-]{1,100}$/;

function segments(id: string, what: 'election' | 'contest'): string {
  const parts = id.split('/');
  // Attacker-controlled ids (from results files): each part must be a plain segment, and an
  // election id is one segment.
  if (!parts.every((part) => SEGMENT.test(part)) || (what === 'election' && parts.length > 1)) {
    throw new ResultsPageError(
      'RESULTS_ID_INVALID',
      `Cannot use ${what} id "${id.slice(0, 120)}" in a path: use letters, digits, "-" and "_"`,
    );
  }
  return parts.join('/');
}

function electionSegment(electionId: string): string {
  return segments(electionId, 'election');
}

/**
 * Paths of the results site, on the server and in the static export alike. Directory paths end
 * in `/` (the export writes `index.html` there). Every function throws
 * ResultsPageError RESULTS_ID_INVALID for an id that is not a safe path.
 */
export const RESULTS_PATHS = {
  /** The index of elections and contests. */
  index: (): string => '/results/',
  /** An election's NIST SP 1500-100 election results report, JSON. */
  nistJson: (electionId: string): string =>
    `/results/${electionSegment(electionId)}/nist-1500-100.json`,
  /** An election's NIST SP 1500-100 election results report, XML. */
  nistXml: (electionId: string): string =>
    `/results/${electionSegment(electionId)}/nist-1500-100.xml`,
  /** A contest's page. */
  contest: (electionId: string, contestId: string): string =>
    `/results/${electionSegment(electionId)}/${segments(contestId, 'contest')}/`,
  /** A contest's counts per unit and choice, CSV. */
  contestCsv: (electionId: string, contestId: string): string =>
    `${RESULTS_PATHS.contest(electionId, contestId)}results.csv`,
  /** A contest's view as JSON (totals, units, publication). */
  contestJson: (electionId: string, contestId: string): string =>
    `${RESULTS_PATHS.contest(electionId, contestId)}results.json`,
  /** The totals bar chart as a standalone SVG file. */
  totalsSvg: (electionId: string, contestId: string): string =>
    `${RESULTS_PATHS.contest(electionId, contestId)}totals.svg`,
  /** The county map as a standalone SVG file. */
  mapSvg: (electionId: string, contestId: string): string =>
    `${RESULTS_PATHS.contest(electionId, contestId)}map.svg`,
} as const;
