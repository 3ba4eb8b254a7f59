// Aggregation: per contest, totals per choice, percentages, one row per reporting unit, units
// reporting, turnout where known; and the ballot-secrecy rule that makes the public view differ
// from the office's. Pure functions over the model, so the web pages, the publications and the
// tests all compute the same numbers from the same data.
import type {
  Anomaly,
  ChoiceWithTally,
  Contest,
  ContestKind,
  Count,
  Election,
  NonVoteKind,
  ReportingUnit,
  UnitLevel,
  UnitTurnout,
  VoteMode,
} from './model.ts';
import { SMALL_UNIT_BALLOTS } from './model.ts';

/** Decimals percentages are published with. */
export const PERCENT_DECIMALS = 1;

/**
 * How percentages are rounded: half to even ("banker's rounding") at {@link PERCENT_DECIMALS},
 * computed on whole numbers, so that 12.25 % and 12.35 % do not both round up and the same
 * counts always give the same text on every machine.
 */
export const PERCENT_ROUNDING = 'half-even';

/** Views of results: the public's (small units combined) and the office's (everything). */
export const RESULTS_VIEWS = ['public', 'office'] as const;

/** One of {@link RESULTS_VIEWS}. */
export type ResultsView = (typeof RESULTS_VIEWS)[number];

/** Why a unit's row is not published on its own. */
export const SUPPRESSION_REASONS = [
  /** The unit has fewer ballots in the contest than the threshold. */
  'small-unit',
  /** The unit is large enough, but is combined with small ones so they cannot be subtracted out. */
  'complementary',
] as const;

/** One of {@link SUPPRESSION_REASONS}. */
export type SuppressionReason = (typeof SUPPRESSION_REASONS)[number];

/** What aggregation reads: a results document or an election loaded from the store. */
export interface ResultsData {
  readonly election: Election;
  readonly units: readonly ReportingUnit[];
  readonly contests: readonly Contest[];
  readonly counts: readonly Count[];
  readonly turnout?: readonly UnitTurnout[];
  readonly anomalies?: readonly Anomaly[];
}

/** Options of {@link contestResults} and {@link electionResults}. */
export interface AggregateOptions {
  readonly view: ResultsView;
  /** Least ballots a unit must have to be published alone; default {@link SMALL_UNIT_BALLOTS}. */
  readonly smallUnitBallots?: number;
}

/** A choice's total in a contest. */
export interface ChoiceTotal {
  readonly choiceId: string;
  readonly name: string;
  readonly party: string | null;
  readonly writeIn: boolean;
  /** Sum of the known counts; null only when the whole contest is withheld. */
  readonly votes: number | null;
  /** Counts the source suppressed: when above zero, `votes` is a lower bound. */
  readonly suppressedCounts: number;
  /** Share of the contest's votes, rounded per {@link PERCENT_ROUNDING}; null when nothing to share. */
  readonly percent: number | null;
}

/** A non-vote tally of a contest (undervotes, overvotes, void). */
export interface NonVoteTotal {
  readonly kind: NonVoteKind;
  readonly choiceId: string;
  readonly name: string;
  readonly votes: number | null;
}

/** One row of a contest's table: a unit, or (public view) small units combined. */
export interface UnitRow {
  /** The unit's id, or `other-units:<parent id>` for a combined row. */
  readonly unitId: string;
  readonly name: string;
  readonly level: UnitLevel | 'combined';
  readonly parentId: string | null;
  /** Ballots in the contest (at least; see {@link contestResults}); null when no count is known. */
  readonly ballots: number | null;
  /** Votes per choice, in the order of `ContestResults.choices`; null where suppressed by the source. */
  readonly votes: readonly (number | null)[];
  /** The units a combined row holds; null for a unit's own row. */
  readonly combinedUnits: readonly string[] | null;
  /** Office view: why the public view does not show this row alone; null when it does. */
  readonly suppression: SuppressionReason | null;
}

