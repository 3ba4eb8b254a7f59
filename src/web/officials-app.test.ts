// The officials' listener end to end on every dialect: nothing answers without a credential,
// sign-in with TOTP, CSRF, the OpenAPI document, security headers, and the API's authorization
// matrix (every role × search/view/update/export × in and out of scope), each attempt checked
// against the public log on disk.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Ajv2020 } from 'ajv/dist/2020.js';
import type { LightMyRequestResponse } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DIALECTS } from '../../test/setup/databases.ts';
import { ROLES, totpCode } from '../access/index.ts';
import type { Role } from '../access/index.ts';
import { traceFile } from '../voters/index.ts';
import {
  cookieHeader,
  cookiesOf,
  formToken,
  openOfficialsFixture,
  signIn,
} from './officials-test-support.ts';
import type { Browser, OfficialsFixture, TestPrincipal } from './officials-test-support.ts';

/** A JSON Schema object, as far as the tests read it. */
interface JsonSchemaObject {
  readonly properties?: Record<string, JsonSchemaObject>;
}

/** The parts of the OpenAPI document the tests read. */
interface OpenApiDocument {
  readonly openapi: string;
  readonly paths: Record<string, Record<string, unknown>>;
  readonly components: {
    readonly schemas: Record<string, JsonSchemaObject>;
  };
}

const PAGE_ROUTES = [
  ['GET', '/'],
  ['GET', '/search'],
  ['POST', '/search'],
  ['GET', '/voters/X1'],
  ['POST', '/voters/X1/view'],
  ['POST', '/voters/X1/edit'],
  ['GET', '/export'],
  ['POST', '/export'],
  ['POST', '/logout'],
  ['GET', '/no-such-page'],
] as const;

const API_ROUTES = [
  ['GET', '/api/v1/me'],
  ['POST', '/api/v1/voters/search'],
  ['GET', '/api/v1/voters/X1?purpose=audit'],
  ['PATCH', '/api/v1/voters/X1'],
  ['POST', '/api/v1/exports'],
  ['GET', '/api/v1/no-such-route'],
] as const;

