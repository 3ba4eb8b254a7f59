// Access events: every attempt to use voter data or an official function, allowed or refused,
// becomes exactly one entry of the public log, and the caller gets its answer only once that
// entry is durable. Entries carry no personal data: a principal appears by its random id, a voter
// by its subject tag, a purpose as a code from a closed list.
import { z } from 'zod';
import { assert, VotervaultError } from '../basics/index.ts';
import { parseSubjectTag } from '../crypto/index.ts';
import type { SubjectTag } from '../crypto/index.ts';
import { canonicalJsonBytes } from '../tlog/index.ts';
import { FIELD_CLASSES } from '../voters/index.ts';
import type { FieldClass } from '../voters/index.ts';
import { AccessError } from './errors.ts';
import { ACTIONS, AccessDeniedError, authorize, DENIAL_REASONS, PURPOSES, ROLES } from './role.ts';
import type {
  AccessRequest,
  Action,
  DenialReason,
  Principal,
  PrincipalId,
  Purpose,
  Role,
} from './role.ts';
import { isJurisdiction, STATE_SCOPE_WORD } from './scope.ts';

/** Where an access came from. */
export const CHANNELS = ['officials', 'public', 'cli', 'api'] as const;

/** One of {@link CHANNELS}. */
export type Channel = (typeof CHANNELS)[number];

/**
 * Most voters one event names. An entry holds at most 65 535 bytes and a tag takes 67 of them
 * in JSON; 500 tags leave room for the rest. A search that returns more must page.
 */
export const MAX_EVENT_SUBJECTS = 500;

/** Appends one entry to the log and resolves once it is durable (`LogAppender.append`). */
export type AppendLog = (entry: Uint8Array) => Promise<unknown>;

/** One attempt, as the public log records it. */
export interface AccessEvent {
  readonly type: 'access';
  /** The principal's random id; its name is known only to the office. */
  readonly principal: PrincipalId;
  readonly role: Role;
  /** County or state code asked for; null for the whole state or a malformed request. */
  readonly jurisdiction: string | null;
  readonly action: Action;
  readonly purpose: Purpose | null;
  /** Classes granted (allowed) or asked (denied), in the order of FIELD_CLASSES. */
  readonly fieldClasses: readonly FieldClass[];
  /** Voter records touched: returned, changed or exported; 0 when refused or failed. */
  readonly records: number;
  /** Subject tags of the voters touched or named (an export names none: it has a count). */
  readonly subjects: readonly SubjectTag[];
  readonly channel: Channel;
  readonly outcome: 'allowed' | 'denied';
  /** Why it was refused; null when allowed. */
  readonly reason: DenialReason | null;
  /** Error code when the allowed call then failed (VOTER_NOT_FOUND, …); null otherwise. */
  readonly error: string | null;
  /** ISO 8601 UTC time of the attempt. */
  readonly time: string;
}

const PRINCIPAL_ID = z.string().regex(/^[0-9a-f]{32}$/) as unknown as z.ZodType<PrincipalId>;
const SUBJECT = z.string().transform((text, ctx) => {
  try {
    return parseSubjectTag(text);
  } catch {
    ctx.addIssue({ code: 'custom', message: 'expected a subject tag' });
    return z.NEVER;
  }
});
const ISO_TIME = z.iso.datetime();

/** Reads an access event back from a log entry (detectors, the voter's own history). */
export const AccessEventSchema: z.ZodType<AccessEvent> = z.strictObject({
  type: z.literal('access'),
  principal: PRINCIPAL_ID,
  role: z.enum(ROLES),
  jurisdiction: z.string().refine(isJurisdiction).nullable(),
  action: z.enum(ACTIONS),
  purpose: z.enum(PURPOSES).nullable(),
  fieldClasses: z.array(z.enum(FIELD_CLASSES)),
  records: z.number().int().nonnegative(),
  subjects: z.array(SUBJECT).max(MAX_EVENT_SUBJECTS),
  channel: z.enum(CHANNELS),
  outcome: z.enum(['allowed', 'denied']),
  reason: z.enum(DENIAL_REASONS).nullable(),
  error: z.string().nullable(),
  time: ISO_TIME,
});

