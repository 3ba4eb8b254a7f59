// Export of a results document as a NIST SP 1500-100 v2 `ElectionReport`, in JSON and in XML.
// The JSON object is built once with its members in the order of the XSD's sequences, and the
// XML is written from it, so both carry the same content.
//
// SPEC: https://github.com/usnistgov/ElectionResultsReporting (version2 branch),
// NIST_V2_election_results_reporting.{json,xsd}. Object ids must be XML `ID`s (NCNames), which
// our ids (`county:bernalillo`) are not: objects get positional ids (`gu-1`, `con-2-sel-3`) and
// carry the model id in an `ExternalIdentifier` of type `other`, `votervault-id`, which
// nist-cdf.ts reads back. Required references the model has no object for get units marked
// `votervault-synthetic`: the election scope when there are several top units, and a contest's
// district (the model knows only its label). Over- and undervotes go to `OtherCounts` (totals
// only; they read back as choices `overvotes` and `undervotes`, since OtherCounts carry no id);
// a suppressed count is written as 0 with `IsSuppressedForPrivacy`.
import { assert } from '../basics/index.ts';
import type {
  ChoiceWithTally,
  Contest,
  Count,
  ReportingUnit,
  ResultsDocument,
  ResultsDocumentWithTurnout,
  UnitLevel,
  VoteMode,
} from './model.ts';
import { CDF_ID_TYPES } from './nist-cdf.ts';

/** CDF `ResultsStatus` values. */
export const CDF_RESULTS_STATUSES = [
  'certified',
  'correction',
  'pre-election',
  'recount',
  'unofficial-complete',
  'unofficial-partial',
] as const;

/** One of {@link CDF_RESULTS_STATUSES}. */
export type CdfResultsStatus = (typeof CDF_RESULTS_STATUSES)[number];

/** Options of {@link toNistCdfJson} and {@link toNistCdfXml}. */
export interface CdfExportOptions {
  /** `GeneratedDate`; default: now. */
  readonly generatedDate?: Date;
  /** `Status`; default `unofficial-complete`. */
  readonly status?: CdfResultsStatus;
  /** `Issuer`, the office publishing; default `votervault`. */
  readonly issuer?: string;
  /** `IssuerAbbreviation`; default: the election's state, else `VV`. */
  readonly issuerAbbreviation?: string;
}

/** Namespace of NIST SP 1500-100 v2 XML. */
export const CDF_V2_NAMESPACE = 'http://itl.nist.gov/ns/voting/1500-100/v2';

/** Value of `VendorApplicationId`. */
const VENDOR_APPLICATION_ID = 'votervault';

type Json = Record<string, unknown>;

const T = (name: string): string => `ElectionResults.${name}`;

function intl(text: string): Json {
  return {
    '@type': T('InternationalizedText'),
    Text: [{ '@type': T('LanguageString'), Content: text, Language: 'en' }],
  };
}

function externalId(otherType: string, value: string): Json {
  return { '@type': T('ExternalIdentifier'), Type: 'other', OtherType: otherType, Value: value };
}

function unitType(level: UnitLevel): { Type: string; OtherType?: string } {
  switch (level) {
    case 'state':
    case 'county':
    case 'precinct':
      return { Type: level };
    case 'district':
      return { Type: 'other', OtherType: 'district' };
    case 'other':
      return { Type: 'other' };
  }
}

function countItemType(mode: VoteMode): string {
  switch (mode) {
    case 'total':
    case 'election-day':
    case 'early':
    case 'absentee':
    case 'provisional':
    case 'other':
      return mode;
    case 'mail':
      return 'absentee-mail';
  }
}

/** `ElectionType` guessed from the election's name; `other` when it names none. */
function electionType(name: string): string {
  if (/\brunoff\b/i.test(name)) return 'runoff';
  if (/\bprimary\b/i.test(name)) return 'primary';
  if (/\bspecial\b/i.test(name)) return 'special';
  if (/\bgeneral\b/i.test(name)) return 'general';
  return 'other';
}

/**
 * Builds the NIST SP 1500-100 v2 JSON `ElectionReport` of a results document (or of an
 * aggregated public view, which is one too). Every count is written, computed totals included;
 * over- and undervote tallies become `OtherCounts` (their totals only); `void` tallies and
 * anomalies have no place in the format and are left out.
 * @throws AssertionError when a count names a unit, contest or choice the document lacks (a bug
 *   in whatever built the document)
 */
