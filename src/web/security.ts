// Request hardening shared by both listeners: security headers, cookies, CSRF tokens and rate
// limits. Everything here reads attacker-controlled request data (headers, cookies, form
// fields) and treats it as such: bounded lengths, fixed grammars, constant-time comparison.
import { createHmac, createSecretKey, randomBytes, timingSafeEqual } from 'node:crypto';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { WebError } from './errors.ts';

/**
 * Content-Security-Policy of every page: scripts and styles only from our own files (no inline
 * script, no inline style, no eval), no plugins, no framing, forms post only to us.
 */
export const CONTENT_SECURITY_POLICY = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "form-action 'self'",
  "frame-ancestors 'none'",
  "base-uri 'none'",
].join('; ');

/** HSTS lifetime under TLS: two years, the preload list's minimum. */
export const HSTS_MAX_AGE_SECONDS = 63_072_000;

/** Headers on every response, whatever the route. */
export function securityHeaders(tls: boolean): Readonly<Record<string, string>> {
  return {
    'content-security-policy': CONTENT_SECURITY_POLICY,
    'x-content-type-options': 'nosniff',
    'x-frame-options': 'DENY',
    'referrer-policy': 'no-referrer',
    'cross-origin-opener-policy': 'same-origin',
    'cross-origin-resource-policy': 'same-origin',
    'permissions-policy': 'camera=(), microphone=(), geolocation=(), interest-cohort=()',
    ...(tls
      ? { 'strict-transport-security': `max-age=${HSTS_MAX_AGE_SECONDS}; includeSubDomains` }
      : {}),
  };
}

/** Longest cookie header read; anything longer is ignored as a whole. */
const MAX_COOKIE_HEADER = 4096;

/** Reads one cookie by name. Attacker-controlled header: bounded, split on the fixed grammar. */
export function readCookie(request: FastifyRequest, name: string): string | undefined {
  const header = request.headers.cookie;
  if (typeof header !== 'string' || header.length > MAX_COOKIE_HEADER) return undefined;
  for (const part of header.split(';')) {
    const at = part.indexOf('=');
    if (at < 0) continue;
    if (part.slice(0, at).trim() === name) return part.slice(at + 1).trim();
  }
  return undefined;
}

/** How a cookie is set: always HttpOnly and SameSite=Strict; Secure under TLS. */
export interface CookieOptions {
  readonly tls: boolean;
  /** Lifetime; a session cookie (gone when the browser closes) when absent. */
  readonly maxAgeSeconds?: number;
}

/**
 * The name a cookie is sent under: with the `__Host-` prefix under TLS, so that no subdomain or
 * plain-HTTP page can set or shadow it.
 */
export function cookieName(base: string, tls: boolean): string {
  return tls ? `__Host-${base}` : base;
}

/** Adds a Set-Cookie header (several may be set on one reply). */
export function setCookie(
  reply: FastifyReply,
  name: string,
  value: string,
  options: CookieOptions,
): void {
  const parts = [`${name}=${value}`, 'Path=/', 'HttpOnly', 'SameSite=Strict'];
  if (options.tls) parts.push('Secure');
  if (options.maxAgeSeconds !== undefined) parts.push(`Max-Age=${options.maxAgeSeconds}`);
  const previous = reply.getHeader('set-cookie');
  const list = Array.isArray(previous)
    ? previous
    : previous === undefined
      ? []
      : [String(previous)];
  reply.header('set-cookie', [...list, parts.join('; ')]);
}

/** Removes a cookie. */
export function clearCookie(reply: FastifyReply, name: string, tls: boolean): void {
  setCookie(reply, name, '', { tls, maxAgeSeconds: 0 });
}

/** Base name of the cookie that binds a browser to its CSRF tokens. */
export const CSRF_COOKIE = 'vv_csrf';
/** Name of the hidden form field carrying the CSRF token. */
export const CSRF_FIELD = '_csrf';
const CSRF_BINDING = /^[A-Za-z0-9_-]{22,64}$/;

/**
 * CSRF protection by signed double submit: the browser holds a random binding in an HttpOnly,
 * SameSite=Strict cookie; each form carries HMAC(server secret, binding). A forged cross-site
 * post has neither the cookie (SameSite) nor a token for it (the secret). Stateless, so it works
 * on any of several web servers sharing the secret.
 */
