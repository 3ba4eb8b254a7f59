// Voter records: turning a row of a voter file into what the database stores (public fields in
// clear, confidential and protected fields sealed, blind indexes, a keyed row MAC), storing
// versions, and reading them back. The database is attacker-controlled in the threat model
// (a stolen or edited copy): everything read from it is either authenticated by the envelope
// (sealed fields, and the public fields through the binding) or checked before use.
import {
  hashPublicFields,
  normaliseBirthYear,
  normaliseCounty,
  normaliseDate,
  normaliseName,
  normaliseZip,
  parseKeyVersion,
} from '../crypto/index.ts';
import type {
  BlindIndexValues,
  KeyRing,
  NormalisedBirthYear,
  NormalisedDate,
  RecordBinding,
} from '../crypto/index.ts';
import { assert, VotervaultError } from '../basics/index.ts';
import type { Brand } from '../basics/index.ts';
import { bulkInsert, withSqliteWriter, withTransaction } from '../store/index.ts';
import type { Queryable, SqliteWriter } from '../store/index.ts';
import { checkFields, isRecordConfidential } from './layout.ts';
import type { FieldClass, FieldRole, VoterLayout } from './layout.ts';
import type { VoterRowTable, VotersTables } from './schema.ts';

/** A voter's id, unique across every jurisdiction of the deployment. */
export type VoterId = Brand<string, 'VoterId'>;

/** Stable codes of the voter store's failures. */
export const VOTER_STORE_ERROR_CODES = [
  /** No voter has the id. */
  'VOTER_NOT_FOUND',
  /** The voter's record was crypto-shredded: its sealed fields can never be opened again. */
  'VOTER_SHREDDED',
  /** A changed field value is not valid for its column (a date that does not exist). */
  'FIELD_INVALID',
  /** A change names a column under two field classes, or a class the record cannot hold. */
  'CHANGE_INVALID',
  /** A manual change was made without stating why. */
  'CHANGE_REASON_REQUIRED',
  /** Rows to write do not follow the stored versions (another writer got there first). */
  'VERSION_CONFLICT',
  /** A row read from the database is not in the stored format (edited outside votervault). */
  'RECORD_INVALID',
  /** A lookup query is missing a value or has one in the wrong form. */
  'LOOKUP_QUERY_INVALID',
  /** A key rotation cannot start or continue (another one is running, the ring disagrees). */
  'ROTATION_CONFLICT',
  /** The database has not been prepared for voter records (its migrations have not run). */
  'STORE_NOT_READY',
] as const;

/** One of {@link VOTER_STORE_ERROR_CODES}. */
export type VoterStoreErrorCode = (typeof VOTER_STORE_ERROR_CODES)[number];

/** A failure of the voter store. Messages name voters by id at most, never a field value. */
export class VoterStoreError extends VotervaultError<VoterStoreErrorCode> {}

/** What the importer has about a voter already stored, to diff without decrypting. */
export interface ExistingVoter {
  readonly rowVersion: number;
  readonly rowMac: Uint8Array;
  readonly removed: boolean;
}

/** A voter row ready to store; plain data (structured-clone safe) so worker threads can build it. */
export interface PreparedVoterRow {
  readonly voterId: string;
  /** County code, or the state for statewide-only records. */
  readonly jurisdiction: string;
  /** Existing + 1, or 1. */
  readonly rowVersion: number;
  /**
   * Column name → value of the non-empty public columns. Empty for a confidential-record voter:
   * every field of such a record is sealed.
   */
  readonly publicFields: Readonly<Record<string, string>>;
  /**
   * The stored form of `publicFields` (JSON with sorted keys), computed where the row is
   * prepared so that the importing thread does not serialise every row again.
   */
  readonly publicJson: string;
  /** hashPublicFields(publicFields). */
  readonly publicHash: Uint8Array;
  /** AEAD blob of the confidential and protected fields (crypto SealedRecord.ciphertext). */
  readonly sealed: Uint8Array;
  /** Root key version of the wrapped data key. */
  readonly keyVersion: number;
  readonly wrappedKey: Uint8Array;
  /** Keyed MAC over the record's content: equal ⇔ unchanged. */
  readonly rowMac: Uint8Array;
  /** Blind indexes this voter is found by (see docs/design/lookup.md). */
  readonly lookupDigests: readonly string[];
  /** '' when unknown. */
  readonly status: string;
  /** '' when unknown, and for confidential records (their precinct is sealed). */
  readonly precinct: string;
  readonly confidentialRecord: boolean;
}

/**
 * A prepared row as {@link writeVoterRows} stores it: without the map of public fields, whose
 * stored form (`publicJson`) it carries, so the importer's workers need not copy the map back.
 */
export type StoredVoterRow = Omit<PreparedVoterRow, 'publicFields'>;

/** What {@link prepareVoterRow} made of one row of a voter file (`R`: how a prepared row is held). */
export type PrepareOutcome<R extends StoredVoterRow = PreparedVoterRow> =
  | {
      readonly kind: 'prepared';
      readonly row: R;
      readonly change: 'added' | 'changed';
    }
  | { readonly kind: 'unchanged'; readonly voterId: string }
  | {
      readonly kind: 'invalid';
      /** The column at fault. */
      readonly field: string;
      readonly code: string;
      /** Names the column; quotes the value only for public columns. */
      readonly reason: string;
    };

/**
 * The plaintext sealed in each record, as canonical JSON: the confidential (`c`) and protected
 * (`p`) columns, the column holding each role the store needs later (`r`), and the normalised
 * lookup inputs that are not plain columns (`x`).
 */
export interface SealedFields {
  readonly c: Readonly<Record<string, string>>;
  readonly p: Readonly<Record<string, string>>;
  readonly r: Readonly<Partial<Record<FieldRole, string>>>;
  readonly x: { readonly dob?: string; readonly county?: string };
}

/**
 * Roles whose column names are recorded in each sealed record, so that updates can re-derive
 * status, precinct and lookup digests and aggregates can find protected attributes without the
 * layout the voter was imported with.
 */
const RECORDED_ROLES: readonly FieldRole[] = [
  'lastName',
  'firstName',
  'birthDate',
  'birthYear',
  'zip',
  'countyName',
  'status',
  'precinct',
  'race',
  'ethnicity',
  'gender',
  'language',
  'disability',
  'birthState',
];

/** Prefix of the row MAC message, so it can never be mistaken for an export fingerprint. */
const ROW_MAC_LABEL = Buffer.from('votervault voter row 1\0', 'utf8');

/** Rows per `in (...)` list: far below SQLite's and PostgreSQL's parameter limits. */
const ID_CHUNK = 500;

