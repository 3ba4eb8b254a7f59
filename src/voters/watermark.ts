// Watermarks of voter-roll exports (docs/design/exports.md): the per-row fingerprint carried by
// equivalent spellings of USPS address designators, and the keyed values that pick canary
// records. Pure functions over fields; export.ts writes the marks and trace.ts reads them back.
//
// Attacker-controlled input: when tracing, every field comes from a leaked file. The readers
// only split values on spaces and look tokens up in fixed tables; nothing is evaluated, and the
// caller bounds how many rows are read.
import type { KeyRing } from '../crypto/index.ts';
import type { FieldRole, LayoutColumn } from './layout.ts';

/** Name and version of the marking scheme, recorded with every export so trace re-derives it. */
export const MARK_SCHEME = 'votervault-export-mark-1';

/** Fewest canary records in an export, however small. */
export const MIN_CANARIES = 3;

/** Most canary records in an export, however large: enough to find one in any large excerpt. */
export const MAX_CANARIES = 10;

// Labels that start every watermark MAC message, one per use, so that no two uses (nor the
// row MAC of record.ts, "votervault voter row 1\0") can ever produce the same message.
const MARK_LABEL = 'votervault export mark 1\0';
const CANARY_SEED_LABEL = 'votervault export canary seed 1\0';
const CANARY_DIGEST_LABEL = 'votervault export canary 1\0';

/** Bit of {@link markBits} that picks the spelling of the street suffix (`ST` or `STREET`). */
export const SUFFIX_BIT = 1;
/** Bit that picks the spelling of the directional before the street name (`N` or `NORTH`). */
export const PRE_DIRECTION_BIT = 2;
/** Bit that picks the spelling of the directional after the street suffix. */
export const POST_DIRECTION_BIT = 4;

/**
 * Street suffixes as USPS Publication 28 Appendix C1 pairs them: the standard abbreviation and
 * the primary suffix name. Both spellings are the same delivery address to the Postal Service.
 * Left out on purpose: pairs whose abbreviation is also a common word or name part in an
 * address line (`MT` mount, `FT` fort, `ST` is kept because the position rule below rules out
 * `ST` for saint), and suffixes without a distinct abbreviation (`WAY`, `LOOP`, `WALK`).
 */
const SUFFIXES: readonly (readonly [string, string])[] = [
  ['ALY', 'ALLEY'],
  ['AVE', 'AVENUE'],
  ['BLVD', 'BOULEVARD'],
  ['BYP', 'BYPASS'],
  ['CSWY', 'CAUSEWAY'],
  ['CTR', 'CENTER'],
  ['CIR', 'CIRCLE'],
  ['CT', 'COURT'],
  ['CV', 'COVE'],
  ['CRK', 'CREEK'],
  ['CRES', 'CRESCENT'],
  ['XING', 'CROSSING'],
  ['DR', 'DRIVE'],
  ['EXPY', 'EXPRESSWAY'],
  ['EXT', 'EXTENSION'],
  ['FWY', 'FREEWAY'],
  ['GDN', 'GARDEN'],
  ['GRV', 'GROVE'],
  ['HBR', 'HARBOR'],
  ['HTS', 'HEIGHTS'],
  ['HWY', 'HIGHWAY'],
  ['HOLW', 'HOLLOW'],
  ['JCT', 'JUNCTION'],
  ['LNDG', 'LANDING'],
  ['LN', 'LANE'],
  ['MNR', 'MANOR'],
  ['MDW', 'MEADOW'],
  ['MDWS', 'MEADOWS'],
  ['ORCH', 'ORCHARD'],
  ['PKWY', 'PARKWAY'],
  ['PL', 'PLACE'],
  ['PLZ', 'PLAZA'],
  ['PT', 'POINT'],
  ['RDG', 'RIDGE'],
  ['RD', 'ROAD'],
  ['SQ', 'SQUARE'],
  ['STA', 'STATION'],
  ['ST', 'STREET'],
  ['TER', 'TERRACE'],
  ['TRCE', 'TRACE'],
  ['TRL', 'TRAIL'],
  ['TPKE', 'TURNPIKE'],
  ['VLY', 'VALLEY'],
  ['VW', 'VIEW'],
  ['VLG', 'VILLAGE'],
  ['VIS', 'VISTA'],
];