/**
 * Appends `event` to the log as canonical JSON (RFC 8785) and resolves once it is durable.
 * @throws AccessError ACCESS_LOG_FAILED when the log rejects the entry (the caller must then
 *   withhold whatever the event records)
 * @throws AssertionError when the event breaks its own invariants (a bug in the caller)
 */
export async function recordAccess(appendLog: AppendLog, event: AccessEvent): Promise<void> {
  assert(event.subjects.length <= MAX_EVENT_SUBJECTS, 'Access event names too many subjects');
  // A refused or failed attempt names the voters asked for but touched none.
  assert(
    event.records >= event.subjects.length || event.outcome === 'denied' || event.error !== null,
    'Records < subjects',
  );
  assert((event.outcome === 'denied') === (event.reason !== null), 'Denied iff a reason');
  await append(appendLog, event);
}

/** Who asks, over which channel, and where their events go. */
export interface AccessContext {
  readonly principal: Principal;
  readonly channel: Channel;
  readonly appendLog: AppendLog;
  /** Clock of the events; `new Date()` by default. */
  readonly now?: () => Date;
}

/** A request, with the voters it names up front (a view or an update of one voter). */
export interface AccessCall extends AccessRequest {
  /** Logged even when the request is refused, so a voter sees attempts on their record too. */
  readonly subjects?: readonly SubjectTag[];
}

/** What the domain call may use. */
export interface AccessGrant {
  readonly fieldClasses: readonly FieldClass[];
}

/** What the domain call returns: its value and the voters it touched. */
export interface AccessOutcome<T> {
  readonly value: T;
  readonly subjects: readonly SubjectTag[];
  /** Records touched, when more than the subjects named (an export); subjects' count otherwise. */
  readonly records?: number;
}

/**
 * Runs a domain call under the policy: authorizes `call`, runs `fn` only if allowed, appends
 * exactly one access event either way, and returns `fn`'s value only once that event is durable.
 *
 * - Refused: the event is logged, then AccessDeniedError is thrown; `fn` never runs.
 * - `fn` throws: the event (allowed, 0 records, the error's code) is logged, then `fn`'s error
 *   is rethrown.
 * - `fn` touched more than {@link MAX_EVENT_SUBJECTS} voters: its value is withheld and the
 *   event is logged as denied ('too-many-subjects'); the caller must page.
 * - The log fails: ACCESS_LOG_FAILED is thrown and `fn`'s value is withheld (fail closed).
 *
 * A write done by `fn` is durable before its event. To make the change and its event stand or
 * fall together, call this inside `withTransaction` with `maxAttempts: 1` (a retried
 * transaction would log the attempt twice): a failed append then rolls the change back.
 * @throws AccessDeniedError ACCESS_DENIED; AccessError ACCESS_LOG_FAILED; whatever `fn` throws
 */
export async function withAccess<T>(
  ctx: AccessContext,
  call: AccessCall,
  fn: (grant: AccessGrant) => Promise<AccessOutcome<T>>,
): Promise<T> {
  const time = (ctx.now?.() ?? new Date()).toISOString();
  const named = unique(call.subjects ?? []);
  assert(named.length <= MAX_EVENT_SUBJECTS, 'An access call names too many subjects');
  const decision = authorize(ctx.principal, call);
  const base = {
    type: 'access',
    principal: ctx.principal.id,
    role: ctx.principal.role,
    jurisdiction:
      call.jurisdiction !== undefined && isJurisdiction(call.jurisdiction)
        ? call.jurisdiction
        : null,
    action: call.action,
    purpose: call.purpose ?? null,
    channel: ctx.channel,
    time,
  } as const;
  if (!decision.allowed) {
    await recordAccess(ctx.appendLog, {
      ...base,
      fieldClasses: ordered(call.fieldClasses ?? []),
      records: 0,
      subjects: named,
      outcome: 'denied',
      reason: decision.reason,
      error: null,
    });
    throw new AccessDeniedError(call.action, decision.reason);
  }
  const granted = { ...base, fieldClasses: decision.fieldClasses } as const;
  let outcome: AccessOutcome<T>;
  try {
    outcome = await fn({ fieldClasses: decision.fieldClasses });
  } catch (error) {
    await recordAccess(ctx.appendLog, {
      ...granted,
      records: 0,
      subjects: named,
      outcome: 'allowed',
      reason: null,
      error: errorCode(error),
    });
    throw error;
  }
  const subjects = unique(outcome.subjects);
  const records = outcome.records ?? subjects.length;
  assert(Number.isInteger(records) && records >= subjects.length, 'Records < subjects');
  if (subjects.length > MAX_EVENT_SUBJECTS) {
    await recordAccess(ctx.appendLog, {
      ...granted,
      records,
      subjects: [],
      outcome: 'denied',
      reason: 'too-many-subjects',
      error: null,
    });
    throw new AccessDeniedError(call.action, 'too-many-subjects');
  }
  await recordAccess(ctx.appendLog, {
    ...granted,
    records,
    subjects,
    outcome: 'allowed',
    reason: null,
    error: null,
  });
  return outcome.value;
}