/** Registration and ballots cast over a contest's units, where the sources give them. */
export interface TurnoutFigures {
  readonly registered: number | null;
  readonly ballotsCast: number | null;
  /** ballotsCast / registered, rounded like the other percentages; null unless both known. */
  readonly percent: number | null;
}

/** A contest's results in one view. */
export interface ContestResults {
  readonly contestId: string;
  readonly name: string;
  readonly kind: ContestKind;
  readonly district: string | null;
  readonly voteFor: number;
  readonly view: ResultsView;
  /** Vote choices, most votes first (ties by name). */
  readonly choices: readonly ChoiceTotal[];
  readonly nonVotes: readonly NonVoteTotal[];
  /** Sum of the choices' votes (non-votes excluded); null when withheld. */
  readonly totalVotes: number | null;
  /** Units with at least one known count. */
  readonly unitsReporting: number;
  /** Units the sources list for the contest. */
  readonly unitsExpected: number;
  readonly ballots: number | null;
  readonly turnout: TurnoutFigures | null;
  readonly rows: readonly UnitRow[];
  /**
   * Public view: the whole contest has fewer ballots than the threshold, so no number of it is
   * published (totals would reveal votes as well as rows would).
   */
  readonly withheld: boolean;
}

/** An election's results in one view. */
export interface ElectionResults {
  readonly election: Election;
  readonly view: ResultsView;
  readonly smallUnitBallots: number;
  readonly percentRounding: typeof PERCENT_ROUNDING;
  readonly percentDecimals: typeof PERCENT_DECIMALS;
  readonly contests: readonly ContestResults[];
}

/**
 * `part` as a percentage of `whole`, rounded half to even at {@link PERCENT_DECIMALS} decimals,
 * computed exactly on integers; null when `whole` is not above zero.
 */
export function roundedPercent(part: number, whole: number): number | null {
  if (!(whole > 0)) return null;
  const scale = 100 * 10 ** PERCENT_DECIMALS;
  const num = BigInt(part) * BigInt(scale);
  const den = BigInt(whole);
  let q = num / den;
  let r = num % den;
  if (r < 0n) {
    q -= 1n;
    r += den;
  }
  const twice = 2n * r;
  if (twice > den || (twice === den && q % 2n !== 0n)) q += 1n;
  return Number(q) / 10 ** PERCENT_DECIMALS;
}

interface Item {
  unitIds: string[];
  id: string;
  name: string;
  level: UnitLevel | 'combined';
  parentId: string | null;
  ballots: number;
  votes: (number | null)[];
}

/** The table row of a unit or of combined units; `row` says what the view adds to it. */
function unitRow(item: Item, row: Pick<UnitRow, 'combinedUnits' | 'suppression'>): UnitRow {
  return {
    unitId: item.id,
    name: item.name,
    level: item.level,
    parentId: item.parentId,
    ballots: item.ballots,
    votes: item.votes,
    ...row,
  };
}

const firstByMode = (counts: readonly Count[]): Map<VoteMode, Count> => {
  const m = new Map<VoteMode, Count>();
  for (const c of counts) if (!m.has(c.mode)) m.set(c.mode, c);
  return m;
};

/** A choice's total in a unit: the source's (or computed) total, else the sum of its modes. */
function unitTotal(counts: readonly Count[]): number | null {
  const modes = firstByMode(counts);
  const total = modes.get('total');
  if (total !== undefined) return total.votes;
  let sum = 0;
  for (const c of modes.values()) {
    if (c.votes === null) return null;
    sum += c.votes;
  }
  return sum;
}

const addVotes = (a: number | null, b: number | null): number | null =>
  a === null ? b : b === null ? a : a + b;

