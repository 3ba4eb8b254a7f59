/**
 * NIST SP 1500-102 voter records interchange (VRI) in its JSON serialisation: import into the
 * flat `nist-vri` layout (policies/nist-vri.json) so the importer can treat a VRI document like a
 * delimited voter file, and export of voter records as a `VRI.VoterRecordResults` document.
 *
 * The VRI JSON schema in data/nist-vri-schema.json is NIST's
 * `NIST_V0_voter_records_interchange.json` from usnistgov/VoterRecordsInterchange at commit
 * 9b01c03d7a7a697d9a74e62148f99bb1a89a3b78 (a work of the US government, not subject to
 * copyright in the United States; NIST's disclaimer is in test/fixtures/voters/nist-vri/LICENSE.md).
 * It was reformatted by prettier; its parsed content is unchanged, which nist-vri.test.ts checks
 * with a digest.
 *
 * Attacker-controlled input: the whole document (an uploaded file or a request body). Guards, in
 * order: its size is bounded before it is parsed (`maxBytes`, {@link DEFAULT_MAX_VRI_BYTES}); bytes
 * must be UTF-8 (strict decoding); `JSON.parse` runs without a reviver (a `__proto__` key is a
 * plain own property); the root `@type` picks one definition of the schema and the whole document
 * is validated against it before any value is read, so every object has only the members the
 * schema lists (`additionalProperties: false` throughout) and nesting is as deep as the schema,
 * never deeper; ajv stops at the first error (`allErrors` off) and the formats use linear
 * patterns (ajv-formats "fast" mode for `uri` and `byte`, our own `date` check). Error messages
 * name the JSON pointer of the offending member, never its value (only an unknown root `@type`
 * is quoted, cut to 64 characters), so personal data in a rejected file does not reach logs. Each mapped value is trimmed, bounded ({@link MAX_VRI_VALUE_LENGTH})
 * and refused when it holds control characters, so a flattened row can always be written as one
 * delimited line.
 */
import { readFileSync } from 'node:fs';
import { open } from 'node:fs/promises';
import type { FileHandle } from 'node:fs/promises';
import AjvModule from 'ajv-draft-04';
import type { ErrorObject, ValidateFunction } from 'ajv-draft-04';
import addFormatsModule from 'ajv-formats';
import { assert, InputError } from '../basics/index.ts';
import type { InputPosition } from '../basics/index.ts';
import { parseLayout } from './layout.ts';
import type { FieldClass, VoterLayout } from './layout.ts';

// ajv and ajv-formats are CommonJS modules whose typings declare a default export; under
// `module: nodenext` the default import is `module.exports`, which also carries `.default`.
const Ajv = AjvModule.default;
const addFormats = addFormatsModule.default;
type Ajv = InstanceType<typeof Ajv>;

/** Id of the pseudo-layout that VRI documents are flattened into. */
export const VRI_LAYOUT_ID = 'nist-vri';

/**
 * Largest document read, in bytes. A VRI document is one JSON value, parsed and validated whole
 * before any record is trusted, and its object graph takes several times the text's size: 64 MiB
 * (tens of thousands of voter records) keeps that well under a gigabyte. Whole-state rolls come
 * as delimited extracts, which stream.
 */
export const DEFAULT_MAX_VRI_BYTES = 64 * 1024 * 1024;

/** Most voter records accepted in one document, checked before schema validation runs. */
export const DEFAULT_MAX_VRI_RECORDS = 1_000_000;

/** Longest mapped value, in characters: far beyond any real name or address line. */
export const MAX_VRI_VALUE_LENGTH = 1000;

/** Columns of the `nist-vri` layout, in order; policies/nist-vri.json lists the same names. */
export const VRI_COLUMNS = [
  'VoterId',
  'LocalVoterId',
  'County',
  'NamePrefix',
  'LastName',
  'FirstName',
  'MiddleName',
  'Suffix',
  'DateOfBirth',
  'Gender',
  'Ethnicity',
  'ResidenceAddress',
  'ResidenceAddressNumberPrefix',
  'ResidenceAddressNumber',
  'ResidenceAddressNumberSuffix',
  'ResidenceStreetPreModifier',
  'ResidenceStreetPreDirectional',
  'ResidenceStreetPreType',
  'ResidenceStreetName',
  'ResidenceStreetPostType',
  'ResidenceStreetPostDirectional',
  'ResidenceStreetPostModifier',
  'ResidenceUnitType',
  'ResidenceUnitNumber',
  'ResidenceAddress2',
  'ResidenceCity',
  'ResidenceState',
  'ResidenceZip',
  'ResidenceZipPlus4',
  'ResidenceCountry',
  'MailingAddress1',
  'MailingAddress2',
  'MailingCity',
  'MailingState',
  'MailingZip',
  'MailingZipPlus4',
  'MailingCountry',
  'Party',
  'PartyAbbreviation',
  'VoterStatus',
  'OtherVoterStatus',
  'Precinct',
  'PrecinctName',
  'PollingPlace',
  'Phone',
  'Email',
  'DriversLicense',
  'StateId',
  'SSN4',
] as const;

/** One of {@link VRI_COLUMNS}. */
export type VriColumn = (typeof VRI_COLUMNS)[number];

/** Stable codes of {@link VriError}. */
export const VRI_ERROR_CODES = [
  'VRI_UNREADABLE',
  'VRI_TOO_LARGE',
  'VRI_NOT_JSON',
  'VRI_TYPE_INVALID',
  'VRI_TYPE_UNSUPPORTED',
  'VRI_SCHEMA_INVALID',
  'VRI_EXPORT_FIELD_FORBIDDEN',
  'VRI_EXPORT_INVALID',
] as const;

/** One of {@link VRI_ERROR_CODES}. */
export type VriErrorCode = (typeof VRI_ERROR_CODES)[number];

/**
 * A VRI document that cannot be imported as a whole (nothing of it is), or an export that cannot
 * be produced. `pointer` is the JSON pointer (RFC 6901) of the offending member when there is one.
 */
export class VriError extends InputError<VriErrorCode> {
  readonly pointer: string | undefined;

  constructor(
    code: VriErrorCode,
    message: string,
    options: InputPosition & { readonly pointer?: string; readonly cause?: unknown } = {},
  ) {
    const { pointer, cause, ...position } = options;
    super(code, message, position, cause === undefined ? undefined : { cause });
    this.pointer = pointer;
  }
}

/** Codes of {@link VriRecordIssue}: one record is unusable, the others are not affected. */
export const VRI_ISSUE_CODES = [
  'VOTER_ID_MISSING',
  'VOTER_ID_CONFLICT',
  'ADDRESS_UNSUPPORTED',
  'VALUE_INVALID',
] as const;

/** One of {@link VRI_ISSUE_CODES}. */
export type VriIssueCode = (typeof VRI_ISSUE_CODES)[number];

/** Why one record cannot be flattened; the importer quarantines it. */
export interface VriRecordIssue {
  /** Column of the `nist-vri` layout at fault. */
  readonly field: VriColumn;
  /** JSON pointer of the member at fault. */
  readonly pointer: string;
  readonly code: VriIssueCode;
  readonly reason: string;
}

/** A record flattened into the `nist-vri` layout. */
export interface VriRecordFields {
  readonly kind: 'fields';
  /** 1-based record number in the document. */
  readonly line: number;
  /** Values in {@link VRI_COLUMNS} order, '' when absent. */
  readonly fields: string[];
  /** The record's JSON text (the `VoterRecord`, or the whole request), for quarantine. */
  readonly raw: string;
}

