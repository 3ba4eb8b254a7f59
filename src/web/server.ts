// The two listeners: the public one (voters' pages, the log) and the officials' one (sign-in,
// pages and API, nothing without authentication). Each is its own Fastify instance on its own
// port, so the officials' routes cannot be reached through the public address at all, and a
// firewall can keep the officials' port inside the office network.
import { randomBytes, randomUUID } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { isIP } from 'node:net';
import formbody from '@fastify/formbody';
import Fastify from 'fastify';
import { pino } from 'pino';
import type { FastifyBaseLogger, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { handleLogRequest } from '../tlog/index.ts';
import type { WebContext } from './context.ts';
import { classifyError, problemOf, WebError } from './errors.ts';
import { publicErrorPage, registerPublicPages } from './public-pages.ts';
import { createResultsSite, registerResultsRoutes } from './results-routes.ts';
import { createCsrf, createRateLimiter, securityHeaders } from './security.ts';
import type { Csrf, RateLimitRule } from './security.ts';

/** Largest request body the public listener reads: a lookup form is a few hundred bytes. */
export const PUBLIC_BODY_LIMIT_BYTES = 8 * 1024;
/** Largest request body the officials' listener reads: an edit of one record. */
export const OFFICIALS_BODY_LIMIT_BYTES = 64 * 1024;
/** A request must be received and answered within this time. */
export const REQUEST_TIMEOUT_MS = 15_000;
/** Lookups and history checks one client address may make (enumeration is slow and logged). */
export const PUBLIC_LOOKUP_LIMIT: RateLimitRule = { limit: 20, windowSeconds: 60 };
/** Requests of any kind one client address may make on the public listener. */
export const PUBLIC_REQUEST_LIMIT: RateLimitRule = { limit: 600, windowSeconds: 60 };
/**
 * Requests of any kind one client address may make on the officials' listener: a busy office
 * behind one address clicks a lot, a scraper with a stolen session more.
 */
export const OFFICIALS_REQUEST_LIMIT: RateLimitRule = { limit: 1200, windowSeconds: 60 };

/** TLS material; required to listen beyond loopback. */
export interface TlsOptions {
  readonly key: string | Buffer;
  readonly cert: string | Buffer;
}

/** How a listener is built. */
export interface ListenerOptions {
  /** Server log (pino); silent when absent. */
  readonly logger?: FastifyBaseLogger;
  readonly tls?: TlsOptions;
  /**
   * Trust X-Forwarded-For from these proxies (addresses or CIDR ranges) for the client address
   * that rate limits key on; none by default.
   */
  readonly trustProxy?: readonly string[];
  /** Secret of the CSRF tokens; random per process when absent (several servers must share one). */
  readonly csrfSecret?: Uint8Array;
  /** Override of {@link PUBLIC_LOOKUP_LIMIT}, for load tests on loopback. */
  readonly lookupLimit?: RateLimitRule;
  /** Override of {@link PUBLIC_REQUEST_LIMIT}. */
  readonly requestLimit?: RateLimitRule;
}

const ASSETS: Readonly<Record<string, string>> = {
  'site.css': 'text/css; charset=utf-8',
  'log-proof.js': 'text/javascript; charset=utf-8',
  'verify.js': 'text/javascript; charset=utf-8',
  'verify-results.js': 'text/javascript; charset=utf-8',
};

/** Serialises requests for the server log: method, path and id only; never query or body. */
const LOG_SERIALIZERS = {
  req(request: FastifyRequest) {
    return { id: request.id, method: request.method, path: request.url.split('?')[0] };
  },
  res(reply: FastifyReply) {
    return { statusCode: reply.statusCode };
  },
};

/**
 * A Fastify instance with the hardening both listeners share. `errorPage` renders the HTML
 * error page of the listener's own site (the voters' one by default).
 */
export function createBaseApp(
  kind: 'public' | 'officials',
  options: ListenerOptions,
  errorPage: (error: Error, status: number) => string = publicErrorPage,
): { readonly app: FastifyInstance; readonly csrf: Csrf } {
  const tls = options.tls !== undefined;
  const app = Fastify({
    ...(options.tls === undefined
      ? {}
      : { https: { key: options.tls.key, cert: options.tls.cert } }),
    loggerInstance: options.logger ?? silentLogger(),
    bodyLimit: kind === 'public' ? PUBLIC_BODY_LIMIT_BYTES : OFFICIALS_BODY_LIMIT_BYTES,
    requestTimeout: REQUEST_TIMEOUT_MS,
    connectionTimeout: REQUEST_TIMEOUT_MS,
    trustProxy: options.trustProxy === undefined ? false : [...options.trustProxy],
    genReqId: () => randomUUID(),
    requestIdHeader: false,
    routerOptions: { ignoreTrailingSlash: false, maxParamLength: 200 },
    return503OnClosing: true,
  }) as unknown as FastifyInstance;
  app.setChildLoggerFactory((logger, bindings, childOptions) =>
    logger.child(bindings, { ...childOptions, serializers: LOG_SERIALIZERS }),
  );
  const headers = securityHeaders(tls);
  const requestLimiter = createRateLimiter(
    options.requestLimit ?? (kind === 'public' ? PUBLIC_REQUEST_LIMIT : OFFICIALS_REQUEST_LIMIT),
  );
  app.addHook('onRequest', async (request, reply) => {
    reply.headers(headers);
    reply.header('x-request-id', request.id);
    requestLimiter.hit(request.ip);
  });
  void app.register(formbody, {
    bodyLimit: kind === 'public' ? PUBLIC_BODY_LIMIT_BYTES : OFFICIALS_BODY_LIMIT_BYTES,
  });

  app.get<{ Params: { name: string } }>('/assets/:name', async (request, reply) => {
    const type = ASSETS[request.params.name];
    if (type === undefined) throw notFound();
    const body = await readFile(new URL(`./assets/${request.params.name}`, import.meta.url));
    return reply
      .header('content-type', type)
      .header('cache-control', 'public, max-age=300')
      .send(body);
  });

  app.setNotFoundHandler(() => {
    throw notFound();
  });
  app.setErrorHandler((error, request, reply) => {
    const { status } = classifyError(error);
    if (status >= 500) request.log.error({ err: redactError(error) }, 'request failed');
    if (error instanceof WebError && error.retryAfterSeconds !== undefined) {
      reply.header('retry-after', String(error.retryAfterSeconds));
    }
    reply.header('cache-control', 'no-store');
    if (wantsProblem(request)) {
      return reply
        .code(status)
        .header('content-type', 'application/problem+json')
        .send(JSON.stringify(problemOf(error, request.id)));
    }
    const pageError = status < 500 || status === 503 ? (error as Error) : new Error('internal');
    return reply
      .code(status)
      .header('content-type', 'text/html; charset=utf-8')
      .send(errorPage(pageError, status));
  });
  return { app, csrf: createCsrf(options.csrfSecret ?? randomBytes(32), tls) };
}

function notFound(): WebError {
  return new WebError('NOT_FOUND', 'There is no page at this address');
}

/** API routes and clients asking for JSON get problem+json; browsers get a page. */
function wantsProblem(request: FastifyRequest): boolean {
  if (request.url.startsWith('/api/')) return true;
  const accept = request.headers.accept ?? '';
  return !accept.includes('text/html') && accept.includes('json');
}

/** An error for the server log: its name, code and stack; messages may quote input, so not those of non-coded errors. */
function redactError(error: unknown): object {
  if (!(error instanceof Error)) return { type: typeof error };
  const code: unknown = (error as { code?: unknown }).code;
  return {
    type: error.name,
    code: typeof code === 'string' ? code : undefined,
    stack: error.stack,
  };
}

function silentLogger(): FastifyBaseLogger {
  return pino({ level: 'silent' });
}

/** Builds the public listener: voters' pages, assets and the log's static files. */
export function createPublicApp(context: WebContext, options: ListenerOptions): FastifyInstance {
  const { app, csrf } = createBaseApp('public', options);
  registerPublicPages(app, {
    context,
    csrf,
    lookupLimiter: createRateLimiter(options.lookupLimit ?? PUBLIC_LOOKUP_LIMIT),
  });
  registerResultsRoutes(app, createResultsSite(context));
  // The log is public by design: its files are served read-only with their own headers
  // (C2SP tlog-tiles content types, immutable caching, CORS open so any verifier can fetch).
  app.route({
    method: ['GET', 'HEAD'],
    url: '/log/*',
    handler: async (request, reply) => {
      const relative = (request.params as { '*': string })['*'];
      reply.hijack();
      const handled = await handleLogRequest(context.logDir, request.raw, reply.raw, relative);
      if (!handled) {
        reply.raw.writeHead(404, {
          'content-type': 'text/plain; charset=utf-8',
          ...securityHeaders(options.tls !== undefined),
        });
        reply.raw.end('Not found\n');
      }
    },
  });
  return app;
}

/** Where a listener listens. */
export interface ListenAddress {
  readonly host: string;
  /** 0 picks a free port. */
  readonly port: number;
}

/** True for loopback addresses and `localhost`. */
export function isLoopback(host: string): boolean {
  if (host === 'localhost') return true;
  if (isIP(host) === 4) return host.startsWith('127.');
  return host === '::1';
}

/**
 * Starts listening, refusing a non-loopback address without TLS: voters' details and officials'
 * passwords must never cross a network in clear.
 * @throws WebError LISTEN_INSECURE; errors of `listen` (address in use)
 */
export async function listen(
  app: FastifyInstance,
  address: ListenAddress,
  tls: boolean,
): Promise<string> {
  if (!tls && !isLoopback(address.host)) {
    throw new WebError(
      'LISTEN_INSECURE',
      `Cannot listen on "${address.host}" without TLS: give a certificate and key, or listen on 127.0.0.1 behind a TLS proxy`,
    );
  }
  await app.listen({ host: address.host, port: address.port });
  const bound = app.server.address();
  const port = typeof bound === 'object' && bound !== null ? bound.port : address.port;
  const host = address.host.includes(':') ? `[${address.host}]` : address.host;
  return `${tls ? 'https' : 'http'}://${host}:${port}`;
}
