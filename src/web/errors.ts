// One table from error codes to HTTP statuses, and RFC 9457 problem details. A coded error is
// answered with its status and its own message (messages never carry personal data or
// secrets); anything without a code is a bug or a driver failure: it is logged and answered
// with a generic 500 that says nothing about the cause.
import { VotervaultError } from '../basics/index.ts';

/** Stable codes of failures the web layer itself reports. */
export const WEB_ERROR_CODES = [
  /** A request body, query or form field failed validation. */
  'REQUEST_INVALID',
  /** A form's CSRF token is missing or does not match the browser's cookie. */
  'CSRF_FAILED',
  /** The client sent too many requests; it may retry after the Retry-After seconds. */
  'RATE_LIMITED',
  /** The route needs a signed-in official or an API token. */
  'AUTHENTICATION_REQUIRED',
  /** No such route or resource. */
  'NOT_FOUND',
  /** The server is not configured safely: e.g. listening beyond loopback without TLS. */
  'LISTEN_INSECURE',
  /** A record changed since the version a change was made against. */
  'RECORD_CHANGED',
] as const;

/** One of {@link WEB_ERROR_CODES}. */
export type WebErrorCode = (typeof WEB_ERROR_CODES)[number];

/** A failure of the web layer, with a stable code. */
export class WebError extends VotervaultError<WebErrorCode> {
  /** Seconds after which a rate-limited client may retry. */
  readonly retryAfterSeconds: number | undefined;

  constructor(
    code: WebErrorCode,
    message: string,
    options?: { readonly retryAfterSeconds?: number },
  ) {
    super(code, message);
    this.retryAfterSeconds = options?.retryAfterSeconds;
  }
}

/**
 * HTTP status of every code a request can end in. Codes not listed are internal errors (500):
 * failures of the server, the database or the log that the client cannot fix.
 */
export const HTTP_STATUS_BY_CODE: Readonly<Record<string, number>> = {
  REQUEST_INVALID: 400,
  CSRF_FAILED: 403,
  RATE_LIMITED: 429,
  AUTHENTICATION_REQUIRED: 401,
  NOT_FOUND: 404,
  // results pages
  RESULTS_ID_INVALID: 404,
  RESULTS_EXPORT_INVALID: 400,
  RECORD_CHANGED: 409,
  // access
  ACCESS_DENIED: 403,
  LOGIN_FAILED: 401,
  SESSION_INVALID: 401,
  TOKEN_INVALID: 401,
  // The log could not take the access event: the data is withheld and the service is degraded.
  ACCESS_LOG_FAILED: 503,
  // voters
  VOTER_NOT_FOUND: 404,
  VOTER_SHREDDED: 410,
  FIELD_INVALID: 400,
  CHANGE_INVALID: 400,
  CHANGE_REASON_REQUIRED: 400,
  VERSION_CONFLICT: 409,
  LOOKUP_QUERY_INVALID: 400,
  EXPORT_PURPOSE_REQUIRED: 400,
  EXPORT_RECIPIENT_INVALID: 400,
  EXPORT_COLUMN_NOT_PUBLIC: 400,
  EXPORT_COLUMN_UNKNOWN: 400,
  EXPORT_COLUMNS_INVALID: 400,
  EXPORT_JURISDICTION_UNKNOWN: 400,
  EXPORT_LAYOUT_UNSUPPORTED: 400,
  // store
  DATABASE_BUSY: 503,
  TRANSACTION_CONFLICT: 409,
};

/** RFC 9457 problem details, as the API sends them. */
export interface Problem {
  /** A URI naming the problem type: `urn:votervault:problem:<code>`. */
  readonly type: string;
  readonly title: string;
  readonly status: number;
  readonly detail: string;
  /** The stable error code. */
  readonly code: string;
  /** The request id, to quote to the office. */
  readonly instance: string;
}

const TITLES: Readonly<Record<number, string>> = {
  400: 'Bad request',
  401: 'Not signed in',
  403: 'Forbidden',
  404: 'Not found',
  409: 'Conflict',
  410: 'Gone',
  413: 'Request too large',
  415: 'Unsupported media type',
  429: 'Too many requests',
  500: 'Internal error',
  503: 'Service unavailable',
};

/** The code and status of any error thrown while serving a request. */
export function classifyError(error: unknown): {
  readonly code: string;
  readonly status: number;
  readonly expose: boolean;
} {
  if (error instanceof VotervaultError) {
    const code: unknown = error.code;
    if (typeof code === 'string') {
      const status = HTTP_STATUS_BY_CODE[code];
      if (status !== undefined) return { code, status, expose: status < 500 || status === 503 };
    }
  }
  // Fastify's own client errors (body too large, bad JSON, wrong content type) carry a 4xx
  // statusCode and a FST_ code; their messages describe the request, not the server.
  if (typeof error === 'object' && error !== null) {
    const status: unknown = (error as { statusCode?: unknown }).statusCode;
    const code: unknown = (error as { code?: unknown }).code;
    if (typeof status === 'number' && status >= 400 && status < 500) {
      return { code: typeof code === 'string' ? code : 'REQUEST_INVALID', status, expose: true };
    }
  }
  return { code: 'INTERNAL', status: 500, expose: false };
}

/** Builds the problem details of an error; internal errors get a generic detail. */
export function problemOf(error: unknown, requestId: string): Problem {
  const { code, status, expose } = classifyError(error);
  const detail =
    expose && error instanceof Error
      ? error.message
      : 'The server could not complete the request. Quote the request id to the election office.';
  return {
    type: `urn:votervault:problem:${code.toLowerCase().replaceAll('_', '-')}`,
    title: TITLES[status] ?? 'Error',
    status,
    detail,
    code,
    instance: `urn:votervault:request:${requestId}`,
  };
}
