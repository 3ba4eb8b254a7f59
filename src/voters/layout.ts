/**
 * Voter-file layouts and field classification policies.
 *
 * A layout describes one state's delimited voter file (delimiter, quoting, header, encoding,
 * columns in order) and, for each column, its classification (`public`, `confidential`,
 * `protected`) and its role in our record model. Layouts are data: JSON files in `policies/`
 * for the states we ship, or a file an office writes for any other layout
 * (docs/voter-layouts.md). Every layout, shipped or not, goes through the same zod schema.
 *
 * Attacker-controlled input: user policy files (an office's own file, but read from disk as
 * outside text) and header lines of uploaded voter files. Policy files are parsed once with a
 * strict schema that refuses unknown keys and any policy that would publish a protected or
 * confidential attribute; header lines are only compared, never evaluated.
 */
import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { InputError } from '../basics/index.ts';
import { parseDelimitedLine, TEXT_ENCODINGS } from './delimited.ts';
import type { DelimitedDialect, TextEncodingName } from './delimited.ts';

/** Field classes of DESIGN.md, from the least to the most restricted. */
export const FIELD_CLASSES = ['public', 'confidential', 'protected'] as const;

/**
 * - `public`: a public record under the state's law; stored in clear, exportable.
 * - `confidential`: encrypted per record; shown only to roles that need it; never exported.
 * - `protected`: encrypted; never a filter, a sort key or an export column; statistics only as
 *   aggregates with small cells suppressed.
 */
export type FieldClass = (typeof FIELD_CLASSES)[number];

/** Roles of the residence address: either one street line or its parts (or both). */
export const RESIDENCE_ROLES = [
  'residenceAddress',
  'residenceAddress2',
  'houseNumber',
  'houseFraction',
  'streetPreDirection',
  'streetName',
  'streetType',
  'streetPostDirection',
  'unitType',
  'unitNumber',
  'residenceCity',
  'residenceState',
  'zip',
  'zipPlus4',
  'residenceCountry',
  'residencePostalCode',
] as const;

/** Roles of the mailing address. */
export const MAILING_ROLES = [
  'mailingAddressLine',
  'mailingCity',
  'mailingState',
  'mailingZip',
  'mailingZipPlus4',
  'mailingCountry',
  'mailingPostalCode',
] as const;

/** Roles of the ways to reach a voter. */
export const CONTACT_ROLES = ['phone', 'phoneAreaCode', 'phoneExtension', 'email'] as const;

/**
 * Roles of columns in the canonical voter record that the importer, store and lookup use.
 * Roles in {@link REPEATABLE_ROLES} may appear on several columns; every other role at most
 * once per layout.
 */
export const FIELD_ROLES = [
  // identity
  'voterId',
  'countyVoterId',
  'countyCode',
  'countyName',
  'namePrefix',
  'lastName',
  'firstName',
  'middleName',
  'nameSuffix',
  // birth
  'birthDate',
  'birthYear',
  'age',
  // residence: either one street line or its parts (or both)
  ...RESIDENCE_ROLES,
  // mail
  ...MAILING_ROLES,
  // where the voter votes
  'precinct',
  'precinctName',
  'precinctSplit',
  'pollingPlace',
  'district',
  // registration
  'status',
  'statusReason',
  'party',
  'registrationDate',
  'lastVotedDate',
  'voteHistory',
  // contact and identifiers
  ...CONTACT_ROLES,
  'driversLicense',
  'driversLicenseFlag',
  'ssn4',
  // protected attributes
  'race',
  'ethnicity',
  'gender',
  'birthState',
  'language',
  'disability',
  // record-level marker: the whole record is confidential (see `confidentialMarker`)
  'confidentialFlag',
  // anything else the file carries, and columns the state documents as not used
  'other',
  'unused',
] as const;

/** One of {@link FIELD_ROLES}. */
export type FieldRole = (typeof FIELD_ROLES)[number];