/** The columns of `voter` and `voter_version`, in one list: the only place they are all named. */
export const VOTER_ROW_COLUMNS = [
  'voter_id',
  'jurisdiction',
  'row_version',
  'envelope_version',
  'status',
  'precinct',
  'removed',
  'confidential_record',
  'public_fields',
  'public_hash',
  'sealed',
  'key_version',
  'wrapped_key',
  'row_mac',
  'last_seen_import',
  'changed_at',
  'change_reason',
  'shredded_at',
] as const satisfies readonly (keyof VoterRowTable)[];

// ---------------------------------------------------------------------------------------------
// Preparing rows

/** What a layout tells about where each value is, computed once per layout. */
interface LayoutPlan {
  readonly voterId: number;
  readonly voterIdName: string;
  readonly countyCode: number;
  readonly countyName: number;
  readonly status: number;
  readonly precinct: number;
  readonly lastName: number;
  readonly firstName: number;
  readonly birthDate: number;
  readonly birthYear: number;
  readonly zip: number;
  /** County code (and alias) → county name, from the layout's county list. */
  readonly countyNames: ReadonlyMap<string, string>;
  readonly recorded: Readonly<Partial<Record<FieldRole, string>>>;
  /** canonicalRecord(recorded): the same for every row of the layout. */
  readonly recordedJson: string;
  readonly classes: readonly FieldClass[];
  /** Column names by position. */
  readonly names: readonly string[];
  /** `JSON.stringify(name) + ':'` by position. */
  readonly jsonNames: readonly string[];
  /**
   * Whether a map of the columns serialises in name order: names are unique, and none is an
   * array index (which objects list first) or `__proto__` (which an assignment does not add).
   */
  readonly directJson: boolean;
  /** Column positions in the order of their names, so maps are built already sorted. */
  readonly byName: readonly number[];
  readonly skip: readonly boolean[];
}

const plans = new WeakMap<VoterLayout, LayoutPlan>();

/** Names an object lists before all others, in numeric order (array indexes). */
const ARRAY_INDEX = /^\d+$/;

function planOf(layout: VoterLayout): LayoutPlan {
  const cached = plans.get(layout);
  if (cached) return cached;
  const first = (role: FieldRole): number => layout.columns.findIndex((c) => c.role === role);
  const countyNames = new Map<string, string>();
  for (const county of layout.counties ?? []) {
    countyNames.set(county.code, county.name);
    for (const alias of county.aliases ?? []) countyNames.set(alias, county.name);
  }
  const recorded: Partial<Record<FieldRole, string>> = {};
  for (const role of RECORDED_ROLES) {
    const index = first(role);
    if (index >= 0) recorded[role] = String(layout.columns[index]?.name);
  }
  const voterId = first('voterId');
  const names = layout.columns.map((c) => String(c.name));
  const plan: LayoutPlan = {
    voterId,
    voterIdName: layout.columns[voterId]?.name ?? 'voterId',
    countyCode: first('countyCode'),
    countyName: first('countyName'),
    status: first('status'),
    precinct: first('precinct'),
    lastName: first('lastName'),
    firstName: first('firstName'),
    birthDate: first('birthDate'),
    birthYear: first('birthYear'),
    zip: first('zip'),
    countyNames,
    recorded,
    recordedJson: canonicalRecord(recorded),
    classes: layout.columns.map((c) => c.class),
    names,
    jsonNames: names.map((name) => `${JSON.stringify(name)}:`),
    directJson:
      new Set(names).size === names.length &&
      names.every((name) => name !== '__proto__' && !ARRAY_INDEX.test(name)),
    byName: layout.columns
      .map((column, i) => ({ name: column.name, i }))
      .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))
      .map(({ i }) => i),
    skip: layout.columns.map((c) => c.role === 'unused'),
  };
  plans.set(layout, plan);
  return plan;
}

/** The fields of a row by class, as maps and as their canonical JSON. */
interface ClassifiedFields {
  readonly publicFields: Record<string, string>;
  readonly publicJson: string;
  readonly confidentialJson: string;
  readonly protectedJson: string;
}

/**
 * Sorts a row's non-empty, used fields into public, confidential and protected, serialising each
 * class as canonicalRecord would. When the plan allows it (see `directJson`) the JSON is written
 * member by member while walking the columns in name order, with no map for the sealed classes;
 * only the public map is built, for its hash.
 */
function classifyFields(
  plan: LayoutPlan,
  layout: VoterLayout,
  fields: readonly string[],
  confidentialRecord: boolean,
): ClassifiedFields {
  const extra = layout.extraColumns;
  if (!plan.directJson || (extra !== undefined && fields.length > plan.names.length)) {
    return classifyByMaps(plan, layout, fields, confidentialRecord);
  }
  const publicFields: Record<string, string> = {};
  let pub = '';
  let conf = '';
  let prot = '';
  for (const i of plan.byName) {
    if (plan.skip[i] === true) continue;
    const value = fields[i] ?? '';
    if (value === '') continue;
    const member = (plan.jsonNames[i] as string) + jsonString(value);
    const cls = plan.classes[i];
    if (cls === 'protected') prot = prot === '' ? member : `${prot},${member}`;
    else if (cls === 'confidential' || confidentialRecord) {
      conf = conf === '' ? member : `${conf},${member}`;
    } else {
      publicFields[plan.names[i] as string] = value;
      pub = pub === '' ? member : `${pub},${member}`;
    }
  }
  return {
    publicFields,
    publicJson: `{${pub}}`,
    confidentialJson: `{${conf}}`,
    protectedJson: `{${prot}}`,
  };
}

/** {@link classifyFields} through maps: for rows with extra columns, and unusual column names. */
function classifyByMaps(
  plan: LayoutPlan,
  layout: VoterLayout,
  fields: readonly string[],
  confidentialRecord: boolean,
): ClassifiedFields {
  const publicFields: Record<string, string> = {};
  const c: Record<string, string> = {};
  const p: Record<string, string> = {};
  const columns = layout.columns;
  for (const i of plan.byName) {
    if (plan.skip[i] === true) continue;
    const value = fields[i] ?? '';
    if (value === '') continue;
    const name = plan.names[i] as string;
    const cls = plan.classes[i];
    if (cls === 'protected') p[name] = value;
    else if (cls === 'confidential' || confidentialRecord) c[name] = value;
    else publicFields[name] = value;
  }
  // Columns past the fixed ones (Ohio's vote history): named by position, since the header is
  // not passed here, and classed as the layout says.
  const extra = layout.extraColumns;
  for (let i = columns.length; i < fields.length && extra !== undefined; i++) {
    const value = fields[i] ?? '';
    if (value === '') continue;
    const name = `extra:${i - columns.length + 1}`;
    if (extra.class === 'protected') p[name] = value;
    else if (extra.class === 'confidential' || confidentialRecord) c[name] = value;
    else publicFields[name] = value;
  }
  return {
    publicFields,
    publicJson: canonicalRecord(publicFields),
    confidentialJson: canonicalRecord(c),
    protectedJson: canonicalRecord(p),
  };
}