export function toNistCdfJson(doc: ResultsDocument, options: CdfExportOptions = {}): Json {
  const unitRef = new Map<string, string>();
  doc.units.forEach((u, i) => unitRef.set(u.id, `gu-${i + 1}`));
  const gpUnits: Json[] = [];
  const turnout = new Map(
    ((doc as ResultsDocumentWithTurnout).turnout ?? []).map((t) => [t.unitId, t] as const),
  );
  const children = new Map<string, string[]>();
  const roots: ReportingUnit[] = [];
  for (const unit of doc.units) {
    const parent = unit.parentId === null ? undefined : unitRef.get(unit.parentId);
    if (parent === undefined) roots.push(unit);
    else {
      const list = children.get(unit.parentId ?? '') ?? [];
      list.push(unitRef.get(unit.id) ?? '');
      children.set(unit.parentId ?? '', list);
    }
  }
  const stateOcd =
    doc.election.state === null
      ? undefined
      : `ocd-division/country:us/state:${doc.election.state.toLowerCase()}`;
  const ocdIdentifier = (value: string): Json => ({
    '@type': T('ExternalIdentifier'),
    Type: 'ocd-id',
    Value: value,
  });
  for (const unit of doc.units) {
    const identifiers: Json[] = [];
    if (unit.fips !== null)
      identifiers.push({ '@type': T('ExternalIdentifier'), Type: 'fips', Value: unit.fips });
    if (
      unit.level === 'state' &&
      stateOcd !== undefined &&
      roots.length === 1 &&
      roots[0] === unit
    ) {
      identifiers.push(ocdIdentifier(stateOcd));
    }
    identifiers.push(externalId(CDF_ID_TYPES.id, unit.id));
    const composing = children.get(unit.id);
    const t = turnout.get(unit.id);
    gpUnits.push({
      '@id': unitRef.get(unit.id),
      '@type': T('ReportingUnit'),
      ...(composing ? { ComposingGpUnitIds: composing } : {}),
      ExternalIdentifier: identifiers,
      Name: intl(unit.name),
      ...unitType(unit.level),
      ...(t?.ballotsCast != null ? { VotersParticipated: t.ballotsCast } : {}),
      ...(t?.registered != null ? { VotersRegistered: t.registered } : {}),
    });
  }
  let scopeRef: string;
  if (roots.length === 1 && roots[0]) {
    scopeRef = unitRef.get(roots[0].id) ?? '';
  } else {
    // SPEC: Election.ElectionScopeId is required: one unit for the whole election.
    scopeRef = 'gu-scope';
    gpUnits.push({
      '@id': scopeRef,
      '@type': T('ReportingUnit'),
      ...(roots.length > 0 ? { ComposingGpUnitIds: roots.map((r) => unitRef.get(r.id)) } : {}),
      ExternalIdentifier: [
        ...(stateOcd === undefined ? [] : [ocdIdentifier(stateOcd)]),
        externalId(CDF_ID_TYPES.synthetic, 'election-scope'),
      ],
      Name: intl(doc.election.state ?? doc.election.name),
      Type: doc.election.state === null ? 'other' : 'state',
    });
  }

  const partyRef = new Map<string, string>();
  const parties: Json[] = [];
  const persons: Json[] = [];
  const candidates: Json[] = [];
  const partyOf = (party: string | null): string | undefined => {
    if (party === null) return undefined;
    let ref = partyRef.get(party);
    if (ref === undefined) {
      ref = `par-${partyRef.size + 1}`;
      partyRef.set(party, ref);
      parties.push({ '@id': ref, '@type': T('Party'), Name: intl(party) });
    }
    return ref;
  };

  const countsByChoice = new Map<string, Count[]>();
  for (const count of doc.counts) {
    assert(unitRef.has(count.unitId), `Count names unit "${count.unitId}" that the document lacks`);
    const k = JSON.stringify([count.contestId, count.choiceId]);
    const list = countsByChoice.get(k) ?? [];
    list.push(count);
    countsByChoice.set(k, list);
  }
  const voteCounts = (contest: Contest, choiceId: string): Json[] =>
    (countsByChoice.get(JSON.stringify([contest.id, choiceId])) ?? []).map((c) => ({
      '@type': T('VoteCounts'),
      GpUnitId: unitRef.get(c.unitId),
      ...(c.votes === null ? { IsSuppressedForPrivacy: true } : {}),
      Type: countItemType(c.mode),
      Count: c.votes ?? 0,
    }));

  const contests: Json[] = [];
  doc.contests.forEach((contest, i) => {
    const ref = `con-${i + 1}`;
    let districtRef = scopeRef;
    if (contest.district !== null) {
      districtRef = `gu-district-${i + 1}`;
      gpUnits.push({
        '@id': districtRef,
        '@type': T('ReportingUnit'),
        ExternalIdentifier: [externalId(CDF_ID_TYPES.synthetic, `district:${contest.id}`)],
        Name: intl(contest.district),
        Number: contest.district,
        Type: 'other',
        OtherType: 'district',
      });
    }
    const selections: Json[] = [];
    const tallies = new Map<string, Json>();
    contest.choices.forEach((choice: ChoiceWithTally, j) => {
      if (choice.nonVote !== undefined) {
        if (choice.nonVote === 'void') return;
        const element = choice.nonVote === 'overvotes' ? 'Overvotes' : 'Undervotes';
        for (const c of countsByChoice.get(JSON.stringify([contest.id, choice.id])) ?? []) {
          if (c.mode !== 'total' || c.votes === null) continue;
          const gp = unitRef.get(c.unitId) ?? '';
          const other = tallies.get(gp) ?? { '@type': T('OtherCounts'), GpUnitId: gp };
          other[element] = c.votes;
          tallies.set(gp, other);
        }
        return;
      }
      const selectionRef = `${ref}-sel-${j + 1}`;
      if (contest.kind === 'candidate') {
        const candidateRef = `${ref}-cand-${j + 1}`;
        const personRef = choice.writeIn ? undefined : `${ref}-per-${j + 1}`;
        const party = partyOf(choice.party);
        if (personRef !== undefined) {
          persons.push({ '@id': personRef, '@type': T('Person'), FullName: intl(choice.name) });
        }
        candidates.push({
          '@id': candidateRef,
          '@type': T('Candidate'),
          BallotName: intl(choice.name),
          ExternalIdentifier: [externalId(CDF_ID_TYPES.id, choice.id)],
          ...(party === undefined ? {} : { PartyId: party }),
          ...(personRef === undefined ? {} : { PersonId: personRef }),
        });
        selections.push({
          '@id': selectionRef,
          '@type': T('CandidateSelection'),
          VoteCounts: voteCounts(contest, choice.id),
          CandidateIds: [candidateRef],
          ...(choice.writeIn ? { IsWriteIn: true } : {}),
        });
      } else {
        selections.push({
          '@id': selectionRef,
          '@type': T('BallotMeasureSelection'),
          VoteCounts: voteCounts(contest, choice.id),
          ExternalIdentifier: [externalId(CDF_ID_TYPES.id, choice.id)],
          Selection: intl(choice.name),
        });
      }
    });
    const identifiers = [
      externalId(CDF_ID_TYPES.id, contest.id),
      ...(contest.district === null ? [] : [externalId(CDF_ID_TYPES.district, contest.district)]),
    ];
    const base = {
      '@id': ref,
      ContestSelection: selections,
      ElectionDistrictId: districtRef,
      ExternalIdentifier: identifiers,
      Name: contest.name,
      ...(tallies.size > 0
        ? {
            // SPEC: OtherCounts sequence is GpUnitId, Overvotes, Undervotes.
            OtherCounts: [...tallies.values()].map((t) => ({
              '@type': t['@type'],
              GpUnitId: t['GpUnitId'],
              ...('Overvotes' in t ? { Overvotes: t['Overvotes'] } : {}),
              ...('Undervotes' in t ? { Undervotes: t['Undervotes'] } : {}),
            })),
          }
        : {}),
    };
    switch (contest.kind) {
      case 'candidate':
        contests.push({ ...base, '@type': T('CandidateContest'), VotesAllowed: contest.voteFor });
        break;
      case 'ballot-measure':
        contests.push({ ...base, '@type': T('BallotMeasureContest') });
        break;
      case 'retention': {
        // SPEC: RetentionContest.CandidateId is required; the person retained is named by the
        // contest, so the candidate carries the contest's name.
        const candidateRef = `${ref}-retained`;
        candidates.push({
          '@id': candidateRef,
          '@type': T('Candidate'),
          BallotName: intl(contest.name),
        });
        contests.push({ ...base, '@type': T('RetentionContest'), CandidateId: candidateRef });
        break;
      }
    }
  });

  const generated = (options.generatedDate ?? new Date()).toISOString().replace(/\.\d{3}Z$/, 'Z');
  return {
    '@type': T('ElectionReport'),
    Election: [
      {
        '@type': T('Election'),
        ...(candidates.length > 0 ? { Candidate: candidates } : {}),
        ...(contests.length > 0 ? { Contest: contests } : {}),
        ElectionScopeId: scopeRef,
        ExternalIdentifier: [externalId(CDF_ID_TYPES.id, doc.election.id)],
        Name: intl(doc.election.name),
        StartDate: doc.election.date,
        EndDate: doc.election.date,
        Type: electionType(doc.election.name),
      },
    ],
    Format: doc.units.some((u) => u.level === 'precinct') ? 'precinct-level' : 'summary-contest',
    GeneratedDate: generated,
    GpUnit: gpUnits,
    Issuer: options.issuer ?? 'votervault',
    IssuerAbbreviation: options.issuerAbbreviation ?? doc.election.state ?? 'VV',
    ...(parties.length > 0 ? { Party: parties } : {}),
    ...(persons.length > 0 ? { Person: persons } : {}),
    SequenceStart: 1,
    SequenceEnd: 1,
    Status: options.status ?? 'unofficial-complete',
    VendorApplicationId: VENDOR_APPLICATION_ID,
  };
}

