/**
 * What a generated voter looks like in each shipped layout: id formats, how often each status
 * and party code appears, how race and ethnicity codes follow the surname group, precinct and
 * district values. Shares are rough, rounded figures of the kind each state publishes in its
 * registration statistics; they make files look real, not match any given week. Layouts without
 * a profile (an office's own policy file) get {@link genericProfile}, which draws codes evenly.
 */
import type { CodeList, LayoutColumn, VoterLayout } from './layout.ts';
import { columnCodes } from './layout.ts';
import type { Precinct, StreetAddress } from './generate-addresses.ts';
import type { DrawnName, Sex, SurnameGroup } from './generate-names.ts';
import { hash4, WeightedChoice } from './generate-random.ts';
import type { Random } from './generate-random.ts';

/** A calendar date. */
export interface CivilDate {
  readonly year: number;
  readonly month: number;
  readonly day: number;
}

// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant, "chrono-compatible
// low-level date algorithms"), integer arithmetic only.
/** Days since 1970-01-01 of a date. */
export function daysFromCivil(date: CivilDate): number {
  const y = date.month <= 2 ? date.year - 1 : date.year;
  const era = Math.floor(y / 400);
  const yoe = y - era * 400;
  const mp = (date.month + 9) % 12;
  const doy = Math.floor((153 * mp + 2) / 5) + date.day - 1;
  const doe = yoe * 365 + Math.floor(yoe / 4) - Math.floor(yoe / 100) + doy;
  return era * 146097 + doe - 719468;
}

/** The date `days` after 1970-01-01. */
export function civilFromDays(days: number): CivilDate {
  const z = days + 719468;
  const era = Math.floor(z / 146097);
  const doe = z - era * 146097;
  const yoe = Math.floor(
    (doe - Math.floor(doe / 1460) + Math.floor(doe / 36524) - Math.floor(doe / 146096)) / 365,
  );
  const doy = doe - (365 * yoe + Math.floor(yoe / 4) - Math.floor(yoe / 100));
  const mp = Math.floor((5 * doy + 2) / 153);
  const day = doy - Math.floor((153 * mp + 2) / 5) + 1;
  const month = mp < 10 ? mp + 3 : mp - 9;
  return { year: yoe + era * 400 + (month <= 2 ? 1 : 0), month, day };
}

/** One synthetic voter, before it is written in a layout. */
export interface Person {
  readonly voterId: string;
  readonly countyVoterId: string;
  /** Index into the layout's county list. */
  readonly county: number;
  readonly precinctIndex: number;
  readonly precinct: Precinct;
  readonly name: DrawnName;
  readonly sex: Sex;
  readonly birth: CivilDate;
  /** Age in whole years on the generation date. */
  readonly age: number;
  readonly registration: CivilDate;
  readonly lastVoted: CivilDate | undefined;
  /** One value per election column, for layouts that carry vote history. */
  readonly history: readonly string[];
  readonly status: string;
  readonly statusReason: readonly [string, string] | undefined;
  readonly party: string;
  readonly race: string;
  readonly ethnicity: string;
  readonly address: StreetAddress;
  readonly zip4: string;
  readonly mailing: readonly string[];
  readonly mailingCity: string;
  readonly mailingState: string;
  readonly mailingZip: string;
  readonly phone: { readonly area: string; readonly number: string } | undefined;
  readonly email: string;
  /** In an address-confidentiality program: the whole record is confidential. */
  readonly confidential: boolean;
  readonly birthState: string;
  readonly driversLicense: boolean;
}

/** What a column renderer may read besides the person. */
export interface RenderContext {
  readonly layout: VoterLayout;
  readonly counties: readonly { readonly code: string; readonly name: string }[];
  /** Salt for pure per-precinct values, derived from the seed. */
  readonly salt: number;
  readonly asOf: CivilDate;
}

/** Renders one column's value for a person; pure (no randomness). */
export type ColumnRender = (person: Person, context: RenderContext) => string;

const PER_PRECINCT = new WeakSet<ColumnRender>();

/**
 * Marks a renderer whose value depends only on the person's county and precinct, so the
 * generator may compute it once per precinct (a large share of NC's 67 columns are districts).
 */
export function perPrecinct(render: ColumnRender): ColumnRender {
  PER_PRECINCT.add(render);
  return render;
}

/** Whether {@link perPrecinct} marked the renderer. */
export function isPerPrecinct(render: ColumnRender): boolean {
  return PER_PRECINCT.has(render);
}

/** An election, as vote-history columns name it. */
export interface Election {
  readonly kind: 'PRIMARY' | 'GENERAL';
  readonly date: CivilDate;
}

