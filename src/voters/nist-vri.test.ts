import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import AjvModule from 'ajv-draft-04';
import addFormatsModule from 'ajv-formats';
import { afterAll, describe, expect, it } from 'vitest';
import { formatDelimitedRow, parseDelimitedLine } from './delimited.ts';
import { checkFields, layoutDialect, MINIMUM_CLASS } from './layout.ts';
import {
  DEFAULT_MAX_VRI_BYTES,
  loadVriLayout,
  normaliseVriDate,
  parseVriDocument,
  readVriRecords,
  toVriDocument,
  toVriExportRecord,
  VRI_COLUMNS,
  VriError,
} from './nist-vri.ts';
import type { VriColumn, VriDocument, VriRecordOutcome } from './nist-vri.ts';

const FIXTURES = new URL('../../test/fixtures/voters/nist-vri/', import.meta.url);
const OHIO_PATH = fileURLToPath(new URL('ohio_registration.json', FIXTURES));
const RESULTS_PATH = fileURLToPath(new URL('voter-record-results.json', FIXTURES));
const OHIO_TEXT = readFileSync(OHIO_PATH, 'utf8');
const SCHEMA_TEXT = readFileSync(new URL('./data/nist-vri-schema.json', import.meta.url), 'utf8');

const dir = mkdtempSync(join(tmpdir(), 'vri-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/**
 * An Ajv of our own, with the standard formats (RFC 3339 full-date), compiled from the root of
 * the schema: exports are checked independently of the module's own validators.
 */
const standardValidate = (() => {
  const ajv = new AjvModule.default({ allErrors: true, strict: false });
  addFormatsModule.default(ajv);
  return ajv.compile(JSON.parse(SCHEMA_TEXT) as object);
})();

function expectSchemaValid(document: unknown): void {
  const valid = standardValidate(document);
  expect(standardValidate.errors ?? []).toEqual([]);
  expect(valid).toBe(true);
}

type Json = Record<string, unknown>;

function ohio(): Json {
  return JSON.parse(OHIO_TEXT) as Json;
}

/** NIST's example is a new registration, so it has no state id yet: we give it one. */
function ohioWithStateId(): Json {
  const document = ohio();
  const subject = document['Subject'] as { VoterId: Json[] };
  subject.VoterId.push({
    '@type': 'VRI.VoterId',
    Type: 'state-voter-registration-id',
    StringValue: 'OH-SYNTH-1',
  });
  return document;
}

function named(fields: readonly string[]): Partial<Record<VriColumn, string>> {
  const out: Partial<Record<VriColumn, string>> = {};
  VRI_COLUMNS.forEach((column, i) => {
    const value = fields[i] ?? '';
    if (value !== '') out[column] = value;
  });
  return out;
}

function fieldsOf(outcome: VriRecordOutcome | undefined): string[] {
  expect(outcome?.kind).toBe('fields');
  return outcome?.kind === 'fields' ? outcome.fields : [];
}

function issueOf(outcome: VriRecordOutcome | undefined): unknown {
  expect(outcome?.kind).toBe('issue');
  return outcome?.kind === 'issue' ? outcome.issue : undefined;
}

function vriError(run: () => unknown): VriError {
  try {
    run();
  } catch (error: unknown) {
    expect(error).toBeInstanceOf(VriError);
    return error as VriError;
  }
  throw new Error('Expected a VriError');
}

async function vriErrorAsync(run: () => Promise<unknown>): Promise<VriError> {
  try {
    await run();
  } catch (error: unknown) {
    expect(error).toBeInstanceOf(VriError);
    return error as VriError;
  }
  throw new Error('Expected a VriError');
}

async function collect(path: string, maxBytes?: number): Promise<VriRecordOutcome[]> {
  const out: VriRecordOutcome[] = [];
  for await (const record of readVriRecords(path, maxBytes === undefined ? {} : { maxBytes })) {
    out.push(record);
  }
  return out;
}

function reparse(document: unknown): VriDocument {
  return parseVriDocument(JSON.stringify(document), 'export.json');
}

const OHIO_FIELDS = {
  VoterId: 'OH-SYNTH-1',
  County: '78',
  LastName: 'DOE',
  FirstName: 'JANE',
  MiddleName: 'A',
  DateOfBirth: '1993-11-12',
  ResidenceAddress: '3818 BELMONT AVE',
  ResidenceAddressNumber: '3818',
  ResidenceStreetName: 'BELMONT',
  ResidenceStreetPostType: 'AVE',
  ResidenceCity: 'YOUNGSTOWN',
  ResidenceState: 'OH',
  ResidenceZip: '44505',
  MailingAddress1: '2299 E STATE ST',
  MailingCity: 'SALEM',
  MailingState: 'OH',
  MailingZip: '44460',
  Phone: '(330) 614-8004',
  Email: 'JDOE@TESTEMAIL.COM',
  DriversLicense: 'AA999888',
};

describe('the schema and the layout', () => {
  it('keep the content of NIST schema commit 9b01c03d7a7a', () => {
    const digest = createHash('sha256')
      .update(JSON.stringify(JSON.parse(SCHEMA_TEXT)))
      .digest('hex');
    expect(digest).toBe('0c1fe60b385f3614f7e8e9ea39d4f55d1463972c77ae54b3810c97e3b1b8457e');
  });

  it('lists VRI_COLUMNS in order with their classes', () => {
    const layout = loadVriLayout();
    expect(layout.id).toBe('nist-vri');
    expect(layout.columns.map((c) => c.name)).toEqual([...VRI_COLUMNS]);
    const classOf = (name: string): string | undefined =>
      layout.columns.find((c) => c.name === name)?.class;
    for (const name of ['DateOfBirth', 'Phone', 'Email', 'DriversLicense', 'StateId', 'SSN4']) {
      expect(classOf(name), name).toBe('confidential');
    }
    expect(classOf('Gender')).toBe('protected');
    expect(classOf('Ethnicity')).toBe('protected');
    const rank = { public: 0, confidential: 1, protected: 2 } as const;
    for (const column of layout.columns) {
      const minimum = MINIMUM_CLASS[column.role];
      if (minimum) expect(rank[column.class]).toBeGreaterThanOrEqual(rank[minimum]);
    }
    expect(layout.columns.find((c) => c.role === 'voterId')?.name).toBe('VoterId');
  });
});

describe('normaliseVriDate', () => {
  it('accepts the dates of NIST examples and keeps the calendar day', () => {
    expect(normaliseVriDate('1993-11-12')).toBe('1993-11-12');
    expect(normaliseVriDate('2017-7-30')).toBe('2017-07-30');
    expect(normaliseVriDate('1993-11-12T00:00:00')).toBe('1993-11-12');
    expect(normaliseVriDate('1993-11-12T23:30:00-05:00')).toBe('1993-11-12');
  });

  it('refuses days that do not exist and other shapes', () => {
    for (const value of ['2017-02-30', '2017-13-01', '2017-00-10', '17-1-1', '2017/01/01', '']) {
      expect(normaliseVriDate(value), value).toBeUndefined();
    }
    expect(normaliseVriDate('2024-02-29')).toBe('2024-02-29');
    expect(normaliseVriDate('2023-02-29')).toBeUndefined();
  });
});

describe('parseVriDocument', () => {
  it('quarantines NIST Ohio registration: it has no state voter registration id', () => {
    const document = parseVriDocument(OHIO_TEXT, 'ohio_registration.json');
    expect(document.type).toBe('VRI.VoterRecordsRequest');
    expect(document.transactionId).toBe('0bb1bfd7-4316-42be-99d5-9c9e3bb9ccc0');
    expect(document.records).toHaveLength(1);
    const record = document.records[0];
    expect(record?.line).toBe(1);
    expect(issueOf(record)).toEqual({
      field: 'VoterId',
      pointer: '/Subject/VoterId',
      code: 'VOTER_ID_MISSING',
      reason: 'The voter has no VoterId of Type "state-voter-registration-id" with a StringValue',
    });
    expect(JSON.parse(record?.raw ?? '')).toEqual(ohio());
  });

  it('flattens the Ohio registration once it has a state id', () => {
    const document = parseVriDocument(ohioWithStateId(), 'ohio.json');
    const fields = fieldsOf(document.records[0]);
    expect(fields).toHaveLength(VRI_COLUMNS.length);
    expect(named(fields)).toEqual(OHIO_FIELDS);
    // The flattened row passes the layout's own checks and writes as one delimited line.
    const layout = loadVriLayout();
    expect(checkFields(layout, fields)).toEqual([]);
    const line = formatDelimitedRow(fields, { ...layoutDialect(layout), quoteAll: false });
    expect(parseDelimitedLine(line, layoutDialect(layout))).toEqual({ ok: true, fields });
  });

  it('accepts bytes, a byte order mark and an already parsed value alike', () => {
    const text = JSON.stringify(ohioWithStateId());
    const expected = parseVriDocument(text, 'a.json').records;
    expect(parseVriDocument(Buffer.from(`\uFEFF${text}`), 'b.json').records).toEqual(expected);
    expect(parseVriDocument(`\uFEFF${text}`, 'c.json').records).toEqual(expected);
    expect(parseVriDocument(JSON.parse(text), 'd.json').records).toEqual(expected);
  });

  it('refuses a request that is not a registration', () => {
    const document = ohioWithStateId();
    document['Type'] = ['lookup'];
    const error = vriError(() => parseVriDocument(document, 'lookup.json'));
    expect(error.code).toBe('VRI_TYPE_UNSUPPORTED');
    expect(error.pointer).toBe('/Type');
  });

  it('drops a voter id attested as absent and keeps only the last four digits of an SSN', () => {
    const document = ohioWithStateId();
    const ids = (document['Subject'] as { VoterId: Json[] }).VoterId;
    ids.push({ '@type': 'VRI.VoterId', Type: 'ssn', StringValue: '000-00-4321' });
    const fields = named(fieldsOf(parseVriDocument(document, 'ssn.json').records[0]));
    expect(fields.SSN4).toBe('4321');
    expect(JSON.stringify(fields)).not.toContain('000-00');
  });
});

describe('readVriRecords', () => {
  it('yields each VoterRecord of a results document, numbered from 1', async () => {
    const records = await collect(RESULTS_PATH);
    expect(records.map((r) => [r.line, r.kind])).toEqual([
      [1, 'fields'],
      [2, 'fields'],
      [3, 'issue'],
      [4, 'fields'],
    ]);
    expect(named(fieldsOf(records[0]))).toEqual({
      VoterId: 'SVR-000101',
      LocalVoterId: 'L-77',
      County: '25',
      LastName: 'ROE',
      FirstName: 'RICHARD',
      MiddleName: 'ROE Q',
      Suffix: 'JR',
      DateOfBirth: '1970-01-02',
      ResidenceAddress: '120 1/2 N EXAMPLE ST',
      ResidenceAddressNumber: '120',
      ResidenceAddressNumberSuffix: '1/2',
      ResidenceStreetPreDirectional: 'N',
      ResidenceStreetName: 'EXAMPLE',
      ResidenceStreetPostType: 'ST',
      ResidenceUnitType: 'BLDG',
      ResidenceUnitNumber: '5',
      ResidenceAddress2: 'APT 2B',
      ResidenceCity: 'SAMPLEVILLE',
      ResidenceState: 'OH',
      ResidenceZip: '43004',
      ResidenceZipPlus4: '0001',
      Party: 'Independent',
      PartyAbbreviation: 'IND',
      VoterStatus: 'active',
      Precinct: '25-001-A',
      PrecinctName: 'SAMPLEVILLE 1-A',
      PollingPlace: 'SAMPLEVILLE LIBRARY',
      Phone: '555-0142',
      Email: 'rroe@example.org',
      SSN4: '1234',
    });
    expect(named(fieldsOf(records[1]))).toEqual({
      VoterId: 'SVR-000102',
      LastName: 'DOE',
      FirstName: 'JOHN',
      DateOfBirth: '1985-06-30',
      ResidenceAddress: 'FARM AT END OF EXAMPLE LANE',
      ResidenceAddress2: 'BEHIND THE RED BARN',
      ResidenceCity: 'SAMPLE TOWNSHIP',
      ResidenceState: 'OH',
      MailingAddress1: 'PO BOX 42',
      MailingCity: 'SAMPLEVILLE',
      MailingState: 'OH',
      MailingZip: '43004',
      VoterStatus: 'other',
      OtherVoterStatus: 'pending verification',
    });
    expect(issueOf(records[2])).toEqual({
      field: 'VoterId',
      pointer: '/VoterRecord/2/Voter/VoterId',
      code: 'VOTER_ID_MISSING',
      reason: 'The voter has no VoterId of Type "state-voter-registration-id" with a StringValue',
    });
    expect(JSON.parse(records[2]?.raw ?? '')).toMatchObject({
      Voter: { Name: { LastName: 'POE' } },
    });
    expect(named(fieldsOf(records[3]))).toEqual({
      VoterId: 'SVR-000104',
      NamePrefix: 'DR',
      LastName: 'ROE',
      FirstName: 'ALEX',
      Gender: 'F',
      Ethnicity: 'not reported',
      ResidenceAddress: 'HIGHWAY 12',
      ResidenceStreetPreType: 'HIGHWAY',
      ResidenceStreetName: '12',
      ResidenceCity: 'SAMPLEVILLE',
      ResidenceState: 'OH',
      ResidenceZip: '43004',
      ResidenceCountry: 'US',
      StateId: 'SID-9',
      SSN4: '5678',
    });
  });

  it('refuses a missing file, a directory and a file over the limit before parsing it', async () => {
    expect((await vriErrorAsync(() => collect(join(dir, 'absent.json')))).code).toBe(
      'VRI_UNREADABLE',
    );
    expect((await vriErrorAsync(() => collect(dir))).code).toBe('VRI_UNREADABLE');
    const big = join(dir, 'big.json');
    writeFileSync(big, '');
    truncateSync(big, DEFAULT_MAX_VRI_BYTES + 1); // sparse: costs no disk
    const error = await vriErrorAsync(() => collect(big));
    expect(error.code).toBe('VRI_TOO_LARGE');
    expect(error.file).toBe(big);
    expect((await vriErrorAsync(() => collect(RESULTS_PATH, 1000))).code).toBe('VRI_TOO_LARGE');
  });

  it('refuses a delimited voter file without quoting any of it', async () => {
    const path = join(dir, 'voters.csv');
    writeFileSync(path, 'VoterId,LastName\nSVR-1,DOE\n');
    const error = await vriErrorAsync(() => collect(path));
    expect(error.code).toBe('VRI_NOT_JSON');
    expect(error.message).toBe(`Cannot parse VRI document "${path}" as JSON`);
    expect(error.message).not.toContain('DOE');
  });
});

describe('bad documents', () => {
  it('names the line and column of a JSON syntax error', () => {
    const error = vriError(() =>
      parseVriDocument('{\n  "@type": "VRI.VoterRecordResults",\n  x}', 'bad.json'),
    );
    expect(error.code).toBe('VRI_NOT_JSON');
    expect([error.line, error.column]).toEqual([3, 3]);
    expect(error.message).toBe('Cannot parse VRI document "bad.json" as JSON at line 3 column 3');
  });

  it('refuses bytes that are not UTF-8 and empty files', () => {
    const latin1 = Buffer.from(
      '{"@type": "VRI.VoterRecordResults", "TransactionId": "caf\xe9"}',
      'latin1',
    );
    expect(vriError(() => parseVriDocument(latin1, 'latin1.json')).code).toBe('VRI_NOT_JSON');
    const empty = vriError(() => parseVriDocument('', 'empty.json'));
    expect(empty.code).toBe('VRI_NOT_JSON');
    expect(empty.message).toBe('Cannot parse VRI document "empty.json" as JSON: the file is empty');
    const cut = vriError(() => parseVriDocument(OHIO_TEXT.slice(0, 500), 'cut.json'));
    expect(cut.code).toBe('VRI_NOT_JSON');
    expect(cut.message).toBe(
      'Cannot parse VRI document "cut.json" as JSON: the text ends too early',
    );
  });

  it('refuses an oversized document before parsing it', () => {
    const text = JSON.stringify(ohioWithStateId());
    const error = vriError(() => parseVriDocument(text, 'ohio.json', { maxBytes: 100 }));
    expect(error.code).toBe('VRI_TOO_LARGE');
    expect(error.message).toBe(
      `Cannot import VRI document "ohio.json": ${Buffer.byteLength(text)} bytes, more than the limit of 100`,
    );
  });

  it('refuses more records than the limit before validating them', () => {
    const records = Array.from({ length: 3 }, () => ({}));
    const error = vriError(() =>
      parseVriDocument({ '@type': 'VRI.VoterRecordResults', VoterRecord: records }, 'many.json', {
        maxRecords: 2,
      }),
    );
    expect([error.code, error.pointer]).toEqual(['VRI_TOO_LARGE', '/VoterRecord']);
  });

  it('refuses a wrong or missing root @type', () => {
    for (const [value, code, pointer] of [
      [{ ...ohio(), '@type': 'VRI.Voter' }, 'VRI_TYPE_INVALID', '/@type'],
      [{ ...ohio(), '@type': 'NIST.VoterRecordsRequest' }, 'VRI_TYPE_INVALID', '/@type'],
      [{ Subject: {} }, 'VRI_TYPE_INVALID', '/@type'],
      [[ohio()], 'VRI_TYPE_INVALID', ''],
      ['"text"', 'VRI_TYPE_INVALID', ''],
      [{ '@type': 'VRI.RequestAcknowledgement' }, 'VRI_TYPE_UNSUPPORTED', '/@type'],
      [{ '@type': 'VRI.RequestRejection' }, 'VRI_TYPE_UNSUPPORTED', '/@type'],
    ] as const) {
      const error = vriError(() => parseVriDocument(value, 'x.json'));
      expect([error.code, error.pointer], JSON.stringify(value).slice(0, 60)).toEqual([
        code,
        pointer,
      ]);
    }
  });

  /** A change to NIST's example and the pointer and message it must produce. */
  interface OhioShape {
    Type: unknown[];
    Subject: {
      DateOfBirth: unknown;
      Name?: Json;
      ResidenceAddress: { CompleteStreetName: Json };
      MailingAddress: Json;
      VoterId: Json[];
    };
  }
  const SCHEMA_CASES: readonly (readonly [string, (d: OhioShape) => void, string, string])[] = [
    ['a missing required member', (d) => delete d.Subject.Name, '/Subject/Name', 'is required'],
    [
      'a missing required member inside an address class',
      (d) => delete d.Subject.ResidenceAddress.CompleteStreetName['StreetName'],
      '/Subject/ResidenceAddress/CompleteStreetName/StreetName',
      'is required',
    ],
    [
      'an unknown address class',
      (d) => (d.Subject.MailingAddress['@type'] = 'addr.Bogus_type'),
      '/Subject/MailingAddress/@type',
      'must be one of "addr.CommunityAddress_type"',
    ],
    [
      'an address without @type',
      (d) => delete d.Subject.MailingAddress['@type'],
      '/Subject/MailingAddress/@type',
      'is required: one of "addr.CommunityAddress_type"',
    ],
    [
      'a member the schema does not list',
      (d) => (d.Subject.Name!['Nickname'] = 'JJ'),
      '/Subject/Name/Nickname',
      'is not a member allowed here',
    ],
    [
      'a value outside an enumeration',
      (d) => (d.Subject.VoterId[0]!['Type'] = 'passport'),
      '/Subject/VoterId/0/Type',
      'must be one of "drivers-license", "local-voter-registration-id"',
    ],
    [
      'a value of the wrong type',
      (d) => (d.Subject.Name!['FirstName'] = 5),
      '/Subject/Name/FirstName',
      'must be of type string',
    ],
    [
      'a day that does not exist',
      (d) => (d.Subject.DateOfBirth = '1993-02-30'),
      '/Subject/DateOfBirth',
      'must be a date as YYYY-MM-DD',
    ],
    ['an empty Type list', (d) => (d.Type = []), '/Type', 'must NOT have fewer than 1 items'],
  ];

  for (const [name, change, pointer, message] of SCHEMA_CASES) {
    it(`names the JSON pointer of ${name}`, () => {
      const document = ohioWithStateId();
      change(document as unknown as OhioShape);
      const error = vriError(() => parseVriDocument(document, 'ohio.json'));
      expect(error.code).toBe('VRI_SCHEMA_INVALID');
      expect(error.pointer).toBe(pointer);
      expect(error.message).toContain(`Invalid VRI document "ohio.json": "${pointer}" ${message}`);
      expect(error.file).toBe('ohio.json');
    });
  }

  it('never quotes a voter value in a schema error', () => {
    const document = ohioWithStateId();
    (document['Subject'] as Json)['Gender'] = ['SECRET-VALUE'];
    const error = vriError(() => parseVriDocument(document, 'ohio.json'));
    expect(error.pointer).toBe('/Subject/Gender');
    expect(error.message).not.toContain('SECRET-VALUE');
  });
});

describe('per-record issues', () => {
  function results(...voters: Json[]): Json {
    return {
      '@type': 'VRI.VoterRecordResults',
      VoterRecord: voters.map((voter) => ({ '@type': 'VRI.VoterRecord', Voter: voter })),
    };
  }

  function voter(id: string, extra: Json = {}): Json {
    return {
      '@type': 'VRI.Voter',
      Name: { '@type': 'VRI.Name', LastName: 'DOE' },
      ResidenceAddress: { '@type': 'addr.GeneralAddressClass_type', GeneralAddress: '1 MAIN ST' },
      VoterId: [{ '@type': 'VRI.VoterId', Type: 'state-voter-registration-id', StringValue: id }],
      ...extra,
    };
  }

  it('quarantine one record and keep the others', () => {
    const landmark = {
      '@type': 'addr.LandmarkAddress_type',
      CompleteLandmarkName: {
        '@type': 'addr_type.CompleteLandmarkName_type',
        LandmarkName: [{ '@type': 'addr_type.LandmarkName_type', Value: 'OLD MILL' }],
      },
    };
    const twoIds = voter('A-1');
    (twoIds['VoterId'] as Json[]).push({
      '@type': 'VRI.VoterId',
      Type: 'state-voter-registration-id',
      StringValue: 'A-2',
    });
    const document = parseVriDocument(
      results(
        voter('A-0'),
        voter('A-1', { Name: { '@type': 'VRI.Name', LastName: 'DOE\tX' } }),
        twoIds,
        voter('A-3', { ResidenceAddress: landmark }),
        voter('A-4', { MailingAddress: landmark }),
        voter('A-5', { Name: { '@type': 'VRI.Name', LastName: 'D'.repeat(1001) } }),
        voter('A-6'),
      ),
      'issues.json',
    );
    const outcomes = document.records.map((r) =>
      r.kind === 'fields' ? r.fields[0] : [r.issue.code, r.issue.field, r.issue.pointer],
    );
    expect(outcomes).toEqual([
      'A-0',
      ['VALUE_INVALID', 'LastName', '/VoterRecord/1/Voter/Name/LastName'],
      ['VOTER_ID_CONFLICT', 'VoterId', '/VoterRecord/2/Voter/VoterId/1/StringValue'],
      ['ADDRESS_UNSUPPORTED', 'ResidenceAddress', '/VoterRecord/3/Voter/ResidenceAddress/@type'],
      ['ADDRESS_UNSUPPORTED', 'MailingAddress1', '/VoterRecord/4/Voter/MailingAddress/@type'],
      ['VALUE_INVALID', 'LastName', '/VoterRecord/5/Voter/Name/LastName'],
      'A-6',
    ]);
    const tab = document.records[1];
    expect(tab?.kind === 'issue' && tab.issue.reason).toBe(
      'Value of "LastName" at "/VoterRecord/1/Voter/Name/LastName" holds a control character',
    );
  });

  it('accept the same state id twice', () => {
    const twice = voter('A-1');
    (twice['VoterId'] as Json[]).push({
      '@type': 'VRI.VoterId',
      Type: 'state-voter-registration-id',
      StringValue: ' A-1 ',
    });
    expect(fieldsOf(parseVriDocument(results(twice), 'x.json').records[0])[0]).toBe('A-1');
  });
});

describe('toVriDocument', () => {
  it('round-trips NIST Ohio registration: parse, export, validate, parse again', () => {
    const fields = fieldsOf(parseVriDocument(ohioWithStateId(), 'ohio.json').records[0]);
    const exported = toVriDocument([toVriExportRecord(fields)], {
      contents: 'public-and-confidential',
      transactionId: '0bb1bfd7-4316-42be-99d5-9c9e3bb9ccc0',
    });
    expectSchemaValid(exported);
    expect(exported['@type']).toBe('VRI.VoterRecordResults');
    expect(exported.TransactionId).toBe('0bb1bfd7-4316-42be-99d5-9c9e3bb9ccc0');
    const again = reparse(exported);
    expect(again.type).toBe('VRI.VoterRecordResults');
    expect(fieldsOf(again.records[0])).toEqual(fields);
  });

  it('round-trips every record of the results fixture except protected attributes', async () => {
    const rows = (await collect(RESULTS_PATH)).flatMap((r) =>
      r.kind === 'fields' ? [r.fields] : [],
    );
    expect(rows).toHaveLength(3);
    const exported = toVriDocument(rows.map(toVriExportRecord), {
      contents: 'public-and-confidential',
    });
    expectSchemaValid(exported);
    const again = reparse(exported).records.map(fieldsOf);
    const protectedColumns = new Set(['Gender', 'Ethnicity']);
    const withoutProtected = rows.map((row) =>
      row.map((value, i) => (protectedColumns.has(VRI_COLUMNS[i] ?? '') ? '' : value)),
    );
    expect(again).toEqual(withoutProtected);
    expect(JSON.stringify(exported)).not.toContain('not reported');
  });

  it('writes public-class fields only in a public extract', async () => {
    const rows = (await collect(RESULTS_PATH)).flatMap((r) =>
      r.kind === 'fields' ? [r.fields] : [],
    );
    const records = [
      ...rows,
      fieldsOf(parseVriDocument(ohioWithStateId(), 'ohio.json').records[0]),
    ].map(toVriExportRecord);
    const exported = toVriDocument(records, { contents: 'public' });
    expectSchemaValid(exported);
    const text = JSON.stringify(exported);
    for (const secret of [
      '1993-11',
      '1970-01',
      '555-01',
      'example.org',
      'TESTEMAIL',
      'AA999888',
      'SID-9',
      '5678',
      '1234',
    ]) {
      expect(text, secret).not.toContain(secret);
    }
    for (const member of [
      'DateOfBirth',
      'ContactMethod',
      'Gender',
      'Ethnicity',
      '"ssn4"',
      'drivers-license',
      'state-id"',
    ]) {
      expect(text, member).not.toContain(member);
    }
    const layout = loadVriLayout();
    for (const outcome of reparse(exported).records) {
      fieldsOf(outcome).forEach((value, i) => {
        if (value !== '') expect(layout.columns[i]?.class, VRI_COLUMNS[i]).toBe('public');
      });
    }
    expect(named(fieldsOf(reparse(exported).records[3]))).toEqual({
      VoterId: 'OH-SYNTH-1',
      County: '78',
      LastName: 'DOE',
      FirstName: 'JANE',
      MiddleName: 'A',
      ResidenceAddress: '3818 BELMONT AVE',
      ResidenceAddressNumber: '3818',
      ResidenceStreetName: 'BELMONT',
      ResidenceStreetPostType: 'AVE',
      ResidenceCity: 'YOUNGSTOWN',
      ResidenceState: 'OH',
      ResidenceZip: '44505',
      MailingAddress1: '2299 E STATE ST',
      MailingCity: 'SALEM',
      MailingState: 'OH',
      MailingZip: '44460',
    });
  });

  it('writes a voter whose address may not be exported with an empty residence', () => {
    const exported = toVriDocument([{ publicFields: { VoterId: 'V-1', LastName: 'DOE' } }], {
      contents: 'public',
    });
    expectSchemaValid(exported);
    expect(exported.VoterRecord[0]?.['Voter']).toEqual({
      '@type': 'VRI.Voter',
      Name: { '@type': 'VRI.Name', LastName: 'DOE' },
      ResidenceAddress: { '@type': 'addr.GeneralAddressClass_type' },
      VoterId: [
        { '@type': 'VRI.VoterId', Type: 'state-voter-registration-id', StringValue: 'V-1' },
      ],
    });
    expect(toVriDocument([], { contents: 'public' })).toEqual({
      '@type': 'VRI.VoterRecordResults',
      VoterRecord: [],
    });
  });

  it('sends a state status code outside the VRI list as "other" with its text', () => {
    const exported = toVriDocument(
      [{ publicFields: { VoterId: 'V-1', LastName: 'DOE', VoterStatus: 'CONFIRMATION' } }],
      { contents: 'public' },
    );
    expectSchemaValid(exported);
    expect(exported.VoterRecord[0]).toMatchObject({
      VoterStatus: 'other',
      OtherStatus: 'CONFIRMATION',
    });
  });

  it('round-trips a unit without a street and a second address line without a unit', () => {
    for (const publicFields of [
      { VoterId: 'V-1', LastName: 'DOE', ResidenceUnitType: 'LOT', ResidenceUnitNumber: '7' },
      {
        VoterId: 'V-2',
        LastName: 'DOE',
        ResidenceAddress: '5 ELM ST',
        ResidenceAddressNumber: '5',
        ResidenceStreetName: 'ELM',
        ResidenceStreetPostType: 'ST',
        ResidenceAddress2: 'REAR',
      },
      {
        VoterId: 'V-3',
        LastName: 'DOE',
        MailingAddress1: 'C/O A FRIEND',
        MailingAddress2: 'PO BOX 9',
      },
    ]) {
      const exported = toVriDocument([{ publicFields }], { contents: 'public' });
      expectSchemaValid(exported);
      expect(named(fieldsOf(reparse(exported).records[0]))).toEqual(publicFields);
    }
  });

  it('refuses misfiled classes instead of dropping them', () => {
    const dob = vriError(() =>
      toVriDocument([{ publicFields: { VoterId: 'V-1', DateOfBirth: '1990-01-01' } }], {
        contents: 'public',
      }),
    );
    expect(dob.code).toBe('VRI_EXPORT_FIELD_FORBIDDEN');
    expect(dob.message).toBe(
      'Cannot export record 1 publicFields.DateOfBirth: the column is confidential and may not be in the public fields',
    );
    const gender = vriError(() =>
      toVriDocument([{ publicFields: { VoterId: 'V-1' }, confidentialFields: { Gender: 'F' } }], {
        contents: 'public-and-confidential',
      }),
    );
    expect(gender.code).toBe('VRI_EXPORT_FIELD_FORBIDDEN');
    const unknown = vriError(() =>
      toVriDocument([{ publicFields: { Race: 'X' } as never }], { contents: 'public' }),
    );
    expect(unknown.code).toBe('VRI_EXPORT_INVALID');
  });

  it('ignores confidential fields in a public extract', () => {
    const exported = toVriDocument(
      [
        {
          publicFields: { VoterId: 'V-1', LastName: 'DOE' },
          confidentialFields: { Phone: '555-0100' },
        },
      ],
      { contents: 'public' },
    );
    expect(JSON.stringify(exported)).not.toContain('555-0100');
  });

  it('refuses values the schema or a later import would refuse', () => {
    const year = vriError(() =>
      toVriDocument(
        [
          {
            publicFields: { VoterId: 'V-1', LastName: 'DOE' },
            confidentialFields: { DateOfBirth: '1993' },
          },
        ],
        { contents: 'public-and-confidential' },
      ),
    );
    expect([year.code, year.pointer]).toEqual([
      'VRI_EXPORT_INVALID',
      '/VoterRecord/0/Voter/DateOfBirth',
    ]);
    expect(year.message).toBe(
      'Cannot export voter records as VRI: "/VoterRecord/0/Voter/DateOfBirth" must be a date as YYYY-MM-DD',
    );
    const control = vriError(() =>
      toVriDocument([{ publicFields: { VoterId: 'V-1', LastName: 'DOE\nX' } }], {
        contents: 'public',
      }),
    );
    expect(control.code).toBe('VRI_EXPORT_INVALID');
  });
});