/**
 * One contest's results. Totals are summed over the contest's finest units (a unit carrying
 * counts whose descendants carry none for the contest), so a file giving county and precinct
 * counts is not counted twice. A unit's ballots in the contest are its known votes including
 * under- and overvotes, divided by the votes each voter has, rounded up: never more than the
 * real number, so the ballot-secrecy rule errs toward suppressing.
 *
 * Ballot secrecy, public view: in each parent, units below the threshold are combined into one
 * "other units" row; if that row is still below the threshold, the parent's smallest other
 * units join it (so the small ones cannot be had by subtracting the published rows from the
 * parent's total); if even all of the parent's units are below it, they move up into the
 * grandparent's combination. Totals above the unit rows are unchanged, so they still add up.
 * A contest with fewer ballots than the threshold in all is withheld. The office view shows
 * every unit, each flagged with the reason the public view hides it.
 * @throws nothing: a contest id that is not in `data` yields undefined
 */
export function contestResults(
  data: ResultsData,
  contestId: string,
  options: AggregateOptions,
): ContestResults | undefined {
  const contest = data.contests.find((c) => c.id === contestId);
  if (contest === undefined) return undefined;
  return aggregateContest(
    data,
    contest,
    indexUnits(data),
    countsByContest(data).get(contestId) ?? [],
    options,
  );
}

/**
 * Every contest's results, in the order the data lists contests.
 * @throws nothing
 */
export function electionResults(data: ResultsData, options: AggregateOptions): ElectionResults {
  const units = indexUnits(data);
  const byContest = countsByContest(data);
  return {
    election: data.election,
    view: options.view,
    smallUnitBallots: options.smallUnitBallots ?? SMALL_UNIT_BALLOTS,
    percentRounding: PERCENT_ROUNDING,
    percentDecimals: PERCENT_DECIMALS,
    contests: data.contests.map((c) =>
      aggregateContest(data, c, units, byContest.get(c.id) ?? [], options),
    ),
  };
}

function indexUnits(data: ResultsData): Map<string, ReportingUnit> {
  return new Map(data.units.map((u) => [u.id, u]));
}

function countsByContest(data: ResultsData): Map<string, Count[]> {
  const m = new Map<string, Count[]>();
  for (const c of data.counts) {
    let list = m.get(c.contestId);
    if (list === undefined) {
      list = [];
      m.set(c.contestId, list);
    }
    list.push(c);
  }
  return m;
}

