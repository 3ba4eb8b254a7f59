import { describe, expect, it } from 'vitest';
import { AccessError } from './errors.ts';
import {
  dummyPasswordHash,
  generatePassword,
  hashPassword,
  MAX_PASSWORD_BYTES,
  SCRYPT_COST,
  verifyPassword,
} from './password.ts';
import type { ScryptCost } from './password.ts';

// The tests' scrypt cost: 1 MiB and about a millisecond a hash. Production never passes a cost.
const TEST_COST: ScryptCost = { log2N: 10, r: 8, p: 1 };
const cost = { cost: TEST_COST };

async function corrupt(promise: Promise<unknown>): Promise<AccessError> {
  try {
    await promise;
  } catch (error) {
    if (error instanceof AccessError) return error;
    throw error;
  }
  throw new Error('expected an AccessError');
}

describe('password hashing', () => {
  it('uses at least N=2^15, r=8, p=1 in production', () => {
    expect(SCRYPT_COST.log2N).toBeGreaterThanOrEqual(15);
    expect(SCRYPT_COST.r).toBeGreaterThanOrEqual(8);
    expect(SCRYPT_COST.p).toBeGreaterThanOrEqual(1);
  });

  it('hashes with a fresh salt in PHC form and verifies only the right password', async () => {
    const one = await hashPassword('correct horse battery staple', cost);
    const two = await hashPassword('correct horse battery staple', cost);
    expect(one).toMatch(/^\$scrypt\$ln=10,r=8,p=1\$[A-Za-z0-9+/]{22}\$[A-Za-z0-9+/]{43}$/);
    expect(one).not.toBe(two);
    expect(await verifyPassword('correct horse battery staple', one, cost)).toEqual({
      ok: true,
      needsRehash: false,
    });
    expect((await verifyPassword('correct horse battery stapler', one, cost)).ok).toBe(false);
    expect((await verifyPassword('', one, cost)).ok).toBe(false);
  });

  it('treats composed and decomposed forms of the same password alike', async () => {
    const hash = await hashPassword('caf\u00e9-ballot', cost);
    expect((await verifyPassword('cafe\u0301-ballot', hash, cost)).ok).toBe(true);
  });

  it('hashes with the production cost by default', async () => {
    const hash = await hashPassword('x');
    expect(
      hash.startsWith(`$scrypt$ln=${SCRYPT_COST.log2N},r=${SCRYPT_COST.r},p=${SCRYPT_COST.p}$`),
    ).toBe(true);
    expect((await verifyPassword('x', hash)).ok).toBe(true);
  });

  it('asks for a re-hash when the stored cost is below the current one', async () => {
    const weak = await hashPassword('pw', cost);
    expect(await verifyPassword('pw', weak, { cost: { ...TEST_COST, log2N: 11 } })).toEqual({
      ok: true,
      needsRehash: true,
    });
    expect(await verifyPassword('pw', weak, { cost: { ...TEST_COST, p: 2 } })).toEqual({
      ok: true,
      needsRehash: true,
    });
    // A wrong password never asks for a re-hash (it would store a hash of the wrong password).
    expect(await verifyPassword('wrong', weak, { cost: { ...TEST_COST, log2N: 11 } })).toEqual({
      ok: false,
      needsRehash: false,
    });
  });

  it('refuses an over-long password after the same work', async () => {
    const long = 'a'.repeat(MAX_PASSWORD_BYTES + 1);
    const hash = await hashPassword(long, cost);
    expect((await verifyPassword(long, hash, cost)).ok).toBe(false);
    const empty = await hashPassword('', cost);
    expect((await verifyPassword(long, empty, cost)).ok).toBe(false);
    expect(
      (
        await verifyPassword(
          'a'.repeat(MAX_PASSWORD_BYTES),
          await hashPassword('a'.repeat(MAX_PASSWORD_BYTES), cost),
          cost,
        )
      ).ok,
    ).toBe(true);
  });

  it('refuses a malformed stored hash, or one whose cost is out of range', async () => {
    const good = await hashPassword('pw', cost);
    for (const stored of [
      '',
      'pw',
      good.replace('$scrypt$', '$argon2id$'),
      good.replace('ln=10', 'ln=30'),
      good.replace('ln=10', 'ln=4'),
      good.replace('r=8', 'r=64'),
      good.replace('p=1', 'p=0'),
      good.slice(0, -1),
    ]) {
      const error = await corrupt(verifyPassword('pw', stored, cost));
      expect(error.code).toBe('CREDENTIAL_CORRUPT');
      expect(error.message).not.toContain(stored.slice(-10) || '\u0000');
    }
  });

  it('refuses to hash with a cost out of range', async () => {
    await expect(hashPassword('pw', { cost: { log2N: 8, r: 8, p: 1 } })).rejects.toThrow(
      RangeError,
    );
    await expect(hashPassword('pw', { cost: { log2N: 10.5, r: 8, p: 1 } })).rejects.toThrow(
      RangeError,
    );
  });

  it('keeps one dummy hash per cost, which no password opens', async () => {
    const dummy = await dummyPasswordHash(cost);
    expect(await dummyPasswordHash(cost)).toBe(dummy);
    expect((await verifyPassword('', dummy, cost)).ok).toBe(false);
    expect(await dummyPasswordHash({ cost: { ...TEST_COST, log2N: 11 } })).not.toBe(dummy);
  });
});

describe('generated passwords', () => {
  it('are five groups of five unambiguous symbols, never twice the same', () => {
    const seen = new Set<string>();
    for (let i = 0; i < 200; i++) {
      const password = generatePassword();
      expect(password).toMatch(/^[a-km-np-z2-9]{5}(?:-[a-km-np-z2-9]{5}){4}$/);
      seen.add(password);
    }
    expect(seen.size).toBe(200);
  });

  it('use every symbol of the alphabet', () => {
    const symbols = new Set(
      Array.from({ length: 100 }, generatePassword).join('').replace(/-/g, ''),
    );
    expect(symbols.size).toBe(32);
  });
});