/** Changes to principals that the log records. */
export const PRINCIPAL_CHANGES = [
  'created',
  'disabled',
  'credentials-reset',
  'token-issued',
  'token-revoked',
] as const;

/** One of {@link PRINCIPAL_CHANGES}. */
export type PrincipalChange = (typeof PRINCIPAL_CHANGES)[number];

/** A change to a principal, as the public log records it: no name, password, secret or token. */
export interface PrincipalChangeEntry {
  readonly type: 'principal-change';
  readonly change: PrincipalChange;
  readonly principal: PrincipalId;
  readonly role: Role;
  /** `["state"]` or the county codes. */
  readonly scope: readonly string[];
  /** Public id of the token issued or revoked; null for other changes. */
  readonly token: string | null;
  /** Who made the change; null for the operator at the console (the `votervault` command). */
  readonly actor: PrincipalId | null;
  readonly channel: Channel;
  readonly time: string;
}

/** Reads a principal change back from a log entry. */
export const PrincipalChangeEntrySchema: z.ZodType<PrincipalChangeEntry> = z.strictObject({
  type: z.literal('principal-change'),
  change: z.enum(PRINCIPAL_CHANGES),
  principal: PRINCIPAL_ID,
  role: z.enum(ROLES),
  scope: z
    .array(z.string().refine((word) => word === STATE_SCOPE_WORD || isJurisdiction(word)))
    .min(1),
  token: z
    .string()
    .regex(/^[0-9a-f]{16}$/)
    .nullable(),
  actor: PRINCIPAL_ID.nullable(),
  channel: z.enum(CHANNELS),
  time: ISO_TIME,
});

/**
 * Appends a principal change to the log and resolves once it is durable.
 * @throws AccessError ACCESS_LOG_FAILED when the log rejects the entry
 */
export async function recordPrincipalChange(
  appendLog: AppendLog,
  entry: PrincipalChangeEntry,
): Promise<void> {
  await append(appendLog, entry);
}

async function append(
  appendLog: AppendLog,
  entry: AccessEvent | PrincipalChangeEntry,
): Promise<void> {
  let bytes: Uint8Array;
  try {
    bytes = canonicalJsonBytes(entry);
    await appendLog(bytes);
  } catch (error) {
    throw new AccessError(
      'ACCESS_LOG_FAILED',
      `Cannot record "${entry.type}" entry: the log did not take it`,
      { cause: error },
    );
  }
}

/** The stable code of a coded error; 'INTERNAL' for anything else (a bug or a driver error). */
function errorCode(error: unknown): string {
  if (error instanceof VotervaultError) {
    const code: unknown = error.code;
    if (typeof code === 'string') return code;
  }
  return 'INTERNAL';
}

function unique(subjects: readonly SubjectTag[]): SubjectTag[] {
  return [...new Set(subjects)];
}

function ordered(classes: readonly FieldClass[]): FieldClass[] {
  return FIELD_CLASSES.filter((fieldClass) => classes.includes(fieldClass));
}
