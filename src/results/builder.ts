// Builds a ResultsDocument row by row for the CSV readers: ids from mapped names, counts parsed
// with every oddity reported as an anomaly (and the value kept as the source gave it), totals
// computed from modes where a source gives modes only, and contest kinds decided once every
// choice is known.
import type {
  Anomaly,
  AnomalyCode,
  ChoiceWithTally,
  Contest,
  ContestKind,
  Count,
  Election,
  NameMappings,
  NonVoteKind,
  ReportingUnit,
  ResultsDocumentWithTurnout,
  ResultsFormat,
  UnitTurnout,
  VoteMode,
} from './model.ts';
import { assert } from '../basics/index.ts';
import { mappingKey, mappingTable } from './mappings.ts';

/** Markers sources use for a count withheld for privacy (NM writes `*`). */
const SUPPRESSION_MARKERS: ReadonlySet<string> = new Set(['', '*', '**', 'X', '-', '—']);

/** Candidate names (folded) that are tallies of non-votes, not choices. */
const NON_VOTE_NAMES: ReadonlyMap<string, NonVoteKind> = new Map([
  ['UNDERVOTES', 'undervotes'],
  ['UNDERVOTE', 'undervotes'],
  ['UNDER VOTES', 'undervotes'],
  ['BLANK', 'undervotes'],
  ['BLANK VOTES', 'undervotes'],
  ['OVERVOTES', 'overvotes'],
  ['OVERVOTE', 'overvotes'],
  ['OVER VOTES', 'overvotes'],
  ['VOID', 'void'],
  ['SPOILED', 'void'],
]);

/** Answers (folded) that make a contest a ballot measure or a retention question. */
const ANSWERS: ReadonlySet<string> = new Set([
  'YES',
  'NO',
  'FOR',
  'AGAINST',
  'APPROVED',
  'REJECTED',
  'MAINTAINED',
  'REPEALED',
]);

/** Candidate names (folded) that stand for all write-ins together. */
const WRITE_IN_NAMES: ReadonlySet<string> = new Set([
  'WRITE IN',
  'WRITE INS',
  'WRITE-IN',
  'WRITE-INS',
  'WRITEIN',
  'WRITEINS',
  'SCATTERING',
]);

/** A stable id part: lower-case ASCII letters and digits joined by `-`; `_` when nothing is left. */
export function slug(text: string): string {
  const s = text
    .normalize('NFKD')
    .replace(/\p{M}/gu, '')
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-+|-+$/g, '');
  return s === '' ? '_' : s;
}

/** A district as sources write it, or null for statewide/none: `001` and `1` are the same. */
export function normaliseDistrict(raw: string): string | null {
  const t = raw.trim();
  if (t === '' || /^statewide$/i.test(t)) return null;
  if (/^\d+$/.test(t)) return String(Number.parseInt(t, 10));
  return t;
}

/**
 * The unit of a county's counts reported above its precincts (absentee, provisional, MEDSL's
 * `FLOATING` rows): a unit of its own under the county, so that it adds to the county's
 * precincts instead of standing for them.
 */
export function countyRemainderUnit(county: string, countyId: string | null): ReportingUnit {
  return {
    id: `other:${slug(county)}`,
    name: `${county} (not by precinct)`,
    level: 'other',
    parentId: countyId,
    fips: null,
  };
}

/** The outcome of reading one count's text. */
export type ParsedVotes =
  | { readonly kind: 'number'; readonly votes: number }
  | { readonly kind: 'suppressed' }
  | { readonly kind: 'not-a-number' };

/**
 * Reads a count as a source writes it: digits, optionally with thousands commas and a sign.
 * Attacker-controlled text; anything else is reported, never guessed at.
 */
export function parseVotes(raw: string): ParsedVotes {
  const t = raw.trim();
  if (SUPPRESSION_MARKERS.has(t)) return { kind: 'suppressed' };
  if (/^-?(?:\d+|\d{1,3}(?:,\d{3})+)$/.test(t)) {
    const votes = Number(t.replaceAll(',', ''));
    if (Number.isSafeInteger(votes)) return { kind: 'number', votes };
  }
  return { kind: 'not-a-number' };
}

/** What a reader tells the builder about the file. */
export interface BuilderOptions {
  readonly election: Election;
  readonly format: ResultsFormat;
  /** Name recorded in every source position. */
  readonly file: string;
  readonly mappings?: NameMappings | undefined;
}

