// Normalisation of the values that blind indexes are computed over. A blind index matches only
// when the normalised values are equal byte for byte, so the rules decide which spellings of a
// name or date a lookup finds; they are documented in docs/design/key-ring.md and must never
// change without re-indexing every row. The inputs come from voter files and from the public
// lookup form (attacker-controlled): each is capped at MAX_NORMALISE_INPUT characters before
// any Unicode work, and a value with nothing left to match is refused rather than indexed.
import { assert } from '../basics/index.ts';
import type { Brand } from '../basics/index.ts';
import { lengthPrefixed } from './encoding.ts';
import { CryptoError } from './errors.ts';

/** A name as {@link normaliseName} returns it: upper-case letters and digits only. */
export type NormalisedName = Brand<string, 'NormalisedName'>;
/** A full date as {@link normaliseDate} returns it: `YYYY-MM-DD`. */
export type NormalisedDate = Brand<string, 'NormalisedDate'>;
/** A year as {@link normaliseBirthYear} returns it: `YYYY`. */
export type NormalisedBirthYear = Brand<string, 'NormalisedBirthYear'>;
/** A five-digit ZIP code as {@link normaliseZip} returns it. */
export type NormalisedZip = Brand<string, 'NormalisedZip'>;
/** A county as {@link normaliseCounty} returns it. */
export type NormalisedCounty = Brand<string, 'NormalisedCounty'>;

/** A blind index: lower-case hex of a 32-byte HMAC-SHA256. */
export type BlindIndex = Brand<string, 'BlindIndex'>;

/**
 * Longest input a normaliser accepts, in UTF-16 code units. Far above any real name, and small
 * enough that a hostile lookup cannot make NFKD normalisation expensive.
 */
export const MAX_NORMALISE_INPUT = 256;

// Letters that NFKD does not decompose into a base letter and marks, folded the way people type
// them on a keyboard without the letter (ß becomes SS through toUpperCase).
const LETTER_FOLDS: Readonly<Record<string, string>> = {
  Ø: 'O',
  ø: 'o',
  Đ: 'D',
  đ: 'd',
  Ł: 'L',
  ł: 'l',
  Ħ: 'H',
  ħ: 'h',
  Æ: 'AE',
  æ: 'ae',
  Œ: 'OE',
  œ: 'oe',
  Þ: 'TH',
  þ: 'th',
  ı: 'i',
};
const FOLDABLE = /[ØøĐđŁłĦħÆæŒœÞþı]/gu;
const MARKS = /\p{M}/gu;
const NOT_LETTER_OR_DIGIT = /[^\p{L}\p{N}]/gu;
const SEPARATORS = /[^\p{L}\p{N}]+/u;

/** A county's last word that people add or leave out ("Wake County", "Orleans Parish"). */
const COUNTY_SUFFIXES: ReadonlySet<string> = new Set(['COUNTY', 'PARISH', 'BOROUGH']);
/** Words people abbreviate in county names ("Saint Lucie", "St. Lucie"). */
const COUNTY_ABBREVIATIONS: Readonly<Record<string, string>> = { SAINT: 'ST', SAINTE: 'STE' };

/**
 * Normalises a first, middle or last name: NFKD, combining marks removed, letters that do not
 * decompose folded (Ø→O, Ł→L, Æ→AE, ß→SS, …), upper-cased, then everything but letters and
 * digits removed, spaces included. So "José  O'Neil", "jose oneil" and "JOSE O NEIL" are all
 * `JOSEONEIL`, and "Mary-Ann" equals "Mary Ann".
 * @throws CryptoError VALUE_INVALID when the input is longer than {@link MAX_NORMALISE_INPUT} or
 *   holds no letter or digit
 */
export function normaliseName(value: string): NormalisedName {
  const folded = fold(checkLength(value, 'name')).replace(NOT_LETTER_OR_DIGIT, '');
  return nonEmpty(folded, 'name') as NormalisedName;
}

/**
 * Normalises a county name like {@link normaliseName}, and also drops a last word COUNTY, PARISH
 * or BOROUGH and abbreviates SAINT to ST and SAINTE to STE: "St. Lucie County" and "saint lucie"
 * are both `STLUCIE`. County codes (digits) are kept as they are.
 * @throws CryptoError VALUE_INVALID when the input is longer than {@link MAX_NORMALISE_INPUT} or
 *   holds no letter or digit
 */
export function normaliseCounty(value: string): NormalisedCounty {
  const words = fold(checkLength(value, 'county'))
    .split(SEPARATORS)
    .filter((word) => word !== '');
  if (words.length > 1 && COUNTY_SUFFIXES.has(String(words.at(-1)))) words.pop();
  const joined = words.map((word) => COUNTY_ABBREVIATIONS[word] ?? word).join('');
  return nonEmpty(joined, 'county') as NormalisedCounty;
}

/**
 * Normalises a full date to `YYYY-MM-DD`. Accepts `YYYY-MM-DD` (month and day may have one
 * digit), `YYYYMMDD` and the US order `MM/DD/YYYY` (one-digit month and day allowed), with
 * surrounding spaces. Day-first dates are not accepted: `03/04/1980` is March 4.
 * @throws CryptoError VALUE_INVALID when the input is not one of these forms or not a calendar
 *   date with a year from 1000 to 9999
 */
export function normaliseDate(value: string): NormalisedDate {
  const date = parseDate(checkLength(value, 'date'));
  if (date === null) {
    throw new CryptoError(
      'VALUE_INVALID',
      'Cannot normalise date: expected a calendar date as YYYY-MM-DD, YYYYMMDD or MM/DD/YYYY',
    );
  }
  return date as NormalisedDate;
}