/** Roles that may label several columns of one layout. */
export const REPEATABLE_ROLES: readonly FieldRole[] = [
  'mailingAddressLine',
  'district',
  'voteHistory',
  'other',
  'unused',
];

/**
 * The least restricted class each sensitive role may have. A policy file may be stricter than
 * this (and stricter than the state's law), never looser: publishing race or a date of birth
 * cannot be configured by accident.
 */
export const MINIMUM_CLASS: Readonly<Partial<Record<FieldRole, FieldClass>>> = {
  birthDate: 'confidential',
  phone: 'confidential',
  phoneAreaCode: 'confidential',
  phoneExtension: 'confidential',
  email: 'confidential',
  driversLicense: 'confidential',
  ssn4: 'confidential',
  // Place of birth is a proxy for national origin.
  birthState: 'confidential',
  race: 'protected',
  ethnicity: 'protected',
  gender: 'protected',
  language: 'protected',
  disability: 'protected',
};

/** Roles whose columns hold dates and must declare their date formats. */
export const DATE_ROLES: readonly FieldRole[] = ['birthDate', 'registrationDate', 'lastVotedDate'];

/**
 * Date formats a column may use. `MM/DD/YYYY` wants two-digit month and day; `M/D/YYYY`
 * accepts one or two. `YYYY` carries the year only.
 */
export const DATE_FORMATS = ['YYYY-MM-DD', 'MM/DD/YYYY', 'M/D/YYYY', 'YYYYMMDD', 'YYYY'] as const;

/** One of {@link DATE_FORMATS}. */
export type DateFormat = (typeof DATE_FORMATS)[number];

/** Field delimiters by name, as policy files spell them. */
export const DELIMITERS = { tab: '\t', comma: ',', pipe: '|' } as const;

/** A name of {@link DELIMITERS}. */
export type DelimiterName = keyof typeof DELIMITERS;

/** How the file is written. */
export interface LayoutFormat {
  readonly delimiter: DelimiterName;
  /** `double`: fields may be enclosed in double quotes (RFC 4180); `none`: quotes are text. */
  readonly quote: 'none' | 'double';
  /** Writers quote every field, as the state does (only with `quote: 'double'`). */
  readonly quoteAll: boolean;
  readonly header: 'present' | 'absent';
  readonly encoding: TextEncodingName;
  /** Line ending writers use; readers accept LF and CRLF. */
  readonly lineEnding: 'lf' | 'crlf';
}

/** Codes a column may hold, with their meaning. */
export interface CodeList {
  /** `true`: any other non-empty value is an error; `false`: the list is what the docs name. */
  readonly closed: boolean;
  readonly values: Readonly<Record<string, string>>;
}

/** One column of the file, in file order. */
export interface LayoutColumn {
  /** Name as in the header (or the state's documentation when there is no header). */
  readonly name: string;
  readonly class: FieldClass;
  readonly role: FieldRole;
  /** A non-empty value is expected on every row. */
  readonly required: boolean;
  readonly description?: string;
  readonly maxLength?: number;
  /** Accepted formats, the first one being what writers produce. */
  readonly dateFormats?: readonly DateFormat[];
  readonly codes?: CodeList;
  /** Name of the column whose code this column spells out (NC `voter_status_desc`). */
  readonly labelOf?: string;
}

/** One county of the state and the code the file uses for it. */
export interface LayoutCounty {
  readonly code: string;
  /** Other spellings of the code seen in documentation or files. */
  readonly aliases?: readonly string[];
  /** Name as the file writes it in its county-name column, if it has one. */
  readonly name: string;
  /** Census 5-digit county FIPS code. */
  readonly fips: string;
}

/** Columns after the fixed ones whose names follow a pattern (Ohio's one column per election). */
export interface ExtraColumns {
  /** Regular expression matched against the whole header name. */
  readonly pattern: string;
  readonly class: FieldClass;
  readonly role: 'voteHistory' | 'other';
  readonly description?: string;
}

/** A column whose value makes the whole record confidential. */
export interface ConfidentialMarker {
  readonly column: string;
  /** Values (compared after trimming, case-insensitively) that mark the record. */
  readonly values: readonly string[];
}

