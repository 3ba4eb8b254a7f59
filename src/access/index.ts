// Principals, roles, jurisdiction scopes, credentials, sessions and the access-event stream that
// feeds the public log. Other modules import only this file.
export { ACCESS_ERROR_CODES, AccessError } from './errors.ts';
export type { AccessErrorCode } from './errors.ts';
export {
  MAX_SCOPE_COUNTIES,
  STATE_SCOPE_WORD,
  isJurisdiction,
  parseScope,
  scopeCovers,
  scopeWithin,
  scopeWords,
} from './scope.ts';
export type { Scope } from './scope.ts';
export {
  ACCESS_POLICY,
  ACTIONS,
  AccessDeniedError,
  DENIAL_REASONS,
  OFFICIAL_ROLES,
  PURPOSE_REQUIRED_ACTIONS,
  PURPOSES,
  ROLES,
  authorize,
  isOfficialRole,
  purposeRequired,
  roleAllowsScope,
} from './role.ts';
export type {
  AccessDecision,
  AccessRequest,
  Action,
  DenialReason,
  OfficialRole,
  Principal,
  PrincipalId,
  Purpose,
  Role,
  RolePolicy,
  ScopeRule,
} from './role.ts';
export {
  AccessEventSchema,
  CHANNELS,
  MAX_EVENT_SUBJECTS,
  PRINCIPAL_CHANGES,
  PrincipalChangeEntrySchema,
  recordAccess,
  recordPrincipalChange,
  withAccess,
} from './access-event.ts';
export type {
  AccessCall,
  AccessContext,
  AccessEvent,
  AccessGrant,
  AccessOutcome,
  AppendLog,
  Channel,
  PrincipalChange,
  PrincipalChangeEntry,
} from './access-event.ts';
export { ACCESS_MIGRATIONS } from './schema.ts';
export type {
  AccessLoginAttemptTable,
  AccessPrincipalTable,
  AccessSessionTable,
  AccessSubjectEntryTable,
  AccessSubjectStateTable,
  AccessTables,
  AccessTokenTable,
} from './schema.ts';
export {
  DEFAULT_HISTORY_LIMIT,
  MAX_HISTORY_LIMIT,
  accessHistory,
  indexAccessLog,
} from './history.ts';
export type {
  AccessHistoryOptions,
  IndexAccessLogOptions,
  IndexAccessLogReport,
} from './history.ts';
export {
  MAX_PASSWORD_BYTES,
  SCRYPT_COST,
  generatePassword,
  hashPassword,
  verifyPassword,
} from './password.ts';
export type { PasswordCheck, PasswordOptions, ScryptCost } from './password.ts';
export {
  TOTP_DIGITS,
  TOTP_ISSUER,
  TOTP_SECRET_BYTES,
  TOTP_STEP_SECONDS,
  TOTP_WINDOW,
  decodeBase32,
  encodeBase32,
  hotp,
  totpCode,
  totpStep,
  totpUri,
} from './totp.ts';
export {
  createPrincipal,
  disablePrincipal,
  findPrincipal,
  parsePrincipalName,
  resetCredentials,
} from './principal.ts';
export type {
  AccessStore,
  ChangeContext,
  CreatedPrincipal,
  NewPrincipal,
  OfficialCredentials,
  PrincipalChangeRequest,
  PrincipalRecord,
} from './principal.ts';
export {
  DEFAULT_TOKEN_LIFETIME_DAYS,
  MAX_TOKEN_LIFETIME_DAYS,
  TOKEN_BYTES,
  TOKEN_PREFIX,
  authenticateToken,
  issueToken,
  revokeToken,
  revokeTokensOf,
} from './token.ts';
export type { IssuedToken, TokenRequest } from './token.ts';
export {
  SESSION_ABSOLUTE_HOURS,
  SESSION_IDLE_MINUTES,
  SESSION_PREFIX,
  authenticateSession,
  revokeSession,
} from './session.ts';
export type { SessionInfo } from './session.ts';
export {
  ACCOUNT_MAX_FAILURES,
  CLIENT_MAX_FAILURES,
  FAILURE_WINDOW_MINUTES,
  LOCKOUT_MINUTES,
  LOGIN_FAILURE_REASONS,
  LoginFailedError,
  login,
  pruneExpired,
} from './login.ts';
export type { LoginAttempt, LoginFailureReason, LoginResult, PruneReport } from './login.ts';
