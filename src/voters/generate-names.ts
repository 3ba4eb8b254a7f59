/**
 * Names for synthetic voters, drawn from public aggregate tables (data/SOURCES.md): surnames
 * weighted by 2010 Census counts, with the surname's race and ethnicity shares choosing the
 * voter's group; first names from NYC birth counts by sex and group. No individual's data.
 */
import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { AliasTable, WeightedChoice } from './generate-random.ts';
import type { Random } from './generate-random.ts';

/** Race and ethnicity groups of the Census surname table. */
export const SURNAME_GROUPS = ['white', 'black', 'api', 'aian', 'multi', 'hispanic'] as const;

/** One of {@link SURNAME_GROUPS}: non-Hispanic white, Black, Asian and Pacific Islander, American Indian and Alaska Native, two or more races; Hispanic of any race. */
export type SurnameGroup = (typeof SURNAME_GROUPS)[number];

/** Sex of a synthetic voter: female, male or undesignated. */
export type Sex = 'F' | 'M' | 'U';

/**
 * Share of people whose surname is in the Census top 1,000 (cumulative 40,968.4 per 100,000
 * in the table). The rest get a "tail" surname so that names are not all common ones.
 */
export const TOP_SURNAME_SHARE = 0.409684;

const SurnamesSchema = z.object({
  groups: z.tuple([
    z.literal('white'),
    z.literal('black'),
    z.literal('api'),
    z.literal('aian'),
    z.literal('multi'),
    z.literal('hispanic'),
  ]),
  names: z
    .array(z.tuple([z.string(), z.number().positive(), z.array(z.number().min(0)).length(6)]))
    .min(1),
});

const SpanishSchema = z.object({ names: z.array(z.string()).min(1) });

const FirstNameList = z.array(z.tuple([z.string(), z.number().positive()])).min(1);
const FirstNamesSchema = z.object({
  F: z.object({
    api: FirstNameList,
    black: FirstNameList,
    white: FirstNameList,
    hispanic: FirstNameList,
  }),
  M: z.object({
    api: FirstNameList,
    black: FirstNameList,
    white: FirstNameList,
    hispanic: FirstNameList,
  }),
});

function readTable<T>(name: string, schema: z.ZodType<T>): T {
  return schema.parse(JSON.parse(readFileSync(new URL(`./data/${name}`, import.meta.url), 'utf8')));
}

/**
 * English-looking stems and endings for surnames outside the top 1,000 (the Census tail of
 * about 59 % of people, which the public table does not list). Each pair makes a plausible
 * surname such as ASHFORD or WHITFIELD; none stands for a person.
 */
const TAIL_STEMS = [
  'ASH',
  'BARN',
  'BLACK',
  'BRAD',
  'BROOK',
  'CALD',
  'CRAN',
  'DAL',
  'DUN',
  'EL',
  'FAIR',
  'FAR',
  'GRAN',
  'HAL',
  'HART',
  'HOL',
  'KING',
  'LANG',
  'LIND',
  'MAR',
  'MID',
  'NEW',
  'NOR',
  'OAK',
  'PEM',
  'RAD',
  'RICH',
  'ROCK',
  'SHER',
  'STAN',
  'STRAT',
  'THORN',
  'WAL',
  'WEST',
  'WHIT',
  'WIN',
] as const;
const TAIL_ENDINGS = [
  'BY',
  'DALE',
  'FIELD',
  'FORD',
  'HAM',
  'HURST',
  'LEY',
  'MAN',
  'MORE',
  'SON',
  'TON',
  'WELL',
  'WORTH',
  'WOOD',
  'STEAD',
  'COTT',
  'WICK',
  'BURN',
  'INGTON',
  'LOW',
] as const;

/**
 * Accented spellings used for a share of Hispanic voters, so that generated files exercise
 * the non-ASCII path of each layout's encoding (all are in Latin-1, hence in windows-1252).
 */
const ACCENTED: Readonly<Record<string, string>> = {
  PENA: 'PEÑA',
  MUNOZ: 'MUÑOZ',
  NUNEZ: 'NÚÑEZ',
  IBANEZ: 'IBÁÑEZ',
  GOMEZ: 'GÓMEZ',
  PEREZ: 'PÉREZ',
  RODRIGUEZ: 'RODRÍGUEZ',
  HERNANDEZ: 'HERNÁNDEZ',
  MARTINEZ: 'MARTÍNEZ',
  GONZALEZ: 'GONZÁLEZ',
  SANCHEZ: 'SÁNCHEZ',
  RAMIREZ: 'RAMÍREZ',
  LOPEZ: 'LÓPEZ',
  DIAZ: 'DÍAZ',
  JIMENEZ: 'JIMÉNEZ',
  ALVAREZ: 'ÁLVAREZ',
  FERNANDEZ: 'FERNÁNDEZ',
  VAZQUEZ: 'VÁZQUEZ',
  JOSE: 'JOSÉ',
  MARIA: 'MARÍA',
  JESUS: 'JESÚS',
  ANGEL: 'ÁNGEL',
  RAMON: 'RAMÓN',
  SEBASTIAN: 'SEBASTIÁN',
  MATIAS: 'MATÍAS',
  VALERIA: 'VALERÍA',
  SOFIA: 'SOFÍA',
  LUCIA: 'LUCÍA',
};

/** Share of Hispanic voters whose names are written with accents where the table has them. */
const ACCENTED_SHARE = 0.15;

/** A drawn surname and the voter's group. */
export interface DrawnSurname {
  readonly surname: string;
  readonly group: SurnameGroup;
}

