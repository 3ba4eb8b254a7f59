// The contest results page in a real browser, served with the site's security headers: at
// phone and desktop widths, with no WCAG 2.1 AA violation that axe-core finds and no console
// error (a CSP violation would show there), and with the publication's log proof checked by
// the page's own script: a real Ed25519-signed checkpoint and RFC 9162 inclusion proof.
import { createServer } from 'node:http';
import type { Server } from 'node:http';
import { readFile } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, Page } from 'playwright-core';
import {
  canonicalJsonBytes,
  generateSignerKey,
  leafHash,
  nodeHash,
  parseSignerKey,
  signCheckpoint,
  verifyInclusion,
} from '../src/tlog/index.ts';
import type { Hash } from '../src/tlog/index.ts';
import { contestPage } from '../src/web/results-pages.ts';
import { securityHeaders } from '../src/web/security.ts';
import type { ContestView } from '../src/web/results-view.ts';
import { axeViolations, launchBrowser, screenshot } from './support/browser.ts';
import { newMexicoPresidentView } from './support/results-views.ts';

const ASSETS = new URL('../src/web/assets/', import.meta.url);
const CONTEST_PATH = '/results/2020-11-03-general/president/';
const TAMPERED_PATH = '/results/2020-11-03-general/tampered/';

/** RFC 6962 Merkle tree hash, written out naively as a reference. */
function treeHash(leaves: readonly Hash[]): Hash {
  if (leaves.length === 1) return leaves[0]!;
  let k = 1;
  while (k * 2 < leaves.length) k *= 2;
  return nodeHash(treeHash(leaves.slice(0, k)), treeHash(leaves.slice(k)));
}

/** RFC 9162 §2.1.3.1 PATH(m, D[n]), leaf side first. */
function auditPath(m: number, leaves: readonly Hash[]): Hash[] {
  if (leaves.length <= 1) return [];
  let k = 1;
  while (k * 2 < leaves.length) k *= 2;
  return m < k
    ? [...auditPath(m, leaves.slice(0, k)), treeHash(leaves.slice(k))]
    : [...auditPath(m - k, leaves.slice(k)), treeHash(leaves.slice(0, k))];
}

const b64 = (bytes: Uint8Array): string => Buffer.from(bytes).toString('base64');

/** A log of 11 entries whose entry 6 is the publication, and the page's view of it. */
function publishedView(): ContestView {
  const sha256 = 'c4'.repeat(32);
  const entries = Array.from({ length: 11 }, (_, i) =>
    canonicalJsonBytes(
      i === 6
        ? {
            type: 'results-publication',
            election: '2020-11-03-general',
            sequence: 1,
            sha256,
          }
        : { type: 'other', n: i },
    ),
  );
  const leaves = entries.map(leafHash);
  const root = treeHash(leaves);
  const proof = auditPath(6, leaves);
  expect(verifyInclusion(leaves[6]!, 6, 11, proof, root)).toBeUndefined();
  const key = generateSignerKey('results.example.org/log', 'ed25519');
  const { signer } = parseSignerKey(key.signerKey);
  const checkpoint = signCheckpoint(
    { origin: 'results.example.org/log', size: 11, rootHash: root, extensions: [] },
    [signer],
  );
  return {
    ...newMexicoPresidentView({ suppress: ['Harding'] }),
    publication: {
      sequence: 1,
      logIndex: 6,
      sha256,
      inclusion: {
        entry: b64(entries[6]!),
        proof: proof.map(b64),
        checkpoint,
        verifierKey: key.verifierKey,
      },
    },
  };
}

let server: Server;
let base: string;
let browser: Browser;

