import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createKeyRing } from '../crypto/index.ts';
import type { KeyRing } from '../crypto/index.ts';
import { loadLayout } from './layout.ts';
import {
  applyMarks,
  binomialTailLog10,
  canaryCount,
  canaryDigest,
  designatorTables,
  markBits,
  markColumnsOf,
  popCount,
  POST_DIRECTION_BIT,
  PRE_DIRECTION_BIT,
  readMarks,
  SUFFIX_BIT,
} from './watermark.ts';
import type { MarkColumns } from './watermark.ts';

const LINE: MarkColumns = { line: 0 };
const ALL = SUFFIX_BIT | PRE_DIRECTION_BIT | POST_DIRECTION_BIT;

function marked(address: string, bits: number, columns: MarkColumns = LINE): string {
  const fields = [address];
  applyMarks(fields, columns, bits);
  return fields[0] ?? '';
}

describe('address marks', () => {
  it('keeps the suffix, directional and unit tables apart', () => {
    const { suffixes, directions, units } = designatorTables();
    const all = [...suffixes, ...directions, ...units];
    expect(new Set(all).size).toBe(all.length);
  });

  it('spells the suffix and directionals out or abbreviates them by bit', () => {
    expect(marked('310 W ADAMS DR', ALL)).toBe('310 WEST ADAMS DRIVE');
    expect(marked('310 WEST ADAMS DRIVE', 0)).toBe('310 W ADAMS DR');
    expect(marked('310 W ADAMS DR', SUFFIX_BIT)).toBe('310 W ADAMS DRIVE');
    expect(marked('10 PARK AVE N APT 4', ALL)).toBe('10 PARK AVENUE NORTH APT 4');
    expect(marked('8550 S WOODLAND AVE STE 25B', SUFFIX_BIT)).toBe(
      '8550 S WOODLAND AVENUE STE 25B',
    );
    expect(marked('12 1/2 E ELM ST #3', ALL)).toBe('12 1/2 EAST ELM STREET #3');
    expect(marked('123 Main St', ALL)).toBe('123 Main Street');
    expect(readMarks(['310 WEST ADAMS DR'], LINE)).toEqual({
      mask: SUFFIX_BIT | PRE_DIRECTION_BIT,
      bits: PRE_DIRECTION_BIT,
    });
  });

  it('leaves names that look like designators alone', () => {
    // Saint, not street; no suffix at the end.
    expect(readMarks(['5 ST JOHNS'], LINE).mask).toBe(0);
    expect(marked('12 ST ANDREWS ST', ALL)).toBe('12 ST ANDREWS STREET');
    // The street named N: no pre-directional.
    expect(readMarks(['100 N ST'], LINE).mask).toBe(SUFFIX_BIT);
    // The suffix must follow a name.
    expect(readMarks(['400 AVENUE OF THE AMERICAS'], LINE).mask).toBe(0);
    expect(readMarks(['RR 2 BOX 15'], LINE).mask).toBe(0);
    expect(readMarks(['PO BOX 12'], LINE).mask).toBe(0);
    expect(readMarks(['77 ELM WAY'], LINE).mask).toBe(0);
  });

  it('marks a line only when every carrier spelled out still fits the column', () => {
    const columns: MarkColumns = { line: 0, lineMaxLength: 'NORTH 1 MAIN STREET'.length };
    expect(readMarks(['1 N MAIN ST'], columns).mask).toBe(SUFFIX_BIT | PRE_DIRECTION_BIT);
    expect(readMarks(['1 N MAIN BLVD'], columns).mask).toBe(0);
  });

  it('marks the address parts of a layout that splits them (Washington)', () => {
    const wa = loadLayout('wa');
    const columns = markColumnsOf(wa.columns);
    const fields = wa.columns.map(() => '');
    const at = (name: string): number => wa.columns.findIndex((c) => c.name === name);
    fields[at('RegStNum')] = '12';
    fields[at('RegStName')] = 'OAK';
    fields[at('RegStType')] = 'ST';
    fields[at('RegStPreDirection')] = 'NE';
    expect(applyMarks(fields, columns, ALL)).toBe(SUFFIX_BIT | PRE_DIRECTION_BIT);
    expect(fields[at('RegStType')]).toBe('STREET');
    expect(fields[at('RegStPreDirection')]).toBe('NORTHEAST');
    expect(readMarks(fields, columns)).toEqual({ mask: 3, bits: 3 });
  });

  it('reads back any marking, and re-marking never moves a carrier', () => {
    const { suffixes, directions, units } = designatorTables();
    const word = fc.constantFrom('MAIN', 'OAK', 'ST', 'N', 'PARK', 'COURT', 'LOT', '4', 'B');
    const address = fc
      .tuple(
        fc.constantFrom('12', '12 1/2', 'N12W3', 'A'),
        fc.array(fc.oneof(word, fc.constantFrom(...directions)), { maxLength: 3 }),
        fc.option(fc.constantFrom(...suffixes)),
        fc.option(fc.constantFrom(...directions)),
        fc.option(fc.tuple(fc.constantFrom(...units), fc.option(word))),
      )
      .map(([number, name, suffix, post, unit]) =>
        [number, ...name, suffix, post, ...(unit ? [unit[0], unit[1]] : [])]
          .filter((t): t is string => typeof t === 'string')
          .join(' '),
      );
    fc.assert(
      fc.property(address, fc.nat(7), fc.nat(7), (original, first, second) => {
        const once = marked(original, first);
        const { mask } = readMarks([original], LINE);
        expect(readMarks([once], LINE)).toEqual({ mask, bits: first & mask });
        const twice = marked(once, second);
        expect(readMarks([twice], LINE)).toEqual({ mask, bits: second & mask });
        expect(marked(twice, first)).toBe(once);
      }),
      { numRuns: 2000 },
    );
  });
});

