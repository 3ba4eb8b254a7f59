// NIST SP 1500-100 Election Results Reporting common data format, version 2, in its JSON and XML
// serialisations: `ElectionReport` → `Election` → `Contest` → `ContestSelection` → `VoteCounts`,
// with `GpUnit` (reporting units), `Party` and `Candidate` referenced by id.
//
// SPEC: https://github.com/usnistgov/ElectionResultsReporting (version2 branch), UML
// documentation and NIST_V2_election_results_reporting.{json,xsd}.
//
// Both serialisations are read through one small accessor (`CdfNode`) so the mapping is written
// once. The reader is lenient where real feeds differ from the schema without changing meaning:
// Google's civics profile (`*Collection` and `ExternalIdentifiers` wrappers, `BallotSelection`,
// `ElectoralDistrictId`, `objectId`, `language`), plain text where `InternationalizedText` is
// required, and the v1 element names that v2 kept. It does not validate against the schema:
// it reads what it can place and reports the rest as anomalies.
import { parseVotes, slug, uniqueIds, withCompletedCounts } from './count-checks.ts';
import { ResultsError } from './errors.ts';
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
  ResultsFormat,
  SourcePosition,
  UnitLevel,
  UnitTurnout,
  VoteMode,
} from './model.ts';
import {
  attributeLocal,
  childNamed,
  expectRootElement,
  MAX_XML_DEPTH,
  readResultsText,
  readResultsXml,
} from './xml.ts';
import type { XmlElement, XmlResultsOptions } from './xml.ts';

/**
 * `ExternalIdentifier/OtherType` values votervault writes (cdf-export.ts) so that an export
 * reads back with the same ids: the model id of a unit, contest or choice, a contest's
 * district, and units that exist only because the schema requires a reference.
 */
export const CDF_ID_TYPES = {
  id: 'votervault-id',
  district: 'votervault-district',
  synthetic: 'votervault-synthetic',
} as const;

/** Read access to one CDF object, whichever serialisation it came from. */
interface CdfNode {
  /** XML: the element's line; JSON: the object's 1-based ordinal in document order. */
  readonly line: number;
  /** The class without prefix (`CandidateContest`), from `xsi:type` or `@type`. */
  readonly type: string | undefined;
  /** `ObjectId` (XML) or `@id` (JSON). */
  readonly id: string | undefined;
  all(name: string): CdfNode[];
  text(name: string): string | undefined;
  refs(name: string): string[];
  /** An `InternationalizedText` (English preferred) or, leniently, plain text. */
  intl(name: string): string | undefined;
}

interface ExternalId {
  readonly type: string;
  readonly otherType: string | undefined;
  readonly value: string;
}

function externalIds(node: CdfNode): ExternalId[] {
  return node.all('ExternalIdentifier').flatMap((e) => {
    const type = e.text('Type');
    const value = e.text('Value');
    return type === undefined || value === undefined
      ? []
      : [{ type, otherType: e.text('OtherType'), value }];
  });
}

function ownId(node: CdfNode, otherType: string): string | undefined {
  return externalIds(node).find((e) => e.type === 'other' && e.otherType === otherType)?.value;
}

// ---- XML ----------------------------------------------------------------------------------

function xmlNode(element: XmlElement): CdfNode {
  const childrenOf = (name: string): XmlElement[] => {
    const out: XmlElement[] = [];
    for (const c of element.children) {
      if (c.name === name) out.push(c);
      else if (c.name === `${name}Collection` || c.name === `${name}s`) {
        for (const g of c.children) if (g.name === name) out.push(g);
      }
    }
    return out;
  };
  const type = attributeLocal(element, 'type');
  return {
    line: element.line,
    type: type === undefined ? undefined : type.slice(type.indexOf(':') + 1),
    id: element.attributes.get('ObjectId') ?? element.attributes.get('objectId'),
    all: (name) => childrenOf(name).map(xmlNode),
    text: (name) => childNamed(element, name)?.text,
    refs: (name) =>
      childNamed(element, name)
        ?.text.split(/\s+/)
        .filter((s) => s !== '') ?? [],
    intl: (name) => {
      const child = childNamed(element, name);
      if (!child) return undefined;
      const texts = child.children.filter((c) => c.name === 'Text');
      if (texts.length === 0) return child.text;
      const english = texts.find((t) =>
        /^en\b/i.test(t.attributes.get('Language') ?? t.attributes.get('language') ?? ''),
      );
      return (english ?? texts[0])?.text;
    },
  };
}