/** Characters JSON.stringify escapes, and surrogates (it escapes the lone ones). */
const JSON_SPECIAL = /["\\\u0000-\u001f\ud800-\udfff]/;

/** JSON.stringify(value), without its cost for the plain text nearly every field is. */
function jsonString(value: string): string {
  return JSON_SPECIAL.test(value) ? JSON.stringify(value) : `"${value}"`;
}

/** The `x` member of the sealed fields: county, then date of birth, when known. */
function extrasJson(dob: BirthValue | undefined, countyName: string): string {
  const x: { county?: string; dob?: string } = {};
  if (countyName !== '') x.county = countyName;
  if (dob !== undefined) x.dob = dob.full ?? dob.year;
  return JSON.stringify(x);
}

function at(fields: readonly string[], index: number): string {
  return index < 0 ? '' : (fields[index] ?? '').trim();
}

/**
 * Classifies, validates, MACs, seals and blind-indexes one row of a voter file. Pure CPU work
 * with no database access, so the importer can run it in worker threads.
 *
 * - A row that breaks its layout (a required value missing, an unknown code in a closed list, a
 *   date that does not exist, a value too long) is `invalid`, naming the column; the reason
 *   quotes the value only when the column is public.
 * - A row whose content MAC equals `existing.rowMac` (and that is not removed) is `unchanged`,
 *   found before anything is sealed.
 * - A confidential-record voter (the layout's marker) has every field sealed: its public fields
 *   are empty and its precinct column ''.
 * - Protected attributes are sealed and never indexed.
 *
 * The fields come from an uploaded file (attacker-controlled): they are only compared, trimmed,
 * normalised by the crypto normalisers (which cap their length) and sealed.
 * @throws CryptoError BINDING_INVALID when the voter id or jurisdiction is not well-formed text
 */
export function prepareVoterRow(
  ring: KeyRing,
  layout: VoterLayout,
  rawFields: readonly string[],
  existing: ExistingVoter | undefined,
): PrepareOutcome {
  const plan = planOf(layout);
  // Every value is used trimmed; trimming once here spares the checks and the classification
  // trimming each field again (trimming is idempotent, so they see the same values).
  const fields = rawFields.map((field) => field.trim());
  const issue = checkFields(layout, fields)[0];
  if (issue !== undefined) {
    const column = layout.columns[issue.column - 1];
    const reason =
      column?.class === 'public'
        ? issue.message
        : `Column "${issue.name}" of class ${String(column?.class)} is not valid (${issue.code})`;
    return { kind: 'invalid', field: issue.name, code: issue.code, reason };
  }
  const voterId = at(fields, plan.voterId);
  if (voterId === '') {
    return {
      kind: 'invalid',
      field: plan.voterIdName,
      code: 'REQUIRED_MISSING',
      reason: `Column "${plan.voterIdName}" is empty`,
    };
  }
  const countyCode = at(fields, plan.countyCode);
  const jurisdiction = countyCode === '' ? layout.state : countyCode;
  const confidentialRecord = isRecordConfidential(layout, fields);
  const { publicFields, publicJson, confidentialJson, protectedJson } = classifyFields(
    plan,
    layout,
    fields,
    confidentialRecord,
  );
  const dob = birthOf(at(fields, plan.birthDate), at(fields, plan.birthYear));
  const countyName = at(fields, plan.countyName) || (plan.countyNames.get(countyCode) ?? '') || '';
  const status = at(fields, plan.status);
  const precinct = confidentialRecord ? '' : at(fields, plan.precinct);
  // canonicalSealed's bytes, from the members already serialised.
  const plaintext = Buffer.from(
    `{"c":${confidentialJson},"p":${protectedJson},"r":${plan.recordedJson},"x":${extrasJson(dob, countyName)}}`,
    'utf8',
  );
  const rowMac = computeRowMac(ring, {
    voterId,
    jurisdiction,
    status,
    precinct,
    confidentialRecord,
    publicJson,
    plaintext,
  });
  if (existing !== undefined && !existing.removed && equalBytes(existing.rowMac, rowMac)) {
    return { kind: 'unchanged', voterId };
  }
  const rowVersion = existing === undefined ? 1 : existing.rowVersion + 1;
  const publicHash = hashPublicFields(publicFields);
  const sealed = ring.sealRecord(plaintext, {
    voterId,
    jurisdiction,
    rowVersion,
    publicFieldsHash: publicHash,
  });
  plaintext.fill(0);
  const lookupDigests = computeLookupDigests(ring, {
    last: at(fields, plan.lastName),
    first: at(fields, plan.firstName),
    dob,
    zip: at(fields, plan.zip),
    county: countyName,
  });
  return {
    kind: 'prepared',
    change: existing === undefined ? 'added' : 'changed',
    row: {
      voterId,
      jurisdiction,
      rowVersion,
      publicFields,
      publicJson,
      publicHash,
      sealed: sealed.ciphertext,
      keyVersion: sealed.wrappedKey.keyVersion,
      wrappedKey: sealed.wrappedKey.bytes,
      rowMac,
      lookupDigests,
      status,
      precinct,
      confidentialRecord,
    },
  };
}

/** A date of birth as precise as the record has it. */
export interface BirthValue {
  /** `YYYY-MM-DD`, when the record has the full date. */
  readonly full?: NormalisedDate;
  readonly year: NormalisedBirthYear;
}

/**
 * The date of birth of a record from its full-date and birth-year values (already checked
 * against the layout's formats); undefined when neither is usable.
 */
function birthOf(birthDate: string, birthYear: string): BirthValue | undefined {
  if (birthDate !== '') {
    const parsed = normaliseBirth(birthDate);
    if (parsed !== undefined) return parsed;
  }
  if (birthYear !== '') return normaliseBirth(birthYear);
  return undefined;
}

/**
 * Normalises a date of birth written as any form crypto's normalisers accept (`YYYY`,
 * `YYYY-MM-DD`, `YYYYMMDD`, `MM/DD/YYYY`); undefined when it is none of them or not a date.
 */
export function normaliseBirth(value: string): BirthValue | undefined {
  // A year alone is the common case of whole states (NC, WA): tell it apart without the cost of
  // an exception from the full-date normaliser.
  if (BIRTH_YEAR_ONLY.test(value)) return { year: normaliseBirthYear(value) };
  try {
    return { full: normaliseDate(value), year: normaliseBirthYear(value) };
  } catch {
    return undefined;
  }
}

const BIRTH_YEAR_ONLY = /^\s*[1-9]\d{3}\s*$/;

/** The values of a record (or a query) that lookup digests are computed over, not normalised. */
export interface LookupValues {
  readonly last: string;
  readonly first: string;
  readonly dob: BirthValue | undefined;
  readonly zip: string;
  readonly county: string;
}

/**
 * The blind indexes a record is found by: name + date of birth + ZIP and name + date of birth +
 * county, with the full date when the record has one and with the birth year only when the
 * record has nothing more precise (so a year never finds a record that has a full date; see
 * docs/design/lookup.md). Values that do not normalise (no letters, a foreign postal code) are
 * left out; a record without a name or a date of birth gets no digest.
 */
export function computeLookupDigests(ring: KeyRing, values: LookupValues): string[] {
  const last = tryNormalise(normaliseName, values.last);
  const first = tryNormalise(normaliseName, values.first);
  if (last === undefined || first === undefined || values.dob === undefined) return [];
  const zip = tryNormalise(normaliseZip, values.zip);
  const county = tryNormalise(normaliseCounty, values.county);
  const base: BlindIndexValues =
    values.dob.full === undefined
      ? { 'last-name': last, 'first-name': first, 'birth-year': values.dob.year }
      : { 'last-name': last, 'first-name': first, dob: values.dob.full };
  const digests: string[] = [];
  if (zip !== undefined) digests.push(ring.blindIndex({ ...base, zip }));
  if (county !== undefined) digests.push(ring.blindIndex({ ...base, county }));
  return digests;
}

function tryNormalise<T>(normalise: (value: string) => T, value: string): T | undefined {
  if (value === '') return undefined;
  try {
    return normalise(value);
  } catch {
    return undefined;
  }
}

/**
 * JSON with sorted keys of a string map (undefined values left out): the stored form of the
 * public fields. Maps built in layout order are sorted once here; maps that arrive sorted
 * (from prepareVoterRow, or through a worker thread) are written as they are.
 */
function canonicalRecord(fields: Readonly<Record<string, string | undefined>>): string {
  const keys = Object.keys(fields);
  let clean = true;
  for (let i = 0; i < keys.length && clean; i++) {
    clean =
      fields[keys[i] as string] !== undefined &&
      (i === 0 || (keys[i - 1] as string) < (keys[i] as string));
  }
  if (clean) return JSON.stringify(fields);
  const out: Record<string, string> = {};
  for (const key of keys.sort()) {
    const value = fields[key];
    if (value !== undefined) out[key] = value;
  }
  return JSON.stringify(out);
}

function canonicalSealed(fields: SealedFields, recordedJson?: string): string {
  // Keys in fixed order, each map with sorted keys: the same record always gives the same bytes,
  // which the row MAC relies on.
  const x: Record<string, string> = {};
  if (fields.x.county !== undefined) x['county'] = fields.x.county;
  if (fields.x.dob !== undefined) x['dob'] = fields.x.dob;
  return `{"c":${canonicalRecord(fields.c)},"p":${canonicalRecord(fields.p)},"r":${recordedJson ?? canonicalRecord(fields.r)},"x":${JSON.stringify(x)}}`;
}

/** What the row MAC covers. */
interface RowMacInput {
  readonly voterId: string;
  readonly jurisdiction: string;
  readonly status: string;
  readonly precinct: string;
  readonly confidentialRecord: boolean;
  readonly publicJson: string;
  readonly plaintext: Uint8Array;
}

/**
 * HMAC-SHA256 under the ring's watermark key of `"votervault voter row 1\0" || u32-length-
 * prefixed voter id, jurisdiction, status, precinct || flag byte || public JSON || sealed
 * plaintext`. It covers everything a version stores except its version number and removal, so
 * the importer can tell an unchanged row without decrypting, and verifyStore can check the clear
 * columns (status, precinct) that the envelope does not bind.
 */
function computeRowMac(ring: KeyRing, input: RowMacInput): Uint8Array {
  const texts = [input.voterId, input.jurisdiction, input.status, input.precinct];
  let size = ROW_MAC_LABEL.length + 1 + 4 + input.plaintext.length + 4;
  for (const text of texts) size += 4 + Buffer.byteLength(text, 'utf8');
  size += Buffer.byteLength(input.publicJson, 'utf8');
  // One buffer written in place: this runs for every row of every import.
  const message = Buffer.allocUnsafe(size);
  let at = ROW_MAC_LABEL.copy(message, 0);
  const writeText = (text: string): void => {
    const length = message.write(text, at + 4, 'utf8');
    message.writeUInt32BE(length, at);
    at += 4 + length;
  };
  for (const text of texts) writeText(text);
  at = message.writeUInt8(input.confidentialRecord ? 1 : 0, at);
  writeText(input.publicJson);
  at = message.writeUInt32BE(input.plaintext.length, at);
  at += Buffer.from(
    input.plaintext.buffer,
    input.plaintext.byteOffset,
    input.plaintext.byteLength,
  ).copy(message, at);
  assert(at === size, 'Row MAC message size mismatch');
  return ring.watermarkMac(message);
}

function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  // Both MACs come from our own database and code; a timing difference reveals nothing here.
  return Buffer.from(a.buffer, a.byteOffset, a.byteLength).equals(b);
}