/** A voter-file layout and its classification policy. */
export interface VoterLayout {
  /** Short id, e.g. `nc`, `nc-legacy`. */
  readonly id: string;
  readonly title: string;
  /** Two-letter postal code of the state, upper case. */
  readonly state: string;
  /** Where the layout comes from (document, version). */
  readonly source: string;
  readonly notes?: readonly string[];
  readonly format: LayoutFormat;
  readonly columns: readonly LayoutColumn[];
  readonly extraColumns?: ExtraColumns;
  readonly confidentialMarker?: ConfidentialMarker;
  /** The state's counties; when set, the `countyCode` column accepts only these codes. */
  readonly counties?: readonly LayoutCounty[];
}

/** Ids of the layouts shipped in `policies/`. */
export const SHIPPED_LAYOUT_IDS = ['nc', 'nc-legacy', 'oh', 'fl', 'wa'] as const;

/** One of {@link SHIPPED_LAYOUT_IDS}. */
export type ShippedLayoutId = (typeof SHIPPED_LAYOUT_IDS)[number];

/** Stable codes of layout failures. */
export const LAYOUT_ERROR_CODES = [
  'LAYOUT_NOT_FOUND',
  'LAYOUT_MALFORMED',
  'LAYOUT_INVALID',
  'LAYOUT_UNDETECTED',
] as const;

/** One of {@link LAYOUT_ERROR_CODES}. */
export type LayoutErrorCode = (typeof LAYOUT_ERROR_CODES)[number];

/** A layout file that cannot be used, or a header no layout matches. */
export class LayoutError extends InputError<LayoutErrorCode> {
  /** Path of the first offending field, e.g. `columns[3] ("race_code").class`. */
  readonly field: string | undefined;

  constructor(
    code: LayoutErrorCode,
    message: string,
    options: { readonly file?: string; readonly field?: string } = {},
  ) {
    super(code, message, options.file === undefined ? {} : { file: options.file });
    this.field = options.field;
  }
}

/** Longest column name a layout may declare or a header may match. */
const MAX_COLUMN_NAME = 128;

const NAME = z
  .string()
  .min(1)
  .max(MAX_COLUMN_NAME)
  .refine((s) => s.trim() === s && !/[\t\r\n"|,]/.test(s), {
    message: 'must not have surrounding spaces, tabs, line breaks, quotes, commas or pipes',
  });

const CodeListSchema: z.ZodType<CodeList> = z.strictObject({
  closed: z.boolean(),
  values: z.record(z.string().max(64), z.string().max(200)),
});

const LayoutColumnSchema: z.ZodType<LayoutColumn> = z.strictObject({
  name: NAME,
  class: z.enum(FIELD_CLASSES),
  role: z.enum(FIELD_ROLES),
  required: z.boolean().default(false),
  description: z.string().max(500).exactOptional(),
  maxLength: z.number().int().positive().max(100_000).exactOptional(),
  dateFormats: z.array(z.enum(DATE_FORMATS)).min(1).exactOptional(),
  codes: CodeListSchema.exactOptional(),
  labelOf: z.string().exactOptional(),
});

const LayoutCountySchema: z.ZodType<LayoutCounty> = z.strictObject({
  code: z.string().min(1).max(16),
  aliases: z.array(z.string().min(1).max(16)).exactOptional(),
  name: z.string().min(1).max(64),
  fips: z.string().regex(/^\d{5}$/, 'expected 5 digits'),
});

const FormatSchema: z.ZodType<LayoutFormat> = z.strictObject({
  delimiter: z.enum(['tab', 'comma', 'pipe']),
  quote: z.enum(['none', 'double']),
  quoteAll: z.boolean().default(false),
  header: z.enum(['present', 'absent']),
  encoding: z.enum(TEXT_ENCODINGS),
  lineEnding: z.enum(['lf', 'crlf']).default('lf'),
});