/** Elements whose XSD type is abstract, so the instance names its class with `xsi:type`. */
const ABSTRACT_ELEMENTS = new Set(['Contest', 'ContestSelection', 'GpUnit']);

/** XML 1.0 `Char`: anything else (control characters from a source) becomes U+FFFD. */
function xmlChars(text: string): string {
  return text.replace(
    /[^\u0009\u000A\u000D\u0020-\uD7FF\uE000-\uFFFD\u{10000}-\u{10FFFF}]/gu,
    '\uFFFD',
  );
}

function escapeText(text: string): string {
  return xmlChars(text).replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

function escapeAttribute(text: string): string {
  return escapeText(text).replace(/"/g, '&quot;');
}

function scalarText(value: unknown): string {
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  assert(false, 'CDF export holds a value that is not a scalar');
}

function writeElement(name: string, value: unknown, indent: string, out: string[]): void {
  if (Array.isArray(value)) {
    if (value.every((v) => typeof v === 'string')) {
      // IDREFS: one element, the ids separated by spaces.
      out.push(`${indent}<${name}>${escapeText(value.join(' '))}</${name}>`);
    } else {
      for (const item of value) writeElement(name, item, indent, out);
    }
    return;
  }
  if (value === null || typeof value !== 'object') {
    out.push(`${indent}<${name}>${escapeText(scalarText(value))}</${name}>`);
    return;
  }
  const object = value as Json;
  if ('Content' in object) {
    const language = escapeAttribute(scalarText(object['Language']));
    out.push(
      `${indent}<${name} Language="${language}">${escapeText(scalarText(object['Content']))}</${name}>`,
    );
    return;
  }
  let attributes = '';
  if (typeof object['@id'] === 'string')
    attributes += ` ObjectId="${escapeAttribute(object['@id'])}"`;
  if (ABSTRACT_ELEMENTS.has(name) && typeof object['@type'] === 'string') {
    attributes += ` xsi:type="${object['@type'].replace(/^ElectionResults\./, '')}"`;
  }
  const members = Object.entries(object).filter(([k]) => !k.startsWith('@'));
  if (members.length === 0) {
    out.push(`${indent}<${name}${attributes}/>`);
    return;
  }
  out.push(`${indent}<${name}${attributes}>`);
  for (const [k, v] of members) writeElement(k, v, `${indent}  `, out);
  out.push(`${indent}</${name}>`);
}

/**
 * Writes the NIST SP 1500-100 v2 XML `ElectionReport` of a results document: the content of
 * {@link toNistCdfJson}, elements in the XSD's order, abstract classes named by `xsi:type`.
 * @throws AssertionError as {@link toNistCdfJson}
 */
export function toNistCdfXml(doc: ResultsDocument, options: CdfExportOptions = {}): string {
  const report = toNistCdfJson(doc, options);
  const body: string[] = [];
  writeElement('ElectionReport', report, '', body);
  assert(body[0] === '<ElectionReport>', 'ElectionReport has members and no attributes');
  // The root gets its namespaces; the rest is joined as written (no spread: reports are large).
  body[0] = `<ElectionReport xmlns="${CDF_V2_NAMESPACE}" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">`;
  return `<?xml version="1.0" encoding="UTF-8"?>\n${body.join('\n')}\n`;
}