for (const dialect of DIALECTS) {
  describe(dialect, () => {
    let f: OfficialsFixture;

    beforeAll(async () => {
      f = await openOfficialsFixture(dialect);
    });

    afterAll(async () => {
      await f.close();
    });

    it('refuses every route but sign-in, assets and the API document without a credential', async () => {
      const before = f.log.size;
      for (const [method, url] of PAGE_ROUTES) {
        const response = await f.app.inject({
          method,
          url,
          ...(method === 'GET' ? {} : { payload: {} }),
        });
        expect(response.statusCode, `${method} ${url}`).toBe(303);
        expect(response.headers.location).toBe('/login');
      }
      for (const [method, url] of API_ROUTES) {
        const response = await f.app.inject({
          method,
          url,
          ...(method === 'GET' ? {} : { payload: {} }),
        });
        expect(response.statusCode, `${method} ${url}`).toBe(401);
        expect(response.headers['content-type']).toMatch(/^application\/problem\+json/);
        expect(response.json()).toMatchObject({ status: 401, code: 'AUTHENTICATION_REQUIRED' });
      }
      // A forged or malformed credential is no better.
      const forged = await f.app.inject({
        method: 'GET',
        url: '/api/v1/me',
        headers: { authorization: `Bearer vv_${'A'.repeat(43)}` },
      });
      expect(forged.statusCode).toBe(401);
      expect(forged.json()).toMatchObject({ code: 'TOKEN_INVALID' });
      const badSession = await f.app.inject({
        method: 'GET',
        url: '/search',
        headers: { cookie: `vv_session=vs_${'B'.repeat(43)}` },
      });
      expect(badSession.statusCode).toBe(303);
      expect(badSession.headers.location).toBe('/login');
      expect(String(badSession.headers['set-cookie'])).toContain('vv_session=; Path=/; HttpOnly');
      expect((await f.app.inject({ method: 'GET', url: '/login' })).statusCode).toBe(200);
      expect((await f.app.inject({ method: 'GET', url: '/assets/site.css' })).statusCode).toBe(200);
      expect(f.log.size).toBe(before);
    });

    it('signs in with name, password and TOTP code, and sets a strict HttpOnly session cookie', async () => {
      const official = f.principals['county-clerk'];
      const browser = await signIn(f, official);
      const session = browser.cookies.get('vv_session');
      expect(session).toMatch(/^vs_[A-Za-z0-9_-]{43}$/);
      const page = await f.app.inject({
        method: 'GET',
        url: '/search',
        headers: { cookie: cookieHeader(browser.cookies) },
      });
      expect(page.statusCode).toBe(200);
      expect(page.body.replace(/\s+/g, ' ')).toContain(
        `Signed in as <strong>${official.name}</strong>, County clerk`,
      );
      // The cookie's attributes, as the sign-in set them (no TLS here, so no Secure flag).
      f.clock.advance(30_000);
      const form = await f.app.inject({ method: 'GET', url: '/login', remoteAddress: '10.9.0.1' });
      const response = await postLogin(f.app, form, official, official.password!, f.clock.now);
      const setCookie = String(response.headers['set-cookie']);
      expect(response.statusCode).toBe(303);
      expect(response.headers.location).toBe('/search');
      expect(setCookie).toMatch(
        /vv_session=vs_[A-Za-z0-9_-]{43}; Path=\/; HttpOnly; SameSite=Strict/,
      );
      expect(setCookie).not.toContain('Secure');
    });

    it('answers every failed sign-in the same way, without saying which part was wrong', async () => {
      const official = f.principals['county-staff'];
      f.clock.advance(30_000);
      const bodies: string[] = [];
      for (const attempt of [
        {
          name: official.name,
          password: official.password!,
          code: wrongCode(official, f.clock.now),
        },
        {
          name: official.name,
          password: 'not the password',
          code: totpCode(official.totpSecret!, f.clock.now),
        },
        { name: 'nobody-at-all', password: 'x', code: '123456' },
      ]) {
        const form = await f.app.inject({
          method: 'GET',
          url: '/login',
          remoteAddress: '10.9.1.1',
        });
        const response = await f.app.inject({
          method: 'POST',
          url: '/login',
          remoteAddress: '10.9.1.1',
          headers: {
            cookie: cookieHeader(cookiesOf(form.headers)),
            'content-type': 'application/x-www-form-urlencoded',
          },
          payload: new URLSearchParams({ _csrf: formToken(form.body), ...attempt }).toString(),
        });
        expect(response.statusCode).toBe(401);
        expect(response.headers['set-cookie'] ?? '').not.toContain('vv_session');
        expect(response.body).toContain('role="alert"');
        bodies.push(response.body.replace(/name="_csrf" value="[^"]+"/, ''));
      }
      expect(new Set(bodies).size).toBe(1);
      expect(bodies[0]).toContain('The name, password or code is not right');
    });

    it('limits sign-in posts per client address', async () => {
      const app = f.newApp();
      try {
        const form = await app.inject({ method: 'GET', url: '/login', remoteAddress: '10.9.2.1' });
        const post = () =>
          app.inject({
            method: 'POST',
            url: '/login',
            remoteAddress: '10.9.2.1',
            headers: {
              cookie: cookieHeader(cookiesOf(form.headers)),
              'content-type': 'application/x-www-form-urlencoded',
            },
            payload: new URLSearchParams({
              _csrf: formToken(form.body),
              name: 'x',
              password: 'y',
              code: '1',
            }).toString(),
          });
        for (let i = 0; i < 10; i++) expect((await post()).statusCode).toBe(401);
        const limited = await post();
        expect(limited.statusCode).toBe(429);
        expect(limited.headers['retry-after']).toBeDefined();
      } finally {
        await app.close();
      }
    });

    it('refuses forms without their CSRF token, and cookie API calls without the header', async () => {
      const browser = await signIn(f, f.principals['state-admin']);
      const before = f.log.size;
      const noToken = await f.app.inject({
        method: 'POST',
        url: '/search',
        headers: {
          cookie: cookieHeader(browser.cookies),
          'content-type': 'application/x-www-form-urlencoded',
        },
        payload: 'last=A&first=B&dob=1980&zip=27601',
      });
      expect(noToken.statusCode).toBe(403);
      const loginNoToken = await f.app.inject({
        method: 'POST',
        url: '/login',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        payload: 'name=a&password=b&code=123456',
      });
      expect(loginNoToken.statusCode).toBe(403);
      const apiNoHeader = await f.app.inject({
        method: 'POST',
        url: '/api/v1/voters/search',
        headers: { cookie: cookieHeader(browser.cookies) },
        payload: { last: 'A', first: 'B', dob: '1980', zip: '27601' },
      });
      expect(apiNoHeader.statusCode).toBe(403);
      expect(apiNoHeader.json()).toMatchObject({ code: 'CSRF_FAILED' });
      // Nothing reached the policy, so nothing was logged.
      expect(f.log.size).toBe(before);
    });

    it('ends the session on sign-out', async () => {
      const browser = await signIn(f, f.principals.auditor);
      const cookie = cookieHeader(browser.cookies);
      const out = await f.app.inject({
        method: 'POST',
        url: '/logout',
        headers: { cookie, 'content-type': 'application/x-www-form-urlencoded' },
        payload: `_csrf=${encodeURIComponent(browser.token)}`,
      });
      expect(out.statusCode).toBe(303);
      expect(String(out.headers['set-cookie'])).toContain('vv_session=;');
      const after = await f.app.inject({ method: 'GET', url: '/search', headers: { cookie } });
      expect(after.statusCode).toBe(303);
      expect(after.headers.location).toBe('/login');
    });

    it('serves an OpenAPI 3.1 document of valid JSON Schemas without a credential', async () => {
      const response = await f.app.inject({ method: 'GET', url: '/api/openapi.json' });
      expect(response.statusCode).toBe(200);
      const doc = response.json<OpenApiDocument>();
      expect(doc.openapi).toBe('3.1.0');
      expect(Object.keys(doc.paths)).toEqual(
        expect.arrayContaining([
          '/api/v1/me',
          '/api/v1/voters/search',
          '/api/v1/voters/{id}',
          '/api/v1/exports',
        ]),
      );
      expect(Object.keys(doc.paths['/api/v1/voters/{id}']!)).toEqual(['get', 'patch']);
      const ajv = new Ajv2020({ strict: false });
      for (const [name, schema] of Object.entries(doc.components.schemas)) {
        expect(() => ajv.compile(schema as object), name).not.toThrow();
      }
      const search = ajv.compile(doc.components.schemas['SearchRequest']!);
      expect(search({ last: 'A', first: 'B', dob: '1980', zip: '27601' })).toBe(true);
      expect(search({ last: 'A', first: 'B', dob: '1980', race: 'W' })).toBe(false);
      const record = doc.components.schemas['VoterRecord']!;
      expect(Object.keys(record.properties!['fields']!.properties!)).toEqual([
        'public',
        'confidential',
      ]);
    });

    it('sends the security headers on pages, API answers and errors', async () => {
      const token = f.principals['api-client'].token!;
      for (const response of [
        await f.app.inject({ method: 'GET', url: '/login' }),
        await f.app.inject({
          method: 'GET',
          url: '/api/v1/me',
          headers: { authorization: `Bearer ${token}` },
        }),
        await f.app.inject({ method: 'GET', url: '/api/v1/me' }),
      ]) {
        expect(response.headers['content-security-policy']).toContain("default-src 'none'");
        expect(response.headers['x-frame-options']).toBe('DENY');
        expect(response.headers['x-content-type-options']).toBe('nosniff');
        expect(response.headers['referrer-policy']).toBe('no-referrer');
      }
    });

    describe('API authorization matrix', () => {
      const browsers = new Map<Role, Browser>();
      beforeAll(async () => {
        for (const role of ROLES) {
          if (role !== 'api-client') browsers.set(role, await signIn(f, f.principals[role]));
        }
      });

      /** A call as `role`: bearer token for the API client, session cookie and CSRF header for officials. */
      async function call(
        role: Role,
        method: 'GET' | 'POST' | 'PATCH',
        url: string,
        payload?: object,
      ): Promise<LightMyRequestResponse> {
        const principal = f.principals[role];
        const browser = browsers.get(role);
        let headers: Record<string, string>;
        if (browser === undefined) {
          headers = { authorization: `Bearer ${principal.token!}` };
        } else {
          const me = await f.app.inject({
            method: 'GET',
            url: '/api/v1/me',
            headers: { cookie: cookieHeader(browser.cookies) },
          });
          const cookies = new Map([...browser.cookies, ...cookiesOf(me.headers)]);
          headers = { cookie: cookieHeader(cookies), 'x-csrf-token': me.json().csrfToken };
        }
        return f.app.inject({
          method,
          url,
          headers,
          ...(payload === undefined ? {} : { payload }),
        });
      }

      const allowed: Record<string, readonly Role[]> = {
        'search-in': ['state-admin', 'county-clerk', 'county-staff', 'auditor', 'api-client'],
        'search-out': ['state-admin'],
        'view-in': ['state-admin', 'county-clerk', 'county-staff', 'auditor', 'api-client'],
        'view-out': ['state-admin'],
        'update-in': ['state-admin', 'county-clerk', 'county-staff'],
        'update-out': ['state-admin'],
        'export-in': ['state-admin', 'county-clerk', 'api-client'],
        'export-out': ['state-admin'],
      };

      for (const role of ROLES) {
        for (const action of ['search', 'view', 'update', 'export'] as const) {
          for (const where of ['in', 'out'] as const) {
            const expected = allowed[`${action}-${where}`]!.includes(role);
            it(`${role} ${action} ${where} of scope: ${expected ? 'allowed' : 'refused'}, one access event`, async () => {
              const voter = where === 'in' ? f.inside : f.outside;
              const before = f.log.size;
              let response: LightMyRequestResponse;
              switch (action) {
                case 'search':
                  response = await call(role, 'POST', '/api/v1/voters/search', {
                    last: voter.last,
                    first: voter.first,
                    dob: voter.birthYear,
                    zip: voter.zip,
                    jurisdiction: voter.county,
                  });
                  break;
                case 'view':
                  response = await call(
                    role,
                    'GET',
                    `/api/v1/voters/${voter.id}?purpose=voter-request`,
                  );
                  break;
                case 'update':
                  response = await call(role, 'PATCH', `/api/v1/voters/${voter.id}`, {
                    purpose: 'registration',
                    reason: `Middle name corrected on form 7 (${role})`,
                    changes: { public: { middle_name: `M${role.length}${where}` } },
                  });
                  break;
                case 'export':
                  response = await call(role, 'POST', '/api/v1/exports', {
                    purpose: 'public-records-request',
                    recipient: 'Example Research Institute',
                    counties: [voter.county],
                  });
                  break;
              }
              expect(response.statusCode, response.body.slice(0, 300)).toBe(expected ? 200 : 403);
              const entries = await f.entriesSince(before);
              const access = entries.filter((e) => e['type'] === 'access');
              expect(access).toHaveLength(1);
              const event = access[0]!;
              expect(event).toMatchObject({
                action,
                role,
                channel: 'api',
                outcome: expected ? 'allowed' : 'denied',
                jurisdiction: voter.county,
              });
              if (action === 'view' || action === 'update') {
                expect(event['subjects']).toEqual([f.ring.subjectTag(voter.id)]);
              }
              if (action === 'search' && expected) {
                expect(event['subjects']).toContain(f.ring.subjectTag(voter.id));
                expect(
                  response.json<{ results: { voterId: string }[] }>().results.map((r) => r.voterId),
                ).toContain(voter.id);
              }
              // A successful export also leaves its own `export` entry (recipient, export id);
              // nothing else is appended.
              const others = entries.filter((e) => e['type'] !== 'access');
              expect(others.map((e) => e['type'])).toEqual(
                action === 'export' && expected ? ['export'] : [],
              );
              if (!expected) {
                expect(response.headers['content-type']).toMatch(/^application\/problem\+json/);
                expect(response.json()).toMatchObject({ code: 'ACCESS_DENIED', status: 403 });
              }
            });
          }
        }
      }

      it('returns only the field classes the role may read', async () => {
        const clerk = await call(
          'county-clerk',
          'GET',
          `/api/v1/voters/${f.inside.id}?purpose=voter-request`,
        );
        expect(clerk.statusCode).toBe(200);
        expect(clerk.json().fieldClasses).toEqual(['public', 'confidential']);
        expect(clerk.json().fields).toHaveProperty('confidential');
        const auditor = await call('auditor', 'GET', `/api/v1/voters/${f.inside.id}?purpose=audit`);
        expect(auditor.json().fieldClasses).toEqual(['public']);
        expect(auditor.json().fields).not.toHaveProperty('confidential');
        expect(auditor.json().fields.public.ncid).toBe(f.inside.id);
        for (const response of [clerk, auditor]) {
          // Protected attributes (race, ethnicity, gender, birth state) never leave.
          expect(response.body).not.toMatch(/race_code|ethnic_code|gender_code|birth_state/);
        }
      });

      it('refuses a view without a purpose, and logs the refusal with the voter named', async () => {
        const before = f.log.size;
        const response = await call('county-clerk', 'GET', `/api/v1/voters/${f.inside.id}`);
        expect(response.statusCode).toBe(403);
        const [event] = await f.entriesSince(before);
        expect(event).toMatchObject({
          outcome: 'denied',
          reason: 'purpose-required',
          subjects: [f.ring.subjectTag(f.inside.id)],
        });
      });

      it('writes a new version with the reason in the database, never in the log', async () => {
        const reason = 'Signature card received at the counter';
        const current = await call(
          'county-staff',
          'GET',
          `/api/v1/voters/${f.inside.id}?purpose=registration`,
        );
        const version = current.json().rowVersion as number;
        const before = f.log.size;
        const response = await call('county-staff', 'PATCH', `/api/v1/voters/${f.inside.id}`, {
          purpose: 'registration',
          reason,
          rowVersion: version,
          changes: { public: { middle_name: 'QUINCE' } },
        });
        expect(response.statusCode).toBe(200);
        expect(response.json()).toEqual({ voterId: f.inside.id, rowVersion: version + 1 });
        const stored = await f.handle.db
          .selectFrom('voter')
          .select(['row_version', 'change_reason', 'public_fields'])
          .where('voter_id', '=', f.inside.id)
          .executeTakeFirstOrThrow();
        expect(Number(stored.row_version)).toBe(version + 1);
        expect(stored.change_reason).toBe(reason);
        expect(JSON.parse(stored.public_fields).middle_name).toBe('QUINCE');
        const history = await f.handle.db
          .selectFrom('voter_version')
          .select('row_version')
          .where('voter_id', '=', f.inside.id)
          .execute();
        expect(history.map((row) => Number(row.row_version))).toContain(version);
        const entries = await f.entriesSince(before);
        expect(entries).toHaveLength(1);
        expect(entries[0]).toMatchObject({
          action: 'update',
          outcome: 'allowed',
          records: 1,
          fieldClasses: ['public'],
        });
        expect(JSON.stringify(entries[0])).not.toContain('Signature');
        // A stale version is refused, and the attempt logged.
        const stale = await call('county-staff', 'PATCH', `/api/v1/voters/${f.inside.id}`, {
          purpose: 'registration',
          reason,
          rowVersion: version,
          changes: { public: { middle_name: 'ROWAN' } },
        });
        expect(stale.statusCode).toBe(409);
        expect(await f.entriesSince(before + 1)).toMatchObject([
          { action: 'update', error: 'RECORD_CHANGED' },
        ]);
      });

      it('refuses to add a protected attribute as a public field', async () => {
        const response = await call('county-clerk', 'PATCH', `/api/v1/voters/${f.inside.id}`, {
          purpose: 'registration',
          reason: 'Form 7',
          changes: { public: { race_code: 'W' } },
        });
        expect(response.statusCode).toBe(400);
        expect(response.json().detail).toContain('"race_code": it is not a public column');
      });

      it('exports a watermarked file that trace attributes to the export', async () => {
        const response = await call('county-clerk', 'POST', '/api/v1/exports', {
          purpose: 'public-records-request',
          recipient: 'County Party Office',
        });
        expect(response.statusCode).toBe(200);
        expect(response.headers['content-type']).toBe(
          'text/tab-separated-values; charset=windows-1252',
        );
        expect(response.headers['content-disposition']).toMatch(
          /^attachment; filename="voters-nc-[0-9a-f]{32}\.txt"$/,
        );
        const exportId = response.headers['x-export-id'];
        const dir = await mkdtemp(join(tmpdir(), 'votervault-trace-'));
        try {
          const file = join(dir, 'leak.txt');
          await writeFile(file, response.rawPayload);
          const report = await traceFile(f.handle, f.ring, file);
          expect(report.match?.exportId).toBe(exportId);
          expect(report.match?.recipient).toBe('County Party Office');
          // The clerk's export holds only the clerk's county.
          const lines = response.rawPayload.toString('latin1').trim().split(/\r?\n/).slice(1);
          expect(lines.length).toBeGreaterThan(0);
          expect(new Set(lines.map((line) => line.split('\t')[0]))).toEqual(
            new Set([`"${f.home}"`]),
          );
          expect(response.rawPayload.toString('latin1')).not.toMatch(/race_code|full_phone_number/);
        } finally {
          await rm(dir, { recursive: true, force: true });
        }
      });
    });
  });
}

function wrongCode(principal: TestPrincipal, now: Date): string {
  const right = totpCode(principal.totpSecret!, now);
  return right === '000000' ? '111111' : '000000';
}

async function postLogin(
  app: OfficialsFixture['app'],
  form: LightMyRequestResponse,
  principal: TestPrincipal,
  password: string,
  now: Date,
): Promise<LightMyRequestResponse> {
  return app.inject({
    method: 'POST',
    url: '/login',
    remoteAddress: '10.9.0.1',
    headers: {
      cookie: cookieHeader(cookiesOf(form.headers)),
      'content-type': 'application/x-www-form-urlencoded',
    },
    payload: new URLSearchParams({
      _csrf: formToken(form.body),
      name: principal.name,
      password,
      code: totpCode(principal.totpSecret!, now),
    }).toString(),
  });
}
