/**
 * Synthetic geography for generated voter files: towns, precincts, ZIP codes, streets, phone
 * numbers and e-mail addresses. Counties are real (Census FIPS, data/counties.json); what is
 * inside them is made up but shaped like the real thing. Phone numbers use the 555-01XX block
 * reserved for fiction and e-mail addresses use the reserved example domains, so no generated
 * contact reaches anyone.
 */
import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { hashInts } from './generate-random.ts';
import type { Random } from './generate-random.ts';

/** Common US street names (a hand list; no source needed for words this ordinary). */
const STREET_NAMES = [
  'MAIN',
  'OAK',
  'PINE',
  'MAPLE',
  'CEDAR',
  'ELM',
  'WASHINGTON',
  'LAKE',
  'HILL',
  'PARK',
  'WALNUT',
  'CHURCH',
  'MILL',
  'SPRING',
  'RIDGE',
  'CHESTNUT',
  'HICKORY',
  'DOGWOOD',
  'MAGNOLIA',
  'WILLOW',
  'POPLAR',
  'SYCAMORE',
  'BIRCH',
  'HOLLY',
  'LAUREL',
  'JEFFERSON',
  'MADISON',
  'LINCOLN',
  'FRANKLIN',
  'JACKSON',
  'MONROE',
  'ADAMS',
  'HIGHLAND',
  'MEADOW',
  'FOREST',
  'RIVER',
  'VALLEY',
  'SUNSET',
  'COUNTRY CLUB',
  'COLLEGE',
  'SCHOOL',
  'BROAD',
  'MARKET',
  'HIGH',
  'CENTER',
  'UNION',
  'LIBERTY',
  'PLEASANT',
  'CHERRY',
  'PEACH',
  'ORCHARD',
  'FAIRVIEW',
  'GROVE',
  'BRIDGE',
  'STATION',
  'RAILROAD',
  'WOODLAND',
  'LAKEVIEW',
  'HARBOR',
  'BAY',
  'OCEAN',
  'PALM',
  'CYPRESS',
  'MOUNTAIN',
  'CREEK',
  'FERRY',
  'PLANTATION',
  'QUAIL',
  'DEER',
  'FOX',
  'EAGLE',
  'HAWTHORNE',
  'BROOKSIDE',
  'STONEGATE',
  'WINDSOR',
  'KENSINGTON',
  'PROVIDENCE',
  'HERITAGE',
  'SHADY',
  'GREEN',
  'FIRST',
  'SECOND',
  'THIRD',
  'FOURTH',
  'FIFTH',
  'SIXTH',
  'SEVENTH',
  'EIGHTH',
  'NINTH',
  'TENTH',
] as const;

/** USPS street suffix abbreviations with rough weights. */
const STREET_TYPES: readonly (readonly [string, number])[] = [
  ['ST', 24],
  ['RD', 20],
  ['DR', 18],
  ['AVE', 14],
  ['LN', 10],
  ['CT', 6],
  ['WAY', 4],
  ['CIR', 3],
  ['PL', 2],
  ['BLVD', 2],
  ['TRL', 2],
  ['PKWY', 1],
  ['HWY', 1],
];

const DIRECTIONS = ['N', 'S', 'E', 'W'] as const;
const UNIT_TYPES = ['APT', 'APT', 'APT', 'UNIT', 'STE', 'LOT'] as const;

/** Generic US town names (the commonest place names); paired with real counties at random. */
const TOWN_NAMES = [
  'FAIRVIEW',
  'MIDWAY',
  'OAK GROVE',
  'RIVERSIDE',
  'CENTERVILLE',
  'MOUNT PLEASANT',
  'GEORGETOWN',
  'SALEM',
  'GREENVILLE',
  'BRISTOL',
  'CLINTON',
  'SPRINGFIELD',
  'MADISON',
  'MARION',
  'CHESTER',
  'ARLINGTON',
  'ASHLAND',
  'BURLINGTON',
  'DOVER',
  'FRANKLIN',
  'HUDSON',
  'JACKSON',
  'KINGSTON',
  'LEBANON',
  'MILFORD',
  'NEWPORT',
  'OXFORD',
  'PLAINVIEW',
  'RICHMOND',
  'SHELBY',
  'TRENTON',
  'UNION',
  'VERNON',
  'WINCHESTER',
  'AUBURN',
  'BELMONT',
  'CAMDEN',
  'DAYTON',
  'EDGEWOOD',
  'FLORENCE',
  'GLENDALE',
  'HAMILTON',
  'LAKEWOOD',
  'LEXINGTON',
  'MANCHESTER',
  'MONROE',
  'NEWTON',
  'PRINCETON',
  'ROSEDALE',
  'SHARON',
  'WAVERLY',
  'WESTFIELD',
  'WOODLAND',
  'ALBANY',
  'BEDFORD',
  'CARLISLE',
  'DANVILLE',
  'ELMWOOD',
  'FAIRFIELD',
  'GREENWOOD',
  'HIGHLAND',
  'LANCASTER',
  'MAYFIELD',
  'NORWOOD',
  'PINEVILLE',
  'RIDGEWAY',
  'STANTON',
  'WARREN',
  'YORK',
] as const;

