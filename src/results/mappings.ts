// Name mapping tables: how the office wants raw office, party and candidate names published.
// Sources spell the same party five ways (DEM, DEMOCRATIC, Democrat…) and the same office two
// ways (US PRESIDENT, President); contests and choices are keyed by the mapped name, so that
// two files of one election land in the same contest.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { z } from 'zod';
import { ResultsError } from './errors.ts';
import type { NameMappings } from './model.ts';

/** File name of the office's mapping table in a data directory. */
export const MAPPINGS_FILE = 'results-mappings.json';

/** Longest name a mapping may hold; office names of ballot measures run to a few hundred. */
const MAX_NAME_LENGTH = 2000;

const names = z.record(
  z.string().min(1).max(MAX_NAME_LENGTH),
  z.string().min(1).max(MAX_NAME_LENGTH),
);

/** Schema of `results-mappings.json`; every section is optional. */
export const NameMappingsSchema: z.ZodType<NameMappings, unknown> = z
  .object({
    offices: names.default({}),
    parties: names.default({}),
    candidates: names.default({}),
  })
  .strict();

/**
 * Defaults for variants seen in the shipped sources (OpenElections codes, MEDSL upper case).
 * An office's own table is laid over these, so it can override any of them. Typos in a source
 * (DE 2018 writes `LIBERTARIN`) are not fixed here: the office decides that in its own table.
 */
export const DEFAULT_MAPPINGS: NameMappings = {
  offices: {
    'US PRESIDENT': 'President',
    PRESIDENT: 'President',
    'PRESIDENT AND VICE PRESIDENT': 'President',
    'US SENATE': 'U.S. Senate',
    'U.S. SENATE': 'U.S. Senate',
    'US HOUSE': 'U.S. House',
    'U.S. HOUSE': 'U.S. House',
    GOVERNOR: 'Governor',
    'LIEUTENANT GOVERNOR': 'Lieutenant Governor',
    'ATTORNEY GENERAL': 'Attorney General',
    'SECRETARY OF STATE': 'Secretary of State',
    'STATE SENATE': 'State Senate',
    'STATE HOUSE': 'State House',
  },
  parties: {
    D: 'Democratic',
    DEM: 'Democratic',
    DEMOCRAT: 'Democratic',
    DEMOCRATIC: 'Democratic',
    'DEMOCRATIC PARTY': 'Democratic',
    R: 'Republican',
    REP: 'Republican',
    REPUBLICAN: 'Republican',
    'REPUBLICAN PARTY': 'Republican',
    GOP: 'Republican',
    L: 'Libertarian',
    LIB: 'Libertarian',
    LIBERTARIAN: 'Libertarian',
    'LIBERTARIAN PARTY': 'Libertarian',
    G: 'Green',
    GRE: 'Green',
    GRN: 'Green',
    GREEN: 'Green',
    'GREEN PARTY': 'Green',
    CON: 'Constitution',
    CONSTITUTION: 'Constitution',
    IND: 'Independent',
    INDEPENDENT: 'Independent',
    NPA: 'No Party Affiliation',
    NONPARTISAN: 'Nonpartisan',
    'NON-PARTISAN': 'Nonpartisan',
  },
  candidates: {},
};

/** Folds a raw name into a mapping key: upper case, punctuation and runs of spaces to one space. */
export function mappingKey(raw: string): string {
  return raw
    .normalize('NFKC')
    .toUpperCase()
    .replace(/[^\p{L}\p{N}&/-]+/gu, ' ')
    .trim();
}

/** A mapping table with its keys folded, ready to apply. */
export interface MappingTable {
  readonly office: (raw: string) => string;
  readonly party: (raw: string) => string;
  readonly candidate: (raw: string) => string;
}

function folded(defaults: Readonly<Record<string, string>>, own: Readonly<Record<string, string>>) {
  const map = new Map<string, string>();
  for (const [k, v] of Object.entries(defaults)) map.set(mappingKey(k), v);
  for (const [k, v] of Object.entries(own)) map.set(mappingKey(k), v);
  return (raw: string): string => map.get(mappingKey(raw)) ?? raw.trim();
}

/**
 * The office's table laid over {@link DEFAULT_MAPPINGS}; names with no entry pass through
 * trimmed and otherwise as the source spells them.
 */
export function mappingTable(
  own: NameMappings = { offices: {}, parties: {}, candidates: {} },
): MappingTable {
  return {
    office: folded(DEFAULT_MAPPINGS.offices, own.offices),
    party: folded(DEFAULT_MAPPINGS.parties, own.parties),
    candidate: folded(DEFAULT_MAPPINGS.candidates, own.candidates),
  };
}

/**
 * Parses the text of a mappings file.
 * Attacker-controlled only as operator input; it is validated with {@link NameMappingsSchema}.
 * @throws ResultsError MAPPINGS_INVALID naming the file and the first problem
 */
export function parseNameMappings(text: string, file: string): NameMappings {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error: unknown) {
    throw new ResultsError(
      'MAPPINGS_INVALID',
      `Cannot read mappings "${file}": not JSON`,
      { file },
      {
        cause: error,
      },
    );
  }
  const parsed = NameMappingsSchema.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new ResultsError(
      'MAPPINGS_INVALID',
      `Cannot read mappings "${file}": at "${issue?.path.join('.') ?? ''}", ${issue?.message ?? 'invalid'}`,
      { file },
    );
  }
  return parsed.data;
}

/**
 * Loads `<dir>/results-mappings.json`, or empty tables (defaults only) when there is none.
 * @throws ResultsError MAPPINGS_INVALID when the file is not valid; FILE_UNREADABLE when it
 * exists but cannot be read
 */
export async function loadNameMappings(dir: string): Promise<NameMappings> {
  const file = join(dir, MAPPINGS_FILE);
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error: unknown) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') {
      return { offices: {}, parties: {}, candidates: {} };
    }
    throw new ResultsError(
      'FILE_UNREADABLE',
      `Cannot read mappings "${MAPPINGS_FILE}"`,
      {
        file: MAPPINGS_FILE,
      },
      { cause: error },
    );
  }
  return parseNameMappings(text, MAPPINGS_FILE);
}