beforeAll(async () => {
  const view = publishedView();
  const pages = new Map([
    [CONTEST_PATH, contestPage(view, { logUrl: 'https://results.example.org/log/' })],
    // The same proof, but the page claims another digest than the entry names.
    [
      TAMPERED_PATH,
      contestPage({ ...view, publication: { ...view.publication!, sha256: 'd'.repeat(64) } }),
    ],
  ]);
  const assetTypes: Record<string, string> = {
    '/assets/site.css': 'text/css; charset=utf-8',
    '/assets/log-proof.js': 'text/javascript; charset=utf-8',
    '/assets/verify-results.js': 'text/javascript; charset=utf-8',
  };
  server = createServer((request, response) => {
    const path = new URL(request.url ?? '/', 'http://localhost').pathname;
    for (const [name, value] of Object.entries(securityHeaders(false))) {
      response.setHeader(name, value);
    }
    const page = pages.get(path);
    if (page !== undefined) {
      response.writeHead(200, { 'content-type': 'text/html; charset=utf-8' }).end(page);
      return;
    }
    const type = assetTypes[path];
    if (type === undefined) {
      response.writeHead(404, { 'content-type': 'text/plain' }).end('not found');
      return;
    }
    readFile(new URL(`.${path.slice('/assets'.length)}`, ASSETS)).then(
      (body) => response.writeHead(200, { 'content-type': type }).end(body),
      () => response.writeHead(500).end(),
    );
  });
  await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  browser = await launchBrowser();
}, 60_000);

afterAll(async () => {
  await browser?.close();
  await new Promise((done) => server?.close(done));
});

async function open(
  width: number,
  height: number,
  path: string,
): Promise<{ page: Page; errors: string[] }> {
  const context = await browser.newContext({ viewport: { width, height } });
  const page = await context.newPage();
  const errors: string[] = [];
  page.on('console', (message) => {
    if (message.type() === 'error') errors.push(message.text());
  });
  page.on('pageerror', (error) => errors.push(error.message));
  page.on('response', (response) => {
    if (response.status() >= 400) errors.push(`${response.status()} ${response.url()}`);
  });
  await page.goto(`${base}${path}`);
  await page.waitForSelector('#result-proof[data-verified="done"]', {
    timeout: 15_000,
    state: 'attached',
  });
  return { page, errors };
}

describe('results contest page in chromium', () => {
  for (const [name, width, height] of [
    ['phone', 390, 844],
    ['desktop', 1280, 900],
  ] as const) {
    it(`verifies the publication and passes axe at ${name} width`, async () => {
      const { page, errors } = await open(width, height, CONTEST_PATH);
      try {
        expect(await page.textContent('#result-checkpoint-status')).toBe(
          'Verified: the checkpoint of 11 entries is signed by the log key of results.example.org/log.',
        );
        expect(await page.textContent('#result-entry-status')).toBe(
          'Verified: log entry 6 is in the signed checkpoint and names the digest of these results.',
        );
        expect(await page.locator('svg.results-map path[data-fips]').count()).toBe(33);
        expect(await page.locator('svg.results-chart rect.bar').count()).toBe(6);
        // The drawings fit the screen: no sideways scrolling of the page itself.
        const overflow = await page.evaluate(
          'document.documentElement.scrollWidth - document.documentElement.clientWidth',
        );
        expect(overflow).toBe(0);
        const mapBox = await page.locator('svg.results-map').boundingBox();
        expect(mapBox!.width).toBeGreaterThan(Math.min(width - 40, 600));
        expect(await page.textContent('tr[data-unit="county:harding"]')).toContain(
          'Suppressed to protect ballot secrecy',
        );
        expect(await axeViolations(page)).toEqual([]);
        await screenshot(page, `results-contest-${name}`);
        expect(errors).toEqual([]);
      } finally {
        await page.context().close();
      }
    }, 60_000);
  }

  it('says "not verified" when the page shows a digest the log entry does not name', async () => {
    const { page, errors } = await open(1280, 900, TAMPERED_PATH);
    try {
      expect(await page.textContent('#result-checkpoint-status')).toMatch(/^Verified: /);
      expect(await page.textContent('#result-entry-status')).toBe(
        'Not verified: log entry 6 (the entry does not name the digest shown on this page).',
      );
      expect(errors).toEqual([]);
    } finally {
      await page.context().close();
    }
  }, 60_000);
});