/** The per-layout knobs of the generator. */
export interface GenerationProfile {
  /** Size of the id space {@link voterId} maps from. */
  readonly voterIdSpace: number;
  readonly voterId: (n: number) => string;
  readonly countyVoterId: (n: number) => string;
  readonly status: WeightedChoice<string>;
  /** Status code of pre-registered minors (aged 16 or 17), if the state has one. */
  readonly preregisteredStatus?: string;
  readonly statusReason?: (status: string, random: Random) => readonly [string, string] | undefined;
  /** `undefined`: the layout has no party, or it is derived from primary ballots. */
  readonly party?: WeightedChoice<string>;
  /** Party is the letter of the last primary ballot (Ohio). */
  readonly partyFromPrimaries?: boolean;
  readonly race: (group: SurnameGroup, random: Random) => string;
  readonly ethnicity: (group: SurnameGroup, random: Random) => string;
  readonly gender: Readonly<Record<Sex, string>>;
  readonly birthStates?: WeightedChoice<string>;
  readonly phoneShare: number;
  readonly emailShare: number;
  /** Renderers by column name, taking precedence over the role's default. */
  readonly columns: Readonly<Record<string, ColumnRender>>;
}

function choice(entries: Readonly<Record<string, number>>): WeightedChoice<string> {
  return new WeightedChoice(Object.entries(entries));
}

function pad(n: number, width: number): string {
  return String(n).padStart(width, '0');
}

const LETTERS = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ';

function keyHash(key: string): number {
  let k = 0;
  for (let i = 0; i < key.length; i++) k = (Math.imul(k, 31) + key.charCodeAt(i)) | 0;
  return k;
}

/**
 * A district column: a number from 1 to `range` per county or per precinct (pure, salted by
 * the seed), shown for the share `share` of precincts and formatted by `format`.
 */
function district(
  key: string,
  level: 'county' | 'precinct',
  range: number,
  share: number,
  format: (n: number, p: Person, c: RenderContext) => string,
): ColumnRender {
  const k = keyHash(key);
  const kIn = keyHash(`${key}#in`);
  return perPrecinct((p, c) => {
    if (share < 1 && hash4(c.salt, kIn, p.county, p.precinctIndex) % 1000 >= share * 1000)
      return '';
    const n = 1 + (hash4(c.salt, k, p.county, level === 'county' ? -1 : p.precinctIndex) % range);
    return format(n, p, c);
  });
}

const countyName = (p: Person, c: RenderContext): string =>
  (c.counties[p.county]?.name ?? '').toUpperCase();
const townShort = (p: Person): string => p.precinct.town.replace(/[^A-Z]/g, '').slice(0, 4);

// ---------------------------------------------------------------------------------------------
// North Carolina

const NC_REASONS: Readonly<Record<string, readonly (readonly [string, string])[]>> = {
  A: [['AV', 'VERIFIED']],
  I: [
    ['IN', 'CONFIRMATION NOT RETURNED'],
    ['IU', 'CONFIRMATION RETURNED UNDELIVERABLE'],
  ],
  R: [
    ['RL', 'MOVED FROM COUNTY'],
    ['RS', 'MOVED FROM STATE'],
    ['RD', 'DECEASED'],
    ['R2', 'DUPLICATE'],
    ['RQ', 'REQUEST FROM VOTER'],
    ['RF', 'FELONY CONVICTION'],
  ],
  D: [['DI', 'UNAVAILABLE ESSENTIAL INFORMATION']],
  S: [
    ['SM', 'MILITARY'],
    ['SO', 'OVERSEAS CITIZEN'],
  ],
};

const ncPrecinctCode = perPrecinct((p: Person, c: RenderContext): string => {
  // Some counties number precincts, others prefix the township; both are up to 6 characters.
  return hash4(c.salt, 0, p.county, 0) % 3 === 0
    ? `${townShort(p).slice(0, 2)}${pad(p.precinct.number, 2)}`
    : pad(p.precinct.number, 2);
});

const ncPrecinctName = perPrecinct((p: Person, c: RenderContext): string =>
  hash4(c.salt, 0, p.county, 0) % 3 === 0
    ? `${p.precinct.town} ${pad(p.precinct.number, 2)}`
    : `PRECINCT ${pad(p.precinct.number, 2)}`,
);

