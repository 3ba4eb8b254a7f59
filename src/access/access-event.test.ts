import { createHash } from 'node:crypto';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { AssertionError, VotervaultError } from '../basics/index.ts';
import { parseSubjectTag } from '../crypto/index.ts';
import type { SubjectTag } from '../crypto/index.ts';
import { canonicalJsonBytes, TlogError } from '../tlog/index.ts';
import {
  AccessEventSchema,
  MAX_EVENT_SUBJECTS,
  PrincipalChangeEntrySchema,
  recordAccess,
  recordPrincipalChange,
  withAccess,
} from './access-event.ts';
import type { AccessContext, AccessEvent, AppendLog } from './access-event.ts';
import { AccessError } from './errors.ts';
import { AccessDeniedError } from './role.ts';
import type { Principal, PrincipalId } from './role.ts';
import { parseScope } from './scope.ts';
import { openTestLog } from './test-support.ts';
import type { TestLog } from './test-support.ts';

const TIME = new Date('2026-05-04T10:00:00Z');
const CLERK: Principal = {
  id: '0123456789abcdef0123456789abcdef' as PrincipalId,
  name: 'clerk',
  role: 'county-clerk',
  scope: parseScope(['01']),
};

function tags(count: number, seed = 'v'): SubjectTag[] {
  return Array.from({ length: count }, (_, i) =>
    parseSubjectTag(createHash('sha256').update(`${seed}${i}`).digest('hex')),
  );
}

async function failure(promise: Promise<unknown>): Promise<unknown> {
  return promise.then(
    () => {
      throw new Error('expected a rejection');
    },
    (error: unknown) => error,
  );
}

let log: TestLog;
let ctx: AccessContext;

beforeEach(async () => {
  log = await openTestLog();
  ctx = { principal: CLERK, channel: 'officials', appendLog: log.append, now: () => TIME };
});

afterEach(async () => {
  await log.remove();
});

async function events(): Promise<AccessEvent[]> {
  return (await log.entries()).map((entry) => AccessEventSchema.parse(entry));
}

