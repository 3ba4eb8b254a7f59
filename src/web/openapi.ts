// The OpenAPI 3.1 document of the officials' API, generated from the zod schemas the routes parse
// with, so the document cannot drift from what the server accepts and answers. OpenAPI 3.1 uses
// JSON Schema 2020-12, which is what `z.toJSONSchema` writes. The document is served without a
// credential: it describes the API and holds no data, and the listener is otherwise closed.
import { z } from 'zod';
import {
  ExportRequestSchema,
  MeResponseSchema,
  ProblemSchema,
  SearchRequestSchema,
  SearchResponseSchema,
  UpdateRequestSchema,
  UpdateResponseSchema,
  VOTER_ID_PATTERN,
  VoterRecordSchema,
} from './officials-api.ts';
import { CSRF_HEADER, SESSION_COOKIE } from './officials-auth.ts';
import { PURPOSES } from '../access/index.ts';

/** Version of the API the document describes (the `/api/v1` prefix). */
export const API_VERSION = '1.0.0';

function schema(type: z.ZodType, io: 'input' | 'output'): Record<string, unknown> {
  const json = {
    ...z.toJSONSchema(type, { target: 'draft-2020-12', io, unrepresentable: 'any' }),
  } as Record<string, unknown>;
  // The document names the dialect once (jsonSchemaDialect), not in every component.
  delete json['$schema'];
  return json;
}

const ref = (name: string) => ({ $ref: `#/components/schemas/${name}` });

function problems(...statuses: number[]): Record<string, unknown> {
  const words: Record<number, string> = {
    400: 'The request is malformed (nothing was looked at)',
    401: 'No valid credential',
    403: 'Refused by the access policy or the CSRF check; the refusal is logged',
    404: 'No such voter; the attempt is logged',
    409: 'The record changed since the version given',
    503: 'The log could not take the access event; nothing was returned',
  };
  return Object.fromEntries(
    statuses.map((status) => [
      String(status),
      {
        description: words[status] ?? 'Error',
        content: { 'application/problem+json': { schema: ref('Problem') } },
      },
    ]),
  );
}

function jsonBody(name: string): Record<string, unknown> {
  return { required: true, content: { 'application/json': { schema: ref(name) } } };
}

function jsonAnswer(description: string, name: string): Record<string, unknown> {
  return { description, content: { 'application/json': { schema: ref(name) } } };
}

const voterIdParameter = {
  name: 'id',
  in: 'path',
  required: true,
  schema: { type: 'string', pattern: VOTER_ID_PATTERN.source },
};

let cached: Readonly<Record<string, unknown>> | undefined;

/** The OpenAPI 3.1 document of `/api/v1`, built once. */
export function openApiDocument(): Readonly<Record<string, unknown>> {
  cached ??= {
    openapi: '3.1.0',
    info: {
      title: 'votervault officials API',
      version: API_VERSION,
      description:
        'Search, read, change and export the voter roll. Every call that touches voter data, ' +
        'allowed or refused, is written to the public access log before it is answered.',
    },
    jsonSchemaDialect: 'https://json-schema.org/draft/2020-12/schema',
    security: [{ bearerToken: [] }, { sessionCookie: [], csrfHeader: [] }],
    paths: {
      '/api/v1/me': {
        get: {
          operationId: 'me',
          summary: 'Who the credential belongs to, and the CSRF token for cookie callers',
          responses: { '200': jsonAnswer('The principal', 'Me'), ...problems(401) },
        },
      },
      '/api/v1/voters/search': {
        post: {
          operationId: 'searchVoters',
          summary: 'Voters matching a name, a date of birth and a ZIP code or county',
          requestBody: jsonBody('SearchRequest'),
          responses: {
            '200': jsonAnswer('One page of matches, public fields only', 'SearchResponse'),
            ...problems(400, 401, 403, 503),
          },
        },
      },
      '/api/v1/voters/{id}': {
        get: {
          operationId: 'viewVoter',
          summary: 'One voter, with the field classes the role may read',
          parameters: [
            voterIdParameter,
            {
              name: 'purpose',
              in: 'query',
              required: true,
              schema: { type: 'string', enum: [...PURPOSES] },
            },
          ],
          responses: {
            '200': jsonAnswer('The record', 'VoterRecord'),
            ...problems(400, 401, 403, 404, 503),
          },
        },
        patch: {
          operationId: 'updateVoter',
          summary: 'Writes a new version of a voter',
          parameters: [voterIdParameter],
          requestBody: jsonBody('UpdateRequest'),
          responses: {
            '200': jsonAnswer('The new version', 'UpdateResponse'),
            ...problems(400, 401, 403, 404, 409, 503),
          },
        },
      },
      '/api/v1/exports': {
        post: {
          operationId: 'exportVoters',
          summary: 'A watermarked public extract, as a file in the layout’s own format',
          requestBody: jsonBody('ExportRequest'),
          responses: {
            '200': {
              description:
                'The file, as an attachment: text/csv for comma layouts, ' +
                'text/tab-separated-values for tab layouts, in the layout’s encoding',
              headers: {
                'x-export-id': { schema: { type: 'string' }, description: 'The export’s id' },
                'x-export-records': {
                  schema: { type: 'integer' },
                  description: 'Voters in the file',
                },
              },
              content: {
                'text/csv': { schema: { type: 'string' } },
                'text/tab-separated-values': { schema: { type: 'string' } },
              },
            },
            ...problems(400, 401, 403, 503),
          },
        },
      },
      '/api/openapi.json': {
        get: {
          operationId: 'openApi',
          summary: 'This document',
          security: [],
          responses: { '200': { description: 'The OpenAPI document' } },
        },
      },
    },
    components: {
      securitySchemes: {
        bearerToken: {
          type: 'http',
          scheme: 'bearer',
          description: 'An API client token (`vv_…`), issued by the office',
        },
        sessionCookie: {
          type: 'apiKey',
          in: 'cookie',
          name: SESSION_COOKIE,
          description: 'A signed-in official’s session (`__Host-` prefixed under TLS)',
        },
        csrfHeader: {
          type: 'apiKey',
          in: 'header',
          name: CSRF_HEADER,
          description: 'With the session cookie, on every call but GET: the token of /api/v1/me',
        },
      },
      schemas: {
        SearchRequest: schema(SearchRequestSchema, 'input'),
        SearchResponse: schema(SearchResponseSchema, 'output'),
        VoterRecord: schema(VoterRecordSchema, 'output'),
        UpdateRequest: schema(UpdateRequestSchema, 'input'),
        UpdateResponse: schema(UpdateResponseSchema, 'output'),
        ExportRequest: schema(ExportRequestSchema, 'input'),
        Me: schema(MeResponseSchema, 'output'),
        Problem: schema(ProblemSchema, 'output'),
      },
    },
  };
  return cached;
}
