// Clarity (Scytl) election-night reporting `detail.xml`: `<ElectionResult>` with turnout per
// county or precinct, then `<Contest>` → `<Choice>` → `<VoteType>` → `<County|Precinct votes>`.
// A state's file lists counties, a county's file lists precincts; the file's own region (the
// state or the county) becomes the widest unit and carries the totals the file states for it,
// so a unit's counts are never the sum of another level's.
import { parseVotes, slug, uniqueIds, withCompletedCounts } from './count-checks.ts';
import { mappingTable } from './mappings.ts';
import type {
  Anomaly,
  ChoiceWithTally,
  Contest,
  ContestKind,
  Count,
  NonVoteKind,
  ReportingUnit,
  ResultsDocumentWithTurnout,
  SourcePosition,
  UnitTurnout,
  VoteMode,
} from './model.ts';
import {
  attributeLocal,
  childNamed,
  childrenNamed,
  expectRootElement,
  readResultsXml,
} from './xml.ts';
import type { XmlElement, XmlResultsOptions } from './xml.ts';

/**
 * Maps a Clarity `VoteType` name to a vote mode. Counties name their modes freely ("Election
 * Day", "Election", "Early Vote", "Advance in Person", "Absentee by Mail", "Provisional"…);
 * absentee is checked before mail so "Absentee by Mail" stays absentee, and a name matching
 * nothing is `other`.
 */
export function clarityVoteMode(name: string): VoteMode {
  const n = name
    .toLowerCase()
    .replace(/[^a-z]+/g, ' ')
    .trim();
  if (n === 'total' || n === 'total votes') return 'total';
  if (n.includes('provisional')) return 'provisional';
  if (n.includes('absentee')) return 'absentee';
  if (n.includes('mail')) return 'mail';
  if (/\b(early|advance|one stop)\b/.test(n)) return 'early';
  if (/^election( day)?\b|\bpolling\b|\bday of\b/.test(n)) return 'election-day';
  return 'other';
}

/** Contest-level `VoteType` names that are tallies, not votes for a choice. */
function nonVoteKind(name: string): NonVoteKind | undefined {
  const n = name.toLowerCase();
  if (n.includes('overvote')) return 'overvotes';
  if (n.includes('undervote')) return 'undervotes';
  return undefined;
}

/** Reads an optional whole-number attribute (turnout figures); anything else is null. */
function wholeNumber(raw: string | undefined): number | null {
  return raw !== undefined && /^\d{1,15}$/.test(raw.trim()) ? Number(raw.trim()) : null;
}

/**
 * Reads a Clarity `detail.xml` into the results model.
 *
 * Units: the file's region (`<Region>`) is the widest unit: a state (`state:ar`) when the file
 * lists counties, a county (`county:greenup`) when it lists precincts; counties are
 * `county:<name>`, precincts `precinct:<county>/<name>`. The region's counts are the totals the
 * file states for it (`totalVotes`, each `VoteType`'s `votes`), the sub-units' counts are the
 * per-county or per-precinct figures: sum one level, never both. A sub-unit's total is computed
 * from its modes (Clarity gives none). Contest-level `Overvotes` and `Undervotes` become choices
 * marked `nonVote`; other contest-level tallies are reported as ROW_UNPLACED. Turnout
 * (`totalVoters`, `ballotsCast`) is returned per unit. `line` is the line of the element a
 * count was read from.
 *
 * Election: `options.election` is used as given, except a null `state`, which is taken from
 * `<Region>` when that is a two-letter code. The file's own name and date are not used.
 *
 * Attacker-controlled: the whole file; see xml.ts for the parser's guards. Names are used as
 * text only; ids are folded to `[a-z0-9-]`.
 * @throws ResultsError FILE_UNREADABLE, FILE_MALFORMED (not well-formed XML, a DTD, not UTF-8;
 *   naming file, line and column), FORMAT_UNKNOWN (the root is not `<ElectionResult>`)
 */
export async function readClarityXml(
  file: string,
  options: XmlResultsOptions,
): Promise<ResultsDocumentWithTurnout> {
  const { name, root } = await readResultsXml(file, options);
  expectRootElement(root, { name, element: 'ElectionResult', format: 'Clarity XML' });
  return clarityDocument(root, name, options);
}