/** Directionals (USPS Publication 28 section 233): abbreviation and full word. */
const DIRECTIONS: readonly (readonly [string, string])[] = [
  ['N', 'NORTH'],
  ['S', 'SOUTH'],
  ['E', 'EAST'],
  ['W', 'WEST'],
  ['NE', 'NORTHEAST'],
  ['NW', 'NORTHWEST'],
  ['SE', 'SOUTHEAST'],
  ['SW', 'SOUTHWEST'],
];

/**
 * Secondary unit designators (USPS Publication 28 Appendix C2), both spellings. They are never
 * rewritten: they only tell where the street part of a one-line address ends.
 */
const UNIT_DESIGNATORS: ReadonlySet<string> = new Set([
  'APT',
  'APARTMENT',
  'BSMT',
  'BASEMENT',
  'BLDG',
  'BUILDING',
  'DEPT',
  'DEPARTMENT',
  'FL',
  'FLOOR',
  'FRNT',
  'FRONT',
  'HNGR',
  'HANGAR',
  'KEY',
  'LBBY',
  'LOBBY',
  'LOT',
  'LOWR',
  'LOWER',
  'OFC',
  'OFFICE',
  'PH',
  'PENTHOUSE',
  'PIER',
  'REAR',
  'RM',
  'ROOM',
  'SIDE',
  'SLIP',
  'SPC',
  'SPACE',
  'STOP',
  'STE',
  'SUITE',
  'TRLR',
  'TRAILER',
  'UNIT',
  'UPPR',
  'UPPER',
  '#',
]);

/** Upper-case spelling → its pair, for one table. */
type PairTable = ReadonlyMap<string, { readonly short: string; readonly long: string }>;

function pairTable(pairs: readonly (readonly [string, string])[]): PairTable {
  const table = new Map<string, { short: string; long: string }>();
  for (const [short, long] of pairs) {
    table.set(short, { short, long });
    table.set(long, { short, long });
  }
  return table;
}

const SUFFIX_TABLE = pairTable(SUFFIXES);
const DIRECTION_TABLE = pairTable(DIRECTIONS);

/** Every spelling the tables know, by table: for the test that they never overlap. */
export function designatorTables(): {
  readonly suffixes: readonly string[];
  readonly directions: readonly string[];
  readonly units: readonly string[];
} {
  return {
    suffixes: [...SUFFIX_TABLE.keys()],
    directions: [...DIRECTION_TABLE.keys()],
    units: [...UNIT_DESIGNATORS],
  };
}

/** Where the carriers of the fingerprint are in a row: 0-based field positions. */
export interface MarkColumns {
  /** A one-line street address (`123 N MAIN ST APT 4`). */
  readonly line?: number;
  /** Longest value the one-line address column accepts, if the layout bounds it. */
  readonly lineMaxLength?: number;
  /** A column holding only the street suffix (Washington `RegStType`). */
  readonly suffix?: number;
  readonly suffixMaxLength?: number;
  /** A column holding only the pre-directional. */
  readonly pre?: number;
  readonly preMaxLength?: number;
  /** A column holding only the post-directional. */
  readonly post?: number;
  readonly postMaxLength?: number;
}

const CARRIER_ROLES = {
  residenceAddress: ['line', 'lineMaxLength'],
  streetType: ['suffix', 'suffixMaxLength'],
  streetPreDirection: ['pre', 'preMaxLength'],
  streetPostDirection: ['post', 'postMaxLength'],
} as const satisfies Partial<Record<FieldRole, readonly [keyof MarkColumns, keyof MarkColumns]>>;

