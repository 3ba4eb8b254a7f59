import { mkdtemp, mkdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { request } from 'node:http';
import { gunzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { serveLog } from './serve.ts';
import type { Server } from 'node:http';

interface Reply {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: Buffer;
}

function fetchRaw(
  base: string,
  path: string,
  method = 'GET',
  headers: Record<string, string> = {},
): Promise<Reply> {
  // Raw request so the path goes out exactly as written (fetch would normalise "..").
  return new Promise((resolve, reject) => {
    const url = new URL(base);
    const req = request({ host: url.hostname, port: url.port, path, method, headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () =>
        resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }),
      );
    });
    req.on('error', reject);
    req.end();
  });
}

describe('serveLog', () => {
  let dir: string;
  let server: Server;
  let url: string;
  const bundle = Buffer.concat([Buffer.from([0, 5]), Buffer.from('hello')]);

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'vv-serve-'));
    const log = join(dir, 'log');
    await mkdir(join(log, 'tile/0'), { recursive: true });
    await mkdir(join(log, 'tile/entries/000.p'), { recursive: true });
    await mkdir(join(log, 'tile/0/000.p'), { recursive: true });
    await writeFile(join(log, 'checkpoint'), 'example.org/log\n1\nAAAA\n\n— sig\n');
    await writeFile(join(log, 'tile/0/001'), Buffer.alloc(8192, 7));
    await writeFile(join(log, 'tile/0/000.p/1'), Buffer.alloc(32, 1));
    await writeFile(join(log, 'tile/entries/000.p/1'), bundle);
    await writeFile(join(dir, 'secret'), 'do not serve');
    ({ server, url } = await serveLog({ logDir: log, host: '127.0.0.1', port: 0 }));
  });

  afterAll(async () => {
    await new Promise((r) => server.close(r));
    await rm(dir, { recursive: true, force: true });
  });

  it('serves the checkpoint as text that caches only a few seconds', async () => {
    const r = await fetchRaw(url, '/checkpoint');
    expect(r.status).toBe(200);
    expect(r.headers['content-type']).toBe('text/plain; charset=utf-8');
    expect(r.headers['cache-control']).toMatch(/max-age=2\b/);
    expect(r.body.toString()).toContain('example.org/log');
  });

  it('serves full and partial tiles as immutable octet streams', async () => {
    for (const path of ['/tile/0/001', '/tile/0/000.p/1']) {
      const r = await fetchRaw(url, path);
      expect(r.status).toBe(200);
      expect(r.headers['content-type']).toBe('application/octet-stream');
      expect(r.headers['cache-control']).toContain('immutable');
      expect(r.headers['content-encoding']).toBeUndefined();
    }
    expect((await fetchRaw(url, '/tile/0/001')).body.length).toBe(8192);
  });

  it('gzips entry bundles for clients that accept gzip, identity otherwise', async () => {
    const gz = await fetchRaw(url, '/tile/entries/000.p/1', 'GET', {
      'accept-encoding': 'gzip, br',
    });
    expect(gz.headers['content-encoding']).toBe('gzip');
    expect(gunzipSync(gz.body).equals(bundle)).toBe(true);
    const plain = await fetchRaw(url, '/tile/entries/000.p/1', 'GET', {
      'accept-encoding': 'gzip;q=0',
    });
    expect(plain.headers['content-encoding']).toBeUndefined();
    expect(plain.body.equals(bundle)).toBe(true);
    expect(plain.headers['vary']).toBe('Accept-Encoding');
  });

  it('answers HEAD without a body', async () => {
    const r = await fetchRaw(url, '/tile/0/001', 'HEAD');
    expect(r.status).toBe(200);
    expect(r.headers['content-length']).toBe('8192');
    expect(r.body.length).toBe(0);
  });

  it.each([
    '/secret',
    '/../secret',
    '/tile/../../secret',
    '/tile/0/../../../secret',
    '/tile/0/',
    '/tile/',
    '/',
    '/tile/00/001',
    '/tile/0/1',
    '/tile/0/x000/001',
    '/tile/0/000.p/01',
    '/tile/0/000.p/256',
    '/tile/64/000',
    '/tile/0/002',
    '/%2e%2e/secret',
  ])('refuses %s with 404', async (path) => {
    const r = await fetchRaw(url, path);
    expect(r.status).toBe(404);
    expect(r.body.toString()).not.toContain('do not serve');
  });

  it('refuses writes with 405', async () => {
    expect((await fetchRaw(url, '/checkpoint', 'PUT')).status).toBe(405);
    expect((await fetchRaw(url, '/tile/0/001', 'DELETE')).status).toBe(405);
  });

  it('sets nosniff and a closed content security policy', async () => {
    const r = await fetchRaw(url, '/checkpoint');
    expect(r.headers['x-content-type-options']).toBe('nosniff');
    expect(r.headers['content-security-policy']).toContain("default-src 'none'");
  });
});