const CLASS_RANK: Readonly<Record<FieldClass, number>> = {
  public: 0,
  confidential: 1,
  protected: 2,
};

/** The zod schema of a policy file, bound to {@link VoterLayout}. */
export const VoterLayoutSchema: z.ZodType<VoterLayout> = z
  .strictObject({
    id: z
      .string()
      .regex(/^[a-z0-9][a-z0-9-]{0,31}$/, 'expected lower-case letters, digits and dashes'),
    title: z.string().min(1).max(200),
    state: z.string().regex(/^[A-Z]{2}$/, 'expected a two-letter upper-case postal code'),
    source: z.string().min(1).max(500),
    notes: z.array(z.string().max(1000)).exactOptional(),
    format: FormatSchema,
    columns: z.array(LayoutColumnSchema).min(1).max(1000),
    extraColumns: z
      .strictObject({
        pattern: z.string().min(1).max(200),
        class: z.enum(FIELD_CLASSES),
        role: z.enum(['voteHistory', 'other']),
        description: z.string().max(500).exactOptional(),
      })
      .exactOptional(),
    confidentialMarker: z
      .strictObject({ column: z.string(), values: z.array(z.string().min(1)).min(1) })
      .exactOptional(),
    counties: z.array(LayoutCountySchema).min(1).exactOptional(),
  })
  .superRefine((layout, ctx) => {
    const at = (path: (string | number)[], message: string): void => {
      ctx.addIssue({ code: 'custom', path, message });
    };
    const byName = new Map<string, LayoutColumn>();
    const roleAt = new Map<FieldRole, number>();
    layout.columns.forEach((column, i) => {
      const key = column.name.toLowerCase();
      if (byName.has(key)) at(['columns', i, 'name'], `duplicate column name "${column.name}"`);
      byName.set(key, column);
      if (!REPEATABLE_ROLES.includes(column.role)) {
        const first = roleAt.get(column.role);
        if (first !== undefined) {
          at(['columns', i, 'role'], `role "${column.role}" is already on column ${first + 1}`);
        } else {
          roleAt.set(column.role, i);
        }
      }
      const minimum = MINIMUM_CLASS[column.role];
      if (minimum && CLASS_RANK[column.class] < CLASS_RANK[minimum]) {
        at(
          ['columns', i, 'class'],
          `role "${column.role}" must be "${minimum}" or stricter, not "${column.class}"`,
        );
      }
      if (DATE_ROLES.includes(column.role) && !column.dateFormats) {
        at(['columns', i, 'dateFormats'], `role "${column.role}" needs dateFormats`);
      }
    });
    layout.columns.forEach((column, i) => {
      if (column.labelOf === undefined) return;
      const target = byName.get(column.labelOf.toLowerCase());
      if (!target || target === column) {
        at(['columns', i, 'labelOf'], `no other column is named "${column.labelOf}"`);
      } else if (!target.codes) {
        at(['columns', i, 'labelOf'], `column "${column.labelOf}" has no codes to spell out`);
      }
    });
    for (const role of ['voterId', 'lastName'] as const) {
      if (!roleAt.has(role)) at(['columns'], `no column has the role "${role}"`);
    }
    if (layout.format.quoteAll && layout.format.quote === 'none') {
      at(['format', 'quoteAll'], 'quoteAll needs quote "double"');
    }
    if (layout.confidentialMarker) {
      const column = byName.get(layout.confidentialMarker.column.toLowerCase());
      if (!column) {
        at(
          ['confidentialMarker', 'column'],
          `no column is named "${layout.confidentialMarker.column}"`,
        );
      } else if (column.role !== 'confidentialFlag') {
        at(
          ['confidentialMarker', 'column'],
          `column "${column.name}" must have the role "confidentialFlag"`,
        );
      }
    } else if (roleAt.has('confidentialFlag')) {
      at(
        ['confidentialMarker'],
        'a column has the role "confidentialFlag" but no confidentialMarker names it',
      );
    }
    if (layout.extraColumns) {
      if (layout.format.header === 'absent') {
        at(['extraColumns'], 'extra columns are matched by header name and need header "present"');
      }
      try {
        new RegExp(layout.extraColumns.pattern, 'u');
      } catch {
        at(['extraColumns', 'pattern'], 'not a valid regular expression');
      }
    }
    if (layout.counties) {
      const codes = new Set<string>();
      layout.counties.forEach((county, i) => {
        for (const code of [county.code, ...(county.aliases ?? [])]) {
          if (codes.has(code)) at(['counties', i, 'code'], `duplicate county code "${code}"`);
          codes.add(code);
        }
      });
    }
  });

