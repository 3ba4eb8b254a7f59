// The results model every format is read into and written from: an election, its reporting
// units (state, county, precinct…), contests with their choices, and counts of one choice in
// one unit for one vote mode, each count remembering the file and line it came from. What the
// source said is kept as it was: a suppressed count stays suppressed, a mode that does not add
// up to the total stays as it is, and an anomaly names it.

/** Kinds of contest. A ballot measure's choices are its answers (Yes, No). */
export const CONTEST_KINDS = ['candidate', 'ballot-measure', 'retention'] as const;

/** One of {@link CONTEST_KINDS}. */
export type ContestKind = (typeof CONTEST_KINDS)[number];

/** Levels of reporting units, widest first. */
export const UNIT_LEVELS = ['state', 'county', 'district', 'precinct', 'other'] as const;

/** One of {@link UNIT_LEVELS}. */
export type UnitLevel = (typeof UNIT_LEVELS)[number];

/**
 * Vote modes. `total` is the count over every mode; a source that gives modes and no total
 * has its total computed (and marked so), one that gives both has them checked.
 */
export const VOTE_MODES = [
  'total',
  'election-day',
  'early',
  'absentee',
  'mail',
  'provisional',
  'other',
] as const;

/** One of {@link VOTE_MODES}. */
export type VoteMode = (typeof VOTE_MODES)[number];

/** Formats results are read from. */
export const RESULTS_FORMATS = [
  'openelections-csv',
  'medsl-csv',
  'clarity-xml',
  'nist-cdf-json',
  'nist-cdf-xml',
] as const;

/** One of {@link RESULTS_FORMATS}. */
export type ResultsFormat = (typeof RESULTS_FORMATS)[number];

/** Where a value was read: the file and its 1-based line (or record number for XML/JSON). */
export interface SourcePosition {
  readonly file: string;
  readonly line: number;
}

/** An election, as the office names it. */
export interface Election {
  /** The office's id, as given to `results import --election` (letters, digits, `-`, `_`). */
  readonly id: string;
  readonly name: string;
  /** ISO date, YYYY-MM-DD. */
  readonly date: string;
  /** Two-letter state code, upper case; null when the source spans states. */
  readonly state: string | null;
}

/** A place results are reported for. */
export interface ReportingUnit {
  /** Stable id within the election, e.g. `county:bernalillo`, `precinct:bernalillo/pct-001`. */
  readonly id: string;
  readonly name: string;
  readonly level: UnitLevel;
  /** The unit it lies in (a precinct's county); null for the widest. */
  readonly parentId: string | null;
  /** Five-digit county FIPS code when the unit is a county and it is known (maps need it). */
  readonly fips: string | null;
}

/** A candidate or an answer. */
export interface Choice {
  /** Stable id within the contest. */
  readonly id: string;
  /** The name after the office's mapping table, as published. */
  readonly name: string;
  /** Party after the mapping table; null when none (ballot measures, nonpartisan). */
  readonly party: string | null;
  readonly writeIn: boolean;
}

/** A contest and its choices. */
export interface Contest {
  /** Stable id within the election, e.g. `president`, `us-house/1`. */
  readonly id: string;
  /** Office or measure name after the mapping table. */
  readonly name: string;
  readonly kind: ContestKind;
  /** District of the office, as the source gives it; null when statewide or none. */
  readonly district: string | null;
  /** How many choices a voter may pick. */
  readonly voteFor: number;
  readonly choices: readonly Choice[];
}

/** One count: votes for one choice in one unit and mode, as the source gave it. */
export interface Count {
  readonly contestId: string;
  readonly choiceId: string;
  readonly unitId: string;
  readonly mode: VoteMode;
  /** null when the source suppressed the count (`*`, blank or a marker). */
  readonly votes: number | null;
  /** True when votervault computed this total from the modes (the source gave none). */
  readonly computed: boolean;
  readonly source: SourcePosition;
}