describe('withAccess', () => {
  it('returns the value only after its event is durable, with records and subjects', async () => {
    const [a, b] = tags(2);
    let sizeWhenReturned = -1;
    const value = await withAccess(
      ctx,
      { action: 'view', jurisdiction: '01', purpose: 'voter-request' },
      (grant) => {
        expect(grant.fieldClasses).toEqual(['public', 'confidential']);
        return Promise.resolve({ value: 'record', subjects: [a!, b!, a!] });
      },
    ).then((v) => {
      sizeWhenReturned = log.appender.size;
      return v;
    });
    expect(value).toBe('record');
    expect(sizeWhenReturned).toBe(1);
    expect(await events()).toEqual([
      {
        type: 'access',
        principal: CLERK.id,
        role: 'county-clerk',
        jurisdiction: '01',
        action: 'view',
        purpose: 'voter-request',
        fieldClasses: ['public', 'confidential'],
        records: 2,
        subjects: [a, b],
        channel: 'officials',
        outcome: 'allowed',
        reason: null,
        error: null,
        time: TIME.toISOString(),
      },
    ]);
  });

  it('logs an export by its count, naming no subject', async () => {
    await withAccess(
      ctx,
      { action: 'export', jurisdiction: '01', purpose: 'public-records-request' },
      () => Promise.resolve({ value: undefined, subjects: [], records: 125_000 }),
    );
    const [event] = await events();
    expect(event).toMatchObject({ records: 125_000, subjects: [], fieldClasses: ['public'] });
  });

  it('refuses without running the call, logging the classes asked and the subjects named', async () => {
    const [named] = tags(1);
    let ran = false;
    const error = await failure(
      withAccess(
        ctx,
        {
          action: 'view',
          jurisdiction: '01',
          purpose: 'voter-request',
          fieldClasses: ['protected', 'public'],
          subjects: [named!],
        },
        () => {
          ran = true;
          return Promise.resolve({ value: 1, subjects: [] });
        },
      ),
    );
    expect(ran).toBe(false);
    expect(error).toBeInstanceOf(AccessDeniedError);
    expect(error).toMatchObject({ code: 'ACCESS_DENIED', reason: 'field-class-not-allowed' });
    expect((error as Error).message).toBe('Cannot view: access denied (field-class-not-allowed)');
    expect(await events()).toEqual([
      expect.objectContaining({
        outcome: 'denied',
        reason: 'field-class-not-allowed',
        fieldClasses: ['public', 'protected'],
        records: 0,
        subjects: [named],
      }),
    ]);
  });

  it('refuses a view without a purpose, and logs it', async () => {
    const error = await failure(
      withAccess(ctx, { action: 'view', jurisdiction: '01' }, () =>
        Promise.resolve({
          value: 1,
          subjects: [],
        }),
      ),
    );
    expect(error).toMatchObject({ reason: 'purpose-required' });
    expect(await events()).toEqual([
      expect.objectContaining({ outcome: 'denied', reason: 'purpose-required', purpose: null }),
    ]);
  });

  it('keeps a malformed jurisdiction out of the log', async () => {
    const hostile = 'Jane Doe born 1990-01-01';
    const error = await failure(
      withAccess(ctx, { action: 'search', jurisdiction: hostile }, () =>
        Promise.resolve({
          value: 1,
          subjects: [],
        }),
      ),
    );
    expect(error).toMatchObject({ reason: 'jurisdiction-invalid' });
    const [event] = await events();
    expect(event).toMatchObject({ jurisdiction: null, reason: 'jurisdiction-invalid' });
    expect(JSON.stringify(await log.entries())).not.toContain('Jane');
  });

  it("logs a failed call as allowed with the error's code and no records, then rethrows it", async () => {
    const [named] = tags(1);
    const thrown = new VotervaultError('VOTER_NOT_FOUND', 'Cannot read voter "x": no such voter');
    const error = await failure(
      withAccess(
        ctx,
        { action: 'update', jurisdiction: '01', purpose: 'registration', subjects: [named!] },
        () => Promise.reject(thrown),
      ),
    );
    expect(error).toBe(thrown);
    const plain = await failure(
      withAccess(ctx, { action: 'search', jurisdiction: '01' }, () =>
        Promise.reject(new Error('driver exploded')),
      ),
    );
    expect(plain).toBeInstanceOf(Error);
    expect(await events()).toEqual([
      expect.objectContaining({
        action: 'update',
        outcome: 'allowed',
        reason: null,
        error: 'VOTER_NOT_FOUND',
        records: 0,
        subjects: [named],
      }),
      expect.objectContaining({ action: 'search', error: 'INTERNAL', subjects: [] }),
    ]);
  });

  it('withholds the value of a call that touched more voters than an event names', async () => {
    const many = tags(MAX_EVENT_SUBJECTS + 1);
    const error = await failure(
      withAccess(ctx, { action: 'search', jurisdiction: '01' }, () =>
        Promise.resolve({
          value: 'all of them',
          subjects: many,
        }),
      ),
    );
    expect(error).toMatchObject({ code: 'ACCESS_DENIED', reason: 'too-many-subjects' });
    expect(await events()).toEqual([
      expect.objectContaining({
        outcome: 'denied',
        reason: 'too-many-subjects',
        records: MAX_EVENT_SUBJECTS + 1,
        subjects: [],
      }),
    ]);
    // Exactly the limit fits in one entry.
    await withAccess(ctx, { action: 'search', jurisdiction: '01' }, () =>
      Promise.resolve({
        value: 1,
        subjects: tags(MAX_EVENT_SUBJECTS),
      }),
    );
    expect((await events())[1]?.subjects).toHaveLength(MAX_EVENT_SUBJECTS);
  });

  it('fails closed: when the log rejects, the value is withheld and the caller gets ACCESS_LOG_FAILED', async () => {
    const broken: AppendLog = () =>
      Promise.reject(new TlogError('DISK_FULL', 'Cannot append: the disk is full'));
    let ran = false;
    const error = await failure(
      withAccess(
        { ...ctx, appendLog: broken },
        { action: 'view', jurisdiction: '01', purpose: 'voter-request' },
        () => {
          ran = true;
          return Promise.resolve({ value: 'secret record', subjects: tags(1) });
        },
      ),
    );
    expect(ran).toBe(true);
    expect(error).toBeInstanceOf(AccessError);
    expect(error).toMatchObject({ code: 'ACCESS_LOG_FAILED' });
    expect((error as Error).cause).toMatchObject({ code: 'DISK_FULL' });
    // A refusal the log cannot take is reported as the log failure, not as a plain refusal.
    const denied = await failure(
      withAccess({ ...ctx, appendLog: broken }, { action: 'manage-users' }, () =>
        Promise.resolve({
          value: 1,
          subjects: [],
        }),
      ),
    );
    expect(denied).toMatchObject({ code: 'ACCESS_LOG_FAILED' });
    // A failed call whose event the log cannot take: the log failure wins, the cause is kept.
    const failed = await failure(
      withAccess({ ...ctx, appendLog: broken }, { action: 'search', jurisdiction: '01' }, () =>
        Promise.reject(new Error('boom')),
      ),
    );
    expect(failed).toMatchObject({ code: 'ACCESS_LOG_FAILED' });
  });

  it('fails closed on a closed log', async () => {
    await log.appender.close();
    const error = await failure(
      withAccess(ctx, { action: 'search', jurisdiction: '01' }, () =>
        Promise.resolve({
          value: 1,
          subjects: [],
        }),
      ),
    );
    expect(error).toMatchObject({ code: 'ACCESS_LOG_FAILED' });
    expect((error as Error).cause).toMatchObject({ code: 'LOG_CLOSED' });
  });

  it('crashes on a caller bug: naming too many subjects up front, or fewer records than subjects', async () => {
    await expect(
      withAccess(
        ctx,
        { action: 'search', jurisdiction: '01', subjects: tags(MAX_EVENT_SUBJECTS + 1) },
        () => Promise.resolve({ value: 1, subjects: [] }),
      ),
    ).rejects.toThrow(AssertionError);
    await expect(
      withAccess(ctx, { action: 'search', jurisdiction: '01' }, () =>
        Promise.resolve({
          value: 1,
          subjects: tags(2),
          records: 1,
        }),
      ),
    ).rejects.toThrow(AssertionError);
  });

  it('uses the current time when no clock is given', async () => {
    const before = Date.now();
    await withAccess(
      { principal: CLERK, channel: 'api', appendLog: log.append },
      { action: 'search', jurisdiction: '01' },
      () => Promise.resolve({ value: 1, subjects: [] }),
    );
    const [event] = await events();
    expect(Date.parse(event!.time)).toBeGreaterThanOrEqual(before);
    expect(event!.channel).toBe('api');
  });
});

