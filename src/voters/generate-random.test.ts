import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { civilFromDays, daysFromCivil } from './generate-profiles.ts';
import { AliasTable, IdPermutation, Random } from './generate-random.ts';

function stream(seed: string | number, n: number): number[] {
  const random = new Random(seed);
  return Array.from({ length: n }, () => random.u32());
}

describe('Random', () => {
  it('repeats its stream for a seed and differs between seeds', () => {
    expect(stream('a', 100)).toEqual(stream('a', 100));
    expect(stream('a', 100)).not.toEqual(stream('b', 100));
    expect(stream(1, 10)).toEqual(stream('1', 10));
  });

  it('is xoshiro128** (reference outputs for the state 1, 2, 3, 4)', () => {
    // Same vector as the rand_xoshiro crate's test of Xoshiro128StarStar.
    const random = new Random([1, 2, 3, 4]);
    expect(Array.from({ length: 6 }, () => random.u32())).toEqual([
      11520, 0, 5927040, 70819200, 2031721883, 1637235492,
    ]);
  });

  it('keeps the seeding of a string (changing it changes every generated file)', () => {
    expect(stream('votervault', 4)).toEqual([3448613410, 1934586690, 4011472240, 1136013409]);
  });

  it('draws floats in [0, 1) and integers in range, evenly', () => {
    const random = new Random(42);
    const counts = new Array<number>(10).fill(0);
    for (let i = 0; i < 100_000; i++) {
      const f = random.float();
      expect(f >= 0 && f < 1).toBe(true);
      const k = random.int(10);
      counts[k] = (counts[k] ?? 0) + 1;
    }
    for (const c of counts) expect(Math.abs(c - 10_000)).toBeLessThan(500);
    for (let i = 0; i < 1000; i++) {
      const v = random.between(16, 17);
      expect([16, 17]).toContain(v);
    }
  });
});

describe('AliasTable', () => {
  it('draws each index in proportion to its weight', () => {
    const weights = [1, 0, 5, 2, 12];
    const table = new AliasTable(weights);
    const random = new Random('alias');
    const counts = weights.map(() => 0);
    const n = 200_000;
    for (let i = 0; i < n; i++) {
      const k = table.sample(random);
      counts[k] = (counts[k] ?? 0) + 1;
    }
    expect(counts[1]).toBe(0);
    weights.forEach((w, i) => expect(Math.abs((counts[i] ?? 0) / n - w / 20)).toBeLessThan(0.005));
  });
});

describe('IdPermutation', () => {
  it('is a bijection of [0, size) for odd and even bit widths', () => {
    for (const size of [2, 10, 1000, 12_345, 65_536]) {
      const permutation = new IdPermutation(size, new Random(size));
      const seen = new Set<number>();
      for (let i = 0; i < size; i++) {
        const v = permutation.map(i);
        expect(v >= 0 && v < size).toBe(true);
        seen.add(v);
      }
      expect(seen.size).toBe(size);
    }
  });

  it('does not look sequential', () => {
    const permutation = new IdPermutation(1_000_000_000, new Random('ids'));
    const steps = new Set<number>();
    for (let i = 0; i < 20; i++) steps.add(permutation.map(i + 1) - permutation.map(i));
    expect(steps.size).toBe(20);
  });
});

describe('civil dates', () => {
  it('agree with Date.UTC', () => {
    fc.assert(
      fc.property(fc.integer({ min: -200_000, max: 200_000 }), (days) => {
        const date = civilFromDays(days);
        const utc = new Date(days * 86_400_000);
        expect(date).toEqual({
          year: utc.getUTCFullYear(),
          month: utc.getUTCMonth() + 1,
          day: utc.getUTCDate(),
        });
        expect(daysFromCivil(date)).toBe(days);
      }),
    );
  });
});