/** A Buffer view of bytes (a Uint8Array from a worker thread is not a Buffer; pg needs one). */
export function asBuffer(bytes: Uint8Array): Buffer {
  return Buffer.isBuffer(bytes)
    ? bytes
    : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

// ---------------------------------------------------------------------------------------------
// Reading stored rows

/** The columns of a stored row that opening it needs. */
export interface StoredEnvelope {
  readonly voter_id: string;
  readonly jurisdiction: string;
  readonly envelope_version: number;
  readonly public_fields: string;
  readonly sealed: Uint8Array;
  readonly key_version: number | null;
  readonly wrapped_key: Uint8Array | null;
}

/**
 * Parses the stored public-fields JSON: an object of strings. It comes from the database, which
 * may have been edited; anything else is RECORD_INVALID.
 * @throws VoterStoreError RECORD_INVALID
 */
export function parsePublicFields(voterId: string, text: string): Record<string, string> {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    value = undefined;
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new VoterStoreError(
      'RECORD_INVALID',
      `Cannot read voter "${voterId}": its public fields are not a JSON object`,
    );
  }
  const out: Record<string, string> = {};
  for (const [key, field] of Object.entries(value)) {
    if (typeof field !== 'string') {
      throw new VoterStoreError(
        'RECORD_INVALID',
        `Cannot read voter "${voterId}": public field "${key}" is not a string`,
      );
    }
    out[key] = field;
  }
  return out;
}