/** Maps a parsed Clarity document whose root is `ElectionResult`. */
function clarityDocument(
  root: XmlElement,
  name: string,
  options: XmlResultsOptions,
): ResultsDocumentWithTurnout {
  const map = mappingTable(options.mappings);
  const at = (element: XmlElement): SourcePosition => ({ file: name, line: element.line });
  const region = childNamed(root, 'Region')?.text ?? '';
  const stateTurnout = childNamed(root, 'ElectionVoterTurnout');
  const countyTurnout = childNamed(root, 'VoterTurnout');
  // A state file names counties, a county file precincts; without turnout, the first count says.
  const firstSub = root.children
    .filter((c) => c.name === 'Contest')
    .flatMap((c) => c.children)
    .flatMap((c) => (c.name === 'Choice' ? c.children : [c]))
    .flatMap((v) => v.children)[0]?.name;
  const stateLevel =
    stateTurnout !== undefined || (countyTurnout === undefined && firstSub === 'County');
  const regionState = /^[A-Za-z]{2}$/.test(region) ? region.toUpperCase() : null;
  const state = options.election.state ?? (stateLevel ? regionState : null);

  const units: ReportingUnit[] = [];
  const unitIds = new Map<string, string>();
  const turnout: UnitTurnout[] = [];
  const top: ReportingUnit = stateLevel
    ? {
        id: `state:${slug(state ?? region)}`,
        name: region,
        level: 'state',
        parentId: null,
        fips: null,
      }
    : { id: `county:${slug(region)}`, name: region, level: 'county', parentId: null, fips: null };
  units.push(top);
  const newUnitId = uniqueIds();
  newUnitId(top.id);
  const subUnit = (unitName: string): string => {
    const known = unitIds.get(unitName);
    if (known !== undefined) return known;
    const id = newUnitId(
      stateLevel ? `county:${slug(unitName)}` : `precinct:${slug(region)}/${slug(unitName)}`,
    );
    unitIds.set(unitName, id);
    units.push({
      id,
      name: unitName,
      level: stateLevel ? 'county' : 'precinct',
      parentId: top.id,
      fips: null,
    });
    return id;
  };
  const addTurnout = (unitId: string, element: XmlElement): void => {
    const registered = wholeNumber(element.attributes.get('totalVoters'));
    const ballotsCast = wholeNumber(element.attributes.get('ballotsCast'));
    if (registered === null && ballotsCast === null) return;
    turnout.push({ unitId, registered, ballotsCast, source: at(element) });
  };
  const turnoutElement = stateTurnout ?? countyTurnout;
  if (turnoutElement) {
    addTurnout(top.id, turnoutElement);
    const list = childNamed(turnoutElement, stateLevel ? 'Counties' : 'Precincts');
    for (const sub of list?.children ?? []) {
      const subName = sub.attributes.get('name');
      if (subName !== undefined) addTurnout(subUnit(subName), sub);
    }
  }

  const contests: Contest[] = [];
  const counts: Count[] = [];
  const anomalies: Anomaly[] = [];
  const newContestId = uniqueIds();
  const addCount = (
    element: XmlElement,
    raw: string | undefined,
    ids: { contestId: string; choiceId: string; unitId: string; mode: VoteMode },
    what: string,
  ): void => {
    const parsed = parseVotes(raw, at(element), what);
    if (parsed.anomaly) anomalies.push(parsed.anomaly);
    counts.push({ ...ids, votes: parsed.votes, computed: false, source: at(element) });
  };
  const addByUnit = (
    voteType: XmlElement,
    ids: { contestId: string; choiceId: string; mode: VoteMode },
    what: string,
  ): void => {
    addCount(voteType, voteType.attributes.get('votes'), { ...ids, unitId: top.id }, what);
    for (const sub of voteType.children) {
      const subName = sub.attributes.get('name');
      if (subName === undefined) {
        anomalies.push({
          code: 'ROW_UNPLACED',
          source: at(sub),
          detail: `${what}: a "${sub.name}" without a name cannot be placed`,
        });
        continue;
      }
      addCount(
        sub,
        sub.attributes.get('votes'),
        { ...ids, unitId: subUnit(subName) },
        `${what}, "${subName}"`,
      );
    }
  };

  for (const element of childrenNamed(root, 'Contest')) {
    const rawName = element.attributes.get('text') ?? '';
    const contestName = map.office(rawName);
    const isQuestion = element.attributes.get('isQuestion') === 'true';
    const kind: ContestKind = isQuestion
      ? /\b(retain|retention)\b/i.test(contestName)
        ? 'retention'
        : 'ballot-measure'
      : 'candidate';
    const contestId = newContestId(slug(contestName));
    const voteFor = wholeNumber(element.attributes.get('voteFor'));
    const choices: ChoiceWithTally[] = [];
    const newChoiceId = uniqueIds();
    for (const child of element.children) {
      if (child.name === 'VoteType') {
        const typeName = child.attributes.get('name') ?? '';
        const nonVote = nonVoteKind(typeName);
        if (nonVote === undefined) {
          anomalies.push({
            code: 'ROW_UNPLACED',
            source: at(child),
            detail: `Contest "${contestId}": contest-level tally "${typeName.slice(0, 64)}" is not a choice`,
          });
          continue;
        }
        const choiceId = newChoiceId(nonVote);
        choices.push({ id: choiceId, name: typeName, party: null, writeIn: false, nonVote });
        addByUnit(
          child,
          { contestId, choiceId, mode: 'total' },
          `Contest "${contestId}", "${typeName}"`,
        );
      } else if (child.name === 'Choice') {
        const choiceName = map.candidate(child.attributes.get('text') ?? '');
        const party = child.attributes.get('party');
        const choiceId = newChoiceId(slug(choiceName));
        choices.push({
          id: choiceId,
          name: choiceName,
          party: party === undefined || party.trim() === '' ? null : map.party(party),
          writeIn: /\bwrite[- ]?ins?\b/i.test(choiceName),
        });
        const what = `Contest "${contestId}", choice "${choiceId}"`;
        const totalVotes = attributeLocal(child, 'totalVotes');
        if (totalVotes !== undefined) {
          addCount(child, totalVotes, { contestId, choiceId, unitId: top.id, mode: 'total' }, what);
        }
        for (const voteType of childrenNamed(child, 'VoteType')) {
          const mode = clarityVoteMode(voteType.attributes.get('name') ?? '');
          addByUnit(voteType, { contestId, choiceId, mode }, what);
        }
      }
    }
    contests.push({
      id: contestId,
      name: contestName,
      kind,
      district: null,
      voteFor: voteFor !== null && voteFor > 0 ? voteFor : 1,
      choices,
    });
  }

  return withCompletedCounts({
    election: { ...options.election, state },
    format: 'clarity-xml',
    units,
    contests,
    counts,
    anomalies,
    turnout,
  });
}
