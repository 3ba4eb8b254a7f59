// The officials' site in a real browser: sign-in with a TOTP code, a blind-index search, a
// record opened for a stated purpose, an edit, and an export download, with no WCAG 2.1 AA
// violation axe-core finds on any page, no console error, and each step in the public log.
import { readFile } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FastifyInstance } from 'fastify';
import type { Browser, Page } from 'playwright-core';
import { createPrincipal, parseScope, totpCode } from '../src/access/index.ts';
import type { OfficialCredentials } from '../src/access/index.ts';
import { readEntryBundle } from '../src/tlog/index.ts';
import { searchVoters, traceFile } from '../src/voters/index.ts';
import { createOfficialsApp, listen } from '../src/web/index.ts';
import { axeViolations, launchBrowser, screenshot } from './support/browser.ts';
import { openTestWebSystem } from './support/web-system.ts';
import type { TestWebSystem } from './support/web-system.ts';

let system: TestWebSystem;
let app: FastifyInstance;
let base: string;
let browser: Browser;
let credentials: OfficialCredentials;
let county: string;

beforeAll(async () => {
  system = await openTestWebSystem('sqlite');
  const { handle, ring, log } = system.context;
  // The clerk of the county of the voter the test looks for.
  const { voter } = system;
  const found = await searchVoters(
    handle,
    ring,
    { last: voter.last, first: voter.first, dob: voter.birthYear, zip: voter.zip },
    { jurisdictions: 'state', limit: 1, offset: 0 },
  );
  county = found.hits[0]?.jurisdiction ?? '';
  const created = await createPrincipal(
    { q: handle, ring, passwordCost: { log2N: 10, r: 8, p: 1 } },
    {
      name: 'clerk',
      role: 'county-clerk',
      scope: parseScope([county]),
      by: { appendLog: (entry) => log.append(entry), channel: 'cli', actor: null },
    },
  );
  if (created.credentials === undefined) throw new Error('A clerk has credentials');
  credentials = created.credentials;
  app = createOfficialsApp(system.context, {});
  base = await listen(app, { host: '127.0.0.1', port: 0 }, false);
  browser = await launchBrowser();
}, 60_000);

afterAll(async () => {
  await browser?.close();
  await app?.close();
  await system?.remove();
});

/** The log entries appended since `from`, parsed. */
async function entriesSince(from: number): Promise<Record<string, unknown>[]> {
  const size = system.context.log.size;
  const out: Record<string, unknown>[] = [];
  for (let bundle = Math.floor(from / 256); bundle * 256 < size; bundle++) {
    const entries = await readEntryBundle(
      system.context.logDir,
      bundle,
      Math.min(256, size - bundle * 256),
    );
    entries.forEach((bytes, i) => {
      if (bundle * 256 + i >= from)
        out.push(JSON.parse(Buffer.from(bytes).toString('utf8')) as Record<string, unknown>);
    });
  }
  return out;
}

async function checkPage(page: Page, name: string): Promise<void> {
  expect(await axeViolations(page), name).toEqual([]);
  await screenshot(page, name);
}

describe("officials' site in chromium", () => {
  it('signs in with TOTP, searches, opens, edits and exports, each access logged', async () => {
    const context = await browser.newContext({
      acceptDownloads: true,
      viewport: { width: 1280, height: 900 },
    });
    const page = await context.newPage();
    const errors: string[] = [];
    page.on('console', (m) => {
      if (m.type() === 'error') errors.push(m.text());
    });
    try {
      const start = system.context.log.size;
      await page.goto(`${base}/search`);
      expect(new URL(page.url()).pathname).toBe('/login');
      await checkPage(page, 'officials-login');

      // A wrong code is refused without saying which part was wrong.
      await page.getByLabel('Login name').fill('clerk');
      await page.getByLabel('Password').fill(credentials.password);
      await page.getByLabel('Code from your authenticator app').fill('000000');
      await page.getByRole('button', { name: 'Sign in' }).click();
      // One message for every cause, so it tells nothing about which part was wrong.
      expect(await page.locator('[role="alert"]').textContent()).toContain(
        'The name, password or code is not right',
      );

      await page.getByLabel('Login name').fill('clerk');
      await page.getByLabel('Password').fill(credentials.password);
      await page
        .getByLabel('Code from your authenticator app')
        .fill(totpCode(credentials.totpSecret, new Date()));
      await page.getByRole('button', { name: 'Sign in' }).click();
      await page.waitForURL(`${base}/search`);
      // The refused sign-in answered 401, which the console reports; nothing else may fail.
      errors.length = 0;
      await checkPage(page, 'officials-search-form');

      await page.getByLabel('Last name').fill(system.voter.last);
      await page.getByLabel('First name').fill(system.voter.first);
      await page.getByLabel('Date of birth or birth year').fill(system.voter.birthYear);
      await page.getByLabel('ZIP code').fill(system.voter.zip);
      await page.getByRole('button', { name: 'Search' }).click();
      await page.waitForSelector('#results-heading');
      expect(await page.textContent('#results-heading')).toMatch(/^\d+ voters? found$/);
      await checkPage(page, 'officials-search-results');

      await page.locator('tbody a').first().click();
      await page.getByLabel('Purpose').selectOption('voter-request');
      await page.getByRole('button', { name: 'Open the record' }).click();
      await page.waitForSelector('#edit-heading');
      await checkPage(page, 'officials-record');

      const field = page.locator('input[name^="f."]').first();
      const before = await field.inputValue();
      await field.fill(`${before}X`);
      await page.getByLabel('Reason for the change').fill('Voter reported a typo at the counter');
      await page.getByRole('button', { name: 'Save the change' }).click();
      await page.waitForSelector('[role="status"]');
      await checkPage(page, 'officials-record-saved');

      await page.goto(`${base}/export`);
      await page.getByLabel('Purpose').selectOption('public-records-request');
      await page.getByLabel('Receiving organisation').fill('Example Civic Data Project');
      await checkPage(page, 'officials-export-form');
      const [download] = await Promise.all([
        page.waitForEvent('download'),
        page.getByRole('button', { name: 'Download the export' }).click(),
      ]);
      const file = await download.path();
      const trace = await traceFile(system.context.handle, system.context.ring, file, {});
      expect(trace.candidates[0]?.recipient).toBe('Example Civic Data Project');
      expect((await readFile(file)).length).toBeGreaterThan(100);

      const events = (await entriesSince(start)).filter((e) => e['type'] === 'access');
      expect(events.map((e) => [e['action'], e['outcome'], e['channel']])).toEqual([
        ['search', 'allowed', 'officials'],
        ['view', 'allowed', 'officials'],
        ['update', 'allowed', 'officials'],
        ['export', 'allowed', 'officials'],
      ]);
      expect(errors).toEqual([]);
    } finally {
      await context.close();
    }
  }, 90_000);
});