/** Formats a zod issue path, naming columns, e.g. `columns[3] ("race_code").class`. */
function issuePath(path: readonly PropertyKey[], input: unknown): string {
  let out = '';
  let node: unknown = input;
  for (const key of path) {
    if (typeof key === 'number') {
      out += `[${key}]`;
      const item: unknown = Array.isArray(node) ? node[key] : undefined;
      const name =
        typeof item === 'object' && item !== null ? (item as { name?: unknown }).name : undefined;
      if (typeof name === 'string') out += ` (${JSON.stringify(name)})`;
      node = item;
    } else {
      const name = String(key);
      out += out === '' ? name : `.${name}`;
      node =
        typeof node === 'object' && node !== null
          ? (node as Record<string, unknown>)[name]
          : undefined;
    }
  }
  return out === '' ? '(top level)' : out;
}

/**
 * Validates a parsed policy object.
 * @param source names the file or origin in error messages
 * @throws LayoutError LAYOUT_INVALID naming the source and the first offending fields
 */
export function parseLayout(value: unknown, source: string): VoterLayout {
  const result = VoterLayoutSchema.safeParse(value);
  if (result.success) return result.data;
  const issues = result.error.issues
    .slice(0, 5)
    .map((issue) => `${issuePath(issue.path, value)}: ${issue.message}`);
  const more =
    result.error.issues.length > 5 ? ` (and ${result.error.issues.length - 5} more)` : '';
  const first = result.error.issues[0];
  throw new LayoutError(
    'LAYOUT_INVALID',
    `Invalid layout "${source}": ${issues.join('; ')}${more}`,
    {
      file: source,
      ...(first ? { field: issuePath(first.path, value) } : {}),
    },
  );
}

const shipped = new Map<string, VoterLayout>();

/**
 * Shipped layouts of interchange formats that are not delimited files (NIST SP 1500-102 JSON):
 * loadable by id, but not generated and not detected from a header.
 */
export const INTERCHANGE_LAYOUT_IDS = ['nist-vri'] as const;

/**
 * Loads a layout: a shipped id (`nc`, `nc-legacy`, `oh`, `fl`, `wa`, `nist-vri`) or the path of a policy
 * file. Shipped layouts are cached.
 * @throws LayoutError LAYOUT_NOT_FOUND, LAYOUT_MALFORMED (not JSON), LAYOUT_INVALID
 */
export function loadLayout(idOrPath: string): VoterLayout {
  const ids: readonly string[] = [...SHIPPED_LAYOUT_IDS, ...INTERCHANGE_LAYOUT_IDS];
  if (ids.includes(idOrPath)) {
    const cached = shipped.get(idOrPath);
    if (cached) return cached;
    const layout = readLayoutFile(
      new URL(`./policies/${idOrPath}.json`, import.meta.url),
      `${idOrPath}.json`,
    );
    shipped.set(idOrPath, layout);
    return layout;
  }
  return readLayoutFile(idOrPath, idOrPath);
}

function readLayoutFile(path: string | URL, name: string): VoterLayout {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error: unknown) {
    const code = (error as NodeJS.ErrnoException).code;
    const hint = /^[a-z0-9-]+$/.test(name)
      ? `; shipped layouts are ${SHIPPED_LAYOUT_IDS.map((id) => `"${id}"`).join(', ')}`
      : '';
    throw new LayoutError(
      'LAYOUT_NOT_FOUND',
      `Cannot read layout "${name}": ${code ?? 'unknown error'}${hint}`,
      {
        file: name,
      },
    );
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error: unknown) {
    throw new LayoutError(
      'LAYOUT_MALFORMED',
      `Cannot parse layout "${name}" as JSON: ${error instanceof Error ? error.message : 'syntax error'}`,
      { file: name },
    );
  }
  return parseLayout(value, name);
}