/** A record that could not be flattened. */
export interface VriRecordRejected {
  readonly kind: 'issue';
  readonly line: number;
  readonly issue: VriRecordIssue;
  readonly raw: string;
}

/** The outcome of one record. */
export type VriRecordOutcome = VriRecordFields | VriRecordRejected;

/** Root types that carry voter records. */
export const VRI_RECORD_TYPES = ['VRI.VoterRecordsRequest', 'VRI.VoterRecordResults'] as const;

/** One of {@link VRI_RECORD_TYPES}. */
export type VriRecordType = (typeof VRI_RECORD_TYPES)[number];

/** Root types of the schema that carry no voter record (responses about a request). */
const NON_RECORD_ROOT_TYPES = [
  'VRI.RequestAcknowledgement',
  'VRI.RequestRejection',
  'VRI.RequestSuccess',
] as const;

/** A parsed, validated VRI document. */
export interface VriDocument {
  readonly type: VriRecordType;
  readonly transactionId: string | undefined;
  readonly records: readonly VriRecordOutcome[];
}

/** Options of {@link parseVriDocument} and {@link readVriRecords}. */
export interface VriParseOptions {
  /** Largest document accepted, in bytes; {@link DEFAULT_MAX_VRI_BYTES} by default. */
  readonly maxBytes?: number;
  /** Most records accepted; {@link DEFAULT_MAX_VRI_RECORDS} by default. */
  readonly maxRecords?: number;
}

// ---------------------------------------------------------------------------------------------
// Schema and validators

const SCHEMA_KEY = 'nist-vri';

let cachedSchema: object | undefined;

function vriSchema(): object {
  cachedSchema ??= JSON.parse(
    readFileSync(new URL('./data/nist-vri-schema.json', import.meta.url), 'utf8'),
  ) as object;
  return cachedSchema;
}

/** Date at most as precise as a day, with the time of day a sender may append. */
const LENIENT_DATE =
  /^(\d{4})-(\d{1,2})-(\d{1,2})(?:T\d{2}:\d{2}(?::\d{2}(?:\.\d{1,9})?)?(?:Z|[+-]\d{2}:\d{2})?)?$/;
const STRICT_DATE = /^(\d{4})-(\d{2})-(\d{2})$/;

function calendarDate(match: RegExpExecArray | null): string | undefined {
  if (!match) return undefined;
  const year = Number(match[1]);
  const month = Number(match[2]);
  const day = Number(match[3]);
  if (month < 1 || month > 12 || day < 1) return undefined;
  if (day > new Date(Date.UTC(year, month, 0)).getUTCDate()) return undefined;
  return `${String(year).padStart(4, '0')}-${String(month).padStart(2, '0')}-${String(day).padStart(2, '0')}`;
}

/**
 * A VRI date as YYYY-MM-DD, or `undefined` when it is not a real calendar day.
 *
 * SPEC: VRI_UML_Documentation.md, Voter.DateOfBirth "The voter's data of birth in YYYY-MM-DD
 * format". NIST's own JSON example writes `"GeneratedDate": "2017-7-30"` and `"DateOfBirth":
 * "1993-11-12T00:00:00"`, so import also accepts one-digit months and days and a time of day,
 * keeping the calendar day as written (no time-zone shift). Export writes YYYY-MM-DD only.
 */
export function normaliseVriDate(value: string): string | undefined {
  return calendarDate(LENIENT_DATE.exec(value));
}

function createAjv(date: (value: string) => boolean): Ajv {
  // verbose: errors carry the failing schema and data, used to explain `oneOf` failures.
  const ajv = new Ajv({ allErrors: false, verbose: true, strict: true });
  addFormats(ajv, { mode: 'fast', formats: ['uri', 'byte'] });
  ajv.addFormat('date', { type: 'string', validate: date });
  ajv.addSchema(vriSchema(), SCHEMA_KEY);
  return ajv;
}

let importAjv: Ajv | undefined;
let exportAjv: Ajv | undefined;

/** Import accepts the lenient dates of {@link normaliseVriDate}. */
function importValidators(): Ajv {
  importAjv ??= createAjv((value) => normaliseVriDate(value) !== undefined);
  return importAjv;
}

/** Export checks that what we write is the strict form. */
function exportValidators(): Ajv {
  exportAjv ??= createAjv((value) => calendarDate(STRICT_DATE.exec(value)) === value);
  return exportAjv;
}

function definition(ajv: Ajv, name: string): ValidateFunction {
  const validate = ajv.getSchema(`${SCHEMA_KEY}#/definitions/${name}`);
  assert(validate, `VRI schema has no definition "${name}"`);
  return validate;
}

// ---------------------------------------------------------------------------------------------
// Schema errors

/** Longest member name quoted in a pointer of an error message (names come from the input). */
const MAX_POINTER_SEGMENT = 64;

function pointerSegment(name: string): string {
  const short = name.length > MAX_POINTER_SEGMENT ? `${name.slice(0, MAX_POINTER_SEGMENT)}…` : name;
  // SPEC: https://www.rfc-editor.org/rfc/rfc6901#section-3 "'~' needs to be encoded as '~0' and
  // '/' needs to be encoded as '~1'"
  return short.replaceAll('~', '~0').replaceAll('/', '~1');
}

function isObject(value: unknown): value is Readonly<Record<string, unknown>> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function stringParam(error: ErrorObject, name: string): string {
  const params: Readonly<Record<string, unknown>> = error.params;
  const value = params[name];
  return typeof value === 'string' ? value : '';
}

function listValues(values: unknown): string {
  if (!Array.isArray(values)) return '';
  const quoted = values.slice(0, 12).map((v) => JSON.stringify(v));
  return values.length > 12 ? `${quoted.join(', ')}, …` : quoted.join(', ');
}

/** The definitions named by the `$ref`s of a `oneOf`. */
function oneOfTypes(branches: unknown): string[] {
  if (!Array.isArray(branches)) return [];
  return branches.flatMap((branch: unknown) => {
    const ref = isObject(branch) ? branch['$ref'] : undefined;
    return typeof ref === 'string' && ref.startsWith('#/definitions/')
      ? [ref.slice('#/definitions/'.length)]
      : [];
  });
}

interface SchemaProblem {
  readonly pointer: string;
  readonly message: string;
}

/**
 * Explains the failure of a validation that stopped at its first error (the last one ajv lists:
 * the errors before it come from `oneOf` branches that were tried). Every object of VRI names
 * its own definition in `@type`, so a failed `oneOf` is explained by validating the member
 * against the definition its `@type` names, which points at the real mistake instead of listing
 * why each of eleven address classes does not fit.
 */