/**
 * The binding a stored row's envelope must open under, computed from the row's clear columns
 * (the public fields are hashed from their JSON, so a reader sees only authenticated values).
 * @throws VoterStoreError RECORD_INVALID when the public fields are not a JSON object of strings
 */
export function storedBinding(row: StoredEnvelope): RecordBinding {
  return {
    voterId: row.voter_id,
    jurisdiction: row.jurisdiction,
    rowVersion: Number(row.envelope_version),
    publicFieldsHash: hashPublicFields(parsePublicFields(row.voter_id, row.public_fields)),
  };
}

/**
 * Opens a stored row's sealed fields.
 * @throws VoterStoreError VOTER_SHREDDED when its wrapped key was destroyed; RECORD_INVALID
 * @throws CryptoError ENVELOPE_INVALID when the row was altered or swapped; KEY_VERSION_UNKNOWN,
 *   KEY_VERSION_RETIRED
 */
export function openStoredRecord(ring: KeyRing, row: StoredEnvelope): SealedFields {
  if (row.wrapped_key === null || row.key_version === null) {
    throw new VoterStoreError(
      'VOTER_SHREDDED',
      `Cannot open voter "${row.voter_id}": the record was shredded`,
    );
  }
  const plaintext = ring.openRecord(
    {
      ciphertext: row.sealed,
      wrappedKey: { keyVersion: parseKeyVersion(Number(row.key_version)), bytes: row.wrapped_key },
    },
    storedBinding(row),
  );
  try {
    return parseSealed(row.voter_id, Buffer.from(plaintext).toString('utf8'));
  } finally {
    plaintext.fill(0);
  }
}

/** The sealed plaintext as written by prepareVoterRow; authenticated, so only its shape is checked. */
function parseSealed(voterId: string, text: string): SealedFields {
  const value = JSON.parse(text) as Partial<SealedFields> | null;
  if (
    typeof value !== 'object' ||
    value === null ||
    typeof value.c !== 'object' ||
    typeof value.p !== 'object' ||
    typeof value.r !== 'object' ||
    typeof value.x !== 'object'
  ) {
    throw new VoterStoreError(
      'RECORD_INVALID',
      `Cannot read voter "${voterId}": its sealed fields are not in the stored format`,
    );
  }
  return value as SealedFields;
}

/** Sealed fields as canonical bytes, for recomputing the row MAC (verify.ts). */
export function sealedPlaintext(fields: SealedFields): Buffer {
  return Buffer.from(canonicalSealed(fields), 'utf8');
}

/**
 * Recomputes the row MAC of a stored row from its clear columns and opened fields.
 * @throws VoterStoreError RECORD_INVALID when the public fields are not a JSON object of strings
 */
export function storedRowMac(
  ring: KeyRing,
  row: StoredEnvelope & {
    readonly status: string;
    readonly precinct: string;
    readonly confidential_record: number;
  },
  fields: SealedFields,
): Uint8Array {
  return computeRowMac(ring, {
    voterId: row.voter_id,
    jurisdiction: row.jurisdiction,
    status: row.status,
    precinct: row.precinct,
    confidentialRecord: Number(row.confidential_record) === 1,
    publicJson: canonicalRecord(parsePublicFields(row.voter_id, row.public_fields)),
    plaintext: sealedPlaintext(fields),
  });
}

// ---------------------------------------------------------------------------------------------
// Writing rows

/**
 * What the importer needs to diff a batch: for each of `voterIds` already stored, its current
 * version, row MAC and removal.
 */
export async function existingVoters(
  q: Queryable<VotersTables>,
  voterIds: readonly string[],
): Promise<Map<string, ExistingVoter>> {
  const out = new Map<string, ExistingVoter>();
  for (const chunk of chunks(voterIds)) {
    const rows = await q.db
      .selectFrom('voter')
      .select(['voter_id', 'row_version', 'row_mac', 'removed'])
      .where('voter_id', 'in', chunk)
      .execute();
    for (const row of rows) {
      out.set(row.voter_id, {
        rowVersion: Number(row.row_version),
        rowMac: row.row_mac,
        removed: Number(row.removed) === 1,
      });
    }
  }
  return out;
}

/** Context of {@link writeVoterRows}. */
export interface WriteContext {
  readonly importId: string;
  readonly changedAt: string;
}

/**
 * Stores prepared rows: new voters as new current rows; for voters already stored, the current
 * row moves to the history table and the new version replaces it. Lookup digests are replaced
 * and the import is recorded as the last that saw each voter. One call is one transaction (the
 * caller's, when it passes one).
 * @throws VoterStoreError VERSION_CONFLICT when a row's version is not the stored version + 1
 *   (another import wrote the voter since the row was prepared), or a voter appears twice
 * @throws StoreError CONSTRAINT_VIOLATION, DATABASE_BUSY, TRANSACTION_CONFLICT
 */
export async function writeVoterRows(
  q: Queryable<VotersTables>,
  rows: readonly StoredVoterRow[],
  context: WriteContext,
): Promise<void> {
  if (rows.length === 0) return;
  const seen = new Set<string>();
  for (const row of rows) {
    if (seen.has(row.voterId)) {
      throw new VoterStoreError(
        'VERSION_CONFLICT',
        `Cannot store voter "${row.voterId}": it appears twice in one batch`,
      );
    }
    seen.add(row.voterId);
  }
  if (q.dialect === 'sqlite') {
    await withSqliteWriter(q, (writer) => writeRowsSqlite(writer, rows, context));
    return;
  }
  await withTransaction(q, async (tx) => {
    const ids = rows.map((row) => row.voterId);
    const stored = new Map<string, number>();
    for (const chunk of chunks(ids)) {
      const found = await tx.db
        .selectFrom('voter')
        .select(['voter_id', 'row_version'])
        .where('voter_id', 'in', chunk)
        .execute();
      for (const row of found) stored.set(row.voter_id, Number(row.row_version));
    }
    for (const row of rows) checkVersion(row, stored.get(row.voterId) ?? 0);
    // Only a stored voter has digests: nothing else writes voter_lookup.
    await supersede(tx, [...stored.keys()]);
    await deleteDigests(tx, [...stored.keys()]);
    await bulkInsert(tx, {
      table: 'voter',
      columns: VOTER_ROW_COLUMNS,
      rows: rows.map((row) => voterRowValues(row, context)),
    });
    await bulkInsert(tx, {
      table: 'voter_lookup',
      columns: ['digest', 'voter_id'],
      rows: digestPairs(rows).map(([digest, voterId]) => ({ digest, voter_id: voterId })),
    });
  });
}

