import { StoreError } from './errors.ts';

/** Where a database lives, parsed from the location string given to `openDatabase`. */
export type DatabaseLocation =
  | { readonly kind: 'memory' }
  | { readonly kind: 'file'; readonly path: string }
  | { readonly kind: 'postgres'; readonly url: string };

/** The SQLite name of a private, in-process database that vanishes on close. */
export const MEMORY_LOCATION = ':memory:';

const POSTGRES_URL = /^postgres(?:ql)?:\/\//i;
// A scheme of two or more letters followed by "://": single letters are Windows drives.
const ANY_URL = /^([a-z][a-z0-9+.-]+):\/\//i;
const PASSWORD_PARAMETER = /([?&]password=)[^&#]*/gi;
const REDACTED = '***';

/**
 * Hides the password of a database URL, in its user information and in a `password=` query
 * parameter, so the location can be quoted in messages and logs. File paths are returned
 * unchanged.
 *
 * The user information is taken to end at the last "@", so a password holding an unescaped
 * "@", "/" or "#" is still hidden; when a later "@" sits in the query, more than the password
 * is hidden, never less.
 */
export function redactLocation(location: string): string {
  const scheme = ANY_URL.exec(location);
  if (scheme === null) return location;
  const authorityStart = scheme[0].length;
  let redacted = location;
  const at = location.lastIndexOf('@');
  if (at > authorityStart) {
    const userInfo = location.slice(authorityStart, at);
    const colon = userInfo.indexOf(':');
    if (colon !== -1) {
      redacted =
        location.slice(0, authorityStart) +
        userInfo.slice(0, colon + 1) +
        REDACTED +
        location.slice(at);
    }
  }
  return redacted.replace(PASSWORD_PARAMETER, `$1${REDACTED}`);
}

/**
 * Reads a location: `:memory:`, a `postgres://` or `postgresql://` URL, or else a file path.
 * @throws StoreError LOCATION_INVALID for an empty location, a URL of another scheme, or a
 * PostgreSQL URL that does not parse
 */
export function parseLocation(location: string): DatabaseLocation {
  if (location === '') {
    throw new StoreError('LOCATION_INVALID', 'Cannot open database: the location is empty');
  }
  if (location === MEMORY_LOCATION) return { kind: 'memory' };
  if (POSTGRES_URL.test(location)) {
    if (!URL.canParse(location)) {
      throw new StoreError(
        'LOCATION_INVALID',
        `Cannot open database "${redactLocation(location)}": the URL does not parse (percent-encode reserved characters in the user name and password)`,
      );
    }
    return { kind: 'postgres', url: location };
  }
  const scheme = ANY_URL.exec(location);
  if (scheme !== null) {
    throw new StoreError(
      'LOCATION_INVALID',
      `Cannot open database "${redactLocation(location)}": unsupported URL scheme "${scheme[1] ?? ''}", expected a file path or a "postgres://" URL`,
    );
  }
  return { kind: 'file', path: location };
}