function aggregateContest(
  data: ResultsData,
  contest: Contest,
  units: ReadonlyMap<string, ReportingUnit>,
  counts: readonly Count[],
  options: AggregateOptions,
): ContestResults {
  const threshold = options.smallUnitBallots ?? SMALL_UNIT_BALLOTS;
  const allChoices: readonly ChoiceWithTally[] = contest.choices;
  // Per unit, per choice: the counts given.
  const cells = new Map<string, Map<string, Count[]>>();
  for (const c of counts) {
    let perUnit = cells.get(c.unitId);
    if (perUnit === undefined) {
      perUnit = new Map();
      cells.set(c.unitId, perUnit);
    }
    const list = perUnit.get(c.choiceId);
    if (list === undefined) perUnit.set(c.choiceId, [c]);
    else list.push(c);
  }
  const withDescendants = new Set<string>();
  for (const unitId of cells.keys()) {
    let parent = units.get(unitId)?.parentId ?? null;
    const seen = new Set<string>([unitId]);
    while (parent !== null && !seen.has(parent)) {
      seen.add(parent);
      withDescendants.add(parent);
      parent = units.get(parent)?.parentId ?? null;
    }
  }
  const leaves = [...cells.keys()].filter((u) => !withDescendants.has(u));
  const voteChoices = allChoices.filter((c) => c.nonVote === undefined);
  const nonVoteChoices = allChoices.filter((c) => c.nonVote !== undefined);
  const totalOf = (unitId: string, choiceId: string): number | null => {
    const list = cells.get(unitId)?.get(choiceId);
    return list === undefined ? null : unitTotal(list);
  };
  // Choice totals over the leaves.
  const sums = new Map<string, { votes: number; suppressed: number }>();
  for (const ch of allChoices) {
    let votes = 0;
    let suppressed = 0;
    for (const u of leaves) {
      const list = cells.get(u)?.get(ch.id);
      if (list === undefined) continue;
      const v = unitTotal(list);
      if (v === null) suppressed++;
      else votes += v;
    }
    sums.set(ch.id, { votes, suppressed });
  }
  const order = [...voteChoices].sort(
    (a, b) =>
      (sums.get(b.id)?.votes ?? 0) - (sums.get(a.id)?.votes ?? 0) || a.name.localeCompare(b.name),
  );
  const totalVotes = order.reduce((s, c) => s + (sums.get(c.id)?.votes ?? 0), 0);
  // Rows, one per leaf.
  const items: Item[] = leaves.map((unitId) => {
    const unit = units.get(unitId);
    let all = 0;
    for (const ch of allChoices) all += Math.max(0, totalOf(unitId, ch.id) ?? 0);
    return {
      unitIds: [unitId],
      id: unitId,
      name: unit?.name ?? unitId,
      level: unit?.level ?? 'other',
      parentId: unit?.parentId ?? null,
      ballots: Math.ceil(all / Math.max(1, contest.voteFor)),
      votes: order.map((ch) => totalOf(unitId, ch.id)),
    };
  });
  const ballots = items.reduce((s, i) => s + i.ballots, 0);
  const reasons = suppressionPlan(items, units, threshold);
  const known = (unitId: string): boolean => {
    const perUnit = cells.get(unitId);
    return perUnit !== undefined && [...perUnit.values()].some((l) => unitTotal(l) !== null);
  };
  const withheld = options.view === 'public' && ballots < threshold;
  const rows: UnitRow[] = withheld
    ? []
    : options.view === 'office'
      ? [...items]
          .sort(rowOrder)
          .map((i) =>
            unitRow(i, { combinedUnits: null, suppression: reasons.reason.get(i.id) ?? null }),
          )
      : reasons.publicRows.map((i) =>
          unitRow(i, {
            combinedUnits: i.level === 'combined' ? i.unitIds : null,
            suppression: null,
          }),
        );
  return {
    contestId: contest.id,
    name: contest.name,
    kind: contest.kind,
    district: contest.district,
    voteFor: contest.voteFor,
    view: options.view,
    choices: order.map((ch) => {
      const s = sums.get(ch.id) ?? { votes: 0, suppressed: 0 };
      return {
        choiceId: ch.id,
        name: ch.name,
        party: ch.party,
        writeIn: ch.writeIn,
        votes: withheld ? null : s.votes,
        suppressedCounts: s.suppressed,
        percent: withheld ? null : roundedPercent(s.votes, totalVotes),
      };
    }),
    nonVotes: nonVoteChoices.map((ch) => ({
      kind: ch.nonVote ?? 'void',
      choiceId: ch.id,
      name: ch.name,
      votes: withheld ? null : (sums.get(ch.id)?.votes ?? 0),
    })),
    totalVotes: withheld ? null : totalVotes,
    unitsReporting: leaves.filter(known).length,
    unitsExpected: leaves.length,
    ballots: withheld ? null : ballots,
    turnout: withheld ? null : turnoutOf(data.turnout ?? [], leaves),
    rows,
    withheld,
  };
}

function turnoutOf(
  turnout: readonly UnitTurnout[],
  leaves: readonly string[],
): TurnoutFigures | null {
  const wanted = new Set(leaves);
  let registered: number | null = null;
  let ballotsCast: number | null = null;
  for (const t of turnout) {
    if (!wanted.has(t.unitId)) continue;
    registered = addVotes(registered, t.registered);
    ballotsCast = addVotes(ballotsCast, t.ballotsCast);
  }
  if (registered === null && ballotsCast === null) return null;
  return {
    registered,
    ballotsCast,
    percent:
      registered === null || ballotsCast === null ? null : roundedPercent(ballotsCast, registered),
  };
}

/** Rows by parent, then units by name, then the parent's combined row last. */
function rowOrder(a: Item, b: Item): number {
  return (
    (a.parentId ?? '').localeCompare(b.parentId ?? '') ||
    Number(a.level === 'combined') - Number(b.level === 'combined') ||
    a.name.localeCompare(b.name, 'en', { numeric: true }) ||
    a.id.localeCompare(b.id)
  );
}

