import { createServer } from 'node:http';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import { open } from 'node:fs/promises';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { parseTilePath } from './tile-path.ts';

/** How long shared caches may keep the checkpoint: it changes with every batch. */
export const CHECKPOINT_MAX_AGE_SECONDS = 2;
/** Tiles and bundles at a given path never change: a year, marked immutable. */
export const IMMUTABLE_MAX_AGE_SECONDS = 31_536_000;
/** Largest file the server reads: a full entry bundle of 256 entries of 64 KiB each. */
const MAX_FILE_BYTES = 256 * (65_535 + 2);

const COMMON_HEADERS = {
  'x-content-type-options': 'nosniff',
  // The log is public by design: verifiers on any origin may fetch it.
  'access-control-allow-origin': '*',
  'content-security-policy': "default-src 'none'; frame-ancestors 'none'",
  'referrer-policy': 'no-referrer',
} as const;

function send(
  res: ServerResponse,
  status: number,
  headers: Record<string, string>,
  body: Uint8Array | string,
  head: boolean,
): void {
  res.writeHead(status, {
    ...COMMON_HEADERS,
    ...headers,
    'content-length': Buffer.byteLength(body),
  });
  res.end(head ? undefined : body);
}

async function readBounded(path: string): Promise<Buffer | undefined> {
  let handle;
  try {
    handle = await open(path, 'r');
  } catch {
    return undefined;
  }
  try {
    const info = await handle.stat();
    if (!info.isFile() || info.size > MAX_FILE_BYTES) return undefined;
    return await handle.readFile();
  } finally {
    await handle.close();
  }
}

function acceptsGzip(req: IncomingMessage): boolean {
  const header = req.headers['accept-encoding'] ?? '';
  return /(?:^|,)\s*gzip\s*(?:;\s*q=(?!0(?:\.0*)?\s*(?:,|$))[\d.]+)?\s*(?:,|$)/i.test(header);
}

/**
 * Answers one request for the log directory per C2SP tlog-tiles. Resolves with false when the
 * path is not a log path, so a caller can mount it beside other routes.
 *
 * Attacker-controlled: the method and path come from any HTTP client. Only the checkpoint and
 * paths that match the exact tile grammar (no `..`, no dot segments, no other files) are mapped
 * to files; everything else is 404 without touching the disk, and there is no listing.
 */
export async function handleLogRequest(
  logDir: string,
  req: IncomingMessage,
  res: ServerResponse,
  relativePath: string,
): Promise<boolean> {
  const head = req.method === 'HEAD';
  if (relativePath === 'checkpoint') {
    if (req.method !== 'GET' && !head) {
      send(
        res,
        405,
        { allow: 'GET, HEAD', 'content-type': 'text/plain' },
        'Method not allowed\n',
        head,
      );
      return true;
    }
    const body = await readBounded(join(logDir, 'checkpoint'));
    if (body === undefined) {
      send(
        res,
        404,
        { 'content-type': 'text/plain', 'cache-control': 'no-store' },
        'No checkpoint yet\n',
        head,
      );
      return true;
    }
    // SPEC: https://c2sp.org/tlog-tiles "with Content-Type: text/plain; charset=utf-8. This
    // endpoint is mutable, so its headers SHOULD prevent caching beyond a few seconds."
    send(
      res,
      200,
      {
        'content-type': 'text/plain; charset=utf-8',
        'cache-control': `public, max-age=${CHECKPOINT_MAX_AGE_SECONDS}, must-revalidate`,
      },
      body,
      head,
    );
    return true;
  }
  const tile = parseTilePath(relativePath);
  if (tile === undefined) return false;
  if (req.method !== 'GET' && !head) {
    send(
      res,
      405,
      { allow: 'GET, HEAD', 'content-type': 'text/plain' },
      'Method not allowed\n',
      head,
    );
    return true;
  }
  const body = await readBounded(join(logDir, relativePath));
  if (body === undefined) {
    send(
      res,
      404,
      { 'content-type': 'text/plain', 'cache-control': 'no-store' },
      'Not found\n',
      head,
    );
    return true;
  }
  // SPEC: https://c2sp.org/tlog-tiles "This endpoint is immutable, so its caching headers
  // SHOULD be long-lived." (tiles and entry bundles, full and partial alike)
  const headers: Record<string, string> = {
    'content-type': 'application/octet-stream',
    'cache-control': `public, max-age=${IMMUTABLE_MAX_AGE_SECONDS}, immutable`,
  };
  // SPEC: https://c2sp.org/tlog-tiles "Entry bundles SHOULD be compressed at the HTTP layer."
  if (tile.level === 'entries') {
    headers['vary'] = 'Accept-Encoding';
    if (acceptsGzip(req)) {
      headers['content-encoding'] = 'gzip';
      send(res, 200, headers, gzipSync(body), head);
      return true;
    }
  }
  send(res, 200, headers, body, head);
  return true;
}

/** Options of {@link serveLog}. */
export interface ServeLogOptions {
  readonly logDir: string;
  readonly host: string;
  /** 0 picks a free port. */
  readonly port: number;
}

/**
 * Serves a log directory read-only over HTTP. Resolves once listening.
 * @throws Error from `listen` (address in use, permission)
 */
export async function serveLog(options: ServeLogOptions): Promise<{ server: Server; url: string }> {
  const server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://log.invalid');
    const relative = url.pathname.startsWith('/') ? url.pathname.slice(1) : url.pathname;
    handleLogRequest(options.logDir, req, res, relative)
      .then((handled) => {
        if (!handled) {
          send(res, 404, { 'content-type': 'text/plain' }, 'Not found\n', req.method === 'HEAD');
        }
      })
      .catch(() => {
        if (!res.headersSent)
          send(res, 500, { 'content-type': 'text/plain' }, 'Internal error\n', false);
        else res.destroy();
      });
  });
  server.requestTimeout = 10_000;
  server.headersTimeout = 5_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host, () => resolve());
  });
  const address = server.address();
  const port = typeof address === 'object' && address !== null ? address.port : options.port;
  const host = options.host.includes(':') ? `[${options.host}]` : options.host;
  return { server, url: `http://${host}:${port}/` };
}