/** Row-by-row construction of a {@link ResultsDocumentWithTurnout}. */
export interface DocumentBuilder {
  /** Adds a unit unless one with its id exists (the first definition wins). */
  unit(unit: ReportingUnit): void;
  /** The contest for a raw office and district, created on first use; returns its id. */
  contest(rawOffice: string, rawDistrict: string, voteFor?: number): string;
  /** The choice for a raw candidate and party in a contest, created on first use; returns its id. */
  choice(contestId: string, rawName: string, rawParty: string, writeIn?: boolean): string;
  /**
   * Adds a count from its text. `rawMode` names the source's own mode when several of them
   * fold into `other`: counts of different raw modes there are added up, not reported twice.
   */
  count(
    key: { contestId: string; choiceId: string; unitId: string },
    mode: VoteMode,
    raw: string,
    line: number,
    rawMode?: string,
  ): void;
  /** Records registration or ballots cast for a unit. */
  turnout(unitId: string, field: 'registered' | 'ballotsCast', raw: string, line: number): void;
  anomaly(code: AnomalyCode, line: number, detail: string): void;
  finish(): ResultsDocumentWithTurnout;
}

interface MutableContest {
  id: string;
  name: string;
  district: string | null;
  voteFor: number;
  choices: ChoiceWithTally[];
  choiceIds: Set<string>;
}

/**
 * A builder for one file.
 * @throws nothing: every oddity in a row becomes an anomaly
 */
export function createDocumentBuilder(options: BuilderOptions): DocumentBuilder {
  const { file } = options;
  const table = mappingTable(options.mappings);
  const units = new Map<string, ReportingUnit>();
  const contests = new Map<string, MutableContest>();
  const counts: Count[] = [];
  const anomalies: Anomaly[] = [];
  const firstLine = new Map<string, number>();
  const otherAt = new Map<string, { index: number; rawModes: Set<string> }>();
  const turnout = new Map<
    string,
    { registered: number | null; ballotsCast: number | null; line: number }
  >();

  // One anomaly of a kind per row: a duplicated row with two mode columns is one duplicate.
  const reported = new Set<string>();
  const anomaly = (code: AnomalyCode, line: number, detail: string): void => {
    const key = `${code} ${line}`;
    if (reported.has(key)) return;
    reported.add(key);
    anomalies.push({ code, source: { file, line }, detail });
  };

  const readVotes = (raw: string, line: number, what: string): number | null => {
    const parsed = parseVotes(raw);
    switch (parsed.kind) {
      case 'suppressed':
        anomaly('SUPPRESSED_COUNT', line, `${what}: the count is suppressed ("${raw.trim()}")`);
        return null;
      case 'not-a-number':
        anomaly(
          'NOT_A_NUMBER',
          line,
          `${what}: "${raw.trim().slice(0, 40)}" is not a whole number`,
        );
        return null;
      case 'number':
        if (parsed.votes < 0) {
          anomaly('NEGATIVE_COUNT', line, `${what}: the count ${parsed.votes} is below zero`);
        }
        return parsed.votes;
    }
  };

  return {
    unit(unit) {
      if (!units.has(unit.id)) units.set(unit.id, unit);
    },
    contest(rawOffice, rawDistrict, voteFor = 1) {
      const name = table.office(rawOffice);
      const district = normaliseDistrict(rawDistrict);
      const id = district === null ? slug(name) : `${slug(name)}/${slug(district)}`;
      const existing = contests.get(id);
      if (existing === undefined) {
        contests.set(id, { id, name, district, voteFor, choices: [], choiceIds: new Set() });
      } else if (voteFor > existing.voteFor) {
        existing.voteFor = voteFor;
      }
      return id;
    },
    choice(contestId, rawName, rawParty, writeIn = false) {
      const contest = contests.get(contestId);
      assert(contest !== undefined, `Unknown contest "${contestId}"`);
      const name = table.candidate(rawName);
      const partyRaw = rawParty.trim();
      const party = partyRaw === '' ? null : table.party(partyRaw);
      const id = party === null ? slug(name) : `${slug(name)}--${slug(party)}`;
      if (!contest.choiceIds.has(id)) {
        contest.choiceIds.add(id);
        const folded = mappingKey(rawName);
        const nonVote = NON_VOTE_NAMES.get(folded);
        contest.choices.push({
          id,
          name,
          party,
          writeIn: writeIn || WRITE_IN_NAMES.has(folded),
          ...(nonVote === undefined ? {} : { nonVote }),
        });
      }
      return id;
    },
    count(key, mode, raw, line, rawMode) {
      const what = `"${key.contestId}" "${key.choiceId}" in "${key.unitId}" (${mode})`;
      const votes = readVotes(raw, line, what);
      const k = `${key.contestId}\u0000${key.choiceId}\u0000${key.unitId}\u0000${mode}`;
      if (mode === 'other' && rawMode !== undefined) {
        const at = otherAt.get(k);
        if (at !== undefined && !at.rawModes.has(rawMode)) {
          at.rawModes.add(rawMode);
          const prev = counts[at.index];
          if (prev !== undefined) {
            counts[at.index] = {
              ...prev,
              votes: prev.votes === null || votes === null ? null : prev.votes + votes,
            };
          }
          return;
        }
        if (at === undefined)
          otherAt.set(k, { index: counts.length, rawModes: new Set([rawMode]) });
      }
      const first = firstLine.get(k);
      if (first === undefined) {
        firstLine.set(k, line);
      } else {
        anomaly('DUPLICATE_ROW', line, `${what} appeared already on line ${first}`);
      }
      counts.push({ ...key, mode, votes, computed: false, source: { file, line } });
    },
    turnout(unitId, field, raw, line) {
      const votes = readVotes(raw, line, `${field} of "${unitId}"`);
      const t = turnout.get(unitId) ?? { registered: null, ballotsCast: null, line };
      turnout.set(unitId, { ...t, [field]: votes });
    },
    anomaly,
    finish() {
      return {
        election: options.election,
        format: options.format,
        units: [...units.values()],
        contests: [...contests.values()].map((c): Contest => ({
          id: c.id,
          name: c.name,
          kind: contestKind(c.name, c.choices),
          district: c.district,
          voteFor: c.voteFor,
          choices: c.choices,
        })),
        counts: withComputedTotals(counts, anomaly),
        anomalies: anomalies.sort((a, b) => a.source.line - b.source.line),
        turnout: [...turnout.entries()].map(([unitId, t]): UnitTurnout => ({
          unitId,
          registered: t.registered,
          ballotsCast: t.ballotsCast,
          source: { file, line: t.line },
        })),
      };
    },
  };
}