const PLACE_KINDS = [
  'ELEMENTARY SCHOOL',
  'COMMUNITY CENTER',
  'FIRE STATION',
  'PUBLIC LIBRARY',
  'RECREATION CENTER',
  'TOWN HALL',
  'MIDDLE SCHOOL',
  'SENIOR CENTER',
] as const;

/**
 * ZIP prefixes (first three digits) used by each state we generate for. ZIPs inside a prefix
 * are assigned to counties at random, so they are plausible but not geographically right.
 */
const ZIP3_RANGES: Readonly<Record<string, readonly [number, number]>> = {
  NC: [270, 289],
  OH: [430, 458],
  FL: [320, 349],
  WA: [980, 994],
};

/** Area codes in service in each state. */
const AREA_CODES: Readonly<Record<string, readonly string[]>> = {
  NC: ['252', '336', '704', '743', '828', '910', '919', '980', '984'],
  OH: ['216', '220', '234', '326', '330', '380', '419', '440', '513', '567', '614', '740', '937'],
  FL: [
    '239',
    '305',
    '321',
    '352',
    '386',
    '407',
    '561',
    '727',
    '754',
    '772',
    '786',
    '813',
    '850',
    '863',
    '904',
    '941',
    '954',
  ],
  WA: ['206', '253', '360', '425', '509', '564'],
};

/** RFC 2606 domains reserved for examples. */
const EMAIL_DOMAINS = ['example.com', 'example.net', 'example.org'] as const;

const CountiesSchema = z.record(
  z.string(),
  z.union([z.string(), z.array(z.tuple([z.string(), z.string()]))]),
);

/** Census counties of a state as [FIPS, name] pairs, for layouts without a county table. */
export function censusCounties(state: string): readonly (readonly [string, string])[] {
  const table = CountiesSchema.parse(
    JSON.parse(readFileSync(new URL('./data/counties.json', import.meta.url), 'utf8')),
  );
  const list = table[state];
  return Array.isArray(list) ? list : [];
}

/** One synthetic precinct: its town and ZIP. */
export interface Precinct {
  /** 1-based number within the county. */
  readonly number: number;
  readonly town: string;
  readonly zip: string;
  readonly pollingPlace: string;
}

/** The synthetic towns and precincts of one county. */
export interface CountyGeography {
  readonly towns: readonly string[];
  readonly precincts: readonly Precinct[];
}

/**
 * Builds the geography of county number `index` (0-based) of `countyCount` in `state`. Pure:
 * the same salt, state and index give the same towns and ZIPs.
 */
export function countyGeography(
  salt: number,
  state: string,
  index: number,
  countyCount: number,
): CountyGeography {
  const h = (...v: number[]): number => hashInts(salt, index, ...v);
  const townCount = 1 + (h(1) % 4);
  const towns: string[] = [];
  for (let t = 0; towns.length < townCount && t < 20; t++) {
    const town = TOWN_NAMES[h(2, t) % TOWN_NAMES.length] as string;
    if (!towns.includes(town)) towns.push(town);
  }
  const range = ZIP3_RANGES[state];
  const zip3 = range
    ? range[0] + Math.floor((index * (range[1] - range[0] + 1)) / Math.max(1, countyCount))
    : 100 + (h(3) % 900);
  const townZips = towns.map((_, t) => `${zip3}${String(h(4, t) % 100).padStart(2, '0')}`);
  const precinctCount = 4 + (h(5) % 37);
  const precincts: Precinct[] = [];
  for (let p = 0; p < precinctCount; p++) {
    const t = h(6, p) % towns.length;
    const town = towns[t] as string;
    precincts.push({
      number: p + 1,
      town,
      zip: townZips[t] as string,
      pollingPlace: `${town} ${PLACE_KINDS[h(7, p) % PLACE_KINDS.length] as string}`,
    });
  }
  return { towns, precincts };
}