// ---- JSON ---------------------------------------------------------------------------------

type JsonObject = Readonly<Record<string, unknown>>;

function isObject(value: unknown): value is JsonObject {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

function scalar(value: unknown): string | undefined {
  if (typeof value === 'string') return value.trim();
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  return undefined;
}

/** Own property of a parsed JSON object (never one inherited from a prototype). */
function own(object: JsonObject, name: string): unknown {
  return Object.hasOwn(object, name) ? object[name] : undefined;
}

function jsonNode(object: JsonObject, ordinals: WeakMap<object, number>): CdfNode {
  const objects = (name: string): JsonObject[] => {
    const value = own(object, name);
    if (Array.isArray(value)) return value.filter(isObject);
    return isObject(value) ? [value] : [];
  };
  const type = scalar(own(object, '@type'));
  return {
    line: ordinals.get(object) ?? 0,
    type: type?.replace(/^ElectionResults\./, ''),
    id: scalar(own(object, '@id')),
    all: (name) => objects(name).map((o) => jsonNode(o, ordinals)),
    text: (name) => scalar(own(object, name)),
    refs: (name) => {
      const value = own(object, name);
      if (Array.isArray(value)) {
        return value.map(scalar).filter((s): s is string => s !== undefined && s !== '');
      }
      return (
        scalar(value)
          ?.split(/\s+/)
          .filter((s) => s !== '') ?? []
      );
    },
    intl: (name) => {
      const value = own(object, name);
      if (!isObject(value)) return scalar(value);
      const texts = own(value, 'Text');
      const list = (Array.isArray(texts) ? texts : [texts]).filter(isObject);
      const english = list.find((t) => /^en\b/i.test(scalar(own(t, 'Language')) ?? ''));
      const chosen = english ?? list[0];
      return chosen === undefined ? undefined : scalar(own(chosen, 'Content'));
    },
  };
}

/**
 * Numbers every object of a parsed JSON value in document order, refusing nesting deeper than
 * {@link MAX_XML_DEPTH}. Iterative, so hostile nesting cannot exhaust the stack.
 */
function jsonOrdinals(root: unknown, name: string): WeakMap<object, number> {
  const ordinals = new WeakMap<object, number>();
  let next = 1;
  const stack: { value: unknown; depth: number }[] = [{ value: root, depth: 0 }];
  while (stack.length > 0) {
    const { value, depth } = stack.pop()!;
    if (value === null || typeof value !== 'object') continue;
    if (depth > MAX_XML_DEPTH) {
      throw new ResultsError(
        'FILE_MALFORMED',
        `Cannot read "${name}" as NIST CDF JSON: nesting is deeper than ${MAX_XML_DEPTH}`,
        { file: name },
      );
    }
    if (!Array.isArray(value)) ordinals.set(value, next++);
    const items = Array.isArray(value) ? (value as unknown[]) : Object.values(value);
    for (let i = items.length - 1; i >= 0; i--) stack.push({ value: items[i], depth: depth + 1 });
  }
  return ordinals;
}

// ---- mapping ------------------------------------------------------------------------------

/** Maps a CDF `ReportingUnitType` (and `OtherType`) to a unit level. */
export function cdfUnitLevel(type: string | undefined, otherType?: string): UnitLevel {
  switch (type) {
    case 'state':
      return 'state';
    case 'county':
      return 'county';
    case 'precinct':
    case 'split-precinct':
    case 'combined-precinct':
    case 'polling-place':
    case 'vote-center':
      return 'precinct';
    case 'congressional':
    case 'state-house':
    case 'state-senate':
    case 'judicial':
    case 'school':
    case 'special':
    case 'city-council':
    case 'county-council':
    case 'ward':
    case 'utility':
    case 'water':
      return 'district';
    case 'other':
      return otherType?.toLowerCase() === 'district' ? 'district' : 'other';
    default:
      return 'other';
  }
}

/**
 * Maps a CDF `CountItemType` to a vote mode; undefined for `seats`, which counts seats won,
 * not votes. The absentee kinds (FWAB, in person, UOCAVA) are absentee; `absentee-mail` is
 * mail; `write-in` is other.
 */
export function cdfVoteMode(type: string | undefined): VoteMode | undefined {
  switch (type) {
    case 'total':
      return 'total';
    case 'election-day':
      return 'election-day';
    case 'early':
      return 'early';
    case 'absentee':
    case 'absentee-fwab':
    case 'absentee-in-person':
    case 'uocava':
      return 'absentee';
    case 'absentee-mail':
      return 'mail';
    case 'provisional':
      return 'provisional';
    case 'seats':
      return undefined;
    default:
      return 'other';
  }
}

function contestKind(type: string | undefined): ContestKind {
  if (type === 'BallotMeasureContest') return 'ballot-measure';
  if (type === 'RetentionContest') return 'retention';
  return 'candidate';
}

function positiveInteger(raw: string | undefined): number | null {
  return raw !== undefined && /^\d{1,9}$/.test(raw) && Number(raw) > 0 ? Number(raw) : null;
}

interface UnitInfo {
  readonly unit: ReportingUnit;
  readonly number: string | undefined;
  readonly children: readonly string[];
  readonly ocdId: string | undefined;
}

/** Container preference when a unit is composed into several: a precinct's county first. */
const PARENT_PREFERENCE: readonly UnitLevel[] = [
  'county',
  'state',
  'district',
  'other',
  'precinct',
];

function cdfDocument(
  report: CdfNode,
  name: string,
  options: XmlResultsOptions,
  format: ResultsFormat,
): ResultsDocumentWithTurnout {
  const map = mappingTable(options.mappings);
  const at = (node: CdfNode): SourcePosition => ({ file: name, line: node.line });
  const anomalies: Anomaly[] = [];

  // Units: model id from our own identifier, else the object id.
  const byObjectId = new Map<string, UnitInfo>();
  const synthetic = new Map<string, { number: string | undefined; ocdId: string | undefined }>();
  const turnout: UnitTurnout[] = [];
  const newUnitId = uniqueIds();
  for (const gp of report.all('GpUnit')) {
    const objectId = gp.id;
    if (objectId === undefined) {
      anomalies.push({
        code: 'ROW_UNPLACED',
        source: at(gp),
        detail: 'A GpUnit without an object id cannot be referenced',
      });
      continue;
    }
    const ids = externalIds(gp);
    if (ids.some((e) => e.type === 'other' && e.otherType === CDF_ID_TYPES.synthetic)) {
      synthetic.set(objectId, {
        number: gp.text('Number'),
        ocdId: ids.find((e) => e.type === 'ocd-id')?.value,
      });
      continue;
    }
    const level =
      gp.type === 'ReportingDevice' ? 'other' : cdfUnitLevel(gp.text('Type'), gp.text('OtherType'));
    const fips = ids.find((e) => e.type === 'fips')?.value;
    const unit: ReportingUnit = {
      id: newUnitId(ownId(gp, CDF_ID_TYPES.id) ?? objectId),
      name: gp.intl('Name') ?? gp.intl('InternationalizedName') ?? objectId,
      level,
      parentId: null,
      fips: level === 'county' && fips !== undefined && /^\d{5}$/.test(fips) ? fips : null,
    };
    byObjectId.set(objectId, {
      unit,
      number: gp.text('Number'),
      children: gp.refs('ComposingGpUnitIds'),
      ocdId: ids.find((e) => e.type === 'ocd-id')?.value,
    });
    const registered = positiveOrZero(gp.text('VotersRegistered'));
    const ballotsCast = positiveOrZero(gp.text('VotersParticipated'));
    if (registered !== null || ballotsCast !== null) {
      turnout.push({ unitId: unit.id, registered, ballotsCast, source: at(gp) });
    }
  }
  const units = withParents(byObjectId);
  const unitIdOf = new Map<string, string>();
  for (const [objectId, info] of byObjectId) unitIdOf.set(objectId, info.unit.id);

  const parties = new Map<string, string>();
  for (const party of report.all('Party')) {
    const partyName =
      party.intl('Name') ??
      party.intl('Abbreviation') ??
      party.intl('InternationalizedAbbreviation');
    if (party.id !== undefined && partyName !== undefined && partyName !== '') {
      parties.set(party.id, map.party(partyName));
    }
  }

  const contests: Contest[] = [];
  const counts: Count[] = [];
  const newContestId = uniqueIds();
  let scopeState: string | null = null;
  for (const election of report.all('Election')) {
    const scopeRef = election.text('ElectionScopeId') ?? '';
    const scopeOcd = byObjectId.get(scopeRef)?.ocdId ?? synthetic.get(scopeRef)?.ocdId;
    const ocdState = /\/state:([a-z]{2})(\/|$)/.exec(scopeOcd ?? '')?.[1];
    if (scopeState === null && ocdState !== undefined) scopeState = ocdState.toUpperCase();
    const candidates = new Map<
      string,
      { name: string; partyId: string | undefined; ownId: string | undefined }
    >();
    for (const candidate of election.all('Candidate')) {
      if (candidate.id === undefined) continue;
      candidates.set(candidate.id, {
        name: candidate.intl('BallotName') ?? candidate.id,
        partyId: candidate.text('PartyId'),
        ownId: ownId(candidate, CDF_ID_TYPES.id),
      });
    }
    for (const contestNode of election.all('Contest')) {
      const contestName = map.office(
        contestNode.intl('Name') ?? contestNode.intl('BallotTitle') ?? '',
      );
      const contestId = newContestId(
        ownId(contestNode, CDF_ID_TYPES.id) ?? contestNode.id ?? slug(contestName),
      );
      const districtRef =
        contestNode.text('ElectionDistrictId') ?? contestNode.text('ElectoralDistrictId');
      const districtUnit = byObjectId.get(districtRef ?? '');
      const district =
        ownId(contestNode, CDF_ID_TYPES.district) ??
        (districtRef !== undefined && synthetic.has(districtRef)
          ? (synthetic.get(districtRef)?.number ?? null)
          : districtUnit?.unit.level === 'district'
            ? (districtUnit.number ?? districtUnit.unit.name)
            : null);
      const choices: ChoiceWithTally[] = [];
      const newChoiceId = uniqueIds();
      const addCount = (
        node: CdfNode,
        raw: string | undefined,
        suppressed: boolean,
        ids: { choiceId: string; unitRef: string | undefined; mode: VoteMode },
        what: string,
      ): void => {
        const unitId = unitIdOf.get(ids.unitRef ?? '');
        if (unitId === undefined) {
          anomalies.push({
            code: 'ROW_UNPLACED',
            source: at(node),
            detail: `${what}: reporting unit "${(ids.unitRef ?? '').slice(0, 64)}" is not defined`,
          });
          return;
        }
        const parsed = suppressed
          ? {
              votes: null,
              anomaly: {
                code: 'SUPPRESSED_COUNT',
                source: at(node),
                detail: `${what}: suppressed for privacy`,
              } as const,
            }
          : parseVotes(raw, at(node), what);
        if (parsed.anomaly) anomalies.push(parsed.anomaly);
        counts.push({
          contestId,
          choiceId: ids.choiceId,
          unitId,
          mode: ids.mode,
          votes: parsed.votes,
          computed: false,
          source: at(node),
        });
      };
      const selections = [
        ...contestNode.all('ContestSelection'),
        ...contestNode.all('BallotSelection'),
      ];
      for (const selection of selections) {
        const candidateIds = selection.refs('CandidateIds');
        const partyIds = selection.refs('PartyIds');
        const writeIn = selection.text('IsWriteIn') === 'true';
        let choiceName: string;
        let party: string | null = null;
        let preferredId: string | undefined;
        if (
          selection.type === 'BallotMeasureSelection' ||
          selection.intl('Selection') !== undefined
        ) {
          choiceName = selection.intl('Selection') ?? selection.id ?? '';
          preferredId = ownId(selection, CDF_ID_TYPES.id);
        } else if (selection.type === 'PartySelection' || partyIds.length > 0) {
          choiceName = partyIds.map((p) => parties.get(p) ?? p).join(' / ');
          party = partyIds.length === 1 ? (parties.get(partyIds[0] ?? '') ?? null) : null;
        } else {
          const found = candidateIds.map((c) => candidates.get(c));
          choiceName =
            found.map((c, i) => c?.name ?? candidateIds[i] ?? '').join(' / ') ||
            (writeIn ? 'Write-in' : (selection.id ?? ''));
          const partyRef = found[0]?.partyId ?? selection.refs('EndorsementPartyIds')[0];
          party = partyRef === undefined ? null : (parties.get(partyRef) ?? null);
          preferredId = found.length === 1 ? found[0]?.ownId : undefined;
        }
        const mappedName = map.candidate(choiceName);
        const choiceId = newChoiceId(preferredId ?? selection.id ?? slug(mappedName));
        choices.push({ id: choiceId, name: mappedName, party, writeIn });
        let firstRound: string | undefined;
        for (const vc of selection.all('VoteCounts')) {
          const what = `Contest "${contestId}", choice "${choiceId}"`;
          const type = vc.text('Type');
          const mode = cdfVoteMode(type);
          const round = vc.text('Round');
          firstRound ??= round;
          if (mode === undefined || (round !== undefined && round !== firstRound)) {
            anomalies.push({
              code: 'ROW_UNPLACED',
              source: at(vc),
              detail: `${what}: ${mode === undefined ? `count type "${type ?? ''}"` : `round "${round ?? ''}"`} is not modelled`,
            });
            continue;
          }
          addCount(
            vc,
            vc.text('Count'),
            vc.text('IsSuppressedForPrivacy') === 'true',
            { choiceId, unitRef: vc.text('GpUnitId'), mode },
            what,
          );
        }
      }
      // Over- and undervotes: contest-level tallies, kept as choices marked nonVote.
      const tallyIds = new Map<NonVoteKind, string>();
      for (const other of contestNode.all('OtherCounts')) {
        for (const [element, kind, label] of [
          ['Overvotes', 'overvotes', 'Overvotes'],
          ['Undervotes', 'undervotes', 'Undervotes'],
        ] as const) {
          const raw = other.text(element);
          if (raw === undefined) continue;
          let choiceId = tallyIds.get(kind);
          if (choiceId === undefined) {
            choiceId = newChoiceId(kind);
            tallyIds.set(kind, choiceId);
            choices.push({ id: choiceId, name: label, party: null, writeIn: false, nonVote: kind });
          }
          addCount(
            other,
            raw,
            false,
            { choiceId, unitRef: other.text('GpUnitId'), mode: 'total' },
            `Contest "${contestId}", ${label}`,
          );
        }
      }
      contests.push({
        id: contestId,
        name: contestName,
        kind: contestKind(contestNode.type),
        district,
        voteFor: positiveInteger(contestNode.text('VotesAllowed')) ?? 1,
        choices,
      });
    }
  }

  return withCompletedCounts({
    election: { ...options.election, state: options.election.state ?? scopeState },
    format,
    units,
    contests,
    counts,
    anomalies,
    turnout,
  });
}

function positiveOrZero(raw: string | undefined): number | null {
  return raw !== undefined && /^\d{1,15}$/.test(raw) ? Number(raw) : null;
}

/**
 * Sets each unit's parent from the `ComposingGpUnitIds` of the units that list it, preferring
 * a county (see {@link PARENT_PREFERENCE}); a parent that would close a loop is dropped, since
 * the references are the file's and may be circular.
 */
function withParents(byObjectId: Map<string, UnitInfo>): ReportingUnit[] {
  const containers = new Map<string, UnitInfo[]>();
  for (const info of byObjectId.values()) {
    for (const child of info.children) {
      const list = containers.get(child);
      if (list) list.push(info);
      else containers.set(child, [info]);
    }
  }
  const parent = new Map<string, string | null>();
  for (const [objectId, info] of byObjectId) {
    const candidates = (containers.get(objectId) ?? []).filter((c) => c !== info);
    candidates.sort(
      (a, b) => PARENT_PREFERENCE.indexOf(a.unit.level) - PARENT_PREFERENCE.indexOf(b.unit.level),
    );
    parent.set(info.unit.id, candidates[0]?.unit.id ?? null);
  }
  for (const start of parent.keys()) {
    const seen = new Set<string>([start]);
    for (let at = parent.get(start) ?? null; at !== null; at = parent.get(at) ?? null) {
      if (seen.has(at)) {
        parent.set(start, null);
        break;
      }
      seen.add(at);
    }
  }
  return [...byObjectId.values()].map((info) => ({
    ...info.unit,
    parentId: parent.get(info.unit.id) ?? null,
  }));
}

/** Longest run of nesting {@link jsonErrorOffset} follows before it reports the position. */
const MAX_SCAN_DEPTH = 1000;

/**
 * Offset of the first syntax error in JSON text (RFC 8259 grammar), for the error message:
 * `JSON.parse` does not always say where it stopped. Only called on text it refused.
 */
function jsonErrorOffset(text: string): number {
  let i = 0;
  const skip = (): void => {
    while (i < text.length && ' \t\n\r'.includes(text[i] ?? '')) i++;
  };
  const string = (): boolean => {
    i++;
    while (i < text.length) {
      const ch = text.charCodeAt(i);
      if (ch === 0x22) {
        i++;
        return true;
      }
      if (ch < 0x20) return false;
      if (ch === 0x5c) {
        const escape = text[i + 1] ?? '';
        if (escape === 'u') {
          if (!/^[0-9a-fA-F]{4}$/.test(text.slice(i + 2, i + 6))) return false;
          i += 6;
        } else if (escape !== '' && '"\\/bfnrt'.includes(escape)) i += 2;
        else return false;
      } else i++;
    }
    return false;
  };
  const value = (depth: number): boolean => {
    skip();
    if (depth > MAX_SCAN_DEPTH) return false;
    const c = text[i];
    if (c === '{' || c === '[') {
      const close = c === '{' ? '}' : ']';
      i++;
      skip();
      if (text[i] === close) {
        i++;
        return true;
      }
      for (;;) {
        if (c === '{') {
          skip();
          if (text[i] !== '"' || !string()) return false;
          skip();
          if (text[i] !== ':') return false;
          i++;
        }
        if (!value(depth + 1)) return false;
        skip();
        if (text[i] === ',') i++;
        else if (text[i] === close) {
          i++;
          return true;
        } else return false;
      }
    }
    if (c === '"') return string();
    const m = /^(-?(0|[1-9]\d*)(\.\d+)?([eE][+-]?\d+)?|true|false|null)/.exec(
      text.slice(i, i + 400),
    );
    if (!m) return false;
    i += m[0].length;
    return true;
  };
  if (value(0)) skip();
  return Math.min(i, text.length);
}

/**
 * Reads a NIST SP 1500-100 v2 `ElectionReport` in its JSON serialisation.
 *
 * Units keep the id votervault wrote (`ExternalIdentifier` of type other, `votervault-id`),
 * else their `@id`; levels come from `ReportingUnit/Type` ({@link cdfUnitLevel}), the parent
 * from the units whose `ComposingGpUnitIds` list them (a county first), the FIPS code from an
 * `ExternalIdentifier` of type `fips` on a county. Contests and choices keep their ids the same
 * way. Counts map `CountItemType` to a mode ({@link cdfVoteMode}); `IsSuppressedForPrivacy`
 * gives a null count with SUPPRESSED_COUNT; `OtherCounts` over- and undervotes become choices
 * marked `nonVote`; counts of later rounds, of `seats` and of undefined units are reported as
 * ROW_UNPLACED. `line` is the object's 1-based ordinal among the file's JSON objects in
 * document order (JSON.parse gives no lines).
 *
 * Election: `options.election` is used as given, except a null `state`, which is taken from the
 * Open Civic Data id (`…/state:xx`) of the election's scope unit when there is one.
 *
 * Attacker-controlled: the whole file. Its size is bounded before it is read, bytes must be
 * UTF-8, `JSON.parse` runs without a reviver, nesting is capped before any traversal, and only
 * own properties are read.
 * @throws ResultsError FILE_UNREADABLE, FILE_MALFORMED (not JSON, naming line and column; too
 *   deep), FORMAT_UNKNOWN (not an `ElectionResults.ElectionReport`)
 */
export async function readNistCdfJson(
  file: string,
  options: XmlResultsOptions,
): Promise<ResultsDocumentWithTurnout> {
  const { name, text } = await readResultsText(file, options);
  return parseNistCdfJson(text, name, options);
}

/**
 * {@link readNistCdfJson} on text already read; `name` is the file's name for positions.
 * @throws ResultsError FILE_MALFORMED, FORMAT_UNKNOWN
 */
export function parseNistCdfJson(
  text: string,
  name: string,
  options: XmlResultsOptions,
): ResultsDocumentWithTurnout {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error: unknown) {
    const offset = jsonErrorOffset(text);
    const before = text.slice(0, offset);
    const line = before.split('\n').length;
    const column = offset - before.lastIndexOf('\n');
    throw new ResultsError(
      'FILE_MALFORMED',
      `Cannot read "${name}" as JSON at line ${line}, column ${column}: not valid JSON`,
      { file: name, line, column },
      { cause: error },
    );
  }
  const ordinals = jsonOrdinals(json, name);
  if (!isObject(json) || own(json, '@type') !== 'ElectionResults.ElectionReport') {
    throw new ResultsError(
      'FORMAT_UNKNOWN',
      `Cannot read "${name}" as NIST CDF JSON: the root is not an object with "@type" "ElectionResults.ElectionReport"`,
      { file: name, line: 1 },
    );
  }
  return cdfDocument(jsonNode(json, ordinals), name, options, 'nist-cdf-json');
}

/**
 * Reads a NIST SP 1500-100 `ElectionReport` in its XML serialisation (v2, with or without the
 * namespace; Google's civics profile too). Mapping and election as {@link readNistCdfJson};
 * `line` is the line of the element a value was read from.
 *
 * Attacker-controlled: the whole file; see xml.ts for the parser's guards (no DTD, no entity
 * expansion, bounded size and depth).
 * @throws ResultsError FILE_UNREADABLE, FILE_MALFORMED (naming line and column), FORMAT_UNKNOWN
 *   (the root is not `ElectionReport`)
 */
export async function readNistCdfXml(
  file: string,
  options: XmlResultsOptions,
): Promise<ResultsDocumentWithTurnout> {
  const { name, root } = await readResultsXml(file, options);
  expectRootElement(root, { name, element: 'ElectionReport', format: 'NIST CDF XML' });
  return cdfDocument(xmlNode(root), name, options, 'nist-cdf-xml');
}