describe('keyed values', () => {
  let dir: string;
  let ring: KeyRing;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'votervault-watermark-'));
    ring = await createKeyRing({ dir: join(dir, 'keys') });
  });

  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('gives each export independent marking bits', () => {
    const a = { exportId: 'a'.repeat(32), recipient: 'Party A' };
    const b = { exportId: 'b'.repeat(32), recipient: 'Party B' };
    let agree = 0;
    const n = 2000;
    for (let i = 0; i < n; i++) {
      const id = `V${i}`;
      expect(markBits(ring, a, id)).toBe(markBits(ring, a, id));
      agree += 3 - popCount((markBits(ring, a, id) ^ markBits(ring, b, id)) & ALL);
    }
    // Half of 6000 fair coins, well within six standard deviations (about 232).
    expect(Math.abs(agree - (3 * n) / 2)).toBeLessThan(232);
  });

  it('fingerprints canaries by export, id and name, ignoring case', () => {
    const identity = { voterId: '123', last: 'Doe', first: 'Jan' };
    const digest = canaryDigest(ring, 'e1', identity);
    expect(digest).toMatch(/^[0-9a-f]{32}$/);
    expect(canaryDigest(ring, 'e1', { voterId: '123', last: 'DOE ', first: 'jan' })).toBe(digest);
    expect(canaryDigest(ring, 'e2', identity)).not.toBe(digest);
    expect(canaryDigest(ring, 'e1', { ...identity, first: 'Jane' })).not.toBe(digest);
  });

  it('scales the number of canaries with the export, from 3 to 10', () => {
    expect(canaryCount(0)).toBe(3);
    expect(canaryCount(2_000)).toBe(5);
    expect(canaryCount(10_000)).toBe(10);
    expect(canaryCount(8_000_000)).toBe(10);
  });
});

describe('binomialTailLog10', () => {
  function exact(n: number, k: number): number {
    let sum = 0;
    for (let i = k; i <= n; i++) {
      let c = 1;
      for (let j = 0; j < i; j++) c = (c * (n - j)) / (j + 1);
      sum += c;
    }
    return Math.log10(sum / 2 ** n);
  }

  it('matches the exact tail on small cases', () => {
    for (const [n, k] of [
      [10, 10],
      [10, 5],
      [20, 15],
      [1, 1],
      [30, 0],
    ] as const) {
      expect(binomialTailLog10(n, k)).toBeCloseTo(exact(n, k), 9);
    }
    expect(binomialTailLog10(5, 6)).toBe(Number.NEGATIVE_INFINITY);
  });

  it('does not underflow on thousands of marks', () => {
    expect(binomialTailLog10(20_000, 20_000)).toBeCloseTo(-20_000 * Math.log10(2), 6);
    expect(binomialTailLog10(20_000, 10_000)).toBeGreaterThan(-0.31);
  });
});