/** NC district pairs: [prefix, level, range, share, abbreviation, name]. */
const NC_DISTRICTS: readonly (readonly [
  string,
  'county' | 'precinct',
  number,
  number,
  (n: number, p: Person, c: RenderContext) => string,
  ((n: number, p: Person, c: RenderContext) => string) | undefined,
])[] = [
  ['municipality', 'precinct', 1, 0.55, (_n, p) => townShort(p), (_n, p) => p.precinct.town],
  ['ward', 'precinct', 6, 0.12, (n) => `W${n}`, (n) => `WARD ${n}`],
  ['cong_dist', 'county', 14, 1, (n) => String(n), undefined],
  ['super_court', 'county', 48, 1, (n) => `${pad(n, 2)}${LETTERS[n % 3]}`, undefined],
  ['judic_dist', 'county', 43, 1, (n) => String(n), undefined],
  ['nc_senate', 'precinct', 50, 1, (n) => String(n), undefined],
  ['nc_house', 'precinct', 120, 1, (n) => String(n), undefined],
  ['county_commiss', 'precinct', 7, 0.7, (n) => `D${n}`, (n) => `COMMISSIONER DISTRICT ${n}`],
  [
    'township',
    'precinct',
    1,
    0.8,
    (_n, p) => townShort(p),
    (_n, p) => `${p.precinct.town} TOWNSHIP`,
  ],
  ['school_dist', 'precinct', 9, 0.35, (n) => `S${n}`, (n) => `SCHOOL DISTRICT ${n}`],
  [
    'fire_dist',
    'precinct',
    30,
    0.5,
    (n) => `F${pad(n, 2)}`,
    (n, p) => `${p.precinct.town} FIRE DISTRICT ${n}`,
  ],
  ['water_dist', 'precinct', 6, 0.08, (n) => `WA${n}`, (n) => `WATER DISTRICT ${n}`],
  ['sewer_dist', 'precinct', 6, 0.06, (n) => `SE${n}`, (n) => `SEWER DISTRICT ${n}`],
  ['sanit_dist', 'precinct', 4, 0.05, (n) => `SA${n}`, (n) => `SANITATION DISTRICT ${n}`],
  ['rescue_dist', 'precinct', 8, 0.1, (n) => `R${n}`, (n) => `RESCUE DISTRICT ${n}`],
  ['munic_dist', 'precinct', 5, 0.2, (n) => `M${n}`, (n, p) => `${p.precinct.town} DISTRICT ${n}`],
  ['dist_1', 'county', 45, 1, (n) => String(n), (n) => `PROSECUTORIAL DISTRICT ${n}`],
];

function ncColumns(): Record<string, ColumnRender> {
  const columns: Record<string, ColumnRender> = {
    precinct_abbrv: ncPrecinctCode,
    precinct_desc: ncPrecinctName,
    vtd_abbrv: ncPrecinctCode,
    vtd_desc: ncPrecinctName,
    voter_status_reason_desc: (p) => p.statusReason?.[1] ?? '',
    age_at_year_end: (p, c) => String(c.asOf.year - p.birth.year),
  };
  for (const [prefix, level, range, share, abbrv, desc] of NC_DISTRICTS) {
    columns[`${prefix}_abbrv`] = district(prefix, level, range, share, abbrv);
    if (desc) columns[`${prefix}_desc`] = district(prefix, level, range, share, desc);
  }
  return columns;
}

const ncProfile: GenerationProfile = {
  // NCID: two letters and six digits.
  voterIdSpace: 26 * 26 * 1_000_000,
  voterId: (n) =>
    `${LETTERS[Math.floor(n / 26_000_000)] ?? 'A'}${LETTERS[Math.floor(n / 1_000_000) % 26] ?? 'A'}${pad(n % 1_000_000, 6)}`,
  countyVoterId: (n) => String(n % 1_000_000_000).padStart(9, '0'),
  status: choice({ A: 76, I: 11, R: 10, D: 1.5, S: 1.5 }),
  statusReason: (status, random) => {
    const reasons = NC_REASONS[status];
    return reasons ? random.pick(reasons) : undefined;
  },
  party: choice({ UNA: 37, DEM: 32, REP: 30, LIB: 1 }),
  race: (group, random) => {
    if (random.chance(0.04)) return 'U';
    switch (group) {
      case 'white':
        return 'W';
      case 'black':
        return 'B';
      case 'api':
        return random.chance(0.92) ? 'A' : 'P';
      case 'aian':
        return 'I';
      case 'multi':
        return 'M';
      case 'hispanic': {
        const u = random.float();
        return u < 0.35 ? 'W' : u < 0.7 ? 'O' : 'U';
      }
    }
  },
  ethnicity: (group, random) =>
    group === 'hispanic' ? (random.chance(0.85) ? 'HL' : 'UN') : random.chance(0.8) ? 'NL' : 'UN',
  gender: { F: 'F', M: 'M', U: 'U' },
  birthStates: choice({
    NC: 55,
    '': 12,
    NY: 5,
    VA: 4,
    SC: 3,
    PA: 3,
    FL: 2,
    OH: 2,
    NJ: 2,
    GA: 2,
    CA: 2,
    TX: 1,
    MI: 1,
    IL: 1,
    MD: 1,
    TN: 1,
    WV: 1,
    KY: 1,
  }),
  phoneShare: 0.45,
  emailShare: 0,
  columns: ncColumns(),
};