/**
 * The carrier columns among `columns` (the columns of a file, in file order), by role. Only the
 * residence address carries marks: it is in every public extract, and a mailing address may be
 * a post-office box or abroad.
 */
export function markColumnsOf(columns: readonly LayoutColumn[]): MarkColumns {
  const out: { -readonly [K in keyof MarkColumns]: number } = {};
  columns.forEach((column, i) => {
    const role = column.role;
    if (!Object.hasOwn(CARRIER_ROLES, role)) return;
    const [position, max] = CARRIER_ROLES[role as keyof typeof CARRIER_ROLES];
    if (out[position] !== undefined) return;
    out[position] = i;
    if (column.maxLength !== undefined) out[max] = column.maxLength;
  });
  return out;
}

/** Where the carriers of a one-line address are: token positions, or -1. */
interface LineCarriers {
  readonly suffix: number;
  readonly pre: number;
  readonly post: number;
}

const NONE: LineCarriers = { suffix: -1, pre: -1, post: -1 };
const HAS_DIGIT = /\d/;
const FRACTION = /^\d+\/\d+$/;

/**
 * Finds the carriers of a one-line street address split on single spaces:
 *
 *     house-number [fraction] [pre-directional] name… suffix [post-directional] [unit]
 *
 * The suffix is the last token found in the suffix table that has at least one token between
 * it and the house number and is followed only by an optional directional and an optional unit
 * (a designator and at most two more tokens). A pre-directional counts only with at least one
 * name token between it and the suffix (`100 N ST` is the street named N).
 *
 * Every test looks a token up in the three tables, which share no spelling, and rewriting a
 * carrier swaps it for the other spelling in the same table: so a rewritten address has its
 * carriers at the same positions, which is what lets trace read back what export wrote.
 */
function lineCarriers(tokens: readonly string[]): LineCarriers {
  const m = tokens.length;
  if (m < 3 || !HAS_DIGIT.test(tokens[0] ?? '')) return NONE;
  const name = FRACTION.test(tokens[1] ?? '') ? 2 : 1;
  for (let s = m - 1; s > name; s--) {
    if (!SUFFIX_TABLE.has(upper(tokens[s]))) continue;
    let i = s + 1;
    const post = i < m && DIRECTION_TABLE.has(upper(tokens[i])) ? i : -1;
    if (post >= 0) i += 1;
    if (i < m) {
      const unit = upper(tokens[i]);
      if (!(UNIT_DESIGNATORS.has(unit) || unit.startsWith('#')) || m - i - 1 > 2) continue;
    }
    const pre = DIRECTION_TABLE.has(upper(tokens[name])) && s - name >= 2 ? name : -1;
    return { suffix: s, pre, post };
  }
  return NONE;
}

function upper(token: string | undefined): string {
  return (token ?? '').toUpperCase();
}

/** `word` written in the letter case of `like`: upper, lower, or capitalised. */
function sameCase(word: string, like: string): string {
  if (like === like.toUpperCase()) return word;
  if (like === like.toLowerCase()) return word.toLowerCase();
  return word.charAt(0) + word.slice(1).toLowerCase();
}

/** The spelling of `token` that `long` asks for, in the token's letter case. */
function spell(table: PairTable, token: string, long: boolean): string {
  const pair = table.get(token.toUpperCase());
  if (pair === undefined) return token;
  return sameCase(long ? pair.long : pair.short, token);
}

/** Whether `token` is the long spelling of its pair. */
function isLong(table: PairTable, token: string): boolean {
  const key = token.toUpperCase();
  return table.get(key)?.long === key;
}

