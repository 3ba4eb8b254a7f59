import { describe, expect, it } from 'vitest';
import { AccessError } from './errors.ts';
import {
  formatStoredScope,
  isJurisdiction,
  MAX_SCOPE_COUNTIES,
  parseScope,
  parseStoredScope,
  scopeCovers,
  scopeWithin,
  scopeWords,
} from './scope.ts';

function code(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (error) {
    if (error instanceof AccessError) return String(error.code);
    throw error;
  }
  return undefined;
}

describe('scopes', () => {
  it('parse "state" or county codes, sorted and without duplicates', () => {
    expect(parseScope(['state'])).toEqual({ kind: 'state' });
    expect(parseScope(['state', 'state'])).toEqual({ kind: 'state' });
    expect(parseScope(['88', '01', 'ALA', '01'])).toEqual({
      kind: 'counties',
      counties: ['01', '88', 'ALA'],
    });
  });

  it('refuse an empty list, too many counties, a mix with "state" and malformed codes', () => {
    expect(code(() => parseScope([]))).toBe('SCOPE_INVALID');
    const many = Array.from({ length: MAX_SCOPE_COUNTIES + 1 }, (_, i) => `c${i}`);
    expect(code(() => parseScope(many))).toBe('SCOPE_INVALID');
    expect(parseScope(many.slice(1))).toMatchObject({ kind: 'counties' });
    expect(code(() => parseScope(['state', '01']))).toBe('SCOPE_INVALID');
    for (const bad of ['', ' 01', '01 02', 'Jane Doe', 'a.b', '-01', 'x'.repeat(17), 'é']) {
      expect(
        code(() => parseScope([bad])),
        bad,
      ).toBe('SCOPE_INVALID');
      expect(isJurisdiction(bad)).toBe(false);
    }
    expect(isJurisdiction('x'.repeat(16))).toBe(true);
    expect(isJurisdiction('OH')).toBe(true);
  });

  it('round-trip through storage, and refuse a stored scope that was altered', () => {
    for (const words of [['state'], ['01', '02']]) {
      const scope = parseScope(words);
      expect(formatStoredScope(scope)).toBe(JSON.stringify(words));
      expect(parseStoredScope(formatStoredScope(scope))).toEqual(scope);
      expect(scopeWords(scope)).toEqual(words);
    }
    for (const bad of ['', 'state', '[]', '{"kind":"state"}', '[1]', '["state","01"]', '["a b"]']) {
      expect(
        code(() => parseStoredScope(bad)),
        bad,
      ).toBe('CREDENTIAL_CORRUPT');
    }
  });

  it('cover jurisdictions: counties their own, the state everything', () => {
    const counties = parseScope(['01', '02']);
    expect(scopeCovers(counties, '01')).toBe(true);
    expect(scopeCovers(counties, '03')).toBe(false);
    expect(scopeCovers(counties, undefined)).toBe(false);
    expect(scopeCovers(parseScope(['state']), undefined)).toBe(true);
    expect(scopeCovers(parseScope(['state']), '03')).toBe(true);
  });

  it('nest: a token scope must lie within its client scope', () => {
    const state = parseScope(['state']);
    expect(scopeWithin(parseScope(['01']), parseScope(['01', '02']))).toBe(true);
    expect(scopeWithin(parseScope(['01', '03']), parseScope(['01', '02']))).toBe(false);
    expect(scopeWithin(state, parseScope(['01']))).toBe(false);
    expect(scopeWithin(parseScope(['01']), state)).toBe(true);
    expect(scopeWithin(state, state)).toBe(true);
  });
});
