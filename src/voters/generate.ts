/**
 * Synthetic voter files in the real layouts, for demos, tests and benchmarks. Names follow
 * Census and NYC aggregate distributions, counties are real, everything else is made up; no
 * row describes a real person. Output is a pure function of (layout, count, seed, asOf):
 * the same inputs give the same bytes.
 */
import { once } from 'node:events';
import { open, rename, rm } from 'node:fs/promises';
import { VotervaultError } from '../basics/index.ts';
import {
  censusCounties,
  countyGeography,
  fictionalEmail,
  fictionalPhone,
  STATE_CODES,
  streetAddress,
  streetLine,
  unitLine,
} from './generate-addresses.ts';
import type { CountyGeography } from './generate-addresses.ts';
import { nameTables } from './generate-names.ts';
import type { NameTables, Sex } from './generate-names.ts';
import {
  civilFromDays,
  daysFromCivil,
  isPerPrecinct,
  perPrecinct,
  profileFor,
} from './generate-profiles.ts';
import type {
  CivilDate,
  ColumnRender,
  Election,
  GenerationProfile,
  Person,
  RenderContext,
} from './generate-profiles.ts';
import { hash4, hashInts, IdPermutation, Random, WeightedChoice } from './generate-random.ts';
import {
  columnCodes,
  columnIndex,
  CONTACT_ROLES,
  DELIMITERS,
  MAILING_ROLES,
  RESIDENCE_ROLES,
  formatLayoutDate,
  loadLayout,
  parseLayoutDate,
} from './layout.ts';
import type { LayoutColumn, VoterLayout } from './layout.ts';

/**
 * The date generated files describe, unless told otherwise. Fixed rather than "today" so that
 * a seed alone fixes the output bytes, whenever the generator runs.
 */
export const DEFAULT_AS_OF = '2026-11-03';

/** Share of voters in an address-confidentiality program (for layouts with a marker). */
export const CONFIDENTIAL_SHARE = 0.005;

/** Most rows one call may generate (ids stay distinct well below every id space). */
export const MAX_GENERATED_ROWS = 100_000_000;

/** Rows between two progress reports. */
const PROGRESS_EVERY = 50_000;

/** Bytes buffered before a write: large enough to amortise the system call. */
const CHUNK_BYTES = 1 << 20;

/** Years of elections in vote-history columns. */
const HISTORY_YEARS = 10;

/** Adult age brackets and their rough shares of registered voters. */
const AGE_BRACKETS = new WeightedChoice<readonly [number, number]>([
  [[18, 24], 11],
  [[25, 34], 16],
  [[35, 44], 16],
  [[45, 54], 16],
  [[55, 64], 17],
  [[65, 74], 14],
  [[75, 84], 7],
  [[85, 100], 3],
]);

/** Codes of {@link GenerateError}. */
export type GenerateErrorCode = 'GENERATE_OPTIONS_INVALID';

/** Options the generator cannot work with. */
export class GenerateError extends VotervaultError<GenerateErrorCode> {}

/** Progress of a running generation. */
export interface GenerateProgress {
  /** Voter rows written so far (the header is not a row). */
  readonly rows: number;
  /** Bytes written so far, header included. */
  readonly bytes: number;
}

/** Options of {@link generateVoterFile}. */
export interface GenerateOptions {
  /** A layout, a shipped layout id, or the path of a policy file. */
  readonly layout: VoterLayout | string;
  readonly count: number;
  readonly seed: string | number;
  /** A file path (written to a temporary name, then renamed), or an open stream. */
  readonly out: string | NodeJS.WritableStream;
  /** Date the file describes, `YYYY-MM-DD`; defaults to {@link DEFAULT_AS_OF}. */
  readonly asOf?: string;
  readonly onProgress?: (progress: GenerateProgress) => void;
}

/** Options of {@link createVoterGenerator}. */
export interface VoterGeneratorOptions {
  readonly seed: string | number;
  readonly asOf?: string;
}