// ---------------------------------------------------------------------------------------------
// Ohio

function ohColumns(): Record<string, ColumnRender> {
  const county2 = (p: Person, c: RenderContext): string =>
    pad(Number(c.counties[p.county]?.code ?? 0), 2);
  const named = (
    key: string,
    share: number,
    format: (n: number, p: Person, c: RenderContext) => string,
  ): ColumnRender => district(key, 'precinct', 9, share, format);
  return {
    PRECINCT_CODE: perPrecinct((p, c) => {
      const h = hash4(c.salt, 1, p.county, p.precinctIndex);
      return `${county2(p, c)}-${LETTERS[h % 26] ?? 'A'}${LETTERS[(h >>> 5) % 26] ?? 'A'}${LETTERS[(h >>> 10) % 26] ?? 'A'}`;
    }),
    PRECINCT_NAME: perPrecinct(
      (p) => `${p.precinct.town} ${p.precinct.number}-${LETTERS[p.precinct.number % 4] ?? 'A'}`,
    ),
    CAREER_CENTER: perPrecinct((p, c) => `${countyName(p, c)} CAREER CENTER`),
    CITY: named('city', 0.5, (_n, p) => p.precinct.town),
    CITY_SCHOOL_DISTRICT: named('city', 0.5, (_n, p) => `${p.precinct.town} CITY SD`),
    COUNTY_COURT_DISTRICT: named(
      'countycourt',
      0.3,
      (_n, p, c) => `${countyName(p, c)} COUNTY COURT`,
    ),
    CONGRESSIONAL_DISTRICT: district('cong', 'county', 15, 1, (n) => pad(n, 2)),
    COURT_OF_APPEALS: district('appeals', 'county', 12, 1, (n) => pad(n, 2)),
    EDU_SERVICE_CENTER_DISTRICT: perPrecinct((p, c) => `${countyName(p, c)} ESC`),
    EXEMPTED_VILL_SCHOOL_DISTRICT: named('evsd', 0.1, (_n, p) => `${p.precinct.town} EVSD`),
    LIBRARY: named('library', 0.6, (_n, p) => `${p.precinct.town} PUBLIC LIBRARY`),
    LOCAL_SCHOOL_DISTRICT: named('local', 0.4, (_n, p) => `${p.precinct.town} LOCAL SD`),
    MUNICIPAL_COURT_DISTRICT: named(
      'municipal',
      0.6,
      (_n, p) => `${p.precinct.town} MUNICIPAL COURT`,
    ),
    STATE_BOARD_OF_EDUCATION: district('sboe', 'county', 11, 1, (n) => pad(n, 2)),
    STATE_REPRESENTATIVE_DISTRICT: district('house', 'precinct', 99, 1, (n) => pad(n, 2)),
    STATE_SENATE_DISTRICT: district('senate', 'county', 33, 1, (n) => pad(n, 2)),
    TOWNSHIP: named('township', 0.45, (_n, p) => `${p.precinct.town} TOWNSHIP`),
    VILLAGE: named('village', 0.1, (_n, p) => `VILLAGE OF ${p.precinct.town}`),
    WARD: named('ward', 0.3, (n, p) => `${p.precinct.town} WARD ${n}`),
  };
}

const ohProfile: GenerationProfile = {
  voterIdSpace: 10_000_000_000,
  voterId: (n) => `OH${pad(n, 10)}`,
  countyVoterId: (n) => String(10_000_000 + (n % 90_000_000)),
  status: choice({ ACTIVE: 87, CONFIRMATION: 13 }),
  partyFromPrimaries: true,
  race: () => '',
  ethnicity: () => '',
  gender: { F: '', M: '', U: '' },
  phoneShare: 0,
  emailShare: 0,
  columns: ohColumns(),
};

// ---------------------------------------------------------------------------------------------
// Florida