function explainSchemaError(
  ajv: Ajv,
  errors: readonly ErrorObject[],
  base: string,
  depth = 0,
): SchemaProblem {
  const error = errors.at(-1);
  assert(error, 'Failed validation without errors');
  const at = base + error.instancePath;
  switch (error.keyword) {
    case 'oneOf': {
      const allowed = oneOfTypes(error.schema);
      const data: unknown = error.data;
      const type = isObject(data) ? data['@type'] : undefined;
      if (typeof type === 'string' && allowed.includes(type) && depth < 8) {
        const validate = definition(ajv, type);
        if (!validate(data) && validate.errors) {
          return explainSchemaError(ajv, validate.errors, at, depth + 1);
        }
      }
      return {
        pointer: `${at}/@type`,
        message:
          typeof type === 'string'
            ? `must be one of ${listValues(allowed)}`
            : `is required: one of ${listValues(allowed)}`,
      };
    }
    case 'required':
      return {
        pointer: `${at}/${pointerSegment(stringParam(error, 'missingProperty'))}`,
        message: 'is required',
      };
    case 'additionalProperties':
      return {
        pointer: `${at}/${pointerSegment(stringParam(error, 'additionalProperty'))}`,
        message: 'is not a member allowed here',
      };
    case 'enum': {
      const params: Readonly<Record<string, unknown>> = error.params;
      return { pointer: at, message: `must be one of ${listValues(params['allowedValues'])}` };
    }
    case 'type':
      return { pointer: at, message: `must be of type ${stringParam(error, 'type')}` };
    case 'format': {
      const format = stringParam(error, 'format');
      return {
        pointer: at,
        message: format === 'date' ? 'must be a date as YYYY-MM-DD' : `must be a valid ${format}`,
      };
    }
    default:
      return { pointer: at, message: error.message ?? 'is invalid' };
  }
}

// ---------------------------------------------------------------------------------------------
// Reading the document

// SPEC: https://www.rfc-editor.org/rfc/rfc8259#section-8.1 "JSON text exchanged between systems
// that are not part of a closed ecosystem MUST be encoded using UTF-8"
const UTF8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: false });

function parseJsonText(input: string | Uint8Array, file: string, maxBytes: number): unknown {
  const size = typeof input === 'string' ? Buffer.byteLength(input, 'utf8') : input.byteLength;
  if (size > maxBytes) {
    throw new VriError(
      'VRI_TOO_LARGE',
      `Cannot import VRI document "${file}": ${size} bytes, more than the limit of ${maxBytes}`,
      { file },
    );
  }
  let text: string;
  if (typeof input === 'string') {
    text = input.startsWith('\uFEFF') ? input.slice(1) : input;
  } else {
    try {
      // The decoder drops a leading byte order mark itself (ignoreBOM: false).
      text = UTF8.decode(input);
    } catch (error: unknown) {
      throw new VriError(
        'VRI_NOT_JSON',
        `Cannot parse VRI document "${file}": it is not UTF-8 text`,
        { file, cause: error },
      );
    }
  }
  try {
    return JSON.parse(text) as unknown;
  } catch (error: unknown) {
    // V8's message quotes the text around the error, which may be personal data: keep only
    // the position it reports.
    const reason = error instanceof Error ? error.message : '';
    const where = /\(line (\d+) column (\d+)\)/.exec(reason);
    const line = where ? Number(where[1]) : undefined;
    const column = where ? Number(where[2]) : undefined;
    let detail = '';
    if (line !== undefined) detail = ` at line ${line} column ${column ?? 0}`;
    else if (text.trim() === '') detail = ': the file is empty';
    else if (reason.includes('end of JSON input')) detail = ': the text ends too early';
    throw new VriError('VRI_NOT_JSON', `Cannot parse VRI document "${file}" as JSON${detail}`, {
      file,
      ...(line === undefined ? {} : { line }),
      ...(column === undefined ? {} : { column }),
    });
  }
}

/**
 * Parses and validates a VRI JSON document and flattens its voter records into the `nist-vri`
 * layout. `json` is the document's text (string or bytes) or an already parsed value; the size
 * limit applies to text only. The document is validated whole first: a document that does not
 * conform to the schema is refused whole. Per-record problems (no state voter registration id,
 * an address class that cannot be flattened, a value with control characters) are returned as
 * `issue` outcomes and leave the other records alone.
 * @param file names the document in error messages
 * @throws VriError VRI_TOO_LARGE, VRI_NOT_JSON, VRI_TYPE_INVALID (root is not a VRI document),
 *   VRI_TYPE_UNSUPPORTED (a VRI document that carries no voter record: acknowledgement,
 *   rejection, success, or a request that is not a registration), VRI_SCHEMA_INVALID (with the
 *   JSON pointer of the first offending member)
 */
export function parseVriDocument(
  json: unknown,
  file: string,
  options: VriParseOptions = {},
): VriDocument {
  const maxBytes = options.maxBytes ?? DEFAULT_MAX_VRI_BYTES;
  const maxRecords = options.maxRecords ?? DEFAULT_MAX_VRI_RECORDS;
  const value =
    typeof json === 'string' || json instanceof Uint8Array
      ? parseJsonText(json, file, maxBytes)
      : json;
  if (!isObject(value)) {
    throw new VriError(
      'VRI_TYPE_INVALID',
      `Cannot import "${file}": a VRI document is a JSON object, not ${Array.isArray(value) ? 'an array' : typeof value}`,
      { file, pointer: '' },
    );
  }
  const type = value['@type'];
  if (typeof type !== 'string') {
    throw new VriError(
      'VRI_TYPE_INVALID',
      `Cannot import "${file}": "/@type" is missing, expected one of ${listValues(VRI_RECORD_TYPES)}`,
      { file, pointer: '/@type' },
    );
  }
  if ((NON_RECORD_ROOT_TYPES as readonly string[]).includes(type)) {
    throw new VriError(
      'VRI_TYPE_UNSUPPORTED',
      `Cannot import VRI document "${file}": "${type}" carries no voter record, expected one of ${listValues(VRI_RECORD_TYPES)}`,
      { file, pointer: '/@type' },
    );
  }
  if (type !== 'VRI.VoterRecordsRequest' && type !== 'VRI.VoterRecordResults') {
    throw new VriError(
      'VRI_TYPE_INVALID',
      `Cannot import "${file}": "/@type" is ${JSON.stringify(type.slice(0, MAX_POINTER_SEGMENT))}, expected one of ${listValues(VRI_RECORD_TYPES)}`,
      { file, pointer: '/@type' },
    );
  }
  const records = value['VoterRecord'];
  if (Array.isArray(records) && records.length > maxRecords) {
    throw new VriError(
      'VRI_TOO_LARGE',
      `Cannot import VRI document "${file}": ${records.length} voter records, more than the limit of ${maxRecords}`,
      { file, pointer: '/VoterRecord' },
    );
  }
  const ajv = importValidators();
  const validate = definition(ajv, type);
  if (!validate(value)) {
    const problem = explainSchemaError(ajv, validate.errors ?? [], '');
    throw new VriError(
      'VRI_SCHEMA_INVALID',
      `Invalid VRI document "${file}": ${JSON.stringify(problem.pointer)} ${problem.message}`,
      { file, pointer: problem.pointer },
    );
  }
  const transactionId =
    typeof value['TransactionId'] === 'string' ? value['TransactionId'] : undefined;
  if (type === 'VRI.VoterRecordsRequest') {
    const request = value as unknown as VriRequest;
    if (!request.Type.includes('registration')) {
      throw new VriError(
        'VRI_TYPE_UNSUPPORTED',
        `Cannot import VRI document "${file}": a request of type ${listValues(request.Type)} carries no voter registration`,
        { file, pointer: '/Type' },
      );
    }
    return {
      type,
      transactionId,
      records: [flattenRecord(request.Subject, undefined, '/Subject', 1, JSON.stringify(value))],
    };
  }
  const results = value as unknown as VriResults;
  return {
    type,
    transactionId,
    records: (results.VoterRecord ?? []).map((record, i) =>
      flattenRecord(record.Voter, record, `/VoterRecord/${i}`, i + 1, JSON.stringify(record)),
    ),
  };
}