/** Produces the rows of one synthetic file, in order. */
export interface VoterGenerator {
  /** Header fields, or `undefined` for headerless layouts. */
  readonly header: readonly string[] | undefined;
  /** The fields of the next voter row (a new array the caller may keep or change). */
  next(): string[];
}

/** Fields withheld on the records of address-confidentiality voters, as the states do. */
const ADDRESS_ROLES: ReadonlySet<LayoutColumn['role']> = new Set([
  ...RESIDENCE_ROLES,
  ...MAILING_ROLES,
  ...CONTACT_ROLES,
]);

function parseAsOf(asOf: string): CivilDate {
  const date = parseLayoutDate(asOf, ['YYYY-MM-DD']);
  if (!date?.month || !date.day) {
    throw new GenerateError(
      'GENERATE_OPTIONS_INVALID',
      `Cannot use date ${JSON.stringify(asOf)}: expected YYYY-MM-DD`,
    );
  }
  return { year: date.year, month: date.month, day: date.day };
}

/** First Tuesday after the first Monday of a month (US election day rule). */
function electionDay(year: number, month: number): CivilDate {
  const first = daysFromCivil({ year, month, day: 1 });
  // 1970-01-01 was a Thursday: weekday 0 = Sunday.
  const weekday = (first + 4) % 7;
  const firstMonday = 1 + ((8 - weekday) % 7);
  return { year, month, day: firstMonday + 1 };
}

/** General elections every November and primaries every other May, before `asOf`. */
function electionsBefore(asOf: CivilDate): readonly Election[] {
  const out: Election[] = [];
  const limit = daysFromCivil(asOf);
  for (let year = asOf.year - HISTORY_YEARS; year <= asOf.year; year++) {
    if (year % 2 === 0) out.push({ kind: 'PRIMARY', date: electionDay(year, 5) });
    out.push({ kind: 'GENERAL', date: electionDay(year, 11) });
  }
  return out.filter((e) => daysFromCivil(e.date) < limit);
}

function electionHeader(e: Election): string {
  return `${e.kind}-${formatLayoutDate(e.date, 'MM/DD/YYYY')}`;
}

/**
 * Returns the string flattened: V8 keeps concatenations as trees ("cons strings") that every
 * later join walks again; converting to a number flattens the tree in place, once.
 */
function flat(value: string): string {
  Number(value);
  return value;
}

/** Everything fixed for one generation: tables, geography, renderers. */
class Generation {
  readonly #random: Random;
  readonly #names: NameTables;
  readonly #profile: GenerationProfile;
  readonly #context: RenderContext;
  readonly #geography: readonly CountyGeography[];
  readonly #ids: IdPermutation;
  readonly #countyIds: IdPermutation;
  readonly #renders: readonly ColumnRender[];
  readonly #elections: readonly Election[];
  readonly #asOfDays: number;
  readonly #hasMarker: boolean;
  /** Whether the layout shows vote history, a last-voted date or a party from primaries. */
  readonly #needsVoting: boolean;
  /** Positions of the renderers that depend only on county and precinct. */
  readonly #perPrecinct: readonly number[];
  readonly #isPerPrecinct: readonly boolean[];
  /** Their values, by county * 65536 + precinct: a few thousand entries at most. */
  readonly #precinctValues = new Map<number, readonly string[]>();
  readonly header: readonly string[] | undefined;
  #index = 0;