/** Kinds of anomaly in a results file. */
export const ANOMALY_CODES = [
  /** The modes of a choice in a unit do not add up to the total the source gives. */
  'MODES_DO_NOT_ADD_UP',
  /** The same contest, choice, unit and mode appear twice (with the same or other counts). */
  'DUPLICATE_ROW',
  /** A count below zero. */
  'NEGATIVE_COUNT',
  /** A count that is not a whole number. */
  'NOT_A_NUMBER',
  /** The source suppressed the count. */
  'SUPPRESSED_COUNT',
  /** A row the format cannot place (missing office, unknown unit…); kept, reported. */
  'ROW_UNPLACED',
] as const;

/** One of {@link ANOMALY_CODES}. */
export type AnomalyCode = (typeof ANOMALY_CODES)[number];

/** Something odd in a source, reported and kept visible, never silently fixed. */
export interface Anomaly {
  readonly code: AnomalyCode;
  readonly source: SourcePosition;
  /** What is odd, naming fields and values (results are public: no personal data here). */
  readonly detail: string;
}

/** A results file read into the model. */
export interface ResultsDocument {
  readonly election: Election;
  readonly format: ResultsFormat;
  readonly units: readonly ReportingUnit[];
  readonly contests: readonly Contest[];
  readonly counts: readonly Count[];
  readonly anomalies: readonly Anomaly[];
}

/**
 * Least ballots a reporting unit must have for its counts to be published. Below it, a unit's
 * counts could reveal how a person voted (New Mexico had hundreds of single-ballot precincts):
 * public outputs combine or suppress it; the office's own view keeps it.
 */
export const SMALL_UNIT_BALLOTS = 10;

/**
 * Tallies that are not votes for a choice but that sources report beside them (MEDSL and
 * Clarity list under- and overvotes as if they were candidates). A choice marked with one is
 * kept and shown on its own, never counted in the vote total or the percentages.
 */
export const NON_VOTE_KINDS = ['undervotes', 'overvotes', 'void'] as const;

/** One of {@link NON_VOTE_KINDS}. */
export type NonVoteKind = (typeof NON_VOTE_KINDS)[number];

/**
 * A {@link Choice} that may be a non-vote tally. Readers that never see one can keep building
 * plain `Choice` values: the field is optional and absent means "a vote for this choice".
 */
export interface ChoiceWithTally extends Choice {
  readonly nonVote?: NonVoteKind;
}

/** Registration and ballots cast in one unit, where the source gives them (turnout). */
export interface UnitTurnout {
  readonly unitId: string;
  /** Registered voters; null when not given. */
  readonly registered: number | null;
  /** Ballots cast; null when not given. */
  readonly ballotsCast: number | null;
  readonly source: SourcePosition;
}

/** A {@link ResultsDocument} that may carry turnout figures (optional, so readers may skip them). */
export interface ResultsDocumentWithTurnout extends ResultsDocument {
  readonly turnout?: readonly UnitTurnout[];
}

/**
 * Published names for raw names as a source spells them, per kind. Keys are compared with
 * case, spacing and punctuation folded (`mappingKey` in mappings.ts); values are used as they
 * are. The office edits these in `<data>/results-mappings.json`.
 */
export interface NameMappings {
  readonly offices: Readonly<Record<string, string>>;
  readonly parties: Readonly<Record<string, string>>;
  readonly candidates: Readonly<Record<string, string>>;
}

/** Options every results reader takes (the registry in formats.ts passes them through). */
export interface ReadResultsOptions {
  /** Election id to use; default: derived from the file (its name or its date and state). */
  readonly electionId?: string;
  /** Election name to use instead of the derived one. */
  readonly electionName?: string;
  /** Election date (YYYY-MM-DD) to use instead of the derived one. */
  readonly electionDate?: string;
  /** Name mappings applied while reading; default: {@link NameMappings} with only the defaults. */
  readonly mappings?: NameMappings;
  /** Name recorded as `SourcePosition.file`; default: the file's base name (never its path). */
  readonly sourceName?: string;
}