function checkVersion(row: StoredVoterRow, stored: number): void {
  if (row.rowVersion !== stored + 1) {
    throw new VoterStoreError(
      'VERSION_CONFLICT',
      `Cannot store version ${row.rowVersion} of voter "${row.voterId}": the stored version is ${stored}`,
    );
  }
}

function voterRowValues(row: StoredVoterRow, context: WriteContext): VoterRowTable {
  return {
    voter_id: row.voterId,
    jurisdiction: row.jurisdiction,
    row_version: row.rowVersion,
    envelope_version: row.rowVersion,
    status: row.status,
    precinct: row.precinct,
    removed: 0,
    confidential_record: row.confidentialRecord ? 1 : 0,
    public_fields: row.publicJson,
    public_hash: asBuffer(row.publicHash),
    sealed: asBuffer(row.sealed),
    key_version: row.keyVersion,
    wrapped_key: asBuffer(row.wrappedKey),
    row_mac: asBuffer(row.rowMac),
    last_seen_import: context.importId,
    changed_at: context.changedAt,
    change_reason: 'import',
    shredded_at: null,
  };
}

/**
 * (digest, voter id) of every row, each digest once per voter, sorted by digest: the lookup
 * index is keyed by random digests, and inserting them in key order touches each of its pages
 * once per batch instead of jumping between them.
 */
function digestPairs(rows: readonly StoredVoterRow[]): [string, string][] {
  const pairs: [string, string][] = [];
  for (const row of rows) {
    for (const digest of new Set(row.lookupDigests)) pairs.push([digest, row.voterId]);
  }
  return pairs.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : a[1] < b[1] ? -1 : 1));
}

const VOTER_COLUMN_LIST = VOTER_ROW_COLUMNS.join(', ');

/** Statements of the SQLite write path: one row each, prepared once and kept by the store. */
const SQLITE_WRITE = {
  version: 'select row_version from voter where voter_id = ?',
  supersede: `insert into voter_version (${VOTER_COLUMN_LIST}) select ${VOTER_COLUMN_LIST} from voter where voter_id = ?`,
  deleteCurrent: 'delete from voter where voter_id = ?',
  deleteDigests: 'delete from voter_lookup where voter_id = ?',
  insertVoter: `insert into voter (${VOTER_COLUMN_LIST}) values (${VOTER_ROW_COLUMNS.map(() => '?').join(', ')})`,
  insertDigest: 'insert into voter_lookup (digest, voter_id) values (?, ?)',
  touch: 'update voter set last_seen_import = ? where voter_id = ?',
} as const;

/**
 * {@link writeVoterRows} on SQLite, inside the writer's transaction: the same steps as on
 * PostgreSQL, one cached statement per row, with no query building on the way.
 */
function writeRowsSqlite(
  writer: SqliteWriter,
  rows: readonly StoredVoterRow[],
  context: WriteContext,
): void {
  const superseded: string[] = [];
  for (const row of rows) {
    const stored = Number(writer.value(SQLITE_WRITE.version, [row.voterId]) ?? 0);
    checkVersion(row, stored);
    if (stored > 0) superseded.push(row.voterId);
  }
  for (const voterId of superseded) {
    writer.run(SQLITE_WRITE.supersede, [voterId]);
    writer.run(SQLITE_WRITE.deleteCurrent, [voterId]);
    writer.run(SQLITE_WRITE.deleteDigests, [voterId]);
  }
  for (const row of rows) {
    const values = voterRowValues(row, context);
    writer.run(
      SQLITE_WRITE.insertVoter,
      VOTER_ROW_COLUMNS.map((column) => values[column]),
    );
  }
  for (const pair of digestPairs(rows)) writer.run(SQLITE_WRITE.insertDigest, pair);
}

/** Copies the current rows of `voterIds` into the history and deletes them from `voter`. */
async function supersede(tx: Queryable<VotersTables>, voterIds: readonly string[]): Promise<void> {
  for (const chunk of chunks(voterIds)) {
    await tx.db
      .insertInto('voter_version')
      .columns(VOTER_ROW_COLUMNS)
      .expression(
        tx.db.selectFrom('voter').select(VOTER_ROW_COLUMNS).where('voter_id', 'in', chunk),
      )
      .execute();
    await tx.db.deleteFrom('voter').where('voter_id', 'in', chunk).execute();
  }
}

async function deleteDigests(tx: Queryable<VotersTables>, voterIds: readonly string[]) {
  for (const chunk of chunks(voterIds)) {
    await tx.db.deleteFrom('voter_lookup').where('voter_id', 'in', chunk).execute();
  }
}

/** Records that an import listed these (unchanged) voters. */
export async function touchVoters(
  q: Queryable<VotersTables>,
  voterIds: readonly string[],
  importId: string,
): Promise<void> {
  if (voterIds.length === 0) return;
  if (q.dialect === 'sqlite') {
    await withSqliteWriter(q, (writer) => {
      for (const voterId of voterIds) writer.run(SQLITE_WRITE.touch, [importId, voterId]);
    });
    return;
  }
  await withTransaction(q, async (tx) => {
    for (const chunk of chunks(voterIds)) {
      await tx.db
        .updateTable('voter')
        .set({ last_seen_import: importId })
        .where('voter_id', 'in', chunk)
        .execute();
    }
  });
}

/** Options of {@link markUnseenRemoved}. */
export interface MarkUnseenOptions {
  readonly importId: string;
  readonly jurisdictions: readonly string[];
  readonly changedAt: string;
}

/**
 * After a complete import: every voter of `jurisdictions` that the import did not list, and is
 * not removed already, gets a new version marked removed (the previous one goes to the
 * history; nothing is deleted) and loses its lookup digests, so the public lookup no longer
 * finds it. The new version keeps the previous envelope (`envelope_version`), since no field
 * changed. Returns their ids, sorted.
 */
