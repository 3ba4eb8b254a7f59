// The results site on the public listener, over a real import and publication of New Mexico's
// 2020 precinct results, on every dialect: only published snapshots are served, the contest
// page carries the county map and the publication's inclusion proof, downloads are whole, and a
// new publication is visible at once. One run in chromium checks the proof in the page itself.
import { resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FastifyInstance } from 'fastify';
import { importResults, publishResults, readResultsFile } from '../src/results/index.ts';
import { createPrincipal, parseScope, totpCode } from '../src/access/index.ts';
import { createOfficialsApp, createPublicApp, listen } from '../src/web/index.ts';
import { PUBLICATION_CHECK_MS } from '../src/web/results-routes.ts';
import { axeViolations, launchBrowser, screenshot } from './support/browser.ts';
import { DIALECTS } from './setup/databases.ts';
import { openTestWebSystem } from './support/web-system.ts';
import type { TestWebSystem } from './support/web-system.ts';

const NM_2020 = resolve(
  import.meta.dirname,
  '../../shared/data/results/openelections-nm/20201103__nm__general__precinct.csv',
);

for (const dialect of DIALECTS) {
  describe(`results site on ${dialect}`, () => {
    let system: TestWebSystem;
    let app: FastifyInstance;

    beforeAll(async () => {
      system = await openTestWebSystem(dialect, 20);
      app = createPublicApp(system.context, {});
      const { document } = await readResultsFile(NM_2020, { electionId: 'nm-2020' });
      await importResults(system.context.handle, document, { fileName: 'nm-2020.csv' });
    }, 120_000);

    afterAll(async () => {
      await app.close();
      await system.remove();
    });

    it('serves nothing for an election until it is published', async () => {
      expect((await app.inject({ method: 'GET', url: '/results/nm-2020/' })).statusCode).toBe(404);
      const index = await app.inject({ method: 'GET', url: '/results/' });
      expect(index.statusCode).toBe(200);
      expect(index.body).not.toContain('nm-2020');
    });

    it('serves the published contest with its map, table, downloads and proof', async () => {
      const report = await publishResults(system.context.handle, 'nm-2020', {
        appendLog: (entry) => system.context.log.append(entry),
      });
      const index = await app.inject({ method: 'GET', url: '/results/' });
      expect(index.body).toContain('/results/nm-2020/');
      const contestPath = /href="(\/results\/nm-2020\/[^"]*president[^"]*\/)"/i.exec(
        index.body,
      )?.[1];
      expect(contestPath).toBeDefined();
      const page = await app.inject({ method: 'GET', url: contestPath! });
      expect(page.statusCode).toBe(200);
      expect(page.headers['content-security-policy']).toContain("script-src 'self'");
      expect(page.body).toContain('Joseph R. Biden');
      // The map: one path per New Mexico county.
      const map = await app.inject({ method: 'GET', url: `${contestPath}map.svg` });
      expect(map.headers['content-type']).toContain('image/svg+xml');
      expect(map.body.match(/<path[^>]+data-fips="35\d{3}"/g)?.length ?? 0).toBe(33);
      // The proof names the publication's log entry.
      expect(page.body).toMatch(new RegExp(`log entry ${report.logIndex}\\b`, 'i'));
      const csv = await app.inject({ method: 'GET', url: `${contestPath}results.csv` });
      expect(csv.headers['content-type']).toContain('text/csv');
      expect(csv.body.split('\n').length).toBeGreaterThan(33);
      const cdf = await app.inject({ method: 'GET', url: '/results/nm-2020/nist-1500-100.json' });
      expect(JSON.parse(cdf.body)).toMatchObject({ '@type': 'ElectionResults.ElectionReport' });
      expect(
        (await app.inject({ method: 'GET', url: '/results/nm-2020/nist-1500-100.xml' })).body,
      ).toContain('ElectionReport');
      expect((await app.inject({ method: 'GET', url: '/results/nm-2020/nope/' })).statusCode).toBe(
        404,
      );
      expect(
        (await app.inject({ method: 'GET', url: '/results/..%2F..%2Fetc/passwd' })).statusCode,
      ).toBe(404);
    });

    it('shows the office what publications withhold, and only to roles that publish', async () => {
      const officials = createOfficialsApp(system.context, {});
      try {
        const admin = await signedIn(officials, system, 'state-admin', ['state']);
        const page = await officials.inject({
          method: 'GET',
          url: '/results',
          headers: { cookie: admin },
        });
        expect(page.statusCode).toBe(200);
        expect(page.body).toContain('Counts withheld from the public');
        expect(page.body).toMatch(/fewer ballots than the threshold/);
        const staff = await signedIn(officials, system, 'county-staff', ['1']);
        const refused = await officials.inject({
          method: 'GET',
          url: '/results',
          headers: { cookie: staff },
        });
        expect(refused.statusCode).toBe(404);
      } finally {
        await officials.close();
      }
    });

    it('shows a new publication as soon as it is made', async () => {
      const before = await app.inject({ method: 'GET', url: '/results/' });
      const report = await publishResults(system.context.handle, 'nm-2020', {
        appendLog: (entry) => system.context.log.append(entry),
      });
      await new Promise((done) => setTimeout(done, PUBLICATION_CHECK_MS + 10));
      const started = performance.now();
      const contestPath = /href="(\/results\/nm-2020\/[^"]*president[^"]*\/)"/i.exec(
        before.body,
      )![1]!;
      const page = await app.inject({ method: 'GET', url: contestPath });
      expect(performance.now() - started).toBeLessThan(1000);
      expect(page.body).toMatch(new RegExp(`log entry ${report.logIndex}\\b`, 'i'));
    });
  });
}