/** Every shipped layout, in {@link SHIPPED_LAYOUT_IDS} order. */
export function shippedLayouts(): readonly VoterLayout[] {
  return SHIPPED_LAYOUT_IDS.map((id) => loadLayout(id));
}

/** The delimiter and quoting of a layout, as {@link parseDelimitedLine} takes them. */
export function layoutDialect(layout: VoterLayout): DelimitedDialect {
  return { delimiter: DELIMITERS[layout.format.delimiter], quote: layout.format.quote };
}

/** Outcome of {@link checkHeader}. */
export type HeaderCheck =
  | {
      readonly kind: 'match';
      /** Names of the columns after the fixed ones, matched by `extraColumns`. */
      readonly extraColumns: readonly string[];
    }
  | {
      readonly kind: 'mismatch';
      /** 1-based position of the first column that differs. */
      readonly position: number;
      readonly message: string;
    };

function headerKey(name: string): string {
  return name.trim().toLowerCase();
}

/**
 * Compares a header row (already split into fields) with a layout: same columns in the same
 * order, compared without case and surrounding spaces, then any extra columns matching
 * `extraColumns.pattern`.
 */
export function checkHeader(layout: VoterLayout, fields: readonly string[]): HeaderCheck {
  const columns = layout.columns;
  for (let i = 0; i < columns.length; i++) {
    const expected = columns[i]?.name ?? '';
    const found = fields[i];
    if (found === undefined) {
      return {
        kind: 'mismatch',
        position: i + 1,
        message: `Header ends after ${fields.length} columns; layout "${layout.id}" expects "${expected}" next`,
      };
    }
    if (headerKey(found) !== headerKey(expected)) {
      return {
        kind: 'mismatch',
        position: i + 1,
        message: `Header column ${i + 1} is ${JSON.stringify(found)}; layout "${layout.id}" expects "${expected}"`,
      };
    }
  }
  const extra = fields.slice(columns.length).map((f) => f.trim());
  if (extra.length === 0) return { kind: 'match', extraColumns: [] };
  const pattern = layout.extraColumns
    ? new RegExp(`^(?:${layout.extraColumns.pattern})$`, 'u')
    : undefined;
  // Header names come from an uploaded file and meet a pattern from a policy file: names longer
  // than any real column name are refused before the pattern runs, so a pathological pattern
  // cannot be fed long input.
  const bad = extra.findIndex((name) => name.length > MAX_COLUMN_NAME || !pattern?.test(name));
  if (bad >= 0) {
    return {
      kind: 'mismatch',
      position: columns.length + bad + 1,
      message: `Header column ${columns.length + bad + 1} ${JSON.stringify(extra[bad])} is not in layout "${layout.id}"`,
    };
  }
  return { kind: 'match', extraColumns: extra };
}

/** Options of {@link detectLayout}. */
export interface DetectLayoutOptions {
  /** Layouts to try; defaults to the shipped ones. */
  readonly candidates?: readonly VoterLayout[];
}

/**
 * Picks the layout whose header matches the first line of a file: for North Carolina this
 * tells the 2022 layout from the older one (whose columns run in another order and include
 * `absent_ind`, `name_prefx_cd`, `birth_age` and `dist_2_*`). Headerless layouts (Florida)
 * cannot be detected and must be chosen explicitly.
 * @throws LayoutError LAYOUT_UNDETECTED explaining how the closest layout differs
 */
