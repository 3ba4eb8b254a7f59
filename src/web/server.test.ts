// The listeners' own guarantees: no plain HTTP beyond loopback, HSTS and __Host- cookies under
// TLS, and a request limit on both listeners.
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { WebContext } from './context.ts';
import { createBaseApp, createPublicApp, isLoopback, listen } from './server.ts';

const run = promisify(execFile);
let dir: string;
let tls: { key: Buffer; cert: Buffer };

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'votervault-tls-'));
  // A throwaway self-signed certificate for 127.0.0.1, made by the system's openssl.
  await run('openssl', [
    'req',
    '-x509',
    '-newkey',
    'ec',
    '-pkeyopt',
    'ec_paramgen_curve:P-256',
    '-nodes',
    '-subj',
    '/CN=127.0.0.1',
    '-days',
    '1',
    '-keyout',
    join(dir, 'key.pem'),
    '-out',
    join(dir, 'cert.pem'),
  ]);
  tls = { key: await readFile(join(dir, 'key.pem')), cert: await readFile(join(dir, 'cert.pem')) };
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** The public pages need no store to render the form. */
const noContext = {} as WebContext;

describe('listeners', () => {
  it('tells loopback addresses apart', () => {
    expect(['127.0.0.1', '127.1.2.3', '::1', 'localhost'].every(isLoopback)).toBe(true);
    expect(['0.0.0.0', '10.0.0.1', '::', '192.168.1.1', 'example.org'].some(isLoopback)).toBe(
      false,
    );
  });

  it('refuses to listen beyond loopback without TLS', async () => {
    const app = createPublicApp(noContext, {});
    try {
      await expect(listen(app, { host: '0.0.0.0', port: 0 }, false)).rejects.toMatchObject({
        code: 'LISTEN_INSECURE',
      });
      expect(app.server.listening).toBe(false);
    } finally {
      await app.close();
    }
  });

  it('sends HSTS and __Host- Secure cookies under TLS', async () => {
    const app = createPublicApp(noContext, { tls });
    try {
      const response = await app.inject({ method: 'GET', url: '/' });
      expect(response.headers['strict-transport-security']).toBe(
        'max-age=63072000; includeSubDomains',
      );
      const cookie = String(response.headers['set-cookie']);
      expect(cookie).toMatch(
        /^__Host-vv_csrf=[A-Za-z0-9_-]+; Path=\/; HttpOnly; SameSite=Strict; Secure/,
      );
    } finally {
      await app.close();
    }
  });

  it('limits requests per client on the officials listener too', async () => {
    const { app } = createBaseApp('officials', { requestLimit: { limit: 2, windowSeconds: 60 } });
    try {
      const statuses: number[] = [];
      for (let i = 0; i < 3; i++) {
        statuses.push((await app.inject({ method: 'GET', url: '/assets/site.css' })).statusCode);
      }
      expect(statuses).toEqual([200, 200, 429]);
    } finally {
      await app.close();
    }
  });
});