/**
 * Reads a VRI JSON file and yields its records in the `nist-vri` layout, numbered from 1, so the
 * importer can treat it like a delimited file. The document is read and validated whole before
 * the first record is yielded: a file that fails validation yields nothing.
 * @throws VriError VRI_UNREADABLE, and those of {@link parseVriDocument}
 */
export async function* readVriRecords(
  path: string,
  options: VriParseOptions = {},
): AsyncGenerator<VriRecordOutcome, void, undefined> {
  const bytes = await readBounded(path, options.maxBytes ?? DEFAULT_MAX_VRI_BYTES);
  yield* parseVriDocument(bytes, path, options).records;
}

const READ_CHUNK_BYTES = 1 << 20;

/** Reads at most `maxBytes` (plus one, to tell a larger file), whatever the file claims. */
async function readBounded(path: string, maxBytes: number): Promise<Uint8Array> {
  const unreadable = (error: unknown): VriError =>
    new VriError(
      'VRI_UNREADABLE',
      `Cannot read VRI document "${path}": ${(error as NodeJS.ErrnoException).code ?? 'unknown error'}`,
      { file: path, cause: error },
    );
  const tooLarge = (size: number): VriError =>
    new VriError(
      'VRI_TOO_LARGE',
      `Cannot import VRI document "${path}": ${size} bytes, more than the limit of ${maxBytes}`,
      { file: path },
    );
  let handle: FileHandle;
  try {
    handle = await open(path, 'r');
  } catch (error: unknown) {
    throw unreadable(error);
  }
  try {
    const info = await handle.stat().catch((error: unknown) => {
      throw unreadable(error);
    });
    if (info.size > maxBytes) throw tooLarge(info.size);
    const chunks: Buffer[] = [];
    let total = 0;
    for (;;) {
      const buffer = Buffer.allocUnsafe(Math.min(READ_CHUNK_BYTES, maxBytes + 1 - total));
      const { bytesRead } = await handle
        .read(buffer, 0, buffer.length, null)
        .catch((error: unknown) => {
          throw unreadable(error);
        });
      if (bytesRead === 0) break;
      chunks.push(buffer.subarray(0, bytesRead));
      total += bytesRead;
      // A file that grows while it is read, or a pipe, is cut here.
      if (total > maxBytes) throw tooLarge(total);
    }
    return Buffer.concat(chunks, total);
  } finally {
    await handle.close();
  }
}

// ---------------------------------------------------------------------------------------------
// The parts of VRI we read, as the schema guarantees them after validation

interface VriText {
  readonly Value: string;
}

interface VriName {
  readonly Prefix?: string;
  readonly FirstName?: string;
  readonly MiddleName?: readonly string[];
  readonly LastName?: string;
  readonly Suffix?: string;
}

interface VriVoterId {
  readonly Type: string;
  readonly StringValue?: string;
  readonly AttestNoSuchId?: boolean;
}

interface VriPlaceName {
  readonly PlaceNameType?: string;
  readonly Value: string;
}

interface VriCompletePlaceName {
  readonly PlaceName: readonly VriPlaceName[];
}

interface VriSubaddressElement {
  readonly SubaddressType?: string;
  readonly SubaddressIdentifier: string;
}

interface VriUspsBox {
  readonly USPSBoxType: string;
  readonly USPSBoxId: string;
}

interface VriAddress {
  readonly '@type': string;
  readonly CompleteAddressNumber?: {
    readonly AddressNumberPrefix?: VriText;
    readonly AddressNumber: string;
    readonly AddressNumberSuffix?: VriText;
  };
  readonly CompleteStreetName?: {
    readonly StreetNamePreModifier?: VriText;
    readonly StreetNamePreDirectional?: VriText;
    readonly StreetNamePreType?: VriText;
    readonly StreetName: string;
    readonly StreetNamePostType?: VriText;
    readonly StreetNamePostDirectional?: VriText;
    readonly StreetNamePostModifier?: VriText;
  };
  readonly CompleteSubaddress?: { readonly SubaddressElement: readonly VriSubaddressElement[] };
  readonly CompletePlaceName?: VriCompletePlaceName;
  readonly CompletePlaceName1?: VriCompletePlaceName;
  readonly CompletePlaceName2?: VriCompletePlaceName;
  readonly StateName?: string;
  readonly ZipCode?: string;
  readonly ZipPlus4?: string;
  readonly CountryName?: string;
  readonly GeneralAddress?: string;
  readonly USPSGeneralDeliveryPoint?: string;
  readonly USPSBox?: VriUspsBox;
  readonly USPSAddress?: {
    readonly USPSBox: VriUspsBox;
    readonly USPSRoute: { readonly USPSBoxGroupType: string; readonly USPSBoxGroupId: string };
  };
}

interface VriVoter {
  readonly Name: VriName;
  readonly DateOfBirth?: string;
  readonly Gender?: string;
  readonly Ethnicity?: string;
  readonly ResidenceAddress: VriAddress;
  readonly MailingAddress?: VriAddress;
  readonly Party?: { readonly Name: string; readonly Abbreviation?: string };
  readonly ContactMethod?: readonly { readonly Type: string; readonly Value: string }[];
  readonly VoterId?: readonly VriVoterId[];
}

interface VriReportingUnit {
  readonly Type: string;
  readonly Name?: string;
  readonly ExternalIdentifier?: readonly { readonly Value: string }[];
}

interface VriVoterRecord {
  readonly Voter: VriVoter;
  readonly VoterStatus?: string;
  readonly OtherStatus?: string;
  readonly Locality?: readonly VriReportingUnit[];
  readonly PollingLocation?: VriReportingUnit;
}

interface VriRequest {
  readonly Type: readonly string[];
  readonly Subject: VriVoter;
}

interface VriResults {
  readonly VoterRecord?: readonly VriVoterRecord[];
}

// ---------------------------------------------------------------------------------------------
// Flattening

type VriRow = Record<VriColumn, string>;

function emptyRow(): VriRow {
  return Object.fromEntries(VRI_COLUMNS.map((column) => [column, ''])) as VriRow;
}

/** C0 and C1 control characters and the Unicode line and paragraph separators. */
const CONTROL_CHARACTER = /[\u0000-\u001f\u007f-\u009f\u2028\u2029]/;

/** A record being flattened; the first issue wins and stops further writes. */
interface Flattening {
  readonly row: VriRow;
  issue: VriRecordIssue | undefined;
}

function valueProblem(value: string): string | undefined {
  if (value.length > MAX_VRI_VALUE_LENGTH)
    return `is longer than ${MAX_VRI_VALUE_LENGTH} characters`;
  if (CONTROL_CHARACTER.test(value)) return 'holds a control character';
  return undefined;
}

function put(
  target: Flattening,
  column: VriColumn,
  value: string | undefined,
  pointer: string,
): void {
  if (value === undefined || target.issue) return;
  const text = value.trim();
  const problem = valueProblem(text);
  if (problem) {
    target.issue = {
      field: column,
      pointer,
      code: 'VALUE_INVALID',
      reason: `Value of "${column}" at ${JSON.stringify(pointer)} ${problem}`,
    };
    return;
  }
  target.row[column] = text;
}

