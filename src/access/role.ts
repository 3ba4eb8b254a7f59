// Roles and the authorization policy: one readonly table says which actions each role may take
// and which field classes it may use for each; the principal's scope says which jurisdictions.
// `authorize` is the one decision function every caller goes through. The matrix and the reasons
// behind it are in docs/design/access.md; keep both in step.
import type { Brand } from '../basics/index.ts';
import { FIELD_CLASSES } from '../voters/index.ts';
import type { FieldClass } from '../voters/index.ts';
import { AccessError } from './errors.ts';
import { isJurisdiction, scopeCovers } from './scope.ts';
import type { Scope } from './scope.ts';

/** The roles a principal can hold. */
export const ROLES = [
  'state-admin',
  'county-clerk',
  'county-staff',
  'auditor',
  'api-client',
] as const;

/** One of {@link ROLES}. */
export type Role = (typeof ROLES)[number];

/**
 * Roles of people: they sign in with a password and a TOTP code. `api-client` principals are
 * programs and authenticate with API tokens only.
 */
export const OFFICIAL_ROLES = [
  'state-admin',
  'county-clerk',
  'county-staff',
  'auditor',
] as const satisfies readonly Role[];

/** One of {@link OFFICIAL_ROLES}. */
export type OfficialRole = (typeof OFFICIAL_ROLES)[number];

/**
 * What a principal may ask to do.
 * - `search`: list voters matching a query (public fields of each hit).
 * - `view`: read one voter record.
 * - `create`, `update`: write a voter record (field classes are those it may write).
 * - `export`: produce a bulk extract (a public record; watermarked per recipient).
 * - `import`: load a voter file into the store.
 * - `lookup-admin`: maintain what the public lookup answers (polling places per precinct).
 * - `read-aggregates`: counts by protected attribute, small cells suppressed.
 * - `read-log`: read access events in the officials' pages (the log itself is public).
 * - `publish-results`: ingest and publish election results.
 * - `manage-incidents`: open, update and disclose incidents.
 * - `manage-users`: create, disable and reset principals and tokens.
 */
export const ACTIONS = [
  'search',
  'view',
  'create',
  'update',
  'export',
  'import',
  'lookup-admin',
  'read-aggregates',
  'read-log',
  'publish-results',
  'manage-incidents',
  'manage-users',
] as const;

/** One of {@link ACTIONS}. */
export type Action = (typeof ACTIONS)[number];

/** Actions that read or change one person's record: the official must state why. */
export const PURPOSE_REQUIRED_ACTIONS = [
  'view',
  'update',
  'export',
] as const satisfies readonly Action[];

/**
 * Why an official reads or changes a record, chosen from a closed list. The purpose goes into
 * the public log, so it is a code and never free text: a typed note could carry a voter's name
 * or date of birth into a log that can never be redacted.
 */
export const PURPOSES = [
  /** The voter asked (in person, by phone or by mail). */
  'voter-request',
  /** Processing a registration application or change. */
  'registration',
  /** List maintenance: duplicates, deaths, moves (NVRA section 8). */
  'list-maintenance',
  /** Poll books, ballots, petition and provisional ballot checks. */
  'election-administration',
  /** A lawful public-records request or extract. */
  'public-records-request',
  /** A court order, subpoena or other legal process. */
  'legal-process',
  /** An auditor's review of logged accesses. */
  'audit',
  /** Investigating a suspected breach. */
  'incident-response',
] as const;

/** One of {@link PURPOSES}. */
export type Purpose = (typeof PURPOSES)[number];

/** A principal's stable id: 32 lower-case hex digits, random, never reused. */
export type PrincipalId = Brand<string, 'PrincipalId'>;

/** Who is asking, as authentication established it. */
export interface Principal {
  readonly id: PrincipalId;
  /** The login name; shown to the principal, never written to the public log. */
  readonly name: string;
  readonly role: Role;
  readonly scope: Scope;
  /**
   * Actions this credential is limited to (an API token's list); every action of the role when
   * absent.
   */
  readonly actions?: readonly Action[];
}

/** How far a role's scope may reach: only the state, only counties, or either. */
export type ScopeRule = 'state' | 'counties' | 'any';

/** One role's row of the policy. */
export interface RolePolicy {
  /** Which scopes principals of the role may be given. */
  readonly scope: ScopeRule;
  /**
   * The actions the role may take, each with the field classes it may use (read for `search`,
   * `view` and `export`, write for `create` and `update`, counted for `read-aggregates`; none
   * for actions on no voter field). An action not listed is refused.
   */
  readonly actions: Readonly<Partial<Record<Action, readonly FieldClass[]>>>;
}

const PUBLIC: readonly FieldClass[] = ['public'];
const SEALED_READ: readonly FieldClass[] = ['public', 'confidential'];
// Officials type protected attributes in from the registration form; writing them is not
// seeing them: nothing any role reads back shows a protected value.
const WRITE: readonly FieldClass[] = ['public', 'confidential', 'protected'];
// Protected attributes leave the store only as counts with small cells suppressed.
const COUNTED: readonly FieldClass[] = ['protected'];
const NONE: readonly FieldClass[] = [];

/**
 * The policy. Invariants the tests check: no role reads `protected` (only `read-aggregates`
 * counts it), no role exports anything but `public`, and `confidential` is read only by
 * officials who keep the roll (never auditors or API clients).
 */
