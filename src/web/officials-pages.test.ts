// The officials' pages on every dialect: search, a record opened for a stated purpose, an edit,
// an export download; each a logged access event of channel `officials`, each page usable
// without script and with the markup assistive technology needs.
import type { LightMyRequestResponse } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DIALECTS } from '../../test/setup/databases.ts';
import { cookieHeader, cookiesOf, openOfficialsFixture, signIn } from './officials-test-support.ts';
import type { Browser, OfficialsFixture } from './officials-test-support.ts';

/** A page's markup with runs of white space as one space, as a browser reads it. */
function flat(response: LightMyRequestResponse): string {
  return response.body.replace(/\s+/g, ' ');
}

for (const dialect of DIALECTS) {
  describe(dialect, () => {
    let f: OfficialsFixture;
    let clerk: Browser;
    let auditor: Browser;

    beforeAll(async () => {
      f = await openOfficialsFixture(dialect);
      clerk = await signIn(f, f.principals['county-clerk']);
      auditor = await signIn(f, f.principals.auditor);
    });

    afterAll(async () => {
      await f.close();
    });

    function get(browser: Browser, url: string): Promise<LightMyRequestResponse> {
      return f.app.inject({
        method: 'GET',
        url,
        headers: { cookie: cookieHeader(browser.cookies) },
      });
    }

    function post(
      browser: Browser,
      url: string,
      fields: Record<string, string>,
    ): Promise<LightMyRequestResponse> {
      return f.app.inject({
        method: 'POST',
        url,
        headers: {
          cookie: cookieHeader(browser.cookies),
          'content-type': 'application/x-www-form-urlencoded',
        },
        payload: new URLSearchParams({ _csrf: browser.token, ...fields }).toString(),
      });
    }

    function expectAccessiblePage(response: LightMyRequestResponse): void {
      expect(response.headers['content-type']).toBe('text/html; charset=utf-8');
      const body = flat(response);
      expect(body).toContain('<html lang="en">');
      expect(body).not.toMatch(/<script(?![^>]*\bsrc=)/);
      expect(body).not.toMatch(/\sstyle=/);
      // Every input, select and textarea but hidden ones has a label.
      const ids = [
        ...body.matchAll(/<(?:input|select|textarea)\b(?![^>]*type="hidden")[^>]*\bid="([^"]+)"/g),
      ].map((m) => m[1]);
      for (const id of ids) expect(body, `label for ${id}`).toContain(`<label for="${id}">`);
    }

    it('shows the signed-in official and searches, logging one event', async () => {
      const form = await get(clerk, '/search');
      expect(form.statusCode).toBe(200);
      expectAccessiblePage(form);
      expect(flat(form)).toContain(
        `Signed in as <strong>${f.principals['county-clerk'].name}</strong>, County clerk`,
      );
      const before = f.log.size;
      const response = await post(clerk, '/search', {
        last: f.inside.last,
        first: f.inside.first,
        dob: f.inside.birthYear,
        zip: f.inside.zip,
        county: '',
      });
      expect(response.statusCode).toBe(200);
      expectAccessiblePage(response);
      expect(flat(response)).toContain(`<a href="/voters/${f.inside.id}">${f.inside.id}</a>`);
      expect(flat(response)).toContain('<th scope="col">Voter id</th>');
      expect(flat(response)).toContain('<caption>');
      const entries = await f.entriesSince(before);
      expect(entries).toHaveLength(1);
      expect(entries[0]).toMatchObject({
        action: 'search',
        channel: 'officials',
        outcome: 'allowed',
        jurisdiction: f.home,
      });
      expect(entries[0]!['subjects']).toContain(f.ring.subjectTag(f.inside.id));
    });

    it('shows form errors in an alert and logs nothing', async () => {
      const before = f.log.size;
      const response = await post(clerk, '/search', {
        last: '',
        first: 'A',
        dob: '04/23/1980',
        zip: '',
        county: '',
      });
      expect(response.statusCode).toBe(400);
      expect(flat(response)).toContain('role="alert"');
      expect(flat(response)).toContain('Enter the last name');
      expect(flat(response)).toContain('Enter a ZIP code or a county name');
      expect(f.log.size).toBe(before);
    });

    it('asks for a purpose before it opens a record, and shows fields by class', async () => {
      const before = f.log.size;
      const ask = await get(clerk, `/voters/${f.inside.id}`);
      expect(ask.statusCode).toBe(200);
      expectAccessiblePage(ask);
      expect(flat(ask)).toContain('<select id="purpose" name="purpose" required');
      expect(f.log.size).toBe(before);

      const refused = await post(clerk, `/voters/${f.inside.id}/view`, { purpose: '' });
      expect(refused.statusCode).toBe(403);
      expect(flat(refused)).toContain('role="alert"');
      expect(await f.entriesSince(before)).toMatchObject([
        { action: 'view', outcome: 'denied', reason: 'purpose-required', channel: 'officials' },
      ]);

      const opened = await post(clerk, `/voters/${f.inside.id}/view`, { purpose: 'voter-request' });
      expect(opened.statusCode).toBe(200);
      expectAccessiblePage(opened);
      expect(flat(opened)).toContain('<h2 id="class-public">Public fields</h2>');
      expect(flat(opened)).toContain('<h2 id="class-confidential">Confidential fields</h2>');
      expect(flat(opened)).toContain('<th scope="row">ncid</th>');
      expect(flat(opened)).toContain('Change public fields');
      expect(flat(opened)).not.toMatch(/race_code|ethnic_code|gender_code/);
      expect(await f.entriesSince(before + 1)).toMatchObject([
        {
          action: 'view',
          outcome: 'allowed',
          purpose: 'voter-request',
          fieldClasses: ['public', 'confidential'],
        },
      ]);

      const audited = await post(auditor, `/voters/${f.inside.id}/view`, { purpose: 'audit' });
      expect(audited.statusCode).toBe(200);
      expect(flat(audited)).toContain('Public fields');
      expect(flat(audited)).not.toContain('Confidential fields');
      expect(flat(audited)).not.toContain('Change public fields');
    });

    it('refuses a record outside the official’s counties and logs it with the voter’s tag', async () => {
      const before = f.log.size;
      const response = await post(clerk, `/voters/${f.outside.id}/view`, {
        purpose: 'voter-request',
      });
      expect(response.statusCode).toBe(403);
      expect(flat(response)).toContain('out-of-scope');
      expect(await f.entriesSince(before)).toMatchObject([
        {
          action: 'view',
          outcome: 'denied',
          reason: 'out-of-scope',
          jurisdiction: f.outside.county,
          subjects: [f.ring.subjectTag(f.outside.id)],
        },
      ]);
    });

    it('saves a changed public field as a new version and logs the change', async () => {
      const opened = await post(clerk, `/voters/${f.inside.id}/view`, { purpose: 'registration' });
      const version = /name="rowVersion" value="(\d+)"/.exec(flat(opened))![1]!;
      const before = f.log.size;
      const saved = await post(clerk, `/voters/${f.inside.id}/edit`, {
        purpose: 'registration',
        reason: 'Corrected from the registration form',
        rowVersion: version,
        'f.middle_name': 'HAWTHORN',
        'f.ncid': f.inside.id,
      });
      expect(saved.statusCode).toBe(303);
      expect(saved.headers.location).toBe(`/voters/${f.inside.id}?saved=${Number(version) + 1}`);
      expect(await f.entriesSince(before)).toMatchObject([
        {
          action: 'update',
          outcome: 'allowed',
          channel: 'officials',
          fieldClasses: ['public'],
          records: 1,
        },
      ]);
      const row = await f.handle.db
        .selectFrom('voter')
        .select(['public_fields', 'change_reason'])
        .where('voter_id', '=', f.inside.id)
        .executeTakeFirstOrThrow();
      expect(JSON.parse(row.public_fields).middle_name).toBe('HAWTHORN');
      expect(row.change_reason).toBe('Corrected from the registration form');
      const notice = await get(clerk, saved.headers.location!);
      expect(flat(notice)).toContain(`saved as version ${Number(version) + 1}`);
    });

    it('downloads an export from the form, logged', async () => {
      const form = await get(clerk, '/export');
      expect(form.statusCode).toBe(200);
      expectAccessiblePage(form);
      expect(flat(form)).toContain('<option value="nc" selected>nc</option>');
      const before = f.log.size;
      const response = await post(clerk, '/export', {
        purpose: 'public-records-request',
        recipient: 'Civic Data Project',
        counties: f.home,
        layout: 'nc',
      });
      expect(response.statusCode).toBe(200);
      expect(response.headers['content-disposition']).toMatch(/^attachment; /);
      expect(response.rawPayload.toString('latin1').split('\n')[0]).toContain('ncid');
      const entries = await f.entriesSince(before);
      expect(entries.map((e) => e['type']).sort()).toEqual(['access', 'export']);
      expect(entries.find((e) => e['type'] === 'export')).toMatchObject({
        recipient: 'Civic Data Project',
        purpose: 'public-records-request',
        jurisdictions: [f.home],
        channel: 'officials',
      });
      const problems = await post(clerk, '/export', {
        purpose: 'audit',
        recipient: '',
        counties: f.home,
      });
      expect(problems.statusCode).toBe(400);
      expect(flat(problems)).toContain('Enter the receiving organisation');
      expect(cookiesOf(problems.headers).has('vv_session')).toBe(false);
    });
  });
}
