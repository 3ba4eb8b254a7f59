import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  BLIND_INDEX_GROUPS,
  MAX_NORMALISE_INPUT,
  blindIndexInput,
  normaliseBirthYear,
  normaliseCounty,
  normaliseDate,
  normaliseName,
  normaliseZip,
} from './blind-index.ts';
import type { BlindIndexValues, NormalisedName } from './blind-index.ts';
import { lengthPrefixed } from './encoding.ts';

const invalid = expect.objectContaining({ code: 'VALUE_INVALID' });

describe('normaliseName', () => {
  it.each([
    ["José  O'Neil", 'JOSEONEIL'],
    ['jose oneil', 'JOSEONEIL'],
    ['JOSE O NEIL', 'JOSEONEIL'],
    ['  Mary-Ann ', 'MARYANN'],
    ['Mary Ann', 'MARYANN'],
    ['Łukasz Żółć', 'LUKASZZOLC'],
    ['Søren Ærø', 'SORENAERO'],
    ['Þórunn Straße', 'THORUNNSTRASSE'],
    ['Đorđe Ħal Œuvre ı', 'DORDEHALOEUVREI'],
    ['ﬁnn', 'FINN'],
    ['Ｊｏｈｎ', 'JOHN'],
    ['Nguyễn', 'NGUYEN'],
    ['Smith III', 'SMITHIII'],
    ['O’Brien', 'OBRIEN'],
    ['김민준', '김민준'.normalize('NFKD')],
  ])('normalises %j to %j', (input, expected) => {
    expect(normaliseName(input)).toBe(expected);
  });

  it('refuses a value with no letter or digit, and one longer than the limit', () => {
    expect(() => normaliseName(" '-. ")).toThrow(invalid);
    expect(() => normaliseName('')).toThrow(invalid);
    expect(() => normaliseName('A'.repeat(MAX_NORMALISE_INPUT + 1))).toThrow(invalid);
    expect(normaliseName('A'.repeat(MAX_NORMALISE_INPUT))).toHaveLength(MAX_NORMALISE_INPUT);
  });

  it('never names the value in its messages', () => {
    expect(() => normaliseName(`${'Z'.repeat(300)}`)).toThrow(
      expect.objectContaining({ message: expect.not.stringContaining('ZZZ') as string }),
    );
  });

  it('is idempotent (property)', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 64, unit: 'grapheme' }), (value) => {
        let once: string;
        try {
          once = normaliseName(value);
        } catch {
          return;
        }
        expect(normaliseName(once)).toBe(once);
      }),
    );
  });
});

describe('normaliseCounty', () => {
  it.each([
    ['St. Lucie County', 'STLUCIE'],
    ['saint lucie', 'STLUCIE'],
    ['Miami-Dade County', 'MIAMIDADE'],
    ['DeKalb', 'DEKALB'],
    ['De Kalb county', 'DEKALB'],
    ['Orleans Parish', 'ORLEANS'],
    ['Sainte Genevieve', 'STEGENEVIEVE'],
    ['037', '037'],
    ['County', 'COUNTY'],
  ])('normalises %j to %j', (input, expected) => {
    expect(normaliseCounty(input)).toBe(expected);
  });

  it('refuses empty and overlong values', () => {
    expect(() => normaliseCounty(' - ')).toThrow(invalid);
    expect(() => normaliseCounty('A'.repeat(MAX_NORMALISE_INPUT + 1))).toThrow(invalid);
  });
});

describe('normaliseDate', () => {
  it.each([
    ['1970-01-02', '1970-01-02'],
    [' 1970-1-2 ', '1970-01-02'],
    ['19700102', '1970-01-02'],
    ['01/02/1970', '1970-01-02'],
    ['1/2/1970', '1970-01-02'],
    ['2000-02-29', '2000-02-29'],
    ['12/31/1999', '1999-12-31'],
  ])('normalises %j to %j', (input, expected) => {
    expect(normaliseDate(input)).toBe(expected);
  });

  it.each([
    '1900-02-29',
    '2001-02-29',
    '1970-13-01',
    '1970-00-10',
    '1970-01-00',
    '1970-04-31',
    '0999-01-01',
    '13/01/1970',
    '1970/01/02',
    '70-01-02',
    'January 2, 1970',
    '',
    '1'.repeat(MAX_NORMALISE_INPUT + 1),
  ])('refuses %j', (input) => {
    expect(() => normaliseDate(input)).toThrow(invalid);
  });
});

describe('normaliseBirthYear', () => {
  it.each([
    ['1970', '1970'],
    [' 1970 ', '1970'],
    ['1970-01-02', '1970'],
    ['1/2/1970', '1970'],
  ])('normalises %j to %j', (input, expected) => {
    expect(normaliseBirthYear(input)).toBe(expected);
  });

  it.each(['970', '0970', '19700', '1970-02-30', 'nineteen seventy'])('refuses %j', (input) => {
    expect(() => normaliseBirthYear(input)).toThrow(invalid);
  });
});

describe('normaliseZip', () => {
  it.each([
    ['27601', '27601'],
    [' 27601-1234 ', '27601'],
    ['27601 1234', '27601'],
    ['276011234', '27601'],
    ['０２１３４', '02134'],
  ])('normalises %j to %j', (input, expected) => {
    expect(normaliseZip(input)).toBe(expected);
  });

  it.each(['2134', '276012', '27601-12', 'ABCDE', ''])('refuses %j', (input) => {
    expect(() => normaliseZip(input)).toThrow(invalid);
  });
});

describe('blindIndexInput', () => {
  it('labels the groups present in their fixed order and length-prefixes each value', () => {
    const last = normaliseName('Doe');
    const first = normaliseName('Jane');
    const dob = normaliseDate('1970-01-02');
    const a = blindIndexInput({ dob, 'first-name': first, 'last-name': last });
    expect(a.label).toBe('last-name+first-name+dob');
    expect(
      a.message.equals(
        Buffer.concat([lengthPrefixed('DOE'), lengthPrefixed('JANE'), lengthPrefixed(dob)]),
      ),
    ).toBe(true);
    expect(blindIndexInput({ zip: normaliseZip('27601') }).label).toBe('zip');
  });

  it('lists the groups in encoding order', () => {
    expect(BLIND_INDEX_GROUPS).toEqual([
      'last-name',
      'first-name',
      'middle-name',
      'dob',
      'birth-year',
      'zip',
      'county',
    ]);
  });

  it('crashes on values that did not come from a normaliser', () => {
    expect(() => blindIndexInput({})).toThrow('at least one value');
    const empty = { 'last-name': '' as NormalisedName } satisfies BlindIndexValues;
    expect(() => blindIndexInput(empty)).toThrow('is empty');
  });
});