function flattenRecord(
  voter: VriVoter,
  record: VriVoterRecord | undefined,
  base: string,
  line: number,
  raw: string,
): VriRecordOutcome {
  const target: Flattening = { row: emptyRow(), issue: undefined };
  const at = record ? `${base}/Voter` : base;
  flattenVoterIds(target, voter.VoterId, at);
  const name = voter.Name;
  put(target, 'NamePrefix', name.Prefix, `${at}/Name/Prefix`);
  put(target, 'LastName', name.LastName, `${at}/Name/LastName`);
  put(target, 'FirstName', name.FirstName, `${at}/Name/FirstName`);
  put(
    target,
    'MiddleName',
    name.MiddleName?.map((part) => part.trim())
      .filter((part) => part !== '')
      .join(' '),
    `${at}/Name/MiddleName`,
  );
  put(target, 'Suffix', name.Suffix, `${at}/Name/Suffix`);
  if (voter.DateOfBirth !== undefined) {
    // Validation accepted the value, so it is a calendar day.
    put(target, 'DateOfBirth', normaliseVriDate(voter.DateOfBirth), `${at}/DateOfBirth`);
  }
  put(target, 'Gender', voter.Gender, `${at}/Gender`);
  put(target, 'Ethnicity', voter.Ethnicity, `${at}/Ethnicity`);
  flattenResidence(target, voter.ResidenceAddress, `${at}/ResidenceAddress`);
  if (voter.MailingAddress) flattenMailing(target, voter.MailingAddress, `${at}/MailingAddress`);
  if (voter.Party) {
    put(target, 'Party', voter.Party.Name, `${at}/Party/Name`);
    put(target, 'PartyAbbreviation', voter.Party.Abbreviation, `${at}/Party/Abbreviation`);
  }
  const contacts = voter.ContactMethod ?? [];
  const phone = contacts.findIndex((c) => c.Type === 'phone');
  const email = contacts.findIndex((c) => c.Type === 'email');
  if (phone >= 0)
    put(target, 'Phone', contacts[phone]?.Value, `${at}/ContactMethod/${phone}/Value`);
  if (email >= 0)
    put(target, 'Email', contacts[email]?.Value, `${at}/ContactMethod/${email}/Value`);
  if (record) {
    put(target, 'VoterStatus', record.VoterStatus, `${base}/VoterStatus`);
    put(target, 'OtherVoterStatus', record.OtherStatus, `${base}/OtherStatus`);
    const localities = record.Locality ?? [];
    const precinct = localities.findIndex((unit) => unit.Type === 'precinct');
    const unit = localities[precinct];
    if (unit) {
      put(target, 'PrecinctName', unit.Name, `${base}/Locality/${precinct}/Name`);
      put(
        target,
        'Precinct',
        unit.ExternalIdentifier?.[0]?.Value,
        `${base}/Locality/${precinct}/ExternalIdentifier/0/Value`,
      );
    }
    put(target, 'PollingPlace', record.PollingLocation?.Name, `${base}/PollingLocation/Name`);
  }
  if (target.issue) return { kind: 'issue', line, issue: target.issue, raw };
  return { kind: 'fields', line, fields: VRI_COLUMNS.map((column) => target.row[column]), raw };
}

const FULL_SSN = /^(\d{3})-?(\d{2})-?(\d{4})$/;

/**
 * The voter id is the state voter registration id.
 * SPEC: VRI_UML_Documentation.md, VoterIdType `state-voter-registration-id` "Used for a state's
 * voter registration record ID" (`local-voter-registration-id` is a county's, kept as
 * LocalVoterId: ids of different counties may collide, so it cannot key a statewide record).
 */
function flattenVoterIds(
  target: Flattening,
  ids: readonly VriVoterId[] | undefined,
  at: string,
): void {
  let ssn4: { value: string; pointer: string } | undefined;
  let ssnLastFour: { value: string; pointer: string } | undefined;
  (ids ?? []).forEach((id, i) => {
    // SPEC: VRI_UML_Documentation.md, VoterId "AttestNoSuchId is used to attest that the voter
    // has no ID of a specified type"
    if (id.AttestNoSuchId === true) return;
    const value = id.StringValue?.trim() ?? '';
    if (value === '') return;
    const pointer = `${at}/VoterId/${i}/StringValue`;
    const first = (column: VriColumn): void => {
      if (target.row[column] === '') put(target, column, value, pointer);
    };
    switch (id.Type) {
      case 'state-voter-registration-id':
        if (target.row.VoterId !== '' && target.row.VoterId !== value && !target.issue) {
          target.issue = {
            field: 'VoterId',
            pointer,
            code: 'VOTER_ID_CONFLICT',
            reason: `The voter has two different state voter registration ids (${JSON.stringify(pointer)})`,
          };
        }
        first('VoterId');
        break;
      case 'local-voter-registration-id':
        first('LocalVoterId');
        break;
      case 'drivers-license':
        first('DriversLicense');
        break;
      case 'state-id':
        first('StateId');
        break;
      case 'ssn4':
        ssn4 ??= { value, pointer };
        break;
      case 'ssn': {
        // We never keep a full Social Security number: only its last four digits, as `ssn4`.
        const match = FULL_SSN.exec(value);
        if (match?.[3]) ssnLastFour ??= { value: match[3], pointer };
        break;
      }
      default:
        break;
    }
  });
  const four = ssn4 ?? ssnLastFour;
  if (four) put(target, 'SSN4', four.value, four.pointer);
  if (target.row.VoterId === '' && !target.issue) {
    target.issue = {
      field: 'VoterId',
      pointer: `${at}/VoterId`,
      code: 'VOTER_ID_MISSING',
      reason: 'The voter has no VoterId of Type "state-voter-registration-id" with a StringValue',
    };
  }
}

const THOROUGHFARE_TYPES = [
  'addr.NumberedThoroughfareAddress_type',
  'addr.UnnumberedThoroughfareAddress_type',
];

/** Street parts of a thoroughfare address, in the order the street line is written. */
const STREET_PARTS = [
  ['ResidenceAddressNumberPrefix', 'CompleteAddressNumber/AddressNumberPrefix/Value'],
  ['ResidenceAddressNumber', 'CompleteAddressNumber/AddressNumber'],
  ['ResidenceAddressNumberSuffix', 'CompleteAddressNumber/AddressNumberSuffix/Value'],
  ['ResidenceStreetPreModifier', 'CompleteStreetName/StreetNamePreModifier/Value'],
  ['ResidenceStreetPreDirectional', 'CompleteStreetName/StreetNamePreDirectional/Value'],
  ['ResidenceStreetPreType', 'CompleteStreetName/StreetNamePreType/Value'],
  ['ResidenceStreetName', 'CompleteStreetName/StreetName'],
  ['ResidenceStreetPostType', 'CompleteStreetName/StreetNamePostType/Value'],
  ['ResidenceStreetPostDirectional', 'CompleteStreetName/StreetNamePostDirectional/Value'],
  ['ResidenceStreetPostModifier', 'CompleteStreetName/StreetNamePostModifier/Value'],
] as const satisfies readonly (readonly [VriColumn, string])[];

type StreetPart = (typeof STREET_PARTS)[number][0];

