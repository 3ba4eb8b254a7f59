import { VotervaultError } from '../basics/index.ts';

/** Stable codes of every failure the access module can report. */
export const ACCESS_ERROR_CODES = [
  /** The policy refused an action: wrong role, out of scope, a field class or no purpose. */
  'ACCESS_DENIED',
  /** A sign-in failed. One code and one message for every cause, so names cannot be probed. */
  'LOGIN_FAILED',
  /** A session id is unknown, malformed, revoked, idle too long or past its absolute expiry. */
  'SESSION_INVALID',
  /** An API token is unknown, malformed, revoked, expired or its principal is disabled. */
  'TOKEN_INVALID',
  /** Creating a principal whose name is taken. */
  'PRINCIPAL_EXISTS',
  /** No principal has that name (only on administrative paths, never on sign-in). */
  'PRINCIPAL_NOT_FOUND',
  /** The principal is disabled: it cannot be reset or given tokens. */
  'PRINCIPAL_DISABLED',
  /** A principal name is not a valid login name. */
  'NAME_INVALID',
  /** A scope is malformed, or not allowed for the role, or wider than the principal's. */
  'SCOPE_INVALID',
  /** The role cannot do this: a token for an official, a password for an API client. */
  'ROLE_INVALID',
  /** A token's expiry is in the past or too far ahead, or its action list is not allowed. */
  'TOKEN_REQUEST_INVALID',
  /** A stored password hash or sealed TOTP secret is malformed or was altered in the database. */
  'CREDENTIAL_CORRUPT',
  /** The access log did not take an entry: the operation it records is withheld. */
  'ACCESS_LOG_FAILED',
] as const;

/** One of {@link ACCESS_ERROR_CODES}. */
export type AccessErrorCode = (typeof ACCESS_ERROR_CODES)[number];

/** A failure of the access module. Messages never carry passwords, secrets or tokens. */
export class AccessError<C extends AccessErrorCode = AccessErrorCode> extends VotervaultError<C> {}
