/**
 * Deterministic randomness for the synthetic voter-file generator: xoshiro128** seeded from a
 * SHA-256 of the seed, and Walker/Vose alias tables for O(1) weighted draws. Only integer
 * arithmetic and IEEE multiplication, so the same seed gives the same stream on every
 * platform (no Math.random, no transcendental functions whose last bit may differ).
 */
import { createHash } from 'node:crypto';
import { assert } from '../basics/index.ts';

const TWO_POW_32 = 0x1_0000_0000;

/** xoshiro128** (Blackman and Vigna, 2018): 128-bit state, period 2^128 - 1. */
export class Random {
  #s0: number;
  #s1: number;
  #s2: number;
  #s3: number;

  /**
   * Seeds the state with SHA-256("votervault-generate\0" || seed), never all zero; four 32-bit
   * words set the state directly (for the reference test vectors).
   */
  constructor(seed: string | number | readonly [number, number, number, number]) {
    if (typeof seed === 'object') {
      [this.#s0, this.#s1, this.#s2, this.#s3] = seed;
      assert(
        (this.#s0 | this.#s1 | this.#s2 | this.#s3) !== 0,
        'xoshiro state must not be all zero',
      );
      return;
    }
    const digest = createHash('sha256')
      .update(`votervault-generate\0${String(seed)}`)
      .digest();
    this.#s0 = digest.readUInt32LE(0);
    this.#s1 = digest.readUInt32LE(4);
    this.#s2 = digest.readUInt32LE(8);
    this.#s3 = digest.readUInt32LE(12) | 1;
  }

  /** The next 32-bit unsigned integer. */
  u32(): number {
    const s1 = this.#s1;
    // result = rotl(s1 * 5, 7) * 9
    const x = Math.imul(s1, 5);
    const result = Math.imul((x << 7) | (x >>> 25), 9) >>> 0;
    const t = s1 << 9;
    this.#s2 ^= this.#s0;
    this.#s3 ^= s1;
    this.#s1 ^= this.#s2;
    this.#s0 ^= this.#s3;
    this.#s2 ^= t;
    this.#s3 = (this.#s3 << 11) | (this.#s3 >>> 21);
    return result;
  }

  /** A float in [0, 1) with 32 random bits. */
  float(): number {
    return this.u32() / TWO_POW_32;
  }

  /** An integer in [0, n). */
  int(n: number): number {
    return Math.floor(this.float() * n);
  }

  /** An integer in [min, max], both included. */
  between(min: number, max: number): number {
    return min + this.int(max - min + 1);
  }

  /** True with probability `p`. */
  chance(p: number): boolean {
    return this.float() < p;
  }

  /** A uniformly chosen element of a non-empty list. */
  pick<T>(items: readonly T[]): T {
    const item = items[this.int(items.length)];
    assert(item !== undefined || items.length > 0, 'Cannot pick from an empty list');
    return item as T;
  }
}

/** Weighted choice of an index in O(1) (Vose's alias method). */
export class AliasTable {
  readonly #prob: Float64Array;
  readonly #alias: Int32Array;

  /** Weights need not sum to 1; at least one must be positive. */
  constructor(weights: readonly number[]) {
    const n = weights.length;
    const total = weights.reduce((a, b) => a + b, 0);
    assert(n > 0 && total > 0, 'Alias table needs a positive weight');
    this.#prob = new Float64Array(n);
    this.#alias = new Int32Array(n);
    const scaled = weights.map((w) => (w * n) / total);
    const small: number[] = [];
    const large: number[] = [];
    scaled.forEach((w, i) => (w < 1 ? small : large).push(i));
    while (small.length > 0 && large.length > 0) {
      const s = small.pop() as number;
      const l = large.pop() as number;
      this.#prob[s] = scaled[s] as number;
      this.#alias[s] = l;
      scaled[l] = (scaled[l] as number) + (scaled[s] as number) - 1;
      (scaled[l] < 1 ? small : large).push(l);
    }
    for (const i of [...large, ...small]) {
      this.#prob[i] = 1;
      this.#alias[i] = i;
    }
  }

  /** Number of entries. */
  get size(): number {
    return this.#prob.length;
  }

  /** Draws an index with probability proportional to its weight. */
  sample(random: Random): number {
    const u = random.float() * this.#prob.length;
    const i = Math.floor(u);
    return u - i < (this.#prob[i] as number) ? i : (this.#alias[i] as number);
  }
}

/**
 * A weighted list of values, drawn with an alias table.
 */
export class WeightedChoice<T> {
  readonly #values: readonly T[];
  readonly #table: AliasTable;

  /** `entries` pairs each value with its (positive or zero) weight. */
  constructor(entries: readonly (readonly [T, number])[]) {
    this.#values = entries.map(([value]) => value);
    this.#table = new AliasTable(entries.map(([, weight]) => weight));
  }

  /** Draws one value. */
  sample(random: Random): T {
    return this.#values[this.#table.sample(random)] as T;
  }
}

/** A 32-bit integer hash (lowbias32 by Chris Wellons) for pure, seed-salted derived values. */
export function hash32(x: number): number {
  let h = x >>> 0;
  h ^= h >>> 16;
  h = Math.imul(h, 0x7feb352d);
  h ^= h >>> 15;
  h = Math.imul(h, 0x846ca68b);
  h ^= h >>> 16;
  return h >>> 0;
}

/** Hash of several small integers, order-sensitive. */
export function hashInts(...values: readonly number[]): number {
  let h = 0x9e3779b9;
  for (const v of values) h = hash32(h ^ hash32(v));
  return h;
}

/** {@link hashInts} of exactly four integers, without allocating. */
export function hash4(a: number, b: number, c: number, d: number): number {
  let h = hash32(0x9e3779b9 ^ hash32(a));
  h = hash32(h ^ hash32(b));
  h = hash32(h ^ hash32(c));
  return hash32(h ^ hash32(d));
}

/**
 * A bijection of [0, size) that looks random, so every generated voter gets a distinct id
 * without a set of used ids: a 4-round Feistel network on the smallest even number of bits
 * covering `size`, with cycle walking to stay inside [0, size) (Black and Rogaway, "Ciphers
 * with arbitrary finite domains", 2002). Round keys come from the seeded stream.
 */
export class IdPermutation {
  readonly size: number;
  readonly #halfBits: number;
  readonly #mask: number;
  readonly #keys: readonly number[];

  constructor(size: number, random: Random) {
    assert(Number.isSafeInteger(size) && size > 1 && size <= 2 ** 48, 'Bad id space size');
    this.size = size;
    let bits = 2;
    while (2 ** bits < size) bits += 2;
    this.#halfBits = bits / 2;
    this.#mask = 2 ** this.#halfBits - 1;
    this.#keys = [random.u32(), random.u32(), random.u32(), random.u32()];
  }

  /** The image of `i`, for 0 <= i < size. */
  map(i: number): number {
    let x = i;
    do {
      x = this.#feistel(x);
    } while (x >= this.size);
    return x;
  }

  #feistel(x: number): number {
    const half = 2 ** this.#halfBits;
    let left = Math.floor(x / half);
    let right = x % half;
    for (const key of this.#keys) {
      const next = (left ^ (hash32(right ^ key) & this.#mask)) >>> 0;
      left = right;
      right = next;
    }
    return left * half + right;
  }
}