let signIns = 0;

/** Creates an official of `role` and signs in through the real pages; returns the cookie header. */
async function signedIn(
  app: FastifyInstance,
  system: TestWebSystem,
  role: 'state-admin' | 'county-staff',
  scope: string[],
): Promise<string> {
  const { handle, ring, log } = system.context;
  const name = `${role}-${++signIns}`;
  const { credentials } = await createPrincipal(
    { q: handle, ring, passwordCost: { log2N: 10, r: 8, p: 1 } },
    {
      name,
      role,
      scope: parseScope(scope),
      by: { appendLog: (entry) => log.append(entry), channel: 'cli', actor: null },
    },
  );
  const address = `10.7.0.${signIns}`;
  const form = await app.inject({ method: 'GET', url: '/login', remoteAddress: address });
  const csrf = String(form.headers['set-cookie']).split(';')[0]!;
  const response = await app.inject({
    method: 'POST',
    url: '/login',
    remoteAddress: address,
    headers: { cookie: csrf, 'content-type': 'application/x-www-form-urlencoded' },
    payload: new URLSearchParams({
      _csrf: /name="_csrf" value="([^"]+)"/.exec(form.body)![1]!,
      name,
      password: credentials!.password,
      code: totpCode(credentials!.totpSecret, new Date()),
    }).toString(),
  });
  expect(response.statusCode).toBe(303);
  const session = [response.headers['set-cookie']]
    .flat()
    .map((c) => String(c).split(';')[0]!)
    .filter((c) => c.startsWith('vv_session'));
  return [csrf, ...session].join('; ');
}

describe('results site in chromium', () => {
  it('verifies the publication of a contest in the browser', async () => {
    const system = await openTestWebSystem('sqlite', 20);
    const app = createPublicApp(system.context, {});
    const browser = await launchBrowser();
    try {
      const { document } = await readResultsFile(NM_2020, { electionId: 'nm-2020' });
      await importResults(system.context.handle, document, { fileName: 'nm-2020.csv' });
      await publishResults(system.context.handle, 'nm-2020', {
        appendLog: (entry) => system.context.log.append(entry),
      });
      const base = await listen(app, { host: '127.0.0.1', port: 0 }, false);
      const page = await browser.newPage();
      const errors: string[] = [];
      page.on('console', (m) => {
        if (m.type() === 'error') errors.push(m.text());
      });
      await page.goto(`${base}/results/`);
      await page
        .getByRole('link', { name: /President/ })
        .first()
        .click();
      await page.waitForSelector('[data-verified="done"]', { state: 'attached', timeout: 15_000 });
      const statuses = await page.locator('.proof-status').allTextContents();
      expect(statuses.length).toBeGreaterThan(0);
      for (const status of statuses) expect(status).toMatch(/^Verified/);
      expect(await axeViolations(page)).toEqual([]);
      await screenshot(page, 'results-served-contest');
      expect(errors).toEqual([]);
    } finally {
      await browser.close();
      await app.close();
      await system.remove();
    }
  }, 120_000);
});
