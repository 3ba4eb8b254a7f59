// Count handling shared by the XML and CDF readers: reading one count value as the source wrote
// it, computing a total the source left out, and reporting modes that do not add up and
// duplicate counts. Nothing is fixed: a suppressed count stays null, a wrong total stays as given.
import type {
  Anomaly,
  Count,
  ResultsDocumentWithTurnout,
  SourcePosition,
  VoteMode,
} from './model.ts';

/** A count value as read: the number, or null with the anomaly that says why. */
export interface ParsedVotes {
  readonly votes: number | null;
  readonly anomaly: Anomaly | undefined;
}

/** Markers sources use for a suppressed count: `*`, dashes, `X`, `S`, `N/A`, `<10`… */
const SUPPRESSED = /^(\*+|-+|x|s|n\/?a|suppressed|redacted|<\s*\d+)$/i;

/**
 * Reads one count value. Missing or a suppression marker: null with SUPPRESSED_COUNT; not a
 * whole number: null with NOT_A_NUMBER; below zero: kept, with NEGATIVE_COUNT.
 * Attacker-controlled: `raw` (an attribute or element of an uploaded file); only digits are
 * ever turned into a number, and numbers past 2^53 are refused rather than rounded.
 */
export function parseVotes(
  raw: string | undefined,
  source: SourcePosition,
  what: string,
): ParsedVotes {
  const value = raw?.trim() ?? '';
  if (value === '' || SUPPRESSED.test(value)) {
    return {
      votes: null,
      anomaly: {
        code: 'SUPPRESSED_COUNT',
        source,
        detail: `${what}: count ${value === '' ? 'missing' : `"${value}"`} is suppressed`,
      },
    };
  }
  if (/^-?\d+(\.0+)?$/.test(value)) {
    const votes = Number.parseInt(value, 10);
    if (Number.isSafeInteger(votes)) {
      if (votes < 0) {
        return {
          votes,
          anomaly: {
            code: 'NEGATIVE_COUNT',
            source,
            detail: `${what}: count "${value}" is below zero`,
          },
        };
      }
      return { votes, anomaly: undefined };
    }
  }
  return {
    votes: null,
    anomaly: {
      code: 'NOT_A_NUMBER',
      source,
      detail: `${what}: count "${value.slice(0, 40)}" is not a whole number`,
    },
  };
}

/**
 * Folds a name into an id part: lower case, runs of anything but letters and digits to `-`.
 * Empty names give `unnamed`.
 */
export function slug(name: string): string {
  const folded = name
    .normalize('NFKD')
    .replace(/[\u0300-\u036f]/g, '')
    .replace(/['\u2019.]/g, '')
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-|-$/g, '');
  return folded === '' ? 'unnamed' : folded;
}

/** Hands out ids unique within one scope: `base`, then `base-2`, `base-3`… */
export function uniqueIds(): (base: string) => string {
  const seen = new Set<string>();
  return (base) => {
    let id = base;
    for (let n = 2; seen.has(id); n++) id = `${base}-${n}`;
    seen.add(id);
    return id;
  };
}

function key(c: Pick<Count, 'contestId' | 'choiceId' | 'unitId'>): string {
  return JSON.stringify([c.contestId, c.choiceId, c.unitId]);
}

/**
 * Completes the counts of one file: where a choice in a unit has modes but no total, adds the
 * total computed from them (`computed: true`; null when any mode is suppressed); where it has
 * both, reports MODES_DO_NOT_ADD_UP when they differ; reports DUPLICATE_ROW for every count
 * whose contest, choice, unit and mode were already seen. Counts keep their order; computed
 * totals follow the last mode of their group.
 */
export function completeCounts(counts: readonly Count[]): {
  counts: Count[];
  anomalies: Anomaly[];
} {
  const anomalies: Anomaly[] = [];
  const groups = new Map<string, Count[]>();
  for (const count of counts) {
    const k = key(count);
    const group = groups.get(k);
    if (group) group.push(count);
    else groups.set(k, [count]);
  }
  const computed = new Map<string, Count>();
  for (const [k, group] of groups) {
    const seen = new Set<VoteMode>();
    for (const count of group) {
      if (seen.has(count.mode)) {
        anomalies.push({
          code: 'DUPLICATE_ROW',
          source: count.source,
          detail: `Contest "${count.contestId}", choice "${count.choiceId}", unit "${count.unitId}", mode "${count.mode}" appears more than once`,
        });
      }
      seen.add(count.mode);
    }
    const totals = group.filter((c) => c.mode === 'total');
    const modes = group.filter((c) => c.mode !== 'total');
    if (modes.length === 0) continue;
    const sum = modes.some((c) => c.votes === null)
      ? null
      : modes.reduce((s, c) => s + (c.votes ?? 0), 0);
    const last = modes[modes.length - 1];
    if (totals.length === 0 && last) {
      computed.set(k, { ...last, mode: 'total', votes: sum, computed: true });
      continue;
    }
    for (const total of totals) {
      if (sum !== null && total.votes !== null && sum !== total.votes) {
        anomalies.push({
          code: 'MODES_DO_NOT_ADD_UP',
          source: total.source,
          detail: `Contest "${total.contestId}", choice "${total.choiceId}", unit "${total.unitId}": modes add up to ${sum}, the total is ${total.votes}`,
        });
      }
    }
  }
  const out: Count[] = [];
  const lastIndex = new Map<string, number>();
  counts.forEach((c, i) => {
    if (c.mode !== 'total') lastIndex.set(key(c), i);
  });
  counts.forEach((c, i) => {
    out.push(c);
    const k = key(c);
    const total = computed.get(k);
    if (total && lastIndex.get(k) === i) out.push(total);
  });
  return { counts: out, anomalies };
}

/**
 * A document as a reader assembled it, with its counts completed ({@link completeCounts}): the
 * computed totals placed among the counts, the anomalies found doing so after the reader's own.
 * @throws nothing: what does not add up is reported as an anomaly
 */
export function withCompletedCounts(
  document: ResultsDocumentWithTurnout,
): ResultsDocumentWithTurnout {
  const completed = completeCounts(document.counts);
  return {
    ...document,
    counts: completed.counts,
    anomalies: [...document.anomalies, ...completed.anomalies],
  };
}
