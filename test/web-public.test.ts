// The voters' site on the public listener, on every dialect: the lookup answers and logs, the
// history lists the voter's own log entries with proofs that check, forms need their CSRF
// token, lookups are rate-limited, and every response carries the security headers.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FastifyInstance } from 'fastify';
import { pino } from 'pino';
import {
  leafHash,
  openCheckpoint,
  parseVerifierKey,
  readEntryBundle,
  rootFromInclusionProof,
} from '../src/tlog/index.ts';
import { searchVoters, updateVoter } from '../src/voters/index.ts';
import { CONTENT_SECURITY_POLICY, createPublicApp } from '../src/web/index.ts';
import { DIALECTS } from './setup/databases.ts';
import { openTestWebSystem } from './support/web-system.ts';
import type { TestWebSystem } from './support/web-system.ts';

/** A browser: keeps cookies between requests and reads the CSRF token from forms. */
class FormClient {
  readonly #app: FastifyInstance;
  readonly #cookies = new Map<string, string>();

  constructor(app: FastifyInstance) {
    this.#app = app;
  }

  async get(url: string) {
    const response = await this.#app.inject({ method: 'GET', url, headers: this.#headers() });
    this.#remember(response.headers['set-cookie']);
    return response;
  }

  async post(url: string, fields: Record<string, string>, ip = '127.0.0.1') {
    const response = await this.#app.inject({
      method: 'POST',
      url,
      remoteAddress: ip,
      headers: { ...this.#headers(), 'content-type': 'application/x-www-form-urlencoded' },
      payload: new URLSearchParams(fields).toString(),
    });
    this.#remember(response.headers['set-cookie']);
    return response;
  }

  /** The CSRF token of the form on `url`. */
  async token(url = '/'): Promise<string> {
    const page = await this.get(url);
    const match = /name="_csrf" value="([^"]+)"/.exec(page.body);
    if (match?.[1] === undefined) throw new Error(`No CSRF token on "${url}"`);
    return match[1];
  }

  #headers(): Record<string, string> {
    const cookie = [...this.#cookies].map(([k, v]) => `${k}=${v}`).join('; ');
    return cookie === '' ? {} : { cookie };
  }

  #remember(header: string | string[] | undefined): void {
    for (const line of header === undefined ? [] : Array.isArray(header) ? header : [header]) {
      const [pair] = line.split(';');
      const at = pair?.indexOf('=') ?? -1;
      if (pair !== undefined && at > 0) this.#cookies.set(pair.slice(0, at), pair.slice(at + 1));
    }
  }
}

