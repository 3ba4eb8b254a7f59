// The officials' listener: sign-in, pages and the JSON API, closed to anyone without a session
// or an API token (officials-auth.ts). It shares the public listener's hardening (security
// headers, redacted server log, problem+json errors) through createBaseApp, and runs on its own
// port so that a firewall can keep it inside the office network.
import type { FastifyInstance } from 'fastify';
import type { WebContext } from './context.ts';
import { registerOfficialsApi } from './officials-api.ts';
import { LOGIN_LIMIT, registerOfficialsAuth } from './officials-auth.ts';
import { officialsErrorPage, registerOfficialsPages } from './officials-pages.ts';
import { registerOfficialsResults } from './officials-results.ts';
import { openApiDocument } from './openapi.ts';
import { createRateLimiter } from './security.ts';
import { createBaseApp } from './server.ts';
import type { ListenerOptions } from './server.ts';

/**
 * Builds the officials' listener. Every route answers only an authenticated principal, except
 * `GET/POST /login`, `/assets/*` and `GET /api/openapi.json`.
 */
export function createOfficialsApp(context: WebContext, options: ListenerOptions): FastifyInstance {
  const { app, csrf } = createBaseApp('officials', options, officialsErrorPage);
  const tls = options.tls !== undefined;
  registerOfficialsAuth(app, {
    context,
    csrf,
    tls,
    loginLimiter: createRateLimiter(LOGIN_LIMIT),
  });
  app.get('/api/openapi.json', (_request, reply) =>
    reply
      .header('content-type', 'application/json; charset=utf-8')
      .header('cache-control', 'public, max-age=300')
      .send(JSON.stringify(openApiDocument())),
  );
  registerOfficialsApi(app, { context, csrf });
  registerOfficialsPages(app, { context, csrf, tls });
  registerOfficialsResults(app, { context, csrf });
  return app;
}