export interface Csrf {
  /** The token for this browser's forms, setting the binding cookie when it has none. */
  token(request: FastifyRequest, reply: FastifyReply): string;
  /**
   * Checks the token a form posted.
   * @throws WebError CSRF_FAILED
   */
  check(request: FastifyRequest, posted: unknown): void;
  /**
   * Checks the token of a posted form (its {@link CSRF_FIELD} field).
   * @throws WebError CSRF_FAILED
   */
  checkForm(request: FastifyRequest): void;
}

/** Creates the CSRF guard of a listener; `secret` is the listener's random server secret. */
export function createCsrf(secret: Uint8Array, tls: boolean): Csrf {
  const name = cookieName(CSRF_COOKIE, tls);
  // A KeyObject made once: createHmac with raw key bytes re-imports the key on every call,
  // several times slower than the HMAC itself.
  const key = createSecretKey(secret);
  const sign = (binding: string): string =>
    createHmac('sha256', key).update(binding).digest('base64url');
  return {
    token(request, reply) {
      let binding = readCookie(request, name);
      if (binding === undefined || !CSRF_BINDING.test(binding)) {
        binding = randomBytes(24).toString('base64url');
        setCookie(reply, name, binding, { tls });
      }
      return sign(binding);
    },
    check(request, posted) {
      const binding = readCookie(request, name);
      if (binding === undefined || !CSRF_BINDING.test(binding) || typeof posted !== 'string') {
        throw csrfFailed();
      }
      if (!constantTimeEqual(posted, sign(binding))) throw csrfFailed();
    },
    checkForm(request) {
      const body: unknown = request.body;
      this.check(
        request,
        typeof body === 'object' && body !== null
          ? (body as Record<string, unknown>)[CSRF_FIELD]
          : undefined,
      );
    },
  };
}

function csrfFailed(): WebError {
  return new WebError(
    'CSRF_FAILED',
    'Cannot accept the form: it expired or did not come from this site; reload the page and try again',
  );
}

/** Constant-time comparison of two secrets of any length (the length is not secret). */
export function constantTimeEqual(a: string, b: string): boolean {
  const left = Buffer.from(a, 'utf8');
  const right = Buffer.from(b, 'utf8');
  return left.length === right.length && timingSafeEqual(left, right);
}

/** A fixed-window rate limit: at most `limit` hits per key per window. */
export interface RateLimitRule {
  readonly limit: number;
  readonly windowSeconds: number;
}

/** Most keys remembered; the oldest windows are dropped first beyond it. */
const MAX_TRACKED_KEYS = 100_000;

/**
 * Counts hits per key (a client address) in memory. Each web server limits on its own: behind
 * several servers the limit multiplies by their number, which the operator sizes for.
 */
export interface RateLimiter {
  /**
   * Counts one hit.
   * @throws WebError RATE_LIMITED with the seconds until the window ends
   */
  hit(key: string, now?: number): void;
}

/** Creates a limiter for `rule`. */
export function createRateLimiter(rule: RateLimitRule): RateLimiter {
  const windows = new Map<string, { start: number; count: number }>();
  const windowMs = rule.windowSeconds * 1000;
  return {
    hit(key, now = Date.now()) {
      let window = windows.get(key);
      if (window === undefined || now - window.start >= windowMs) {
        windows.delete(key);
        if (windows.size >= MAX_TRACKED_KEYS) {
          // Map iteration is insertion order: drop the oldest tenth at once.
          let drop = Math.ceil(MAX_TRACKED_KEYS / 10);
          for (const old of windows.keys()) {
            windows.delete(old);
            if (--drop === 0) break;
          }
        }
        window = { start: now, count: 0 };
        windows.set(key, window);
      }
      window.count += 1;
      if (window.count > rule.limit) {
        const retryAfterSeconds = Math.max(1, Math.ceil((window.start + windowMs - now) / 1000));
        throw new WebError('RATE_LIMITED', 'Too many requests: wait a little and try again', {
          retryAfterSeconds,
        });
      }
    },
  };
}