/** Yes/No-style answers make a measure; a judge's name with them makes a retention question. */
function contestKind(name: string, choices: readonly ChoiceWithTally[]): ContestKind {
  const votes = choices.filter((c) => c.nonVote === undefined && !c.writeIn);
  const answers = votes.filter((c) => {
    const k = mappingKey(c.name);
    return ANSWERS.has(k) || ANSWERS.has(k.split(' ').at(-1) ?? '');
  });
  if (votes.length === 0 || answers.length !== votes.length) return 'candidate';
  // A judge's name on a yes/no question is a retention vote; a levy for "criminal justice" is not.
  const retention =
    /\b(retain|retention)\b/i.test(name) ||
    (/\b(justice|judge)\b/i.test(name) &&
      !/\b(proposition|measure|levy|amendment|initiative|bonds?|charter|tax)\b/i.test(name));
  return retention ? 'retention' : 'ballot-measure';
}

/**
 * Adds a computed total for each choice and unit that has modes and no total, and checks the
 * modes against the total where both are given. The first of duplicated counts is the one
 * used (the later ones stay in the data with a DUPLICATE_ROW anomaly).
 */
function withComputedTotals(
  counts: readonly Count[],
  anomaly: (code: AnomalyCode, line: number, detail: string) => void,
): Count[] {
  const groups = new Map<string, { total?: Count; modes: Map<VoteMode, Count> }>();
  for (const c of counts) {
    const k = `${c.contestId}\u0000${c.choiceId}\u0000${c.unitId}`;
    let g = groups.get(k);
    if (g === undefined) {
      g = { modes: new Map() };
      groups.set(k, g);
    }
    if (c.mode === 'total') g.total ??= c;
    else if (!g.modes.has(c.mode)) g.modes.set(c.mode, c);
  }
  const out = [...counts];
  for (const g of groups.values()) {
    if (g.modes.size === 0) continue;
    const modes = [...g.modes.values()];
    const known = modes.every((m) => m.votes !== null);
    const sum = modes.reduce((s, m) => s + (m.votes ?? 0), 0);
    if (g.total === undefined) {
      const first = modes[0];
      if (first === undefined) continue;
      out.push({
        contestId: first.contestId,
        choiceId: first.choiceId,
        unitId: first.unitId,
        mode: 'total',
        votes: known ? sum : null,
        computed: true,
        source: first.source,
      });
    } else if (known && g.total.votes !== null && sum !== g.total.votes) {
      anomaly(
        'MODES_DO_NOT_ADD_UP',
        g.total.source.line,
        `"${g.total.contestId}" "${g.total.choiceId}" in "${g.total.unitId}": the modes add up to ${sum}, the total is ${g.total.votes}`,
      );
    }
  }
  return out;
}