export const ACCESS_POLICY: Readonly<Record<Role, RolePolicy>> = {
  'state-admin': {
    scope: 'state',
    actions: {
      search: PUBLIC,
      view: SEALED_READ,
      create: WRITE,
      update: WRITE,
      export: PUBLIC,
      import: NONE,
      'lookup-admin': NONE,
      'read-aggregates': COUNTED,
      'read-log': NONE,
      'publish-results': NONE,
      'manage-incidents': NONE,
      'manage-users': NONE,
    },
  },
  'county-clerk': {
    scope: 'counties',
    actions: {
      search: PUBLIC,
      view: SEALED_READ,
      create: WRITE,
      update: WRITE,
      export: PUBLIC,
      import: NONE,
      'lookup-admin': NONE,
      'read-aggregates': COUNTED,
      'read-log': NONE,
      'publish-results': NONE,
      'manage-incidents': NONE,
    },
  },
  'county-staff': {
    scope: 'counties',
    actions: { search: PUBLIC, view: SEALED_READ, create: WRITE, update: WRITE },
  },
  auditor: {
    scope: 'any',
    actions: { search: PUBLIC, view: PUBLIC, 'read-aggregates': COUNTED, 'read-log': NONE },
  },
  'api-client': {
    scope: 'any',
    actions: {
      search: PUBLIC,
      view: PUBLIC,
      export: PUBLIC,
      'read-aggregates': COUNTED,
      'publish-results': NONE,
    },
  },
};

/** Why `authorize` refused. */
export const DENIAL_REASONS = [
  /** The role, or the credential's action list, does not include the action. */
  'action-not-allowed',
  /** The jurisdiction (or the whole state, when none is named) is outside the scope. */
  'out-of-scope',
  /** The jurisdiction named is not a county or state code. */
  'jurisdiction-invalid',
  /** A field class was asked that the role may not use for the action. */
  'field-class-not-allowed',
  /** The action needs a stated purpose and none was given. */
  'purpose-required',
  /** The call touched more voters than one log entry can name; the caller must page. */
  'too-many-subjects',
] as const;

/** One of {@link DENIAL_REASONS}. */
export type DenialReason = (typeof DENIAL_REASONS)[number];

/** What is being asked. */
export interface AccessRequest {
  readonly action: Action;
  /** The voters' jurisdiction (county code or state code); absent means the whole state. */
  readonly jurisdiction?: string;
  /** Field classes wanted; the role's whole set for the action when absent. */
  readonly fieldClasses?: readonly FieldClass[];
  /** Why, for the actions of {@link PURPOSE_REQUIRED_ACTIONS}. */
  readonly purpose?: Purpose;
}

/** The answer of {@link authorize}. */
export type AccessDecision =
  | { readonly allowed: true; readonly fieldClasses: readonly FieldClass[] }
  | { readonly allowed: false; readonly reason: DenialReason };

/** A refusal, thrown after it was logged. */
export class AccessDeniedError extends AccessError<'ACCESS_DENIED'> {
  readonly reason: DenialReason;

  constructor(action: Action, reason: DenialReason) {
    super('ACCESS_DENIED', `Cannot ${action}: access denied (${reason})`);
    this.reason = reason;
  }
}

/**
 * Decides whether `principal` may take `request`, from {@link ACCESS_POLICY} and the
 * principal's scope alone (pure: no clock, no database). Checks, in order: the action (the
 * role's, narrowed by the credential's list), the jurisdiction (its shape, then the scope), the
 * field classes, the purpose.
 * The granted classes are those asked, or the role's whole set for the action; they come back
 * in the order of FIELD_CLASSES.
 */
export function authorize(principal: Principal, request: AccessRequest): AccessDecision {
  const allowedClasses = ACCESS_POLICY[principal.role].actions[request.action];
  if (allowedClasses === undefined) return deny('action-not-allowed');
  if (principal.actions !== undefined && !principal.actions.includes(request.action)) {
    return deny('action-not-allowed');
  }
  if (request.jurisdiction !== undefined && !isJurisdiction(request.jurisdiction)) {
    return deny('jurisdiction-invalid');
  }
  if (!scopeCovers(principal.scope, request.jurisdiction)) return deny('out-of-scope');
  const wanted = request.fieldClasses ?? allowedClasses;
  if (wanted.some((fieldClass) => !allowedClasses.includes(fieldClass))) {
    return deny('field-class-not-allowed');
  }
  if (purposeRequired(request.action) && request.purpose === undefined) {
    return deny('purpose-required');
  }
  return {
    allowed: true,
    fieldClasses: FIELD_CLASSES.filter((fieldClass) => wanted.includes(fieldClass)),
  };
}

/** Whether `action` needs a stated purpose. */
export function purposeRequired(action: Action): boolean {
  return (PURPOSE_REQUIRED_ACTIONS as readonly Action[]).includes(action);
}

/** Whether principals of `role` may be given `scope`. */
export function roleAllowsScope(role: Role, scope: Scope): boolean {
  const rule = ACCESS_POLICY[role].scope;
  return rule === 'any' || rule === scope.kind;
}

/** Whether `role` is an official's (password and TOTP) rather than a program's. */
export function isOfficialRole(role: Role): role is OfficialRole {
  return (OFFICIAL_ROLES as readonly Role[]).includes(role);
}

function deny(reason: DenialReason): AccessDecision {
  return { allowed: false, reason };
}