/** The public rows, and per unit the reason it is not published alone (see contestResults). */
function suppressionPlan(
  leaves: readonly Item[],
  units: ReadonlyMap<string, ReportingUnit>,
  threshold: number,
): { publicRows: Item[]; reason: Map<string, SuppressionReason> } {
  const reason = new Map<string, SuppressionReason>();
  const groups = new Map<string | null, Item[]>();
  for (const i of leaves) {
    const g = groups.get(i.parentId);
    if (g === undefined) groups.set(i.parentId, [i]);
    else g.push(i);
  }
  const out: Item[] = [];
  for (const [parent, group] of groups) {
    const small = group.filter((i) => i.ballots < threshold);
    if (small.length === 0) {
      out.push(...group);
      continue;
    }
    for (const s of small) for (const u of s.unitIds) reason.set(u, 'small-unit');
    const rest = group
      .filter((i) => i.ballots >= threshold)
      .sort((a, b) => a.ballots - b.ballots || a.id.localeCompare(b.id));
    const combined = [...small];
    while (combined.reduce((s, i) => s + i.ballots, 0) < threshold) {
      const next = rest.shift();
      if (next === undefined) break;
      for (const u of next.unitIds) reason.set(u, 'complementary');
      combined.push(next);
    }
    out.push(...rest, combineItems(combined, parent, units));
  }
  // A parent whose units are all small together still gives a small row: merge it with the
  // nearest other row (the smallest of those sharing the closest ancestor), up the tree.
  for (;;) {
    const deficient = out.find((i) => i.ballots < threshold);
    if (deficient === undefined || out.length < 2) break;
    const chain = ancestors(deficient.parentId, units);
    let best: { item: Item; distance: number; ancestor: string | null } | undefined;
    for (const other of out) {
      if (other === deficient) continue;
      const theirs = new Set(ancestors(other.parentId, units));
      const distance = chain.findIndex((a) => theirs.has(a));
      const d = distance < 0 ? chain.length : distance;
      if (
        best === undefined ||
        d < best.distance ||
        (d === best.distance && other.ballots < best.item.ballots)
      ) {
        best = {
          item: other,
          distance: d,
          ancestor: distance < 0 ? null : (chain[distance] ?? null),
        };
      }
    }
    if (best === undefined) break;
    for (const u of best.item.unitIds) if (!reason.has(u)) reason.set(u, 'complementary');
    const merged = combineItems([deficient, best.item], best.ancestor, units);
    out.splice(out.indexOf(deficient), 1);
    out.splice(out.indexOf(best.item), 1, merged);
  }
  return { publicRows: out.sort(rowOrder), reason };
}

/** A unit's parent, its parent's parent… up to the widest unit. */
function ancestors(parentId: string | null, units: ReadonlyMap<string, ReportingUnit>): string[] {
  const out: string[] = [];
  for (let p = parentId; p !== null && !out.includes(p); p = units.get(p)?.parentId ?? null) {
    out.push(p);
  }
  return out;
}

/** One "other units" row holding the given rows, under `parent`. */
function combineItems(
  items: readonly Item[],
  parent: string | null,
  units: ReadonlyMap<string, ReportingUnit>,
): Item {
  const parentUnit = parent === null ? undefined : units.get(parent);
  return {
    unitIds: items.flatMap((i) => i.unitIds).sort(),
    id: `other-units:${parent ?? 'all'}`,
    name: parentUnit === undefined ? 'Other units' : `Other units in ${parentUnit.name}`,
    level: 'combined',
    parentId: parent,
    ballots: items.reduce((s, i) => s + i.ballots, 0),
    votes: (items[0]?.votes ?? []).map((_, k) =>
      items.reduce<number | null>((s, i) => addVotes(s, i.votes[k] ?? null), null),
    ),
  };
}