export function detectLayout(headerLine: string, options: DetectLayoutOptions = {}): VoterLayout {
  const line = headerLine.replace(/^\uFEFF/, '').replace(/\r?\n?$/, '');
  const candidates = options.candidates ?? shippedLayouts();
  let closest: { layout: VoterLayout; position: number; message: string } | undefined;
  for (const layout of candidates) {
    if (layout.format.header === 'absent') continue;
    const parsed = parseDelimitedLine(line, layoutDialect(layout));
    if (!parsed.ok) continue;
    const check = checkHeader(layout, parsed.fields);
    if (check.kind === 'match') return layout;
    if (parsed.fields.length > 1 && (!closest || check.position > closest.position)) {
      closest = { layout, position: check.position, message: check.message };
    }
  }
  const headerless = candidates.filter((l) => l.format.header === 'absent').map((l) => `"${l.id}"`);
  const hint =
    headerless.length > 0
      ? `; files without a header (${headerless.join(', ')}) must be named explicitly`
      : '';
  throw new LayoutError(
    'LAYOUT_UNDETECTED',
    `Cannot detect the layout from the header${closest ? ` (closest: ${closest.message})` : ''}${hint}`,
  );
}

/** A date as precise as the file gives it. */
export interface PartialDate {
  readonly year: number;
  readonly month?: number;
  readonly day?: number;
}

const DATE_PATTERNS: Readonly<Record<DateFormat, RegExp>> = {
  'YYYY-MM-DD': /^(?<y>\d{4})-(?<m>\d{2})-(?<d>\d{2})$/,
  'MM/DD/YYYY': /^(?<m>\d{2})\/(?<d>\d{2})\/(?<y>\d{4})$/,
  'M/D/YYYY': /^(?<m>\d{1,2})\/(?<d>\d{1,2})\/(?<y>\d{4})$/,
  YYYYMMDD: /^(?<y>\d{4})(?<m>\d{2})(?<d>\d{2})$/,
  YYYY: /^(?<y>\d{4})$/,
};

function daysInMonth(year: number, month: number): number {
  return new Date(Date.UTC(year, month, 0)).getUTCDate();
}

/**
 * Parses a date in the first of `formats` it matches; `undefined` when none matches or the
 * date does not exist (February 30).
 */
export function parseLayoutDate(
  value: string,
  formats: readonly DateFormat[],
): PartialDate | undefined {
  for (const format of formats) {
    const groups = DATE_PATTERNS[format].exec(value)?.groups;
    if (!groups) continue;
    const year = Number(groups['y']);
    if (year < 1800 || year > 2999) return undefined;
    if (groups['m'] === undefined || groups['d'] === undefined) return { year };
    const month = Number(groups['m']);
    const day = Number(groups['d']);
    if (month < 1 || month > 12 || day < 1 || day > daysInMonth(year, month)) return undefined;
    return { year, month, day };
  }
  return undefined;
}

/** Writes a full date in a layout date format. */
export function formatLayoutDate(date: Required<PartialDate>, format: DateFormat): string {
  const y = String(date.year).padStart(4, '0');
  const m = String(date.month).padStart(2, '0');
  const d = String(date.day).padStart(2, '0');
  switch (format) {
    case 'YYYY-MM-DD':
      return `${y}-${m}-${d}`;
    case 'MM/DD/YYYY':
      return `${m}/${d}/${y}`;
    case 'M/D/YYYY':
      return `${date.month}/${date.day}/${y}`;
    case 'YYYYMMDD':
      return `${y}${m}${d}`;
    case 'YYYY':
      return y;
  }
}

/** Codes of {@link FieldIssue}. */
export type FieldIssueCode = 'REQUIRED_MISSING' | 'CODE_UNKNOWN' | 'DATE_INVALID' | 'TOO_LONG';

/** A value that does not fit its column. */
export interface FieldIssue {
  readonly code: FieldIssueCode;
  /** 1-based column position. */
  readonly column: number;
  readonly name: string;
  readonly message: string;
}

/** The codes a column accepts: its own list, or the counties for the county-code column. */
export function columnCodes(layout: VoterLayout, column: LayoutColumn): CodeList | undefined {
  if (column.codes) return column.codes;
  if (column.role === 'countyCode' && layout.counties) return countyCodesOf(layout);
  return undefined;
}

