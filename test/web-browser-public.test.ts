// The voters' site in a real browser: the lookup, the access history with every proof checked
// by the page's own script, the same pages without JavaScript, on a phone-sized screen, with
// no WCAG 2.1 AA violation that axe-core finds, and no console error (a CSP violation would
// show there).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FastifyInstance } from 'fastify';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { generateSignerKey, parseSignerKey, signNote } from '../src/tlog/index.ts';
import { createPublicApp, listen } from '../src/web/index.ts';
import { axeViolations, launchBrowser, screenshot } from './support/browser.ts';
import { openTestWebSystem } from './support/web-system.ts';
import type { TestWebSystem } from './support/web-system.ts';

let system: TestWebSystem;
let app: FastifyInstance;
let base: string;
let browser: Browser;

beforeAll(async () => {
  system = await openTestWebSystem('sqlite');
  app = createPublicApp(system.context, {});
  base = await listen(app, { host: '127.0.0.1', port: 0 }, false);
  browser = await launchBrowser();
}, 60_000);

afterAll(async () => {
  await browser?.close();
  await app?.close();
  await system?.remove();
});

/** A page that records console errors and failed requests. */
async function openPage(context: BrowserContext): Promise<{ page: Page; errors: string[] }> {
  const page = await context.newPage();
  const errors: string[] = [];
  page.on('console', (message) => {
    if (message.type() === 'error') errors.push(message.text());
  });
  page.on('pageerror', (error) => errors.push(error.message));
  return { page, errors };
}

async function fillIdentity(page: Page): Promise<void> {
  await page.getByLabel('Last name').fill(system.voter.last);
  await page.getByLabel('First name').fill(system.voter.first);
  await page.getByLabel('Date of birth').fill(`${system.voter.birthYear}-03-09`);
  await page.getByLabel('ZIP code of your home address').fill(system.voter.zip);
}

describe("voters' site in chromium", () => {
  it('looks a voter up, then verifies every access event in the browser', async () => {
    const context = await browser.newContext({ viewport: { width: 390, height: 844 } });
    try {
      const { page, errors } = await openPage(context);
      await page.goto(`${base}/`);
      expect(await page.title()).toContain('Am I registered?');
      expect(await axeViolations(page)).toEqual([]);
      await screenshot(page, 'public-lookup-form');

      await fillIdentity(page);
      await page.getByRole('button', { name: 'Check my registration' }).click();
      await page.waitForURL(`${base}/lookup`);
      await expect(
        page.getByRole('heading', { name: 'You are registered to vote' }).count(),
      ).resolves.toBe(1);
      expect(await page.textContent('dl.facts')).toContain('Community Center');
      expect(await axeViolations(page)).toEqual([]);
      await screenshot(page, 'public-lookup-found');

      await page.getByRole('button', { name: 'See who accessed my record' }).click();
      await page.waitForURL(`${base}/history`);
      await page.waitForSelector('#proofs[data-verified="done"]', {
        timeout: 15_000,
        state: 'attached',
      });
      expect(await page.textContent('#checkpoint-status')).toMatch(
        /^Verified: the checkpoint of \d+ entries is signed/,
      );
      const statuses = await page.locator('li.event [data-role="status"]').allTextContents();
      expect(statuses.length).toBeGreaterThanOrEqual(2);
      for (const status of statuses)
        expect(status).toMatch(/^Verified: log entry \d+ is in the signed checkpoint\.$/);
      expect(await axeViolations(page)).toEqual([]);
      await screenshot(page, 'public-history-verified');
      expect(errors).toEqual([]);
    } finally {
      await context.close();
    }
  }, 60_000);

  it('flags an entry whose proof does not lead to the signed root', async () => {
    const context = await browser.newContext();
    try {
      const { page } = await openPage(context);
      await page.goto(`${base}/history`);
      await fillIdentity(page);
      // Tamper with the page the server sent before the script runs: swap one proof hash.
      await page.route(`${base}/history`, async (route) => {
        const response = await route.fetch();
        const body = (await response.text()).replace(
          /data-proof="([A-Za-z0-9+/=]{44})/,
          'data-proof="AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=',
        );
        await route.fulfill({ response, body });
      });
      await page.getByRole('button', { name: 'Show who accessed my record' }).click();
      await page.waitForSelector('#proofs[data-verified="done"]', {
        timeout: 15_000,
        state: 'attached',
      });
      const statuses = await page.locator('li.event [data-role="status"]').allTextContents();
      expect(statuses.some((s) => s.startsWith('Not verified'))).toBe(true);
    } finally {
      await context.close();
    }
  }, 60_000);

  it('reads verifier keys whose base64 holds a plus sign', async () => {
    // Keys are random; make one whose key part has a '+', and re-sign the page's checkpoint
    // with it, so the page's parsing of "name+id+key" meets the case every other run.
    let key = generateSignerKey('votervault.localhost/log', 'ed25519');
    while (!key.verifierKey.slice(key.verifierKey.indexOf('+') + 10).includes('+')) {
      key = generateSignerKey('votervault.localhost/log', 'ed25519');
    }
    const { signer } = parseSignerKey(key.signerKey);
    const context = await browser.newContext();
    try {
      const { page } = await openPage(context);
      await page.goto(`${base}/history`);
      await fillIdentity(page);
      await page.route(`${base}/history`, async (route) => {
        const response = await route.fetch();
        const body = (await response.text()).replace(
          /data-checkpoint="([^"]*)"\s+data-vkey="[^"]*"/,
          (_match, note: string) => {
            const text = note.replaceAll('&#39;', "'").split('\n\n')[0] + '\n';
            const signed = signNote(text, [signer]);
            return `data-checkpoint="${signed}" data-vkey="${key.verifierKey}"`;
          },
        );
        await route.fulfill({ response, body });
      });
      await page.getByRole('button', { name: 'Show who accessed my record' }).click();
      await page.waitForSelector('#proofs[data-verified="done"]', { state: 'attached' });
      expect(await page.textContent('#checkpoint-status')).toMatch(/^Verified: /);
    } finally {
      await context.close();
    }
  }, 60_000);

  it('works without JavaScript', async () => {
    const context = await browser.newContext({ javaScriptEnabled: false });
    try {
      const { page } = await openPage(context);
      await page.goto(`${base}/history`);
      await fillIdentity(page);
      await page.getByRole('button', { name: 'Show who accessed my record' }).click();
      await page.waitForURL(`${base}/history`);
      const items = await page.locator('li.event').count();
      expect(items).toBeGreaterThanOrEqual(1);
      expect(await page.textContent('li.event')).toContain('votervault log proof inclusion');
      await screenshot(page, 'public-history-no-javascript');
    } finally {
      await context.close();
    }
  }, 60_000);
});