describe('recordAccess', () => {
  const event: AccessEvent = {
    type: 'access',
    principal: CLERK.id,
    role: 'county-clerk',
    jurisdiction: null,
    action: 'search',
    purpose: null,
    fieldClasses: ['public'],
    records: 3,
    subjects: tags(3),
    channel: 'cli',
    outcome: 'allowed',
    reason: null,
    error: null,
    time: TIME.toISOString(),
  };

  it('appends canonical JSON that parses back to the event', async () => {
    await recordAccess(log.append, event);
    expect(await log.entries()).toEqual([event]);
    // Canonical: the bytes on disk are the RFC 8785 form, keys sorted.
    const text = Buffer.from(canonicalJsonBytes(event)).toString('utf8');
    expect(text.indexOf('"action"')).toBeLessThan(text.indexOf('"channel"'));
  });

  it('refuses an event that breaks its invariants', async () => {
    await expect(recordAccess(log.append, { ...event, outcome: 'denied' })).rejects.toThrow(
      AssertionError,
    );
    await expect(recordAccess(log.append, { ...event, reason: 'out-of-scope' })).rejects.toThrow(
      AssertionError,
    );
    await expect(recordAccess(log.append, { ...event, records: 2 })).rejects.toThrow(
      AssertionError,
    );
    await expect(
      recordAccess(log.append, { ...event, subjects: tags(MAX_EVENT_SUBJECTS + 1), records: 1e6 }),
    ).rejects.toThrow(AssertionError);
    expect(log.appender.size).toBe(0);
  });

  it('is read back strictly: extra fields, bad tags and names are refused', () => {
    expect(AccessEventSchema.safeParse(event).success).toBe(true);
    expect(AccessEventSchema.safeParse({ ...event, name: 'clerk' }).success).toBe(false);
    expect(AccessEventSchema.safeParse({ ...event, subjects: ['not-a-tag'] }).success).toBe(false);
    expect(AccessEventSchema.safeParse({ ...event, principal: 'clerk' }).success).toBe(false);
    expect(AccessEventSchema.safeParse({ ...event, jurisdiction: 'a b c!' }).success).toBe(false);
  });
});

describe('recordPrincipalChange', () => {
  it('appends a change without name or secret, and reads it back', async () => {
    const entry = {
      type: 'principal-change',
      change: 'token-issued',
      principal: CLERK.id,
      role: 'api-client',
      scope: ['01', '02'],
      token: '0011223344556677',
      actor: null,
      channel: 'cli',
      time: TIME.toISOString(),
    } as const;
    await recordPrincipalChange(log.append, entry);
    const [read] = await log.entries();
    expect(PrincipalChangeEntrySchema.parse(read)).toEqual(entry);
    expect(PrincipalChangeEntrySchema.safeParse({ ...entry, token: 'vv_secret' }).success).toBe(
      false,
    );
    expect(PrincipalChangeEntrySchema.safeParse({ ...entry, scope: [] }).success).toBe(false);
  });

  it('rejects with ACCESS_LOG_FAILED when the log does', async () => {
    const error = await failure(
      recordPrincipalChange(() => Promise.reject(new Error('no disk')), {
        type: 'principal-change',
        change: 'disabled',
        principal: CLERK.id,
        role: 'county-clerk',
        scope: ['01'],
        token: null,
        actor: CLERK.id,
        channel: 'officials',
        time: TIME.toISOString(),
      }),
    );
    expect(error).toMatchObject({ code: 'ACCESS_LOG_FAILED' });
    expect((error as Error).message).toBe(
      'Cannot record "principal-change" entry: the log did not take it',
    );
  });
});
