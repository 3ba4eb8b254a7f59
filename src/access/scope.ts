// Jurisdiction scopes: which voters a principal may reach. A voter row's jurisdiction is its
// county code, or the state's postal code for statewide-only records (src/voters/record.ts); a
// county scope reaches only the counties it lists, the state scope reaches every jurisdiction.
import { z } from 'zod';
import { AccessError } from './errors.ts';

/** The whole state, or one or more counties by the codes the voter files use. */
export type Scope =
  { readonly kind: 'state' } | { readonly kind: 'counties'; readonly counties: readonly string[] };

/** The word that stands for the state scope in flags and in stored scopes. */
export const STATE_SCOPE_WORD = 'state';

/** Most counties one scope lists; Texas, the state with the most, has 254. */
export const MAX_SCOPE_COUNTIES = 300;

/**
 * A county code as the layouts use them (digits such as "01", letters such as "ALA"): letters,
 * digits, dashes and underscores, at most 16 characters, like a layout's county code. No spaces or
 * dots: a jurisdiction goes into the public log, and the shorter and plainer it must be, the less
 * room a hostile or careless caller has to slip a name or a date into it.
 */
const COUNTY_CODE = /^[A-Za-z0-9][A-Za-z0-9_-]{0,15}$/;

/**
 * Whether `text` has the shape of a jurisdiction: a county code or a state's postal code.
 * Attacker-controlled when it comes from a request; anything else is refused before it can
 * reach a query or the public log.
 */
export function isJurisdiction(text: string): boolean {
  return COUNTY_CODE.test(text);
}

/** The stored and flag form of a scope: `["state"]`, or the county codes. */
const SCOPE_WORDS = z.array(z.string()).min(1).max(MAX_SCOPE_COUNTIES);

/**
 * Parses the words of a scope (repeated `--scope` flags, a stored scope): exactly `state`, or
 * one or more county codes. Duplicates are dropped and counties sorted, so that equal scopes
 * are stored alike. Attacker-controlled when it comes from a request: every code is checked
 * against a strict pattern and the list is bounded.
 * @throws AccessError SCOPE_INVALID naming the word at fault
 */
export function parseScope(words: readonly string[]): Scope {
  if (words.length === 0) {
    throw new AccessError('SCOPE_INVALID', 'Cannot parse scope: give "state" or county codes');
  }
  if (words.length > MAX_SCOPE_COUNTIES) {
    throw new AccessError(
      'SCOPE_INVALID',
      `Cannot parse scope: ${words.length} counties, at most ${MAX_SCOPE_COUNTIES}`,
    );
  }
  if (words.includes(STATE_SCOPE_WORD)) {
    if (words.some((word) => word !== STATE_SCOPE_WORD)) {
      throw new AccessError(
        'SCOPE_INVALID',
        'Cannot parse scope: "state" cannot be combined with counties',
      );
    }
    return { kind: 'state' };
  }
  for (const word of words) {
    if (!isJurisdiction(word)) {
      throw new AccessError(
        'SCOPE_INVALID',
        `Cannot parse scope: "${word.slice(0, 80)}" is not a county code`,
      );
    }
  }
  return { kind: 'counties', counties: [...new Set(words)].sort() };
}

/** The words of a scope, for storage, flags and log entries: `["state"]` or the counties. */
export function scopeWords(scope: Scope): readonly string[] {
  return scope.kind === 'state' ? [STATE_SCOPE_WORD] : scope.counties;
}

/**
 * Reads a scope stored by {@link formatStoredScope}.
 * @throws AccessError CREDENTIAL_CORRUPT when the stored text is not a valid scope
 */
export function parseStoredScope(text: string): Scope {
  let words: string[];
  try {
    words = SCOPE_WORDS.parse(JSON.parse(text));
  } catch (error) {
    throw new AccessError('CREDENTIAL_CORRUPT', 'Cannot read stored scope: it is malformed', {
      cause: error,
    });
  }
  try {
    return parseScope(words);
  } catch (error) {
    throw new AccessError('CREDENTIAL_CORRUPT', 'Cannot read stored scope: it is not valid', {
      cause: error,
    });
  }
}

/** The stored form of a scope: a JSON array of its words. */
export function formatStoredScope(scope: Scope): string {
  return JSON.stringify(scopeWords(scope));
}

/**
 * Whether `scope` reaches `jurisdiction`; `undefined` stands for the whole state, which only the
 * state scope reaches.
 */
export function scopeCovers(scope: Scope, jurisdiction: string | undefined): boolean {
  if (scope.kind === 'state') return true;
  return jurisdiction !== undefined && scope.counties.includes(jurisdiction);
}

/** Whether every jurisdiction `inner` reaches, `outer` reaches too. */
export function scopeWithin(inner: Scope, outer: Scope): boolean {
  if (outer.kind === 'state') return true;
  if (inner.kind === 'state') return false;
  return inner.counties.every((county) => outer.counties.includes(county));
}