/** A drawn street address, in parts. */
export interface StreetAddress {
  readonly houseNumber: string;
  readonly houseFraction: string;
  readonly preDirection: string;
  readonly streetName: string;
  readonly streetType: string;
  readonly postDirection: string;
  readonly unitType: string;
  readonly unitNumber: string;
}

const streetTypeWeights = STREET_TYPES.map(([, w]) => w);
const streetTypeTotal = streetTypeWeights.reduce((a, b) => a + b, 0);

function streetType(random: Random): string {
  let u = random.float() * streetTypeTotal;
  for (const [type, weight] of STREET_TYPES) {
    u -= weight;
    if (u < 0) return type;
  }
  return 'ST';
}

/** Draws a street address. */
export function streetAddress(random: Random): StreetAddress {
  const digits = random.float();
  const houseNumber = String(
    digits < 0.2
      ? random.between(1, 99)
      : digits < 0.75
        ? random.between(100, 999)
        : random.between(1000, 19999),
  );
  const unit = random.float();
  return {
    houseNumber,
    houseFraction: random.chance(0.002) ? '1/2' : '',
    preDirection: random.chance(0.1) ? random.pick(DIRECTIONS) : '',
    streetName: random.pick(STREET_NAMES),
    streetType: streetType(random),
    postDirection: random.chance(0.03) ? random.pick(DIRECTIONS) : '',
    unitType: unit < 0.14 ? random.pick(UNIT_TYPES) : '',
    unitNumber:
      unit < 0.14
        ? String(random.between(1, 40)) +
          (random.chance(0.3) ? random.pick(['A', 'B', 'C', 'D']) : '')
        : '',
  };
}

/** The street line: number, directions, name, type (without the unit). */
export function streetLine(a: StreetAddress): string {
  let line = a.houseNumber;
  if (a.houseFraction) line += ` ${a.houseFraction}`;
  if (a.preDirection) line += ` ${a.preDirection}`;
  line += ` ${a.streetName} ${a.streetType}`;
  if (a.postDirection) line += ` ${a.postDirection}`;
  return line;
}

/** The unit, e.g. `APT 4B`; empty when there is none. */
export function unitLine(a: StreetAddress): string {
  return a.unitType ? `${a.unitType} ${a.unitNumber}` : '';
}

/** A phone number in the fictional 555-0100 to 555-0199 block: area code and 7 digits. */
export function fictionalPhone(
  random: Random,
  state: string,
): { readonly area: string; readonly number: string } {
  const areas = AREA_CODES[state] ?? ['555'];
  return { area: random.pick(areas), number: `55501${String(random.int(100)).padStart(2, '0')}` };
}

/** An e-mail address at a reserved example domain. */
export function fictionalEmail(random: Random, first: string, last: string): string {
  const clean = (s: string): string =>
    s
      .normalize('NFD')
      .replace(/[^A-Za-z]/g, '')
      .toLowerCase();
  const f = clean(first) || 'voter';
  const l = clean(last) || 'mail';
  const style = random.int(4);
  const local =
    style === 0
      ? `${f}.${l}`
      : style === 1
        ? `${f}${l}${random.int(100)}`
        : style === 2
          ? `${f.charAt(0)}${l}`
          : `${l}.${f}${random.between(1950, 2008)}`;
  return `${local}@${random.pick(EMAIL_DOMAINS)}`;
}

/** Two-letter codes of states, for birth states and out-of-state mailing addresses. */
export const STATE_CODES = [
  'AL',
  'AK',
  'AZ',
  'AR',
  'CA',
  'CO',
  'CT',
  'DE',
  'DC',
  'FL',
  'GA',
  'HI',
  'ID',
  'IL',
  'IN',
  'IA',
  'KS',
  'KY',
  'LA',
  'ME',
  'MD',
  'MA',
  'MI',
  'MN',
  'MS',
  'MO',
  'MT',
  'NE',
  'NV',
  'NH',
  'NJ',
  'NM',
  'NY',
  'NC',
  'ND',
  'OH',
  'OK',
  'OR',
  'PA',
  'RI',
  'SC',
  'SD',
  'TN',
  'TX',
  'UT',
  'VT',
  'VA',
  'WA',
  'WV',
  'WI',
  'WY',
] as const;
