// The HTTP server: the public listener (voters' pages, the log's static files) and the
// officials' listener (sign-in, pages, JSON API). Other modules import only this file.
export { HTTP_STATUS_BY_CODE, WEB_ERROR_CODES, WebError, problemOf } from './errors.ts';
export type { Problem, WebErrorCode } from './errors.ts';
export type { WebContext, WebTables } from './context.ts';
export {
  OFFICIALS_BODY_LIMIT_BYTES,
  PUBLIC_BODY_LIMIT_BYTES,
  PUBLIC_LOOKUP_LIMIT,
  PUBLIC_REQUEST_LIMIT,
  OFFICIALS_REQUEST_LIMIT,
  REQUEST_TIMEOUT_MS,
  createPublicApp,
  isLoopback,
  listen,
} from './server.ts';
export type { ListenAddress, ListenerOptions, TlsOptions } from './server.ts';
export { CONTENT_SECURITY_POLICY, HSTS_MAX_AGE_SECONDS } from './security.ts';
export { HISTORY_PAGE_SIZE } from './public-pages.ts';
export { createOfficialsApp } from './officials-app.ts';
export { CSRF_HEADER, LOGIN_LIMIT, SESSION_COOKIE } from './officials-auth.ts';
export { API_VERSION, openApiDocument } from './openapi.ts';
export {
  PUBLICATION_CHECK_MS,
  createResultsSite,
  registerResultsRoutes,
} from './results-routes.ts';
export type { ResultsSite } from './results-routes.ts';
export { readResultsAssets, writeStaticSite } from './results-static.ts';
export type { StaticSiteReport, StaticSiteViews } from './results-static.ts';