/** The longest the line can get with every carrier spelled out: the same for every marking. */
function longestLength(tokens: readonly string[], carriers: LineCarriers): number {
  let length = tokens.join(' ').length;
  const grow = (table: PairTable, at: number): void => {
    if (at < 0) return;
    const token = tokens[at] ?? '';
    length += spell(table, token, true).length - token.length;
  };
  grow(SUFFIX_TABLE, carriers.suffix);
  grow(DIRECTION_TABLE, carriers.pre);
  grow(DIRECTION_TABLE, carriers.post);
  return length;
}

/** The carriers a row has (a mask of the bits above) and the spelling each one shows. */
export interface ObservedMarks {
  /** Bits of the carriers present in the row. */
  readonly mask: number;
  /** For each carrier present, 1 when it is spelled out in full. */
  readonly bits: number;
}

interface Carrier {
  readonly bit: number;
  readonly table: PairTable;
  /** Reads the carrier's token; undefined when the row has no such carrier. */
  readonly token: string;
  readonly write: (spelled: string) => void;
}

/** The carriers of a row and how to rewrite each; the row is changed only through `write`. */
function carriersOf(fields: string[], columns: MarkColumns): Carrier[] {
  const carriers: Carrier[] = [];
  if (columns.line !== undefined) {
    const index = columns.line;
    const tokens = (fields[index] ?? '').split(' ');
    const found = lineCarriers(tokens);
    const fits =
      found.suffix >= 0 &&
      (columns.lineMaxLength === undefined ||
        longestLength(tokens, found) <= columns.lineMaxLength);
    if (fits) {
      const add = (bit: number, table: PairTable, at: number): void => {
        if (at < 0) return;
        carriers.push({
          bit,
          table,
          token: tokens[at] ?? '',
          write: (spelled) => {
            tokens[at] = spelled;
            fields[index] = tokens.join(' ');
          },
        });
      };
      add(SUFFIX_BIT, SUFFIX_TABLE, found.suffix);
      add(PRE_DIRECTION_BIT, DIRECTION_TABLE, found.pre);
      add(POST_DIRECTION_BIT, DIRECTION_TABLE, found.post);
    }
  }
  const whole = (
    bit: number,
    table: PairTable,
    index: number | undefined,
    max: number | undefined,
  ): void => {
    if (index === undefined) return;
    const value = fields[index] ?? '';
    const pair = table.get(value.toUpperCase());
    if (pair === undefined || (max !== undefined && pair.long.length > max)) return;
    carriers.push({ bit, table, token: value, write: (spelled) => (fields[index] = spelled) });
  };
  // A layout has either a one-line address or its parts; a layout with both marks the line
  // and the parts under the same bits, which trace reads back the same way.
  if (columns.line === undefined) {
    whole(SUFFIX_BIT, SUFFIX_TABLE, columns.suffix, columns.suffixMaxLength);
    whole(PRE_DIRECTION_BIT, DIRECTION_TABLE, columns.pre, columns.preMaxLength);
    whole(POST_DIRECTION_BIT, DIRECTION_TABLE, columns.post, columns.postMaxLength);
  }
  return carriers;
}

/**
 * Writes the fingerprint into a row in place: each carrier is spelled out in full when its bit
 * of `bits` is 1 and abbreviated when it is 0. Returns the carriers written (a mask).
 */
export function applyMarks(fields: string[], columns: MarkColumns, bits: number): number {
  let mask = 0;
  for (const carrier of carriersOf(fields, columns)) {
    carrier.write(spell(carrier.table, carrier.token, (bits & carrier.bit) !== 0));
    mask |= carrier.bit;
  }
  return mask;
}

/** Reads the fingerprint a row shows, without changing it. */
export function readMarks(fields: readonly string[], columns: MarkColumns): ObservedMarks {
  let mask = 0;
  let bits = 0;
  for (const carrier of carriersOf([...fields], columns)) {
    mask |= carrier.bit;
    if (isLong(carrier.table, carrier.token)) bits |= carrier.bit;
  }
  return { mask, bits };
}

