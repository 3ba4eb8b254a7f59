// Authentication of the officials' listener. Nothing answers without it except the sign-in page,
// the static assets and the OpenAPI document (which describes the API and holds no data):
// pages need the session cookie a sign-in sets, the API an `Authorization: Bearer` token of an
// API client or, for a signed-in official's own browser, the session cookie plus the CSRF token
// in a header. Every credential here is attacker-controlled until access has checked it: the
// cookie and the header are read with bounded, fixed grammars and checked against hashes only.
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import {
  AccessError,
  authenticateSession,
  authenticateToken,
  revokeSession,
} from '../access/index.ts';
import type { AccessStore, Principal } from '../access/index.ts';
import { assert } from '../basics/index.ts';
import type { WebContext } from './context.ts';
import { WebError } from './errors.ts';
import { clearCookie, cookieName, readCookie } from './security.ts';
import type { Csrf, RateLimiter, RateLimitRule } from './security.ts';

/** Base name of the session cookie (`__Host-vv_session` under TLS). */
export const SESSION_COOKIE = 'vv_session';

/**
 * Sign-in attempts one client address may make per minute on this server, on top of access's
 * per-account and per-address lockouts (which count failures only and span every server).
 */
export const LOGIN_LIMIT: RateLimitRule = { limit: 10, windowSeconds: 60 };

/** Header carrying the CSRF token on API calls made with the session cookie. */
export const CSRF_HEADER = 'x-csrf-token';

/** Routes that answer without a credential. */
const OPEN_ROUTES: ReadonlySet<string> = new Set(['/login', '/assets/:name', '/api/openapi.json']);

/** Methods that change nothing, so need no CSRF token. */
const SAFE_METHODS: ReadonlySet<string> = new Set(['GET', 'HEAD']);

/** Longest Authorization header read; a token is 46 characters. */
const MAX_AUTHORIZATION = 200;

/** Who made a request, and with which credential. */
export interface Authenticated {
  readonly principal: Principal;
  readonly via: 'session' | 'token';
  /** The session id, for signing out; only when `via` is `session`. */
  readonly session?: string;
}

const authenticated = new WeakMap<FastifyRequest, Authenticated>();

/** The store access works with: the web context's database, key ring and clock. */
export function accessStore(context: WebContext): AccessStore {
  return { q: context.handle, ring: context.ring, ...(context.now ? { now: context.now } : {}) };
}

/**
 * The principal of a request that passed the authentication hook.
 * @throws AssertionError when called on an open route (a bug: those have no principal)
 */
export function principalOf(request: FastifyRequest): Authenticated {
  const found = authenticated.get(request);
  assert(found !== undefined, 'Request has no authenticated principal');
  return found;
}

/** What {@link registerOfficialsAuth} needs. */
export interface OfficialsAuthOptions {
  readonly context: WebContext;
  readonly csrf: Csrf;
  readonly tls: boolean;
  /** Sign-in posts per client address. */
  readonly loginLimiter: RateLimiter;
}

/**
 * Installs the hooks that close the listener: every request but the open routes is
 * authenticated before routing reaches a handler (unknown paths too, so that a 404 tells an
 * outsider nothing), and every state-changing request carries a CSRF token, except API calls
 * with a bearer token (no cookie is involved there, so there is nothing to forge).
 */
export function registerOfficialsAuth(app: FastifyInstance, options: OfficialsAuthOptions): void {
  const { context, csrf, tls, loginLimiter } = options;
  const store = accessStore(context);
  const sessionCookie = cookieName(SESSION_COOKIE, tls);

  app.addHook('onRequest', async (request, reply) => {
    const route = request.routeOptions.url;
    if (route !== undefined && OPEN_ROUTES.has(route)) return;
    if (isApi(request)) {
      authenticated.set(request, await authenticateApi(request));
      return;
    }
    const session = readCookie(request, sessionCookie);
    if (session === undefined) return reply.redirect('/login', 303);
    try {
      const info = await authenticateSession(store, session);
      authenticated.set(request, { principal: info.principal, via: 'session', session });
    } catch (error) {
      if (!(error instanceof AccessError) || error.code !== 'SESSION_INVALID') throw error;
      clearCookie(reply, sessionCookie, tls);
      return reply.redirect('/login', 303);
    }
  });

  app.addHook('preHandler', (request, _reply, done) => {
    try {
      checkCsrf(request);
      done();
    } catch (error) {
      done(error as Error);
    }
  });

  function checkCsrf(request: FastifyRequest): void {
    if (SAFE_METHODS.has(request.method)) return;
    if (isApi(request)) {
      // Checked after authentication: a bearer call needs none, a cookie call its header.
      const auth = authenticated.get(request);
      if (auth?.via === 'session') csrf.check(request, request.headers[CSRF_HEADER]);
      return;
    }
    // Sign-in posts count against the limit before anything else, so failures count too.
    if (request.routeOptions.url === '/login') loginLimiter.hit(request.ip);
    csrf.checkForm(request);
  }

  /**
   * An API call's principal: an API client's bearer token, else a signed-in official's session.
   * @throws WebError AUTHENTICATION_REQUIRED; AccessError TOKEN_INVALID, SESSION_INVALID
   */
  async function authenticateApi(request: FastifyRequest): Promise<Authenticated> {
    const header = request.headers.authorization;
    if (typeof header === 'string') {
      // Attacker-controlled: bounded, one fixed grammar; access checks the token's own shape.
      const match = header.length <= MAX_AUTHORIZATION ? /^Bearer +(\S+)$/i.exec(header) : null;
      if (match?.[1] === undefined) throw authenticationRequired();
      return { principal: await authenticateToken(store, match[1]), via: 'token' };
    }
    const session = readCookie(request, sessionCookie);
    if (session === undefined) throw authenticationRequired();
    const info = await authenticateSession(store, session);
    return { principal: info.principal, via: 'session', session };
  }
}

function isApi(request: FastifyRequest): boolean {
  return request.url.startsWith('/api/');
}

function authenticationRequired(): WebError {
  return new WebError(
    'AUTHENTICATION_REQUIRED',
    'Cannot answer: sign in, or send an API token as "Authorization: Bearer <token>"',
  );
}

/** Signs the browser out: ends the session in the store and removes the cookie. */
export async function signOut(
  context: WebContext,
  request: FastifyRequest,
  reply: FastifyReply,
  tls: boolean,
): Promise<void> {
  const { session } = principalOf(request);
  if (session !== undefined) await revokeSession(accessStore(context), session);
  clearCookie(reply, cookieName(SESSION_COOKIE, tls), tls);
}