export async function markUnseenRemoved(
  q: Queryable<VotersTables>,
  options: MarkUnseenOptions,
): Promise<readonly string[]> {
  const { importId, jurisdictions, changedAt } = options;
  if (jurisdictions.length === 0) return [];
  return withTransaction(q, async (tx) => {
    const ids: string[] = [];
    for (const chunk of chunks(jurisdictions)) {
      const rows = await tx.db
        .selectFrom('voter')
        .select('voter_id')
        .where('jurisdiction', 'in', chunk)
        .where('removed', '=', 0)
        .where('last_seen_import', '<>', importId)
        .execute();
      ids.push(...rows.map((row) => row.voter_id));
    }
    ids.sort();
    for (const chunk of chunks(ids)) {
      await tx.db
        .insertInto('voter_version')
        .columns(VOTER_ROW_COLUMNS)
        .expression(
          tx.db.selectFrom('voter').select(VOTER_ROW_COLUMNS).where('voter_id', 'in', chunk),
        )
        .execute();
      await tx.db
        .updateTable('voter')
        .set((eb) => ({
          row_version: eb('row_version', '+', 1),
          removed: 1,
          changed_at: changedAt,
          change_reason: 'removed',
        }))
        .where('voter_id', 'in', chunk)
        .execute();
    }
    await deleteDigests(tx, ids);
    return ids;
  });
}

function* chunks<T>(items: readonly T[]): Generator<T[]> {
  for (let i = 0; i < items.length; i += ID_CHUNK) yield items.slice(i, i + ID_CHUNK);
}

// ---------------------------------------------------------------------------------------------
// Reading, updating and shredding one voter

/** A voter as a reader sees it: public fields always, sealed classes only when asked. */
export interface VoterView {
  readonly voterId: VoterId;
  readonly jurisdiction: string;
  readonly rowVersion: number;
  readonly status: string;
  readonly precinct: string;
  readonly removed: boolean;
  readonly confidentialRecord: boolean;
  readonly shredded: boolean;
  /** Column name → value, per class asked for ('public' always). */
  readonly fields: {
    readonly public: Readonly<Record<string, string>>;
    readonly confidential?: Readonly<Record<string, string>>;
    readonly protected?: Readonly<Record<string, string>>;
  };
}

/** Options of {@link readVoter}. */
export interface ReadVoterOptions {
  /** Classes to return; sealed ones are decrypted only when named here. */
  readonly fieldClasses: readonly FieldClass[];
}

const ENVELOPE_COLUMNS = [
  'voter_id',
  'jurisdiction',
  'row_version',
  'envelope_version',
  'status',
  'precinct',
  'removed',
  'confidential_record',
  'public_fields',
  'sealed',
  'key_version',
  'wrapped_key',
  'shredded_at',
] as const satisfies readonly (keyof VoterRowTable)[];

/**
 * Reads a voter's current version: public fields, and the confidential and protected fields
 * only for the classes asked (the record is opened only then). The role-based filter of who may
 * ask for which class belongs to the caller.
 * @throws VoterStoreError VOTER_NOT_FOUND; VOTER_SHREDDED when sealed classes are asked of a
 *   shredded record; RECORD_INVALID
 * @throws CryptoError ENVELOPE_INVALID when the row was altered in the database
 */
export async function readVoter(
  q: Queryable<VotersTables>,
  ring: KeyRing,
  voterId: string,
  options: ReadVoterOptions,
): Promise<VoterView> {
  const row = await q.db
    .selectFrom('voter')
    .select(ENVELOPE_COLUMNS)
    .where('voter_id', '=', voterId)
    .executeTakeFirst();
  if (row === undefined) {
    throw new VoterStoreError('VOTER_NOT_FOUND', `Cannot read voter "${voterId}": no such voter`);
  }
  const publicFields = parsePublicFields(voterId, row.public_fields);
  const wantsConfidential = options.fieldClasses.includes('confidential');
  const wantsProtected = options.fieldClasses.includes('protected');
  let sealed: SealedFields | undefined;
  if (wantsConfidential || wantsProtected) sealed = openStoredRecord(ring, row);
  return {
    voterId: row.voter_id as VoterId,
    jurisdiction: row.jurisdiction,
    rowVersion: Number(row.row_version),
    status: row.status,
    precinct: row.precinct,
    removed: Number(row.removed) === 1,
    confidentialRecord: Number(row.confidential_record) === 1,
    shredded: row.wrapped_key === null,
    fields: {
      public: publicFields,
      ...(wantsConfidential && sealed ? { confidential: { ...sealed.c } } : {}),
      ...(wantsProtected && sealed ? { protected: { ...sealed.p } } : {}),
    },
  };
}

/**
 * Changes to a voter's fields by class: column name → new value, '' to clear it. For a
 * confidential-record voter, public-class changes are sealed like the rest of the record.
 */
export interface VoterChanges {
  readonly public?: Readonly<Record<string, string>>;
  readonly confidential?: Readonly<Record<string, string>>;
  readonly protected?: Readonly<Record<string, string>>;
}

/** Options of {@link updateVoter}. */
export interface UpdateVoterOptions {
  /** Why the record changes (stated by the official); required. */
  readonly reason: string;
  /** ISO time of the change; now by default. */
  readonly changedAt?: string;
}

/**
 * Writes a new version of a voter with `changes` applied, keeping the previous version in the
 * history: the record is opened, changed, sealed again under the current key version, and its
 * status, precinct and lookup digests re-derived from the changed fields.
 * Returns the new row version.
 * @throws VoterStoreError CHANGE_REASON_REQUIRED; VOTER_NOT_FOUND; VOTER_SHREDDED;
 *   CHANGE_INVALID when a column is named under two classes or under a class other than the one
 *   it is stored in; FIELD_INVALID when a new date of birth is not a date; RECORD_INVALID
 * @throws CryptoError ENVELOPE_INVALID when the stored row was altered
 */