  constructor(layout: VoterLayout, options: VoterGeneratorOptions) {
    const asOf = parseAsOf(options.asOf ?? DEFAULT_AS_OF);
    this.#random = new Random(options.seed);
    this.#names = nameTables();
    this.#profile = profileFor(layout);
    const counties =
      layout.counties ??
      censusCounties(layout.state).map(([fips, name]) => ({ code: fips.slice(2), name }));
    if (counties.length === 0) {
      throw new GenerateError(
        'GENERATE_OPTIONS_INVALID',
        `Cannot generate for layout "${layout.id}": it has no county table and state "${layout.state}" has no Census counties here`,
      );
    }
    const salt = this.#random.u32();
    this.#context = { layout, counties, salt, asOf };
    this.#geography = counties.map((_, i) =>
      countyGeography(salt, layout.state, i, counties.length),
    );
    this.#ids = new IdPermutation(this.#profile.voterIdSpace, this.#random);
    this.#countyIds = new IdPermutation(1_000_000_000, this.#random);
    this.#asOfDays = daysFromCivil(asOf);
    this.#hasMarker = layout.confidentialMarker !== undefined;
    const history = layout.extraColumns?.role === 'voteHistory';
    this.#elections = electionsBefore(asOf);
    this.#needsVoting =
      history ||
      this.#profile.partyFromPrimaries === true ||
      layout.columns.some((c) => c.role === 'lastVotedDate');
    const renders = layout.columns.map((column) => this.#render(layout, column));
    if (history) {
      this.#elections.forEach((_, k) => renders.push((p) => p.history[k] ?? ''));
    }
    this.#renders = renders;
    this.#isPerPrecinct = renders.map(isPerPrecinct);
    this.#perPrecinct = renders.flatMap((render, i) => (isPerPrecinct(render) ? [i] : []));
    checkWritable(layout, counties);
    this.header =
      layout.format.header === 'present'
        ? [
            ...layout.columns.map((c) => c.name),
            ...(history ? this.#elections.map(electionHeader) : []),
          ]
        : undefined;
  }

  next(): string[] {
    const person = this.#person(this.#index++);
    const context = this.#context;
    const renders = this.#renders;
    const key = person.county * 65_536 + person.precinctIndex;
    let cached = this.#precinctValues.get(key);
    if (!cached) {
      cached = this.#perPrecinct.map((i) => flat((renders[i] as ColumnRender)(person, context)));
      this.#precinctValues.set(key, cached);
    }
    const fields = new Array<string>(renders.length);
    let j = 0;
    for (let i = 0; i < renders.length; i++) {
      fields[i] = this.#isPerPrecinct[i]
        ? (cached[j++] as string)
        : (renders[i] as ColumnRender)(person, context);
    }
    return fields;
  }

  #person(index: number): Person {
    const random = this.#random;
    const profile = this.#profile;
    const county = random.int(this.#geography.length);
    const geography = this.#geography[county] as CountyGeography;
    const precinctIndex = random.int(geography.precincts.length);
    const s = random.float();
    const sex: Sex = s < 0.52 ? 'F' : s < 0.98 ? 'M' : 'U';
    const name = this.#names.name(random, sex);
    const status = profile.status.sample(random);
    const [low, high] =
      status === profile.preregisteredStatus ? [16, 17] : AGE_BRACKETS.sample(random);
    const age = random.between(low, high);
    // Born in the year-long window that makes the voter `age` years old on the as-of date.
    const asOf = this.#context.asOf;
    const windowStart =
      daysFromCivil({ year: asOf.year - age - 1, month: asOf.month, day: 1 }) + asOf.day;
    const birthDays =
      windowStart +
      random.int(
        daysFromCivil({ year: asOf.year - age, month: asOf.month, day: asOf.day }) -
          windowStart +
          1,
      );
    const birth = civilFromDays(Math.min(birthDays, this.#asOfDays));
    // Registered between the 18th birthday (16th for pre-registration) and the as-of date,
    // half of voters in the last eight years.
    const eligible = Math.max(
      daysFromCivil({
        ...birth,
        year: birth.year + Math.min(age, 18),
        day: Math.min(birth.day, 28),
      }),
      this.#asOfDays - 70 * 365,
    );
    const span = Math.max(1, this.#asOfDays - eligible);
    const recent = Math.min(span, 8 * 365);
    const registrationDays =
      this.#asOfDays - (random.chance(0.5) ? random.int(recent) : random.int(span));
    const registration = civilFromDays(registrationDays);
    const { history, lastVoted, primaryParty } = this.#needsVoting
      ? this.#voting(registrationDays)
      : { history: [], lastVoted: undefined, primaryParty: '' };
    const party = profile.partyFromPrimaries ? primaryParty : (profile.party?.sample(random) ?? '');
    const address = streetAddress(random);
    const zip4 = random.chance(0.55) ? String(random.int(10_000)).padStart(4, '0') : '';
    const precinct = geography.precincts[precinctIndex] ?? geography.precincts[0];
    if (!precinct)
      throw new GenerateError(
        'GENERATE_OPTIONS_INVALID',
        'Cannot generate: a county has no precinct',
      );
    const hasMailing = random.chance(0.07);
    const mailing = hasMailing ? [`PO BOX ${random.between(1, 9999)}`] : [];
    const state = this.#context.layout.state;
    const phone = random.chance(profile.phoneShare) ? fictionalPhone(random, state) : undefined;
    const email = random.chance(profile.emailShare)
      ? fictionalEmail(random, name.first, name.surname)
      : '';
    const confidential = this.#hasMarker && random.chance(CONFIDENTIAL_SHARE);
    const birthState = profile.birthStates?.sample(random) ?? random.pick(STATE_CODES);
    const driversLicense = random.chance(0.88);
    return {
      voterId: profile.voterId(this.#ids.map(index)),
      countyVoterId: profile.countyVoterId(this.#countyIds.map(index)),
      county,
      precinctIndex,
      precinct,
      name,
      sex,
      birth,
      age,
      registration,
      lastVoted,
      history,
      status,
      statusReason: profile.statusReason?.(status, random),
      party,
      race: profile.race(name.group, random),
      ethnicity: profile.ethnicity(name.group, random),
      address,
      zip4,
      mailing,
      mailingCity: hasMailing ? precinct.town : '',
      mailingState: hasMailing ? state : '',
      mailingZip: hasMailing ? precinct.zip : '',
      phone,
      email,
      confidential,
      birthState,
      driversLicense,
    };
  }

  /**
   * Vote history per election, the last general voted in, and the party of the last partisan
   * primary ballot. Each voter has a propensity to vote; turnout is higher in even years.
   */
  #voting(registrationDays: number): {
    history: string[];
    lastVoted: CivilDate | undefined;
    primaryParty: string;
  } {
    const random = this.#random;
    const history: string[] = [];
    let lastVoted: CivilDate | undefined;
    let primaryParty = '';
    const propensity = 0.4 + random.float();
    for (const election of this.#elections) {
      if (daysFromCivil(election.date) < registrationDays) {
        history.push('');
      } else if (election.kind === 'GENERAL') {
        const voted = random.chance((election.date.year % 2 === 0 ? 0.72 : 0.38) * propensity);
        history.push(voted ? 'X' : '');
        if (voted) lastVoted = election.date;
      } else if (random.chance(0.25 * propensity)) {
        const u = random.float();
        const ballot = u < 0.46 ? 'D' : u < 0.95 ? 'R' : 'X';
        history.push(ballot);
        if (ballot !== 'X') primaryParty = ballot;
      } else {
        history.push('');
      }
    }
    return { history, lastVoted, primaryParty };
  }

  #render(layout: VoterLayout, column: LayoutColumn): ColumnRender {
    const override = this.#profile.columns[column.name];
    if (override) return override;
    if (column.labelOf !== undefined) {
      const target = layout.columns[columnIndex(layout, column.labelOf)];
      const codes = target ? columnCodes(layout, target)?.values : undefined;
      const render = target ? this.#render(layout, target) : undefined;
      return (p, c) => (codes && render ? (codes[render(p, c)] ?? '') : '');
    }
    const role = column.role;
    const plain = this.#plain(layout, column);
    return ADDRESS_ROLES.has(role) ? (p, c) => (p.confidential ? '' : plain(p, c)) : plain;
  }

  #plain(layout: VoterLayout, column: LayoutColumn): ColumnRender {
    const role = column.role;
    const roles = new Set(layout.columns.map((c) => c.role));
    const dateFormat = column.dateFormats?.[0] ?? 'YYYY-MM-DD';
    const counties = this.#context.counties;
    const codes = columnCodes(layout, column);
    switch (role) {
      case 'voterId':
        return (p) => p.voterId;
      case 'countyVoterId':
        return (p) => p.countyVoterId;
      case 'countyCode':
        return perPrecinct((p) => counties[p.county]?.code ?? '');
      case 'countyName':
        return perPrecinct((p) => counties[p.county]?.name ?? '');
      case 'lastName':
        return (p) => p.name.surname;
      case 'firstName':
        return (p) => p.name.first;
      case 'middleName':
        return (p) => p.name.middle;
      case 'nameSuffix':
        return (p) => p.name.suffix;
      case 'birthDate':
        return (p) => formatLayoutDate(p.birth, dateFormat);
      case 'birthYear':
        return (p) => String(p.birth.year);
      case 'age':
        return (p) => String(p.age);
      case 'residenceAddress':
        return roles.has('residenceAddress2')
          ? (p) => streetLine(p.address)
          : (p) =>
              p.address.unitType
                ? `${streetLine(p.address)} ${unitLine(p.address)}`
                : streetLine(p.address);
      case 'residenceAddress2':
        return (p) => unitLine(p.address);
      case 'houseNumber':
        return (p) => p.address.houseNumber;
      case 'houseFraction':
        return (p) => p.address.houseFraction;
      case 'streetPreDirection':
        return (p) => p.address.preDirection;
      case 'streetName':
        return (p) => p.address.streetName;
      case 'streetType':
        return (p) => p.address.streetType;
      case 'streetPostDirection':
        return (p) => p.address.postDirection;
      case 'unitType':
        return (p) => p.address.unitType;
      case 'unitNumber':
        return (p) => p.address.unitNumber;
      case 'residenceCity':
        return (p) => p.precinct.town;
      case 'residenceState':
        return () => layout.state;
      case 'zip':
        return (p) => p.precinct.zip;
      case 'zipPlus4':
        return (p) => p.zip4;
      case 'mailingAddressLine': {
        const k = layout.columns.filter((c) => c.role === 'mailingAddressLine').indexOf(column);
        return (p) => p.mailing[k] ?? '';
      }
      case 'mailingCity':
        return (p) => p.mailingCity;
      case 'mailingState':
        return (p) => p.mailingState;
      case 'mailingZip':
        return (p) => p.mailingZip;
      case 'precinct':
        return perPrecinct((p) => String(p.precinct.number));
      case 'precinctName':
        return perPrecinct((p) => `PRECINCT ${p.precinct.number}`);
      case 'pollingPlace':
        return perPrecinct((p) => p.precinct.pollingPlace);
      case 'district': {
        const key = hashInts(...[...column.name].map((ch) => ch.charCodeAt(0)));
        return perPrecinct((p, c) =>
          String(1 + (hash4(c.salt, key, p.county, p.precinctIndex) % 20)),
        );
      }
      case 'status':
        return (p) => p.status;
      case 'statusReason':
        return (p) => p.statusReason?.[0] ?? '';
      case 'party':
        return (p) => p.party;
      case 'registrationDate':
        return (p) => formatLayoutDate(p.registration, dateFormat);
      case 'lastVotedDate':
        return (p) => (p.lastVoted ? formatLayoutDate(p.lastVoted, dateFormat) : '');
      case 'phone':
        return roles.has('phoneAreaCode')
          ? (p) => p.phone?.number ?? ''
          : (p) => (p.phone ? p.phone.area + p.phone.number : '');
      case 'phoneAreaCode':
        return (p) => p.phone?.area ?? '';
      case 'email':
        return (p) => p.email;
      case 'driversLicenseFlag':
        return (p) => (p.driversLicense ? 'Y' : 'N');
      case 'race':
        return (p) => p.race;
      case 'ethnicity':
        return (p) => p.ethnicity;
      case 'gender': {
        const gender = this.#profile.gender;
        return (p) => gender[p.sex];
      }
      case 'birthState':
        return (p) => p.birthState;
      case 'confidentialFlag': {
        const yes = layout.confidentialMarker?.values[0] ?? 'Y';
        const no = codes && Object.hasOwn(codes.values, 'N') ? 'N' : '';
        return (p) => (p.confidential ? yes : no);
      }
      // Columns we have nothing to say about stay empty: identifiers we never invent (driver
      // licence, SSN), attributes no shipped layout carries, and unused columns.
      case 'namePrefix':
      case 'residenceCountry':
      case 'residencePostalCode':
      case 'mailingZipPlus4':
      case 'mailingCountry':
      case 'mailingPostalCode':
      case 'precinctSplit':
      case 'voteHistory':
      case 'phoneExtension':
      case 'driversLicense':
      case 'ssn4':
      case 'language':
      case 'disability':
      case 'other':
      case 'unused':
        return () => '';
    }
  }
}

function resolveLayout(layout: VoterLayout | string): VoterLayout {
  return typeof layout === 'string' ? loadLayout(layout) : layout;
}

/**
 * A row-by-row generator for a layout, for tests and fixtures that want fields rather than a
 * file. Rows come out in the order {@link generateVoterFile} writes them.
 * @throws GenerateError GENERATE_OPTIONS_INVALID for a bad `asOf` or a layout without counties
 */
export function createVoterGenerator(
  layout: VoterLayout,
  options: VoterGeneratorOptions,
): VoterGenerator {
  return new Generation(layout, options);
}

/**
 * Refuses layouts whose own strings (county codes and names, code labels, state) could not be
 * written as they are: the writer joins fields without escaping, for speed, so every value it
 * can produce must be free of the delimiter, quotes and line breaks, and fit the encoding.
 * Generated names, streets and towns come from our tables, which a test holds to the same rule.
 */
function checkWritable(layout: VoterLayout, counties: RenderContext['counties']): void {
  const delimiter = DELIMITERS[layout.format.delimiter];
  const values = [layout.state, ...counties.flatMap((c) => [c.code, c.name])];
  for (const column of layout.columns) {
    const codes = columnCodes(layout, column);
    if (codes) values.push(...Object.keys(codes.values));
    const target =
      column.labelOf === undefined
        ? undefined
        : layout.columns[columnIndex(layout, column.labelOf)];
    const labels = target ? columnCodes(layout, target) : undefined;
    if (labels) values.push(...Object.values(labels.values));
  }
  for (const value of values) {
    const encodable =
      layout.format.encoding === 'utf-8' || !/[^\u0000-\u007f\u00a0-\u00ff]/.test(value);
    const delimited = !layout.format.quoteAll && value.includes(delimiter);
    if (!encodable || delimited || /["\r\n]/.test(value)) {
      throw new GenerateError(
        'GENERATE_OPTIONS_INVALID',
        `Cannot generate layout "${layout.id}": value ${JSON.stringify(value)} cannot be written without escaping or in ${layout.format.encoding}`,
      );
    }
  }
}

/**
 * Joins trusted fields (see {@link checkWritable}) into one line, quoting as the layout does.
 * The opening quote and the line ending go into the first and last field so that `join`
 * yields one flat string (a concatenation around it would be copied again when written).
 */
function rowJoiner(layout: VoterLayout): (fields: string[]) => string {
  const d = DELIMITERS[layout.format.delimiter];
  const eol = layout.format.lineEnding === 'crlf' ? '\r\n' : '\n';
  const [open, between, close] = layout.format.quoteAll ? ['"', `"${d}"`, `"${eol}`] : ['', d, eol];
  return (fields) => {
    const last = fields.length - 1;
    fields[0] = open + (fields[0] ?? '');
    fields[last] = (fields[last] ?? '') + close;
    return fields.join(between);
  };
}

interface Sink {
  write(chunk: Buffer): Promise<void>;
  finish(): Promise<void>;
  abort(): Promise<void>;
}

async function fileSink(path: string): Promise<Sink> {
  const partial = `${path}.partial`;
  const handle = await open(partial, 'w', 0o644);
  let closed = false;
  return {
    async write(chunk) {
      await handle.write(chunk);
    },
    async finish() {
      await handle.sync();
      await handle.close();
      closed = true;
      await rename(partial, path);
    },
    async abort() {
      if (!closed) await handle.close().catch(() => undefined);
      await rm(partial, { force: true });
    },
  };
}

function streamSink(stream: NodeJS.WritableStream): Sink {
  return {
    async write(chunk) {
      // The stream may hold on to the chunk after write() returns, and the caller reuses its
      // buffer: hand over a copy.
      if (!stream.write(Buffer.from(chunk))) await once(stream, 'drain');
    },
    async finish() {},
    async abort() {},
  };
}

/**
 * Writes a synthetic voter file in a layout: header (if the layout has one), then `count`
 * rows, in constant memory. The same layout, count, seed and `asOf` give the same bytes.
 * @throws GenerateError GENERATE_OPTIONS_INVALID for a bad count or date, or a layout whose
 *   own values cannot be written
 * @throws LayoutError when `layout` names a layout that cannot be loaded
 */
export async function generateVoterFile(options: GenerateOptions): Promise<GenerateProgress> {
  const { count } = options;
  if (!Number.isSafeInteger(count) || count < 0 || count > MAX_GENERATED_ROWS) {
    throw new GenerateError(
      'GENERATE_OPTIONS_INVALID',
      `Cannot generate ${String(count)} rows: expected a whole number from 0 to ${MAX_GENERATED_ROWS}`,
    );
  }
  const layout = resolveLayout(options.layout);
  const generator = new Generation(layout, {
    seed: options.seed,
    ...(options.asOf === undefined ? {} : { asOf: options.asOf }),
  });
  const join = rowJoiner(layout);
  // Latin-1 bytes are windows-1252 bytes for every character checkWritable lets through.
  const encoding = layout.format.encoding === 'utf-8' ? 'utf8' : 'latin1';
  const sink =
    typeof options.out === 'string' ? await fileSink(options.out) : streamSink(options.out);
  let buffer = Buffer.allocUnsafe(CHUNK_BYTES);
  let used = 0;
  let bytes = 0;
  let rows = 0;
  const flush = async (): Promise<void> => {
    if (used === 0) return;
    const chunk = buffer.subarray(0, used);
    bytes += used;
    used = 0;
    await sink.write(chunk);
  };
  const append = async (line: string): Promise<void> => {
    // A UTF-16 code unit takes at most 3 bytes in UTF-8, 1 in Latin-1.
    const worst = line.length * 3;
    if (used + worst > buffer.length) {
      await flush();
      if (worst > buffer.length) buffer = Buffer.allocUnsafe(worst);
    }
    used += buffer.write(line, used, encoding);
  };
  try {
    if (generator.header) await append(join([...generator.header]));
    while (rows < count) {
      const line = join(generator.next());
      if (used + line.length * 3 > buffer.length) await flush();
      await append(line);
      rows += 1;
      if (rows % PROGRESS_EVERY === 0 && options.onProgress) {
        await flush();
        options.onProgress({ rows, bytes });
      }
    }
    await flush();
    await sink.finish();
  } catch (error: unknown) {
    await sink.abort();
    throw error;
  }
  options.onProgress?.({ rows, bytes });
  return { rows, bytes };
}