const flProfile: GenerationProfile = {
  voterIdSpace: 900_000_000,
  voterId: (n) => String(100_000_000 + n),
  countyVoterId: (n) => String(n),
  status: choice({ ACT: 88, INA: 11.8, PRE: 0.2 }),
  preregisteredStatus: 'PRE',
  party: choice({
    REP: 39,
    DEM: 32,
    NPA: 25.4,
    INT: 2.5,
    LPF: 0.6,
    GRE: 0.1,
    CPF: 0.1,
    ECO: 0.1,
    PSL: 0.1,
    REF: 0.1,
  }),
  race: (group, random) => {
    const u = random.float();
    if (u < 0.03) return '9';
    if (u < 0.045) return '6';
    switch (group) {
      case 'white':
        return '5';
      case 'black':
        return '3';
      case 'api':
        return '2';
      case 'aian':
        return '1';
      case 'multi':
        return '7';
      case 'hispanic':
        return '4';
    }
  },
  ethnicity: () => '',
  gender: { F: 'F', M: 'M', U: 'U' },
  phoneShare: 0.3,
  emailShare: 0.2,
  columns: {
    Precinct: perPrecinct((p) => String(100 + p.precinct.number)),
    Precinct_Split: perPrecinct(
      (p, c) =>
        `${100 + p.precinct.number}.${1 + (hash4(c.salt, 2, p.county, p.precinctIndex) % 3)}`,
    ),
    Congressional_District: district('cong', 'county', 28, 1, String),
    House_District: district('house', 'precinct', 120, 1, String),
    Senate_District: district('senate', 'county', 40, 1, String),
    County_Commission_District: district('commission', 'precinct', 5, 1, String),
    School_Board_District: district('school', 'precinct', 5, 1, String),
  },
};

// ---------------------------------------------------------------------------------------------
// Washington

const waProfile: GenerationProfile = {
  voterIdSpace: 1_000_000_000,
  voterId: (n) => `WA${pad(n, 10)}`,
  countyVoterId: (n) => String(n),
  status: choice({ A: 92, I: 8 }),
  race: () => '',
  ethnicity: () => '',
  gender: { F: 'F', M: 'M', U: 'U' },
  phoneShare: 0,
  emailShare: 0,
  columns: {
    PrecinctCode: perPrecinct((p) => String(100 + p.precinct.number)),
    PrecinctPart: perPrecinct((p) => String(100 + p.precinct.number)),
    LegislativeDistrict: district('leg', 'county', 49, 1, String),
    CongressionalDistrict: district('cong', 'county', 10, 1, String),
  },
};

const PROFILES: Readonly<Record<string, GenerationProfile>> = {
  nc: ncProfile,
  'nc-legacy': ncProfile,
  oh: ohProfile,
  fl: flProfile,
  wa: waProfile,
};

function codeChoice(codes: CodeList | undefined, fallback: string): WeightedChoice<string> {
  const keys = codes ? Object.keys(codes.values) : [];
  return choice(keys.length > 0 ? Object.fromEntries(keys.map((k) => [k, 1])) : { [fallback]: 1 });
}

function roleCodes(layout: VoterLayout, role: LayoutColumn['role']): CodeList | undefined {
  const column = layout.columns.find((c) => c.role === role);
  return column ? columnCodes(layout, column) : undefined;
}

/**
 * A profile for a layout we know nothing more about: codes drawn evenly from the column's
 * code list (the first status code for nine voters in ten).
 */
export function genericProfile(layout: VoterLayout): GenerationProfile {
  const statusCodes = Object.keys(roleCodes(layout, 'status')?.values ?? { A: '' });
  const first = statusCodes[0] ?? 'A';
  const status = choice(
    Object.fromEntries(
      statusCodes.map((code) => [code, code === first ? 90 * statusCodes.length : 10]),
    ),
  );
  const party = codeChoice(roleCodes(layout, 'party'), '');
  const race = codeChoice(roleCodes(layout, 'race'), '');
  const ethnicity = codeChoice(roleCodes(layout, 'ethnicity'), '');
  const genders = roleCodes(layout, 'gender')?.values ?? {};
  const gender = (code: string): string => (Object.hasOwn(genders, code) ? code : '');
  return {
    voterIdSpace: 1_000_000_000,
    voterId: (n) => pad(n, 9),
    countyVoterId: (n) => String(n),
    status,
    party,
    race: (_g, random) => race.sample(random),
    ethnicity: (_g, random) => ethnicity.sample(random),
    gender: { F: gender('F'), M: gender('M'), U: gender('U') },
    phoneShare: 0.3,
    emailShare: 0.2,
    columns: {},
  };
}

/** The profile of a layout: the shipped one for its id, else {@link genericProfile}. */
export function profileFor(layout: VoterLayout): GenerationProfile {
  return PROFILES[layout.id] ?? genericProfile(layout);
}