export async function updateVoter(
  q: Queryable<VotersTables>,
  ring: KeyRing,
  voterId: string,
  changes: VoterChanges,
  options: UpdateVoterOptions,
): Promise<number> {
  const reason = options.reason.trim();
  if (reason === '') {
    throw new VoterStoreError(
      'CHANGE_REASON_REQUIRED',
      `Cannot change voter "${voterId}": state the reason for the change`,
    );
  }
  const changedAt = options.changedAt ?? new Date().toISOString();
  return withTransaction(q, async (tx) => {
    const row = await tx.db
      .selectFrom('voter')
      .select([...ENVELOPE_COLUMNS, 'last_seen_import'])
      .where('voter_id', '=', voterId)
      .executeTakeFirst();
    if (row === undefined) {
      throw new VoterStoreError(
        'VOTER_NOT_FOUND',
        `Cannot change voter "${voterId}": no such voter`,
      );
    }
    const old = openStoredRecord(ring, row);
    const confidentialRecord = Number(row.confidential_record) === 1;
    const publicFields = parsePublicFields(voterId, row.public_fields);
    const c = { ...old.c };
    const p = { ...old.p };
    const targets: Record<FieldClass, Record<string, string>> = {
      public: confidentialRecord ? c : publicFields,
      confidential: c,
      protected: p,
    };
    const named = new Set<string>();
    for (const cls of ['public', 'confidential', 'protected'] as const) {
      for (const [column, value] of Object.entries(changes[cls] ?? {})) {
        const storedIn = whereStored(column, publicFields, old);
        if (
          named.has(column) ||
          (storedIn !== undefined && storedIn !== cls && !confidentialRecord)
        ) {
          throw new VoterStoreError(
            'CHANGE_INVALID',
            `Cannot change voter "${voterId}": column "${column}" is not a ${cls} column of this record`,
          );
        }
        named.add(column);
        const target = targets[cls];
        const trimmed = value.trim();
        if (trimmed === '') delete target[column];
        else target[column] = trimmed;
      }
    }
    const value = (role: FieldRole): string => {
      const column = old.r[role];
      if (column === undefined) return '';
      return publicFields[column] ?? c[column] ?? p[column] ?? '';
    };
    const x: { dob?: string; county?: string } = { ...old.x };
    const dobColumn = named.has(old.r.birthDate ?? '\0')
      ? old.r.birthDate
      : named.has(old.r.birthYear ?? '\0')
        ? old.r.birthYear
        : undefined;
    if (dobColumn !== undefined) {
      const text = value('birthDate') || value('birthYear');
      if (text === '') {
        delete x.dob;
      } else {
        const birth = normaliseBirth(text);
        if (birth === undefined) {
          throw new VoterStoreError(
            'FIELD_INVALID',
            `Cannot change voter "${voterId}": column "${dobColumn}" is not a date`,
          );
        }
        x.dob = birth.full ?? birth.year;
      }
    }
    if (named.has(old.r.countyName ?? '\0')) {
      const county = value('countyName');
      if (county === '') delete x.county;
      else x.county = county;
    }
    const fields: SealedFields = { c, p, r: old.r, x };
    const status = value('status');
    const precinct = confidentialRecord ? '' : value('precinct');
    const rowVersion = Number(row.row_version) + 1;
    const publicJson = canonicalRecord(publicFields);
    const publicHash = hashPublicFields(publicFields);
    const plaintext = sealedPlaintext(fields);
    const rowMac = computeRowMac(ring, {
      voterId,
      jurisdiction: row.jurisdiction,
      status,
      precinct,
      confidentialRecord,
      publicJson,
      plaintext,
    });
    const sealed = ring.sealRecord(plaintext, {
      voterId,
      jurisdiction: row.jurisdiction,
      rowVersion,
      publicFieldsHash: publicHash,
    });
    plaintext.fill(0);
    const digests = computeLookupDigests(ring, {
      last: value('lastName'),
      first: value('firstName'),
      dob: x.dob === undefined ? undefined : normaliseBirth(x.dob),
      zip: value('zip'),
      county: x.county ?? '',
    });
    await supersede(tx, [voterId]);
    await tx.db
      .insertInto('voter')
      .values({
        voter_id: voterId,
        jurisdiction: row.jurisdiction,
        row_version: rowVersion,
        envelope_version: rowVersion,
        status,
        precinct,
        removed: Number(row.removed),
        confidential_record: confidentialRecord ? 1 : 0,
        public_fields: publicJson,
        public_hash: asBuffer(publicHash),
        sealed: asBuffer(sealed.ciphertext),
        key_version: sealed.wrappedKey.keyVersion,
        wrapped_key: asBuffer(sealed.wrappedKey.bytes),
        row_mac: asBuffer(rowMac),
        last_seen_import: row.last_seen_import,
        changed_at: changedAt,
        change_reason: reason,
        shredded_at: null,
      })
      .execute();
    await deleteDigests(tx, [voterId]);
    if (Number(row.removed) === 0 && digests.length > 0) {
      await tx.db
        .insertInto('voter_lookup')
        .values([...new Set(digests)].map((digest) => ({ digest, voter_id: voterId })))
        .execute();
    }
    return rowVersion;
  });
}

function whereStored(
  column: string,
  publicFields: Readonly<Record<string, string>>,
  sealed: SealedFields,
): FieldClass | undefined {
  if (Object.hasOwn(publicFields, column)) return 'public';
  if (Object.hasOwn(sealed.c, column)) return 'confidential';
  if (Object.hasOwn(sealed.p, column)) return 'protected';
  return undefined;
}

/** What {@link shredVoter} destroyed. */
export interface ShredReport {
  readonly voterId: VoterId;
  /** Row versions whose wrapped key was destroyed (current and history). */
  readonly versions: number;
}

/** Options of {@link shredVoter}. */
export interface ShredVoterOptions {
  /** ISO time recorded on the shredded rows; now by default. */
  readonly shreddedAt?: string;
}

/**
 * Crypto-shreds a voter: destroys the wrapped data key of every version (current and history)
 * and the lookup digests, so no key in the ring can open any version of the record again. The
 * clear public fields stay (they are public records). Copies of the wrapped keys in older
 * backups still open while their root key version exists: rotating keys and retiring the old
 * version carries the shredding into every backup (docs/design/key-ring.md).
 * @throws VoterStoreError VOTER_NOT_FOUND
 */
export async function shredVoter(
  q: Queryable<VotersTables>,
  voterId: string,
  options: ShredVoterOptions = {},
): Promise<ShredReport> {
  const shreddedAt = options.shreddedAt ?? new Date().toISOString();
  return withTransaction(q, async (tx) => {
    const current = await tx.db
      .updateTable('voter')
      .set({ wrapped_key: null, key_version: null, shredded_at: shreddedAt })
      .where('voter_id', '=', voterId)
      .executeTakeFirst();
    if (Number(current.numUpdatedRows) === 0) {
      throw new VoterStoreError(
        'VOTER_NOT_FOUND',
        `Cannot shred voter "${voterId}": no such voter`,
      );
    }
    const history = await tx.db
      .updateTable('voter_version')
      .set({ wrapped_key: null, key_version: null, shredded_at: shreddedAt })
      .where('voter_id', '=', voterId)
      .executeTakeFirst();
    await deleteDigests(tx, [voterId]);
    return {
      voterId: voterId as VoterId,
      versions: Number(current.numUpdatedRows) + Number(history.numUpdatedRows),
    };
  });
}