function streetParts(address: VriAddress): Record<StreetPart, string | undefined> {
  const number = address.CompleteAddressNumber;
  const street = address.CompleteStreetName;
  return {
    ResidenceAddressNumberPrefix: number?.AddressNumberPrefix?.Value,
    ResidenceAddressNumber: number?.AddressNumber,
    ResidenceAddressNumberSuffix: number?.AddressNumberSuffix?.Value,
    ResidenceStreetPreModifier: street?.StreetNamePreModifier?.Value,
    ResidenceStreetPreDirectional: street?.StreetNamePreDirectional?.Value,
    ResidenceStreetPreType: street?.StreetNamePreType?.Value,
    ResidenceStreetName: street?.StreetName,
    ResidenceStreetPostType: street?.StreetNamePostType?.Value,
    ResidenceStreetPostDirectional: street?.StreetNamePostDirectional?.Value,
    ResidenceStreetPostModifier: street?.StreetNamePostModifier?.Value,
  };
}

function joinWords(parts: readonly (string | undefined)[]): string {
  return parts
    .map((part) => part?.trim() ?? '')
    .filter((part) => part !== '')
    .join(' ');
}

function subaddressText(elements: readonly VriSubaddressElement[]): string {
  return joinWords(elements.flatMap((e) => [e.SubaddressType, e.SubaddressIdentifier]));
}

/** Lines of an address class that is not a thoroughfare; `undefined` for unsupported classes. */
function otherAddressLines(address: VriAddress): readonly [string, string] | undefined {
  const sub = subaddressText(address.CompleteSubaddress?.SubaddressElement ?? []);
  switch (address['@type']) {
    case 'addr.GeneralAddressClass_type': {
      // A free-form address: its first line, then the others joined.
      const lines = (address.GeneralAddress ?? address.USPSGeneralDeliveryPoint ?? '')
        .split(/\r\n|\r|\n/)
        .map((l) => l.trim())
        .filter((l) => l !== '');
      return [lines[0] ?? '', lines.slice(1).join(' ')];
    }
    case 'addr.USPSPostalDeliveryBox_type':
      return [joinWords([address.USPSBox?.USPSBoxType, address.USPSBox?.USPSBoxId]), sub];
    case 'addr.USPSGeneralDeliveryOffice_type':
      return [address.USPSGeneralDeliveryPoint ?? '', ''];
    case 'addr.USPSPostalDeliveryRoute_type': {
      const route = address.USPSAddress;
      return [
        joinWords([
          route?.USPSRoute.USPSBoxGroupType,
          route?.USPSRoute.USPSBoxGroupId,
          route?.USPSBox.USPSBoxType,
          route?.USPSBox.USPSBoxId,
        ]),
        '',
      ];
    }
    default:
      // Landmark, community, intersection and address-range classes describe places, not
      // lines we can store as a voter's address without guessing.
      return undefined;
  }
}

interface Place {
  readonly value: string;
  readonly pointer: string;
}

/** First place name of each PlaceNameType ('' for untyped ones), with its pointer. */
function placeNames(address: VriAddress, at: string): Map<string, Place> {
  const found = new Map<string, Place>();
  for (const member of ['CompletePlaceName', 'CompletePlaceName1', 'CompletePlaceName2'] as const) {
    address[member]?.PlaceName.forEach((place, i) => {
      const type = place.PlaceNameType ?? '';
      if (!found.has(type) && place.Value.trim() !== '') {
        found.set(type, { value: place.Value, pointer: `${at}/${member}/PlaceName/${i}/Value` });
      }
    });
  }
  return found;
}

function putPlace(target: Flattening, column: VriColumn, place: Place | undefined): void {
  if (place) put(target, column, place.value, place.pointer);
}

function unsupportedAddress(
  target: Flattening,
  column: VriColumn,
  address: VriAddress,
  at: string,
) {
  target.issue ??= {
    field: column,
    pointer: `${at}/@type`,
    code: 'ADDRESS_UNSUPPORTED',
    reason: `Address class "${address['@type']}" at ${JSON.stringify(at)} cannot be stored as a voter's address`,
  };
}

function flattenResidence(target: Flattening, address: VriAddress, at: string): void {
  if (THOROUGHFARE_TYPES.includes(address['@type'])) {
    const parts = streetParts(address);
    for (const [column, path] of STREET_PARTS) put(target, column, parts[column], `${at}/${path}`);
    const elements = address.CompleteSubaddress?.SubaddressElement ?? [];
    const first = elements[0];
    if (first) {
      const p = `${at}/CompleteSubaddress/SubaddressElement/0`;
      put(target, 'ResidenceUnitType', first.SubaddressType, `${p}/SubaddressType`);
      put(target, 'ResidenceUnitNumber', first.SubaddressIdentifier, `${p}/SubaddressIdentifier`);
      put(
        target,
        'ResidenceAddress2',
        subaddressText(elements.slice(1)),
        `${at}/CompleteSubaddress`,
      );
    }
    // The street line is derived from the parts, so that lookups and extracts that use one
    // line see the same address.
    put(
      target,
      'ResidenceAddress',
      joinWords(STREET_PARTS.map(([column]) => target.row[column])),
      at,
    );
  } else {
    const lines = otherAddressLines(address);
    if (!lines) {
      unsupportedAddress(target, 'ResidenceAddress', address, at);
      return;
    }
    put(target, 'ResidenceAddress', lines[0], at);
    put(target, 'ResidenceAddress2', lines[1], at);
  }
  const places = placeNames(address, at);
  putPlace(target, 'County', places.get('County'));
  putPlace(
    target,
    'ResidenceCity',
    places.get('MunicipalJurisdiction') ?? places.get('USPSCommunity') ?? places.get(''),
  );
  put(target, 'ResidenceState', address.StateName, `${at}/StateName`);
  put(target, 'ResidenceZip', address.ZipCode, `${at}/ZipCode`);
  put(target, 'ResidenceZipPlus4', address.ZipPlus4, `${at}/ZipPlus4`);
  put(target, 'ResidenceCountry', address.CountryName, `${at}/CountryName`);
}

function flattenMailing(target: Flattening, address: VriAddress, at: string): void {
  const lines = THOROUGHFARE_TYPES.includes(address['@type'])
    ? ([
        joinWords(STREET_PARTS.map(([column]) => streetParts(address)[column])),
        subaddressText(address.CompleteSubaddress?.SubaddressElement ?? []),
      ] as const)
    : otherAddressLines(address);
  if (!lines) {
    unsupportedAddress(target, 'MailingAddress1', address, at);
    return;
  }
  put(target, 'MailingAddress1', lines[0], at);
  put(target, 'MailingAddress2', lines[1], at);
  const places = placeNames(address, at);
  // Mail goes by the postal community name first.
  putPlace(
    target,
    'MailingCity',
    places.get('USPSCommunity') ?? places.get('MunicipalJurisdiction') ?? places.get(''),
  );
  put(target, 'MailingState', address.StateName, `${at}/StateName`);
  put(target, 'MailingZip', address.ZipCode, `${at}/ZipCode`);
  put(target, 'MailingZipPlus4', address.ZipPlus4, `${at}/ZipPlus4`);
  put(target, 'MailingCountry', address.CountryName, `${at}/CountryName`);
}

// ---------------------------------------------------------------------------------------------
// The layout

let cachedLayout: VoterLayout | undefined;

/**
 * The `nist-vri` pseudo-layout (policies/nist-vri.json): the columns records are flattened into,
 * with their classes. Its column names are {@link VRI_COLUMNS}, in that order.
 * @throws LayoutError LAYOUT_INVALID if the shipped policy file is broken (a packaging bug)
 */