/**
 * Normalises a year of birth to `YYYY`, from a year alone or from a full date in any form
 * {@link normaliseDate} accepts, so a partial date of birth can be matched on its own.
 * @throws CryptoError VALUE_INVALID when the input is neither a year from 1000 to 9999 nor a date
 */
export function normaliseBirthYear(value: string): NormalisedBirthYear {
  const trimmed = checkLength(value, 'year').trim();
  const year = YEAR.test(trimmed) ? trimmed : parseDate(trimmed)?.slice(0, 4);
  if (year === undefined) {
    throw new CryptoError(
      'VALUE_INVALID',
      'Cannot normalise year: expected YYYY or a date as YYYY-MM-DD, YYYYMMDD or MM/DD/YYYY',
    );
  }
  return year as NormalisedBirthYear;
}

/**
 * Normalises a US ZIP code to its five digits: accepts `12345`, `12345-6789`, `12345 6789` and
 * `123456789` (full-width digits too), with surrounding spaces. A ZIP that lost its leading zero
 * (`2134`) is refused rather than guessed.
 * @throws CryptoError VALUE_INVALID when the input is not a ZIP or ZIP+4 code
 */
export function normaliseZip(value: string): NormalisedZip {
  const match = ZIP.exec(checkLength(value, 'ZIP code').normalize('NFKD').trim());
  if (match === null) {
    throw new CryptoError(
      'VALUE_INVALID',
      'Cannot normalise ZIP code: expected 5 digits, optionally followed by 4 more',
    );
  }
  return String(match[1]) as NormalisedZip;
}

const YEAR = /^[1-9]\d{3}$/;
const ZIP = /^(\d{5})(?:[- ]?\d{4})?$/;
const ISO_DATE = /^([1-9]\d{3})-(\d{1,2})-(\d{1,2})$/;
const COMPACT_DATE = /^([1-9]\d{3})(\d{2})(\d{2})$/;
const US_DATE = /^(\d{1,2})\/(\d{1,2})\/([1-9]\d{3})$/;

/** `YYYY-MM-DD` of a date in one of the accepted forms, or null. */
function parseDate(value: string): string | null {
  const text = value.trim();
  let parts: [string, string, string] | null = null;
  const iso = ISO_DATE.exec(text) ?? COMPACT_DATE.exec(text);
  if (iso !== null) parts = [String(iso[1]), String(iso[2]), String(iso[3])];
  const us = US_DATE.exec(text);
  if (us !== null) parts = [String(us[3]), String(us[1]), String(us[2])];
  if (parts === null) return null;
  const [year, month, day] = parts.map(Number) as [number, number, number];
  // Day 0 of the next month is the last day of this one.
  const daysInMonth = new Date(Date.UTC(year, month, 0)).getUTCDate();
  if (month < 1 || month > 12 || day < 1 || day > daysInMonth) return null;
  return `${parts[0]}-${parts[1].padStart(2, '0')}-${parts[2].padStart(2, '0')}`;
}

function fold(value: string): string {
  return value
    .normalize('NFKD')
    .replace(MARKS, '')
    .replace(FOLDABLE, (letter) => String(LETTER_FOLDS[letter]))
    .toUpperCase();
}

function checkLength(value: string, what: string): string {
  if (value.length > MAX_NORMALISE_INPUT) {
    throw new CryptoError(
      'VALUE_INVALID',
      `Cannot normalise ${what}: it is longer than ${MAX_NORMALISE_INPUT} characters`,
    );
  }
  return value;
}

function nonEmpty(value: string, what: string): string {
  if (value === '') {
    throw new CryptoError('VALUE_INVALID', `Cannot normalise ${what}: it has no letter or digit`);
  }
  return value;
}

// The groups, in the order their values are encoded. Append new groups at the end; never reorder
// or rename one, since that would change every stored index. The normaliser of each group fixes
// the type its value must have.
const GROUP_NORMALISERS = {
  'last-name': normaliseName,
  'first-name': normaliseName,
  'middle-name': normaliseName,
  dob: normaliseDate,
  'birth-year': normaliseBirthYear,
  zip: normaliseZip,
  county: normaliseCounty,
} as const;

/** A field whose normalised value can take part in a blind index. */
export type BlindIndexGroup = keyof typeof GROUP_NORMALISERS;

/** Every {@link BlindIndexGroup}, in encoding order. */
export const BLIND_INDEX_GROUPS = Object.freeze(
  Object.keys(GROUP_NORMALISERS) as BlindIndexGroup[],
);

/**
 * The normalised values one blind index is computed over: one group alone, or several together
 * (a compound index such as last name + first name + date of birth, which is nearly unique and so
 * shows a database thief no groups of equal values to count).
 */
export type BlindIndexValues = {
  readonly [G in BlindIndexGroup]?: ReturnType<(typeof GROUP_NORMALISERS)[G]>;
};

/**
 * The key label and the message of a blind index: the label names the groups present, in
 * {@link BLIND_INDEX_GROUPS} order, joined by `+` (each label gets its own HKDF-derived key), and
 * the message is `u32(len) || value` for each of them in that order.
 * @throws AssertionError when no group is present or a value is empty (it was not normalised)
 */
export function blindIndexInput(values: BlindIndexValues): { label: string; message: Buffer } {
  const groups: BlindIndexGroup[] = [];
  const parts: Buffer[] = [];
  for (const group of BLIND_INDEX_GROUPS) {
    const value = values[group];
    if (value === undefined) continue;
    // Normalisers never return an empty string: an empty one here was not normalised.
    assert(value.length > 0, `Blind index value of group "${group}" is empty`);
    groups.push(group);
    parts.push(lengthPrefixed(value));
  }
  assert(groups.length > 0, 'A blind index needs at least one value');
  return { label: groups.join('+'), message: Buffer.concat(parts) };
}