/** Bytes of `label` then each part as a 4-byte big-endian length and its UTF-8 bytes. */
function macMessage(label: string, parts: readonly string[]): Buffer {
  const encoded = parts.map((part) => Buffer.from(part, 'utf8'));
  const head = Buffer.from(label, 'utf8');
  const message = Buffer.allocUnsafe(
    head.length + encoded.reduce((sum, part) => sum + 4 + part.length, 0),
  );
  let at = head.copy(message, 0);
  for (const part of encoded) {
    at = message.writeUInt32BE(part.length, at);
    at += part.copy(message, at);
  }
  return message;
}

/** What keys the marks of one export. */
export interface MarkKey {
  readonly exportId: string;
  readonly recipient: string;
}

/**
 * The marking bits of one voter in one export: the first byte of
 * `HMAC-SHA256(watermark key, "votervault export mark 1\0" || len-prefixed export id,
 * recipient, voter id)`. Each bit is an independent fair coin to anyone without the key, so
 * another export's marks, or an unmarked file, agree with them on half the carriers.
 */
export function markBits(ring: KeyRing, key: MarkKey, voterId: string): number {
  return ring.watermarkMac(macMessage(MARK_LABEL, [key.exportId, key.recipient, voterId]))[0] ?? 0;
}

/**
 * Seed of the generator of an export's canary records (64 hex digits): keyed, so nobody
 * without the key can regenerate them and recognise them in the file.
 */
export function canarySeed(ring: KeyRing, key: MarkKey): string {
  return Buffer.from(
    ring.watermarkMac(macMessage(CANARY_SEED_LABEL, [key.exportId, key.recipient])),
  ).toString('hex');
}

/**
 * Fingerprint of a canary record: 32 hex digits of a keyed MAC of the export id and the
 * record's voter id, last and first name (upper case, trimmed), the columns any excerpt keeps.
 * A leaked row with a canary's id and this fingerprint is that export's canary, not a real
 * voter who later got the same id.
 */
export function canaryDigest(
  ring: KeyRing,
  exportId: string,
  identity: { readonly voterId: string; readonly last: string; readonly first: string },
): string {
  const parts = [exportId, identity.voterId, identity.last, identity.first].map((part) =>
    part.trim().toUpperCase(),
  );
  return Buffer.from(ring.watermarkMac(macMessage(CANARY_DIGEST_LABEL, parts)))
    .subarray(0, 16)
    .toString('hex');
}

/** How many canaries an export of `rows` real rows gets: √rows / 10, from 3 to 10. */
export function canaryCount(rows: number): number {
  return Math.min(MAX_CANARIES, Math.max(MIN_CANARIES, Math.ceil(Math.sqrt(rows) / 10)));
}

/** Number of 1 bits of a small mask. */
export function popCount(mask: number): number {
  let count = 0;
  for (let m = mask; m !== 0; m &= m - 1) count += 1;
  return count;
}

/**
 * log10 of the chance that a fair coin agrees on at least `k` of `n` flips: the upper tail of
 * Binomial(n, 1/2), summed in log space so that thousands of flips do not underflow.
 * `-binomialTailLog10(n, k)` is the fingerprint score.
 */
export function binomialTailLog10(n: number, k: number): number {
  if (k <= 0) return 0;
  if (k > n) return Number.NEGATIVE_INFINITY;
  // log C(n, i) for i = k…n, from log C(n, k) and the ratio C(n, i+1) / C(n, i) = (n-i)/(i+1).
  let logC = 0;
  for (let i = 0; i < k; i++) logC += Math.log(n - i) - Math.log(i + 1);
  let max = logC;
  const terms: number[] = [logC];
  for (let i = k; i < n; i++) {
    logC += Math.log(n - i) - Math.log(i + 1);
    terms.push(logC);
    if (logC > max) max = logC;
  }
  let sum = 0;
  for (const term of terms) sum += Math.exp(term - max);
  return (max + Math.log(sum) - n * Math.LN2) / Math.LN10;
}