/**
 * The county code list of each layout, built once: it is checked for every row of an import.
 * Layouts are not changed after loading, so the cache never goes stale.
 */
const countyCodeCache = new WeakMap<VoterLayout, CodeList>();

function countyCodesOf(layout: VoterLayout): CodeList {
  const cached = countyCodeCache.get(layout);
  if (cached !== undefined) return cached;
  const values: Record<string, string> = {};
  for (const county of layout.counties ?? []) {
    values[county.code] = county.name;
    for (const alias of county.aliases ?? []) values[alias] = county.name;
  }
  const codes: CodeList = { closed: true, values };
  countyCodeCache.set(layout, codes);
  return codes;
}

/** The code list of each column of a layout (undefined where none), built once per layout. */
const layoutCodeCache = new WeakMap<VoterLayout, readonly (CodeList | undefined)[]>();

function layoutCodes(layout: VoterLayout): readonly (CodeList | undefined)[] {
  const cached = layoutCodeCache.get(layout);
  if (cached !== undefined) return cached;
  const codes = layout.columns.map((column) => columnCodes(layout, column));
  layoutCodeCache.set(layout, codes);
  return codes;
}

/**
 * Checks the fixed columns of one row against the layout: required values present, closed
 * code lists respected, dates parse, lengths within bounds. Values are compared after
 * trimming surrounding spaces. Extra fields beyond the fixed columns are not checked.
 */
export function checkFields(layout: VoterLayout, fields: readonly string[]): FieldIssue[] {
  const issues: FieldIssue[] = [];
  const columns = layout.columns;
  const codeLists = layoutCodes(layout);
  // A plain loop without per-column closures: this runs for every field of every imported row.
  for (let i = 0; i < columns.length; i++) {
    const column = columns[i] as LayoutColumn;
    const value = (fields[i] ?? '').trim();
    const issue = (code: FieldIssueCode, message: string): void => {
      issues.push({ code, column: i + 1, name: column.name, message });
    };
    if (value === '') {
      if (column.required) issue('REQUIRED_MISSING', `Column "${column.name}" is empty`);
      continue;
    }
    if (column.maxLength !== undefined && value.length > column.maxLength) {
      issue('TOO_LONG', `Column "${column.name}" is longer than ${column.maxLength} characters`);
    }
    const codes = codeLists[i];
    if (codes?.closed && !Object.hasOwn(codes.values, value)) {
      issue('CODE_UNKNOWN', `Column "${column.name}" has unknown code ${JSON.stringify(value)}`);
    }
    if (column.dateFormats && !parseLayoutDate(value, column.dateFormats)) {
      issue(
        'DATE_INVALID',
        `Column "${column.name}" has ${JSON.stringify(value)}, expected a date as ${column.dateFormats.join(' or ')}`,
      );
    }
  }
  return issues;
}

/** Whether the row's confidential marker says the whole record is confidential. */
export function isRecordConfidential(layout: VoterLayout, fields: readonly string[]): boolean {
  const marker = layout.confidentialMarker;
  if (!marker) return false;
  const index = columnIndex(layout, marker.column);
  const value = (fields[index] ?? '').trim().toUpperCase();
  return marker.values.some((v) => v.toUpperCase() === value);
}

/** 0-based position of a column by name (case-insensitive); -1 when absent. */
export function columnIndex(layout: VoterLayout, name: string): number {
  const key = name.toLowerCase();
  return layout.columns.findIndex((c) => c.name.toLowerCase() === key);
}

/** 0-based positions of the columns holding each role, in file order. */
export function roleIndex(layout: VoterLayout): ReadonlyMap<FieldRole, readonly number[]> {
  const map = new Map<FieldRole, number[]>();
  layout.columns.forEach((column, i) => {
    const list = map.get(column.role) ?? [];
    list.push(i);
    map.set(column.role, list);
  });
  return map;
}
