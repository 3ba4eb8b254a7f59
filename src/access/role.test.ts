import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseSubjectTag } from '../crypto/index.ts';
import type { FieldClass } from '../voters/index.ts';
import { AccessEventSchema, withAccess } from './access-event.ts';
import type { AccessEvent } from './access-event.ts';
import {
  ACCESS_POLICY,
  ACTIONS,
  AccessDeniedError,
  authorize,
  isOfficialRole,
  OFFICIAL_ROLES,
  purposeRequired,
  roleAllowsScope,
  ROLES,
} from './role.ts';
import type { Action, Principal, PrincipalId, Role } from './role.ts';
import { parseScope } from './scope.ts';
import { openTestLog } from './test-support.ts';
import type { TestLog } from './test-support.ts';

// The matrix as docs/design/access.md states it, written out here independently of
// ACCESS_POLICY: P public, C confidential, X protected, "-" allowed with no field class;
// an action not listed is refused.
const EXPECTED: Readonly<Record<Role, Partial<Record<Action, string>>>> = {
  'state-admin': {
    search: 'P',
    view: 'PC',
    create: 'PCX',
    update: 'PCX',
    export: 'P',
    import: '-',
    'lookup-admin': '-',
    'read-aggregates': 'X',
    'read-log': '-',
    'publish-results': '-',
    'manage-incidents': '-',
    'manage-users': '-',
  },
  'county-clerk': {
    search: 'P',
    view: 'PC',
    create: 'PCX',
    update: 'PCX',
    export: 'P',
    import: '-',
    'lookup-admin': '-',
    'read-aggregates': 'X',
    'read-log': '-',
    'publish-results': '-',
    'manage-incidents': '-',
  },
  'county-staff': { search: 'P', view: 'PC', create: 'PCX', update: 'PCX' },
  auditor: { search: 'P', view: 'P', 'read-aggregates': 'X', 'read-log': '-' },
  'api-client': {
    search: 'P',
    view: 'P',
    export: 'P',
    'read-aggregates': 'X',
    'publish-results': '-',
  },
};

function classesOf(letters: string): FieldClass[] {
  const out: FieldClass[] = [];
  if (letters.includes('P')) out.push('public');
  if (letters.includes('C')) out.push('confidential');
  if (letters.includes('X')) out.push('protected');
  return out;
}

function tag(seed: string) {
  return parseSubjectTag(createHash('sha256').update(seed).digest('hex'));
}

function principal(role: Role, scope: readonly string[], index = 0): Principal {
  const id = createHash('md5').update(`${role}${index}`).digest('hex') as PrincipalId;
  return { id, name: `${role}-${index}`, role, scope: parseScope(scope) };
}

/** Each role with a scope it may hold: the state admin statewide, the others county "01". */
function scopeOf(role: Role): readonly string[] {
  return role === 'state-admin' ? ['state'] : ['01'];
}