export function loadVriLayout(): VoterLayout {
  if (cachedLayout) return cachedLayout;
  const layout = parseLayout(
    JSON.parse(readFileSync(new URL('./policies/nist-vri.json', import.meta.url), 'utf8')),
    'nist-vri.json',
  );
  const names = layout.columns.map((column) => column.name);
  assert(
    names.length === VRI_COLUMNS.length && names.every((name, i) => name === VRI_COLUMNS[i]),
    'policies/nist-vri.json does not list VRI_COLUMNS in order',
  );
  cachedLayout = layout;
  return layout;
}

// ---------------------------------------------------------------------------------------------
// Export

/** Values of one voter by `nist-vri` column; absent or '' means none. */
export type VriFieldValues = Readonly<Partial<Record<VriColumn, string>>>;

/**
 * A voter to export. Public-class values go in `publicFields`; values the requesting official's
 * role may see beyond those (date of birth, contact, identifiers, or the address of a voter
 * whose record is confidential) go in `confidentialFields`. Protected attributes (gender,
 * ethnicity) are never exported and may appear in neither.
 */
export interface VriExportRecord {
  readonly publicFields: VriFieldValues;
  readonly confidentialFields?: VriFieldValues;
}

/** What an export may contain. */
export const VRI_EXPORT_CONTENTS = ['public', 'public-and-confidential'] as const;

/** One of {@link VRI_EXPORT_CONTENTS}. */
export type VriExportContents = (typeof VRI_EXPORT_CONTENTS)[number];

/** Options of {@link toVriDocument}. */
export interface VriExportOptions {
  /**
   * `public`: the lawful public extract; `confidentialFields` are ignored. `public-and-confidential`:
   * for an official whose role may see confidential fields (the caller checks the role and logs
   * the access).
   */
  readonly contents: VriExportContents;
  readonly transactionId?: string;
}

/** A JSON value as the export writes it. */
export type VriJson =
  string | boolean | readonly VriJson[] | { readonly [member: string]: VriJson | undefined };

/** The exported document. */
export interface VriVoterRecordResults {
  readonly '@type': 'VRI.VoterRecordResults';
  readonly TransactionId?: string;
  readonly VoterRecord: readonly { readonly [member: string]: VriJson | undefined }[];
}

/**
 * Splits a row of the `nist-vri` layout (as {@link parseVriDocument} yields it) into an export
 * record by the layout's classes; protected values are dropped.
 */
export function toVriExportRecord(fields: readonly string[]): VriExportRecord {
  const publicFields: Partial<Record<VriColumn, string>> = {};
  const confidentialFields: Partial<Record<VriColumn, string>> = {};
  loadVriLayout().columns.forEach((column, i) => {
    const name = VRI_COLUMNS[i];
    const value = fields[i] ?? '';
    if (name === undefined || value === '') return;
    if (column.class === 'public') publicFields[name] = value;
    else if (column.class === 'confidential') confidentialFields[name] = value;
  });
  return { publicFields, confidentialFields };
}

function columnClasses(): ReadonlyMap<string, FieldClass> {
  return new Map(loadVriLayout().columns.map((column) => [column.name, column.class]));
}

function mergeExportFields(
  record: VriExportRecord,
  index: number,
  contents: VriExportContents,
  classes: ReadonlyMap<string, FieldClass>,
): VriRow {
  const row = emptyRow();
  const take = (values: VriFieldValues, source: 'publicFields' | 'confidentialFields'): void => {
    for (const [column, value] of Object.entries(values) as [string, unknown][]) {
      const cls = classes.get(column);
      const where = `record ${index + 1} ${source}.${column}`;
      if (cls === undefined) {
        throw new VriError(
          'VRI_EXPORT_INVALID',
          `Cannot export ${where}: not a column of layout "nist-vri"`,
        );
      }
      // A misfiled value is refused, not dropped: it points at a classification bug upstream.
      if (cls === 'protected' || (source === 'publicFields' && cls !== 'public')) {
        throw new VriError(
          'VRI_EXPORT_FIELD_FORBIDDEN',
          `Cannot export ${where}: the column is ${cls} and may not be in ${source === 'publicFields' ? 'the public fields' : 'any export'}`,
        );
      }
      if (value === undefined) continue;
      if (typeof value !== 'string') {
        throw new VriError('VRI_EXPORT_INVALID', `Cannot export ${where}: not a string`);
      }
      const text = value.trim();
      const problem = valueProblem(text);
      if (problem)
        throw new VriError('VRI_EXPORT_INVALID', `Cannot export ${where}: it ${problem}`);
      if (text !== '') row[column as VriColumn] = text;
    }
  };
  take(record.publicFields, 'publicFields');
  if (contents === 'public-and-confidential' && record.confidentialFields) {
    take(record.confidentialFields, 'confidentialFields');
  }
  return row;
}

type JsonMembers = { [member: string]: VriJson | undefined };

/** Members with a value only: VRI writes absent data as absent members. */
function members(entries: Readonly<Record<string, VriJson | undefined>>): JsonMembers {
  const out: JsonMembers = {};
  for (const [key, value] of Object.entries(entries)) {
    if (value === undefined || value === '') continue;
    if (Array.isArray(value) && value.length === 0) continue;
    out[key] = value;
  }
  return out;
}

function text(type: string, value: string): VriJson | undefined {
  return value === '' ? undefined : { '@type': type, Value: value };
}

function placeName(type: string, value: string): VriJson[] {
  return value === ''
    ? []
    : [{ '@type': 'addr_type.PlaceName_type', PlaceNameType: type, Value: value }];
}

function completePlaceName(places: VriJson[]): VriJson | undefined {
  return places.length === 0
    ? undefined
    : { '@type': 'addr_type.CompletePlaceName_type', PlaceName: places };
}

function subaddress(elements: readonly (readonly [string, string])[]): VriJson | undefined {
  return elements.length === 0
    ? undefined
    : {
        '@type': 'addr_type.CompleteSubaddress_type',
        SubaddressElement: elements.map(([type, identifier]) => ({
          '@type': 'addr_type.SubaddressElement_type',
          ...(type === '' ? {} : { SubaddressType: type }),
          // Required by the schema even when empty.
          SubaddressIdentifier: identifier,
        })),
      };
}