for (const dialect of DIALECTS) {
  describe(`voters' site on ${dialect}`, () => {
    let system: TestWebSystem;
    let app: FastifyInstance;

    beforeAll(async () => {
      system = await openTestWebSystem(dialect);
      app = createPublicApp(system.context, {});
    });

    afterAll(async () => {
      await app.close();
      await system.remove();
    });

    function identity(): Record<string, string> {
      return {
        last: system.voter.last,
        first: system.voter.first,
        dob: `${system.voter.birthYear}-06-15`,
        zip: system.voter.zip,
        county: '',
      };
    }

    it('answers a lookup with the precinct and polling place, after logging it', async () => {
      const client = new FormClient(app);
      const before = system.context.log.size;
      const response = await client.post('/lookup', { ...identity(), _csrf: await client.token() });
      expect(response.statusCode).toBe(200);
      expect(response.body).toContain('You are registered to vote');
      expect(response.body).toMatch(/Community Center/);
      expect(system.context.log.size).toBe(before + 1);
      const entry = await lastEntry(system);
      expect(entry).toMatchObject({ type: 'lookup', channel: 'public', result: 'found' });
      expect((entry as { subjects: string[] }).subjects).toHaveLength(1);
      // No personal data in the log entry.
      const text = JSON.stringify(entry);
      expect(text).not.toContain(system.voter.last);
      expect(text).not.toContain(system.voter.zip);
    });

    it('answers no match and several matches with the same page, and logs both', async () => {
      const client = new FormClient(app);
      const token = await client.token();
      const none = await client.post('/lookup', {
        ...identity(),
        last: 'Nobodyhere',
        _csrf: token,
      });
      expect(none.statusCode).toBe(200);
      expect(none.body).toContain('We could not find exactly one registration');
      // Several voters share a birth year and ZIP code but not a name: a wrong first name
      // gives the same page, byte for byte apart from the token.
      const other = await client.post('/lookup', { ...identity(), first: 'Zzyzx', _csrf: token });
      const strip = (body: string) => body.replace(/value="[^"]*"/g, '');
      expect(strip(other.body)).toBe(strip(none.body));
      const entry = await lastEntry(system);
      expect(entry).toMatchObject({ type: 'lookup', result: 'not-found', subjects: [] });
    });

    it('gives several matches the page and, within noise, the time of no match', async () => {
      // A second voter made to share the first one's name, birth year and ZIP code.
      const { handle, ring } = system.context;
      const { voter } = system;
      const found = await searchVoters(
        handle,
        ring,
        { last: voter.last, first: voter.first, dob: voter.birthYear, zip: voter.zip },
        { jurisdictions: 'state', limit: 1, offset: 0 },
      );
      const first = found.hits[0]!.voterId;
      const other = await handle.db
        .selectFrom('voter')
        .select(['voter_id', 'public_fields'])
        .where('voter_id', '!=', first)
        .limit(1)
        .executeTakeFirstOrThrow();
      await updateVoter(
        handle,
        ring,
        other.voter_id,
        {
          public: {
            last_name: voter.last,
            first_name: voter.first,
            birth_year: voter.birthYear,
            zip_code: voter.zip,
          },
        },
        { reason: 'Test: a namesake' },
      );
      const client = new FormClient(app);
      const token = await client.token();
      const strip = (body: string) => body.replace(/value="[^"]*"/g, '');
      const several = await client.post('/lookup', { ...identity(), _csrf: token });
      const none = await client.post('/lookup', {
        ...identity(),
        last: 'Nobodyhere',
        _csrf: token,
      });
      expect(strip(several.body)).toBe(strip(none.body));
      // Same statement, same digests: the medians of interleaved runs stay close.
      const times: { several: number[]; none: number[] } = { several: [], none: [] };
      for (let i = 0; i < 40; i++) {
        for (const kind of ['several', 'none'] as const) {
          const fields = kind === 'none' ? { ...identity(), last: `Nobody${i}` } : identity();
          const started = performance.now();
          await client.post('/lookup', { ...fields, _csrf: token }, `10.1.${i}.1`);
          times[kind].push(performance.now() - started);
        }
      }
      const median = (values: number[]) => [...values].sort((a, b) => a - b)[values.length >> 1]!;
      const ratio = median(times.several) / median(times.none);
      expect(ratio).toBeGreaterThan(0.6);
      expect(ratio).toBeLessThan(1.6);
      // Give the namesake its own details back for the tests after this one.
      const original = JSON.parse(other.public_fields) as Record<string, string>;
      await updateVoter(
        handle,
        ring,
        other.voter_id,
        {
          public: {
            last_name: original['last_name'] ?? '',
            first_name: original['first_name'] ?? '',
            birth_year: original['birth_year'] ?? '',
            zip_code: original['zip_code'] ?? '',
          },
        },
        { reason: 'Test: restored' },
      );
    });

    it('refuses a form without its CSRF token and logs nothing', async () => {
      const client = new FormClient(app);
      await client.get('/');
      const before = system.context.log.size;
      const response = await client.post('/lookup', identity());
      expect(response.statusCode).toBe(403);
      expect(response.body).toContain('did not come from this site');
      const forged = await new FormClient(app).post('/lookup', {
        ...identity(),
        _csrf: 'x'.repeat(43),
      });
      expect(forged.statusCode).toBe(403);
      expect(system.context.log.size).toBe(before);
    });

    it('shows a form with the problems when fields are missing or malformed', async () => {
      const client = new FormClient(app);
      const response = await client.post('/lookup', {
        ...identity(),
        dob: '15/06/1980',
        zip: '',
        _csrf: await client.token(),
      });
      expect(response.statusCode).toBe(400);
      expect(response.body).toContain('role="alert"');
      expect(response.body).toContain('year-month-day');
    });

    it('lists who accessed the record, each entry proved in the signed checkpoint', async () => {
      const client = new FormClient(app);
      const token = await client.token('/history');
      await client.post('/lookup', { ...identity(), _csrf: token });
      const response = await client.post('/history', { ...identity(), _csrf: token });
      expect(response.statusCode).toBe(200);
      const checkpoint = decode(/data-checkpoint="([^"]*)"/.exec(response.body)?.[1] ?? '');
      const [vkey] = system.context.verifierKeys;
      const { checkpoint: signed } = openCheckpoint(checkpoint, [parseVerifierKey(vkey ?? '')]);
      const items = [
        ...response.body.matchAll(
          /data-index="(\d+)"\s+data-entry="([^"]+)"\s+data-proof="([^"]*)"/g,
        ),
      ];
      // The earlier lookups of this voter and the history check itself.
      expect(items.length).toBeGreaterThanOrEqual(2);
      for (const [, index, entry, proof] of items) {
        const bytes = Buffer.from(entry ?? '', 'base64');
        expect(JSON.parse(bytes.toString('utf8'))).toMatchObject({ channel: 'public' });
        const root = rootFromInclusionProof(
          leafHash(bytes),
          Number(index),
          signed.size,
          (proof ?? '')
            .split(' ')
            .filter(Boolean)
            .map((h) => Buffer.from(h, 'base64')),
        );
        expect(Buffer.from(root)).toEqual(Buffer.from(signed.rootHash));
      }
      // Newest first.
      const indices = items.map(([, index]) => Number(index));
      expect([...indices].sort((a, b) => b - a)).toEqual(indices);
      expect(response.body).toContain('<script src="/assets/verify.js" defer>');
    });

    it('does not show a history without the identity check passing', async () => {
      const client = new FormClient(app);
      const response = await client.post('/history', {
        ...identity(),
        dob: '1901-01-01',
        _csrf: await client.token('/history'),
      });
      expect(response.body).toContain('We could not find exactly one registration');
      expect(response.body).not.toContain('data-entry=');
    });

    it('rate-limits lookups per client address', async () => {
      const limited = createPublicApp(system.context, {
        lookupLimit: { limit: 3, windowSeconds: 60 },
      });
      try {
        const client = new FormClient(limited);
        const token = await client.token();
        const statuses: number[] = [];
        for (let i = 0; i < 5; i++) {
          statuses.push(
            (await client.post('/lookup', { ...identity(), _csrf: token }, '10.9.8.7')).statusCode,
          );
        }
        expect(statuses).toEqual([200, 200, 200, 429, 429]);
        const other = await client.post('/lookup', { ...identity(), _csrf: token }, '10.9.8.6');
        expect(other.statusCode).toBe(200);
      } finally {
        await limited.close();
      }
    });

    it('sends strict security headers and no CORS on pages, and serves the log', async () => {
      const page = await app.inject({ method: 'GET', url: '/' });
      expect(page.headers['content-security-policy']).toBe(CONTENT_SECURITY_POLICY);
      expect(page.headers['content-security-policy']).toContain("frame-ancestors 'none'");
      expect(page.headers['content-security-policy']).not.toContain('unsafe-inline');
      expect(page.headers['x-content-type-options']).toBe('nosniff');
      expect(page.headers['x-frame-options']).toBe('DENY');
      expect(page.headers['strict-transport-security']).toBeUndefined();
      expect(page.headers['access-control-allow-origin']).toBeUndefined();
      expect(page.headers['cache-control']).toBe('no-store');
      expect(page.body).not.toMatch(/<script>(?!<)/);
      const preflight = await app.inject({
        method: 'OPTIONS',
        url: '/lookup',
        headers: { origin: 'https://evil.example', 'access-control-request-method': 'POST' },
      });
      expect(preflight.headers['access-control-allow-origin']).toBeUndefined();
      const checkpoint = await app.inject({ method: 'GET', url: '/log/checkpoint' });
      expect(checkpoint.statusCode).toBe(200);
      expect(checkpoint.body).toBe(system.context.log.checkpoint());
      const missing = await app.inject({ method: 'GET', url: '/nowhere' });
      expect(missing.statusCode).toBe(404);
      expect(missing.headers['content-security-policy']).toBe(CONTENT_SECURITY_POLICY);
    });

    it('logs requests as JSON lines with ids, never the details typed', async () => {
      const lines: string[] = [];
      const logger = pino({ level: 'info' }, { write: (line: string) => lines.push(line) });
      const logged = createPublicApp(system.context, { logger });
      try {
        const client = new FormClient(logged);
        await client.post('/lookup', { ...identity(), _csrf: await client.token() });
        await client.post('/lookup', { ...identity(), _csrf: 'forged' });
        const records = lines.map((line) => JSON.parse(line) as Record<string, unknown>);
        const completed = records.filter((r) => r['msg'] === 'request completed');
        expect(completed.length).toBe(3);
        for (const r of completed) expect(r['reqId']).toMatch(/^[0-9a-f-]{36}$/);
        const text = lines.join('');
        for (const secret of [system.voter.last, system.voter.first, system.voter.zip, 'forged']) {
          expect(text).not.toContain(secret);
        }
        expect(text).not.toContain('cookie');
      } finally {
        await logged.close();
      }
    });

    it('refuses bodies over the limit', async () => {
      const response = await app.inject({
        method: 'POST',
        url: '/lookup',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        payload: `last=${'a'.repeat(20_000)}`,
      });
      expect(response.statusCode).toBe(413);
    });
  });
}

function decode(attribute: string): string {
  return attribute
    .replaceAll('&quot;', '"')
    .replaceAll('&#39;', "'")
    .replaceAll('&lt;', '<')
    .replaceAll('&gt;', '>')
    .replaceAll('&amp;', '&');
}

async function lastEntry(system: TestWebSystem): Promise<unknown> {
  const size = system.context.log.size;
  const bundle = Math.floor((size - 1) / 256);
  const entries = await readEntryBundle(system.context.logDir, bundle, size - bundle * 256);
  return JSON.parse(Buffer.from(entries.at(-1) ?? []).toString('utf8'));
}