describe('authorize', () => {
  it('follows the documented matrix for every role and action', () => {
    for (const role of ROLES) {
      const who = principal(role, scopeOf(role));
      for (const action of ACTIONS) {
        const expected = EXPECTED[role][action];
        const decision = authorize(who, { action, jurisdiction: '01', purpose: 'audit' });
        if (expected === undefined) {
          expect(decision, `${role} ${action}`).toEqual({
            allowed: false,
            reason: 'action-not-allowed',
          });
        } else {
          expect(decision, `${role} ${action}`).toEqual({
            allowed: true,
            fieldClasses: classesOf(expected),
          });
        }
      }
    }
  });

  it('lets no role read protected attributes, export beyond public, or auditors and programs read confidential fields', () => {
    for (const role of ROLES) {
      for (const [action, classes] of Object.entries(ACCESS_POLICY[role].actions)) {
        if (action === 'search' || action === 'view' || action === 'export') {
          expect(classes, `${role} ${action}`).not.toContain('protected');
        }
        if (action === 'export') expect(classes).toEqual(['public']);
        if (role === 'auditor' || role === 'api-client') {
          expect(classes, `${role} ${action}`).not.toContain('confidential');
        }
      }
      expect(
        authorize(principal(role, scopeOf(role)), {
          action: 'view',
          jurisdiction: '01',
          fieldClasses: ['protected'],
          purpose: 'audit',
        }),
      ).toEqual({
        allowed: false,
        reason:
          EXPECTED[role].view === undefined ? 'action-not-allowed' : 'field-class-not-allowed',
      });
    }
  });

  it('grants only the classes asked, in a fixed order, and refuses one more', () => {
    const clerk = principal('county-clerk', ['01']);
    expect(
      authorize(clerk, {
        action: 'view',
        jurisdiction: '01',
        fieldClasses: ['confidential', 'public'],
        purpose: 'voter-request',
      }),
    ).toEqual({ allowed: true, fieldClasses: ['public', 'confidential'] });
    expect(
      authorize(clerk, { action: 'view', jurisdiction: '01', fieldClasses: [], purpose: 'audit' }),
    ).toEqual({ allowed: true, fieldClasses: [] });
    const auditor = principal('auditor', ['state']);
    expect(
      authorize(auditor, {
        action: 'view',
        jurisdiction: '01',
        fieldClasses: ['public', 'confidential'],
        purpose: 'audit',
      }),
    ).toEqual({ allowed: false, reason: 'field-class-not-allowed' });
  });

  it('keeps county principals to their counties and the state scope to everything', () => {
    const staff = principal('county-staff', ['01', '03']);
    const ask = (jurisdiction?: string) =>
      authorize(staff, {
        action: 'search',
        ...(jurisdiction === undefined ? {} : { jurisdiction }),
      });
    expect(ask('01').allowed).toBe(true);
    expect(ask('03').allowed).toBe(true);
    expect(ask('02')).toEqual({ allowed: false, reason: 'out-of-scope' });
    expect(ask('OH')).toEqual({ allowed: false, reason: 'out-of-scope' });
    expect(ask()).toEqual({ allowed: false, reason: 'out-of-scope' });
    expect(ask('01 ')).toEqual({ allowed: false, reason: 'jurisdiction-invalid' });
    const admin = principal('state-admin', ['state']);
    for (const jurisdiction of ['01', '88', 'OH', undefined]) {
      expect(
        authorize(admin, {
          action: 'search',
          ...(jurisdiction === undefined ? {} : { jurisdiction }),
        }).allowed,
      ).toBe(true);
    }
    expect(authorize(admin, { action: 'search', jurisdiction: 'x'.repeat(17) })).toEqual({
      allowed: false,
      reason: 'jurisdiction-invalid',
    });
  });

  it('requires a purpose for view, update and export only', () => {
    const admin = principal('state-admin', ['state']);
    for (const action of ACTIONS) {
      const decision = authorize(admin, { action });
      if (action === 'view' || action === 'update' || action === 'export') {
        expect(purposeRequired(action)).toBe(true);
        expect(decision).toEqual({ allowed: false, reason: 'purpose-required' });
      } else {
        expect(purposeRequired(action)).toBe(false);
        expect(decision.allowed, action).toBe(true);
      }
    }
  });

  it("narrows an API token's principal to the token's actions", () => {
    const client: Principal = { ...principal('api-client', ['state']), actions: ['search'] };
    expect(authorize(client, { action: 'search' }).allowed).toBe(true);
    expect(authorize(client, { action: 'view', purpose: 'audit' })).toEqual({
      allowed: false,
      reason: 'action-not-allowed',
    });
    // A token can never add an action its role lacks.
    const widened: Principal = { ...principal('api-client', ['state']), actions: ['manage-users'] };
    expect(authorize(widened, { action: 'manage-users' })).toEqual({
      allowed: false,
      reason: 'action-not-allowed',
    });
  });

  it('says which scopes each role may hold and which roles are officials', () => {
    const state = parseScope(['state']);
    const county = parseScope(['01']);
    expect(roleAllowsScope('state-admin', state)).toBe(true);
    expect(roleAllowsScope('state-admin', county)).toBe(false);
    for (const role of ['county-clerk', 'county-staff'] as const) {
      expect(roleAllowsScope(role, county)).toBe(true);
      expect(roleAllowsScope(role, state)).toBe(false);
    }
    for (const role of ['auditor', 'api-client'] as const) {
      expect(roleAllowsScope(role, county)).toBe(true);
      expect(roleAllowsScope(role, state)).toBe(true);
    }
    expect(ROLES.filter(isOfficialRole)).toEqual([...OFFICIAL_ROLES]);
    expect(isOfficialRole('api-client')).toBe(false);
  });
});