function residenceJson(row: VriRow): VriJson {
  const places = completePlaceName([
    ...placeName('MunicipalJurisdiction', row.ResidenceCity),
    ...placeName('County', row.County),
  ]);
  const tail = {
    StateName: row.ResidenceState,
    ZipCode: row.ResidenceZip,
    ZipPlus4: row.ResidenceZipPlus4,
    CountryName: row.ResidenceCountry,
  };
  const unit: [string, string][] = [];
  if (
    row.ResidenceUnitType !== '' ||
    row.ResidenceUnitNumber !== '' ||
    row.ResidenceAddress2 !== ''
  ) {
    unit.push([row.ResidenceUnitType, row.ResidenceUnitNumber]);
  }
  if (row.ResidenceAddress2 !== '') unit.push(['', row.ResidenceAddress2]);
  const hasStreet = STREET_PARTS.some(([column]) => row[column] !== '');
  if (!hasStreet && row.ResidenceUnitType === '' && row.ResidenceUnitNumber === '') {
    // No street parts: a free-form address (possibly empty: a voter whose address may not be
    // exported still needs the ResidenceAddress the schema requires).
    return members({
      '@type': 'addr.GeneralAddressClass_type',
      CompletePlaceName: places,
      GeneralAddress: [row.ResidenceAddress, row.ResidenceAddress2].filter((l) => l).join('\n'),
      ...tail,
    });
  }
  const numbered =
    row.ResidenceAddressNumberPrefix !== '' ||
    row.ResidenceAddressNumber !== '' ||
    row.ResidenceAddressNumberSuffix !== '';
  return members({
    '@type': numbered
      ? 'addr.NumberedThoroughfareAddress_type'
      : 'addr.UnnumberedThoroughfareAddress_type',
    CompleteAddressNumber: numbered
      ? members({
          '@type': 'addr_type.CompleteAddressNumber_type',
          AddressNumberPrefix: text(
            'addr_type.AddressNumberPrefix_type',
            row.ResidenceAddressNumberPrefix,
          ),
          AddressNumber: row.ResidenceAddressNumber,
          AddressNumberSuffix: text(
            'addr_type.AddressNumberSuffix_type',
            row.ResidenceAddressNumberSuffix,
          ),
        })
      : undefined,
    CompleteStreetName: {
      ...members({
        '@type': 'addr_type.CompleteStreetName_type',
        StreetNamePreModifier: text(
          'addr_type.StreetNamePreModifier_type',
          row.ResidenceStreetPreModifier,
        ),
        StreetNamePreDirectional: text(
          'addr_type.StreetNamePreDirectional_type',
          row.ResidenceStreetPreDirectional,
        ),
        StreetNamePreType: text('addr_type.StreetNamePreType_type', row.ResidenceStreetPreType),
        StreetNamePostType: text('addr_type.StreetNamePreType_type', row.ResidenceStreetPostType),
        StreetNamePostDirectional: text(
          'addr_type.StreetNamePreDirectional_type',
          row.ResidenceStreetPostDirectional,
        ),
        StreetNamePostModifier: text(
          'addr_type.StreetNamePreModifier_type',
          row.ResidenceStreetPostModifier,
        ),
      }),
      // Required by the schema even when empty.
      StreetName: row.ResidenceStreetName,
    },
    CompleteSubaddress: subaddress(unit),
    CompletePlaceName1: places,
    ...tail,
  });
}

function mailingJson(row: VriRow): VriJson | undefined {
  const any = [
    row.MailingAddress1,
    row.MailingAddress2,
    row.MailingCity,
    row.MailingState,
    row.MailingZip,
    row.MailingZipPlus4,
    row.MailingCountry,
  ].some((value) => value !== '');
  if (!any) return undefined;
  // Mailing addresses are kept as lines, so they go out as the free-form class, one line each.
  return members({
    '@type': 'addr.GeneralAddressClass_type',
    CompletePlaceName: completePlaceName(placeName('USPSCommunity', row.MailingCity)),
    GeneralAddress: [row.MailingAddress1, row.MailingAddress2].filter((l) => l).join('\n'),
    StateName: row.MailingState,
    ZipCode: row.MailingZip,
    ZipPlus4: row.MailingZipPlus4,
    CountryName: row.MailingCountry,
  });
}

const EXPORTED_VOTER_IDS = [
  ['VoterId', 'state-voter-registration-id'],
  ['LocalVoterId', 'local-voter-registration-id'],
  ['DriversLicense', 'drivers-license'],
  ['StateId', 'state-id'],
  ['SSN4', 'ssn4'],
] as const satisfies readonly (readonly [VriColumn, string])[];

const VOTER_STATUSES = ['active', 'inactive', 'other'];

function voterRecordJson(row: VriRow): { [member: string]: VriJson | undefined } {
  const contacts: VriJson[] = [];
  if (row.Phone !== '')
    contacts.push({ '@type': 'VRI.ContactMethod', Type: 'phone', Value: row.Phone });
  if (row.Email !== '')
    contacts.push({ '@type': 'VRI.ContactMethod', Type: 'email', Value: row.Email });
  const ids: VriJson[] = EXPORTED_VOTER_IDS.filter(([column]) => row[column] !== '').map(
    ([column, type]) => ({ '@type': 'VRI.VoterId', Type: type, StringValue: row[column] }),
  );
  const voter = members({
    '@type': 'VRI.Voter',
    ContactMethod: contacts,
    DateOfBirth: row.DateOfBirth,
    MailingAddress: mailingJson(row),
    Name: members({
      '@type': 'VRI.Name',
      Prefix: row.NamePrefix,
      FirstName: row.FirstName,
      MiddleName: row.MiddleName === '' ? undefined : [row.MiddleName],
      LastName: row.LastName,
      Suffix: row.Suffix,
    }),
    Party:
      row.Party === '' && row.PartyAbbreviation === ''
        ? undefined
        : {
            ...members({ '@type': 'VRI.Party', Abbreviation: row.PartyAbbreviation }),
            Name: row.Party,
          },
    ResidenceAddress: residenceJson(row),
    VoterId: ids,
  });
  // A status outside the VRI list (a state's own code) travels as "other" with its text.
  const known = VOTER_STATUSES.includes(row.VoterStatus);
  const status = known ? row.VoterStatus : row.VoterStatus === '' ? '' : 'other';
  const otherStatus = known ? row.OtherVoterStatus : row.OtherVoterStatus || row.VoterStatus;
  const precinct =
    row.Precinct === '' && row.PrecinctName === ''
      ? []
      : [
          members({
            '@type': 'VRI.ReportingUnit',
            Type: 'precinct',
            Name: row.PrecinctName,
            ExternalIdentifier:
              row.Precinct === ''
                ? undefined
                : [{ '@type': 'VRI.ExternalIdentifier', Type: 'local-level', Value: row.Precinct }],
          }),
        ];
  return members({
    '@type': 'VRI.VoterRecord',
    Locality: precinct,
    OtherStatus: otherStatus,
    PollingLocation:
      row.PollingPlace === ''
        ? undefined
        : { '@type': 'VRI.ReportingUnit', Type: 'polling-place', Name: row.PollingPlace },
    Voter: voter,
    VoterStatus: status,
  });
}

/**
 * Writes voter records as a VRI.VoterRecordResults document (the bulk response of SP 1500-102)
 * and validates it against the VRI JSON schema before returning it. With `contents: 'public'`
 * the document holds public-class values only; protected attributes are never written.
 * `JSON.stringify` the result to send it.
 * @throws VriError VRI_EXPORT_FIELD_FORBIDDEN (a confidential column among the public fields, or
 *   a protected column anywhere), VRI_EXPORT_INVALID (an unknown column, a value with control
 *   characters or too long, or a value the schema refuses such as a date of birth that is not
 *   YYYY-MM-DD; the message names the JSON pointer)
 */
export function toVriDocument(
  records: readonly VriExportRecord[],
  options: VriExportOptions,
): VriVoterRecordResults {
  const classes = columnClasses();
  const document: VriVoterRecordResults = {
    '@type': 'VRI.VoterRecordResults',
    ...(options.transactionId === undefined || options.transactionId === ''
      ? {}
      : { TransactionId: options.transactionId }),
    VoterRecord: records.map((record, i) =>
      voterRecordJson(mergeExportFields(record, i, options.contents, classes)),
    ),
  };
  const ajv = exportValidators();
  const validate = definition(ajv, 'VRI.VoterRecordResults');
  if (!validate(document)) {
    const problem = explainSchemaError(ajv, validate.errors ?? [], '');
    throw new VriError(
      'VRI_EXPORT_INVALID',
      `Cannot export voter records as VRI: ${JSON.stringify(problem.pointer)} ${problem.message}`,
      { pointer: problem.pointer },
    );
  }
  return document;
}