/** A drawn full name. */
export interface DrawnName extends DrawnSurname {
  readonly first: string;
  readonly middle: string;
  readonly suffix: string;
}

type NycGroup = 'api' | 'black' | 'white' | 'hispanic';
const NYC_GROUPS: readonly NycGroup[] = ['api', 'black', 'white', 'hispanic'];

/** The name tables, loaded once. */
export class NameTables {
  readonly #topNames: readonly string[];
  readonly #topTable: AliasTable;
  /** Cumulative group shares per top surname, 6 per name. */
  readonly #topGroups: Float64Array;
  readonly #tailGroup: WeightedChoice<SurnameGroup>;
  readonly #apiSurname: AliasTable;
  readonly #spanish: readonly string[];
  readonly #first: Readonly<Record<'F' | 'M', Readonly<Record<NycGroup, WeightedChoice<string>>>>>;
  /** Aggregate group shares of the top-1,000 table, weighted by counts (sum 1). */
  readonly groupShares: Readonly<Record<SurnameGroup, number>>;

  constructor() {
    const surnames = readTable('surnames.json', SurnamesSchema);
    const spanish = readTable('spanish-surnames.json', SpanishSchema);
    const first = readTable('first-names.json', FirstNamesSchema);
    this.#topNames = surnames.names.map(([name]) => name);
    this.#topTable = new AliasTable(surnames.names.map(([, count]) => count));
    this.#topGroups = new Float64Array(surnames.names.length * 6);
    const totals = [0, 0, 0, 0, 0, 0];
    surnames.names.forEach(([, count, shares], i) => {
      const sum = shares.reduce((a, b) => a + b, 0);
      let acc = 0;
      shares.forEach((share, g) => {
        acc += share / sum;
        this.#topGroups[i * 6 + g] = acc;
        totals[g] = (totals[g] ?? 0) + (count * share) / sum;
      });
      this.#topGroups[i * 6 + 5] = 1;
    });
    const grand = totals.reduce((a, b) => a + b, 0);
    const shares = Object.fromEntries(SURNAME_GROUPS.map((g, i) => [g, (totals[i] ?? 0) / grand]));
    this.groupShares = shares as Record<SurnameGroup, number>;
    // The tail follows the same group mix as the top 1,000, so the whole file does too.
    this.#tailGroup = new WeightedChoice(
      SURNAME_GROUPS.map((g, i) => [g, totals[i] ?? 0] as const),
    );
    this.#apiSurname = new AliasTable(surnames.names.map(([, count, s]) => count * (s[2] ?? 0)));
    this.#spanish = spanish.names;
    const choices = (sex: 'F' | 'M'): Record<NycGroup, WeightedChoice<string>> => ({
      api: new WeightedChoice(first[sex].api),
      black: new WeightedChoice(first[sex].black),
      white: new WeightedChoice(first[sex].white),
      hispanic: new WeightedChoice(first[sex].hispanic),
    });
    this.#first = { F: choices('F'), M: choices('M') };
  }

  /** Draws a surname and, from its group shares, the voter's group. */
  surname(random: Random): DrawnSurname {
    if (random.float() < TOP_SURNAME_SHARE) {
      const i = this.#topTable.sample(random);
      const u = random.float();
      let g = 0;
      while (g < 5 && u >= (this.#topGroups[i * 6 + g] as number)) g++;
      return { surname: this.#topNames[i] as string, group: SURNAME_GROUPS[g] as SurnameGroup };
    }
    const group = this.#tailGroup.sample(random);
    switch (group) {
      case 'hispanic':
        return { surname: random.pick(this.#spanish), group };
      case 'api':
        return { surname: this.#topNames[this.#apiSurname.sample(random)] as string, group };
      case 'white':
      case 'black':
      case 'aian':
      case 'multi':
        return { surname: random.pick(TAIL_STEMS) + random.pick(TAIL_ENDINGS), group };
    }
  }

  /** A first name for the sex and group; an undesignated sex draws from either list. */
  firstName(random: Random, sex: Sex, group: SurnameGroup): string {
    const table =
      sex === 'U' ? (random.chance(0.5) ? this.#first.F : this.#first.M) : this.#first[sex];
    const nyc: NycGroup =
      group === 'aian' || group === 'multi'
        ? (NYC_GROUPS[random.int(NYC_GROUPS.length)] as NycGroup)
        : group;
    return table[nyc].sample(random);
  }

  /** A whole name: surname, group, first and middle name, suffix. */
  name(random: Random, sex: Sex): DrawnName {
    const { surname, group } = this.surname(random);
    let first = this.firstName(random, sex, group);
    const m = random.float();
    let middle = m < 0.78 ? this.firstName(random, sex, group) : m < 0.9 ? first.charAt(0) : '';
    if (middle === first) middle = '';
    let last = surname;
    if (group === 'hispanic' && random.chance(ACCENTED_SHARE)) {
      last = ACCENTED[last] ?? last;
      first = ACCENTED[first] ?? first;
      middle = ACCENTED[middle] ?? middle;
    }
    let suffix = '';
    if (sex === 'M') {
      const s = random.float();
      suffix = s < 0.03 ? 'JR' : s < 0.04 ? 'SR' : s < 0.045 ? 'II' : s < 0.05 ? 'III' : '';
    }
    return { surname: last, group, first, middle, suffix };
  }
}

let loaded: NameTables | undefined;

/** The name tables, read and checked on first use only. */
export function nameTables(): NameTables {
  loaded ??= new NameTables();
  return loaded;
}