describe('every role × action × scope through withAccess, on a real log', () => {
  let log: TestLog;
  beforeAll(async () => {
    log = await openTestLog();
  });
  afterAll(async () => {
    await log.remove();
  });

  it('allows or refuses as the matrix says, runs the call only when allowed, and logs exactly one event per attempt', async () => {
    const cases = ['in-scope', 'out-of-scope', 'statewide'] as const;
    let attempts = 0;
    for (const role of ROLES) {
      const who = principal(role, scopeOf(role));
      for (const action of ACTIONS) {
        for (const where of cases) {
          const jurisdiction =
            where === 'in-scope' ? '01' : where === 'out-of-scope' ? '02' : undefined;
          const subject = tag(`${role}/${action}/${where}`);
          const purpose = purposeRequired(action) ? ('voter-request' as const) : undefined;
          const expectedClasses = EXPECTED[role][action];
          const inScope = role === 'state-admin' || where === 'in-scope';
          const shouldAllow = expectedClasses !== undefined && inScope;
          let ran = false;
          const before = log.appender.size;
          const call = withAccess(
            {
              principal: who,
              channel: 'officials',
              appendLog: log.append,
              now: () => new Date('2026-03-01T12:00:00Z'),
            },
            {
              action,
              ...(jurisdiction === undefined ? {} : { jurisdiction }),
              ...(purpose === undefined ? {} : { purpose }),
              subjects: [subject],
            },
            (grant) => {
              ran = true;
              return Promise.resolve({ value: grant.fieldClasses, subjects: [subject] });
            },
          );
          const label = `${role} ${action} ${where}`;
          if (shouldAllow) {
            expect(await call, label).toEqual(classesOf(expectedClasses));
          } else {
            const error = await call.then(
              () => undefined,
              (e: unknown) => e,
            );
            expect(error, label).toBeInstanceOf(AccessDeniedError);
            expect((error as AccessDeniedError).code).toBe('ACCESS_DENIED');
            expect((error as AccessDeniedError).reason).toBe(
              expectedClasses === undefined ? 'action-not-allowed' : 'out-of-scope',
            );
          }
          expect(ran, label).toBe(shouldAllow);
          attempts++;
          expect(log.appender.size, label).toBe(before + 1);
          const entries = await log.entries();
          expect(entries).toHaveLength(attempts);
          const event: AccessEvent = AccessEventSchema.parse(entries.at(-1));
          expect(event, label).toEqual({
            type: 'access',
            principal: who.id,
            role,
            jurisdiction: jurisdiction ?? null,
            action,
            purpose: purpose ?? null,
            fieldClasses: shouldAllow ? classesOf(expectedClasses) : [],
            records: shouldAllow ? 1 : 0,
            subjects: [subject],
            channel: 'officials',
            outcome: shouldAllow ? 'allowed' : 'denied',
            reason: shouldAllow
              ? null
              : expectedClasses === undefined
                ? 'action-not-allowed'
                : 'out-of-scope',
            error: null,
            time: '2026-03-01T12:00:00.000Z',
          });
        }
      }
    }
    expect(attempts).toBe(ROLES.length * ACTIONS.length * cases.length);
  });
});
