// The officials' JSON API under /api/v1, and the operations the officials' pages share with it.
// Every search, view, change and export runs under `withAccess`, so exactly one access event is
// durable in the public log before the answer leaves, allowed or refused. Bodies, parameters
// and queries are attacker-controlled: each is parsed once by a zod schema (bounded lengths,
// fixed grammars, closed lists), and each answer is checked against its schema before it is
// sent, so a bug cannot put a field the schema does not allow (a protected attribute) on the
// wire. The same schemas generate the OpenAPI document (openapi.ts).
import { createReadStream } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import {
  ACCESS_POLICY,
  PURPOSES,
  isJurisdiction,
  scopeWords,
  withAccess,
} from '../access/index.ts';
import type { AccessContext, Channel, Principal, Purpose } from '../access/index.ts';
import { assert } from '../basics/index.ts';
import { withTransaction } from '../store/index.ts';
import type { Queryable } from '../store/index.ts';
import { canonicalJsonBytes } from '../tlog/index.ts';
import {
  columnIndex,
  exportVoters,
  FIELD_CLASSES,
  listImports,
  loadLayout,
  MAX_RECIPIENT_LENGTH,
  MAX_SEARCH_OFFSET,
  MAX_SEARCH_RESULTS,
  readVoter,
  searchVoters,
  SHIPPED_LAYOUT_IDS,
  updateVoter,
  voterJurisdiction,
} from '../voters/index.ts';
import type {
  ExportReport,
  FieldClass,
  ImportTables,
  SearchResult,
  VoterChanges,
  VoterLayout,
  VoterView,
} from '../voters/index.ts';
import type { WebContext } from './context.ts';
import { WebError } from './errors.ts';
import { CSRF_HEADER, principalOf } from './officials-auth.ts';
import type { Csrf } from './security.ts';

// ---------------------------------------------------------------------------------------------
// Schemas

/** A voter id as the shipped layouts write them; anything else never reaches a query. */
export const VOTER_ID_PATTERN = /^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$/;
/** A column name as layouts write them. */
const COLUMN_PATTERN = /^[A-Za-z0-9][A-Za-z0-9_ .-]{0,99}$/;
/** Longest field value an official may type. */
export const MAX_FIELD_VALUE = 1_000;
/** Longest stated reason for a change (stored with the record, never logged). */
export const MAX_REASON_LENGTH = 500;
/** Most fields one change may name. */
const MAX_CHANGED_FIELDS = 200;

/** Layouts an export can be written in (the NIST interchange JSON has its own export). */
export const EXPORT_LAYOUT_IDS = SHIPPED_LAYOUT_IDS;

const JurisdictionSchema = z
  .string()
  .regex(/^[A-Za-z0-9][A-Za-z0-9_-]{0,15}$/)
  .refine(isJurisdiction)
  .meta({ description: 'A county code as the layout writes it, or the state code' });
const PurposeSchema = z
  .enum(PURPOSES)
  .meta({ description: 'Why the record is used; goes into the public log' });
const VoterIdSchema = z.string().regex(VOTER_ID_PATTERN);
const FieldMapSchema = z
  .record(z.string().regex(COLUMN_PATTERN), z.string().max(MAX_FIELD_VALUE))
  .refine((map) => Object.keys(map).length <= MAX_CHANGED_FIELDS, 'Too many fields');
const PublicFieldsSchema = z.record(z.string(), z.string());

/** `POST /api/v1/voters/search`. */
export const SearchRequestSchema = z
  .strictObject({
    last: z.string().trim().min(1).max(100),
    first: z.string().trim().min(1).max(100),
    dob: z
      .string()
      .trim()
      .regex(/^\d{4}(?:-\d{2}-\d{2})?$/)
      .meta({ description: 'YYYY or YYYY-MM-DD' }),
    zip: z.string().trim().max(10).optional(),
    county: z.string().trim().max(40).optional().meta({ description: 'County name' }),
    jurisdiction: JurisdictionSchema.optional().meta({
      description:
        'Search only this county; required of officials holding several counties, who search one at a time',
    }),
    limit: z.number().int().min(1).max(MAX_SEARCH_RESULTS).optional(),
    offset: z.number().int().min(0).max(MAX_SEARCH_OFFSET).optional(),
  })
  .refine((q) => (q.zip ?? '') !== '' || (q.county ?? '') !== '', {
    message: 'Give a ZIP code or a county',
    path: ['zip'],
  });
/** A search request. */
export type SearchRequest = z.infer<typeof SearchRequestSchema>;

const SearchHitSchema = z.strictObject({
  voterId: z.string(),
  jurisdiction: z.string(),
  status: z.string(),
  precinct: z.string(),
  publicFields: PublicFieldsSchema,
});

/** Answer of a search: one page of public records. */
export const SearchResponseSchema = z.strictObject({
  results: z.array(SearchHitSchema).max(MAX_SEARCH_RESULTS),
  total: z.number().int().nonnegative(),
  hasMore: z.boolean(),
  limit: z.number().int().positive(),
  offset: z.number().int().nonnegative(),
});

/** `GET /api/v1/voters/:id` query. */
export const ViewQuerySchema = z.strictObject({ purpose: PurposeSchema.optional() });

/** `:id` of the voter routes. */
export const VoterParamsSchema = z.strictObject({ id: VoterIdSchema });

/**
 * A voter record as a role may see it. There is no `protected` member: no role reads protected
 * attributes, and a bug that put them here would fail this schema instead of reaching a client.
 */
export const VoterRecordSchema = z.strictObject({
  voterId: z.string(),
  jurisdiction: z.string(),
  rowVersion: z.number().int().positive(),
  status: z.string(),
  precinct: z.string(),
  removed: z.boolean(),
  confidentialRecord: z.boolean(),
  shredded: z.boolean(),
  fieldClasses: z.array(z.enum(['public', 'confidential'])),
  fields: z.strictObject({
    public: PublicFieldsSchema,
    confidential: PublicFieldsSchema.optional(),
  }),
});

/** `PATCH /api/v1/voters/:id`. */
export const UpdateRequestSchema = z.strictObject({
  purpose: PurposeSchema.optional(),
  reason: z
    .string()
    .trim()
    .min(1)
    .max(MAX_REASON_LENGTH)
    .meta({ description: 'Why the record changes; stored with the version, never logged' }),
  rowVersion: z
    .number()
    .int()
    .positive()
    .optional()
    .meta({ description: 'The version the change was made against; 409 if it moved on' }),
  changes: z
    .strictObject({
      public: FieldMapSchema.optional(),
      confidential: FieldMapSchema.optional(),
      protected: FieldMapSchema.optional(),
    })
    .meta({ description: 'Column name to new value by field class; "" clears a field' }),
});
/** A change request. */
export type UpdateRequest = z.infer<typeof UpdateRequestSchema>;

/** Answer of a change. */
export const UpdateResponseSchema = z.strictObject({
  voterId: z.string(),
  rowVersion: z.number().int().positive(),
});

/** `POST /api/v1/exports`. */
export const ExportRequestSchema = z.strictObject({
  purpose: PurposeSchema.optional(),
  recipient: z
    .string()
    .trim()
    .min(1)
    .max(MAX_RECIPIENT_LENGTH)
    .meta({ description: 'The receiving organisation (public); never a person' }),
  counties: z.array(JurisdictionSchema).max(300).optional().meta({
    description:
      'County codes; the whole roll when absent. Officials holding counties export one county at a time',
  }),
  columns: z.array(z.string().regex(COLUMN_PATTERN)).max(200).optional(),
  layout: z.enum(EXPORT_LAYOUT_IDS).optional().meta({
    description: 'State layout of the file; that of the latest finished import by default',
  }),
});
/** An export request. */
export type ExportRequest = z.infer<typeof ExportRequestSchema>;

/** `GET /api/v1/me`. */
export const MeResponseSchema = z.strictObject({
  name: z.string(),
  role: z.string(),
  scope: z.array(z.string()),
  purposes: z.array(z.enum(PURPOSES)),
  csrfToken: z
    .string()
    .nullable()
    .meta({ description: `For session (cookie) callers: send it as "${CSRF_HEADER}"` }),
});

/** RFC 9457 problem details. */
export const ProblemSchema = z.strictObject({
  type: z.string(),
  title: z.string(),
  status: z.number().int(),
  detail: z.string(),
  code: z.string(),
  instance: z.string(),
});

function parse<T>(schema: z.ZodType<T>, value: unknown, what: string): T {
  const parsed = schema.safeParse(value);
  if (parsed.success) return parsed.data;
  // Paths and messages only: a value the client sent is never echoed back.
  const issues = parsed.error.issues
    .slice(0, 5)
    .map((issue) => `${issue.path.join('.') || what}: ${issue.message}`)
    .join('; ');
  throw new WebError('REQUEST_INVALID', `Cannot accept the ${what}: ${issues}`);
}

// ---------------------------------------------------------------------------------------------
// Operations, shared by the API and the pages

/** Who asks, and through which door. */
export interface OfficialCall {
  readonly context: WebContext;
  readonly principal: Principal;
  readonly channel: Extract<Channel, 'officials' | 'api'>;
}

function accessContext(call: OfficialCall): AccessContext {
  return {
    principal: call.principal,
    channel: call.channel,
    appendLog: (bytes) => call.context.log.append(bytes),
    ...(call.context.now === undefined ? {} : { now: call.context.now }),
  };
}

/**
 * The one county a request is about when it names none: an official holding exactly one county
 * works in it; anyone else asks for what they named, or the whole state.
 */
function defaultJurisdiction(principal: Principal, named: string | undefined): string | undefined {
  if (named !== undefined) return named;
  const { scope } = principal;
  return scope.kind === 'counties' && scope.counties.length === 1 ? scope.counties[0] : undefined;
}

/**
 * Searches voters under the policy: one jurisdiction (the one named, the official's only county,
 * or the whole state), logged with the subject tags of the page returned.
 * @throws AccessDeniedError ACCESS_DENIED; AccessError ACCESS_LOG_FAILED; VoterStoreError
 *   LOOKUP_QUERY_INVALID
 */
export async function searchAsOfficial(
  call: OfficialCall,
  request: SearchRequest,
): Promise<SearchResult> {
  const { context } = call;
  const jurisdiction = defaultJurisdiction(call.principal, request.jurisdiction);
  return withAccess(
    accessContext(call),
    { action: 'search', ...(jurisdiction === undefined ? {} : { jurisdiction }) },
    async () => {
      const result = await searchVoters(
        context.handle,
        context.ring,
        {
          last: request.last,
          first: request.first,
          dob: request.dob,
          ...(request.zip === undefined ? {} : { zip: request.zip }),
          ...(request.county === undefined ? {} : { county: request.county }),
        },
        {
          jurisdictions: jurisdiction === undefined ? 'state' : [jurisdiction],
          limit: request.limit ?? MAX_SEARCH_RESULTS,
          offset: request.offset ?? 0,
        },
      );
      return {
        value: result,
        subjects: result.hits.map((hit) => context.ring.subjectTag(hit.voterId)),
      };
    },
  );
}

/**
 * Reads one voter with the field classes the role may see. The jurisdiction is read first,
 * without opening the record, so a voter outside the official's scope is refused (and the
 * refusal logged with the voter's subject tag) before anything is decrypted.
 * @throws AccessDeniedError ACCESS_DENIED; AccessError ACCESS_LOG_FAILED; VoterStoreError
 *   VOTER_NOT_FOUND, VOTER_SHREDDED
 */
export async function viewAsOfficial(
  call: OfficialCall,
  voterId: string,
  purpose: Purpose | undefined,
): Promise<VoterView> {
  const { context } = call;
  const jurisdiction = await voterJurisdiction(context.handle, voterId);
  const subject = context.ring.subjectTag(voterId);
  return withAccess(
    accessContext(call),
    {
      action: 'view',
      subjects: [subject],
      ...(jurisdiction === undefined ? {} : { jurisdiction }),
      ...(purpose === undefined ? {} : { purpose }),
    },
    async (grant) => {
      // Never protected, whatever a future policy says: no page or answer has room for them.
      const fieldClasses = grant.fieldClasses.filter((c) => c !== 'protected');
      const view = await readVoter(context.handle, context.ring, voterId, { fieldClasses });
      return { value: view, subjects: [subject] };
    },
  );
}

/** A change: fixed values, or derived from the current public fields (the edit form). */
export type ChangeSource = VoterChanges | ((current: VoterView) => VoterChanges);

/** What an official asks to change. */
export interface ChangeRequest {
  readonly purpose: Purpose | undefined;
  readonly reason: string;
  readonly rowVersion?: number;
  readonly changes: ChangeSource;
}

/**
 * Changes one voter under the policy: the new version and its access event stand or fall
 * together (`withAccess` inside one transaction, never retried, so nothing is logged twice).
 * The stated reason is stored with the version, never logged.
 * @throws AccessDeniedError ACCESS_DENIED; AccessError ACCESS_LOG_FAILED; VoterStoreError
 *   VOTER_NOT_FOUND, CHANGE_INVALID, CHANGE_REASON_REQUIRED, FIELD_INVALID; WebError
 *   RECORD_CHANGED (the version moved on), REQUEST_INVALID (nothing to change, or a column of
 *   another class in the layout)
 */
export async function updateAsOfficial(
  call: OfficialCall,
  voterId: string,
  request: ChangeRequest,
): Promise<number> {
  const { context } = call;
  const jurisdiction = await voterJurisdiction(context.handle, voterId);
  const subject = context.ring.subjectTag(voterId);
  const layout = await deploymentLayout(context);
  const fixed = typeof request.changes === 'function' ? undefined : request.changes;
  const asked: readonly FieldClass[] = fixed === undefined ? ['public'] : classesOf(fixed);
  return withTransaction(
    context.handle,
    (tx) =>
      withAccess(
        accessContext(call),
        {
          action: 'update',
          subjects: [subject],
          fieldClasses: asked,
          ...(jurisdiction === undefined ? {} : { jurisdiction }),
          ...(request.purpose === undefined ? {} : { purpose: request.purpose }),
        },
        async () => {
          const current = await readVoter(tx, context.ring, voterId, { fieldClasses: ['public'] });
          if (request.rowVersion !== undefined && request.rowVersion !== current.rowVersion) {
            throw new WebError(
              'RECORD_CHANGED',
              `Cannot change voter "${voterId}": it was changed since version ${request.rowVersion}; open it again`,
            );
          }
          const changes =
            typeof request.changes === 'function' ? request.changes(current) : request.changes;
          if (classesOf(changes).some((c) => !asked.includes(c))) {
            throw new WebError('REQUEST_INVALID', 'Cannot change voter: only public fields here');
          }
          if (classesOf(changes).length === 0) {
            throw new WebError(
              'REQUEST_INVALID',
              `Cannot change voter "${voterId}": no field differs from the record`,
            );
          }
          if (layout !== undefined) checkChangeClasses(layout, changes);
          const version = await updateVoter(tx, context.ring, voterId, changes, {
            reason: request.reason,
            changedAt: (context.now?.() ?? new Date()).toISOString(),
          });
          return { value: version, subjects: [subject] };
        },
      ),
    { maxAttempts: 1 },
  );
}

function classesOf(changes: VoterChanges): FieldClass[] {
  return FIELD_CLASSES.filter((c) => Object.keys(changes[c] ?? {}).length > 0);
}

/**
 * Each changed column must be a column of the layout in the class it is named under, so that a
 * field the record does not hold yet cannot be added in a weaker class (a race code as public).
 * @throws WebError REQUEST_INVALID naming the column, never the value
 */
function checkChangeClasses(layout: VoterLayout, changes: VoterChanges): void {
  for (const fieldClass of FIELD_CLASSES) {
    for (const name of Object.keys(changes[fieldClass] ?? {})) {
      const column = layout.columns[columnIndex(layout, name)];
      if (column?.name !== name || column.class !== fieldClass || column.role === 'unused') {
        throw new WebError(
          'REQUEST_INVALID',
          `Cannot change column "${name}": it is not a ${fieldClass} column of layout "${layout.id}"`,
        );
      }
    }
  }
}

/**
 * The layout of the roll: that of the latest finished import, when it is a shipped one. Read
 * from the import table, which every data store has (the commands apply all migrations).
 */
export async function deploymentLayout(context: WebContext): Promise<VoterLayout | undefined> {
  const imports = await listImports(context.handle as unknown as Queryable<ImportTables>);
  const latest = imports.find((run) => run.status === 'done');
  if (latest === undefined) return undefined;
  return (EXPORT_LAYOUT_IDS as readonly string[]).includes(latest.layout)
    ? loadLayout(latest.layout)
    : undefined;
}

/** A finished export: the file and the directory to remove once it is sent. */
export interface ExportFile {
  readonly report: ExportReport;
  readonly path: string;
  readonly dir: string;
  readonly layout: VoterLayout;
}

/**
 * Writes a watermarked public export under the policy. The export writes its own `export` log
 * entry (recipient, export id, counts) before the file is renamed into place, as every export
 * does; the access event follows once the export is complete, and the file is handed out only
 * after both are durable. A county official exports one county at a time (an access event
 * names one jurisdiction).
 * @throws AccessDeniedError ACCESS_DENIED; AccessError ACCESS_LOG_FAILED; ExportError
 *   EXPORT_*; WebError REQUEST_INVALID when no layout is known
 */
export async function exportAsOfficial(
  call: OfficialCall,
  request: ExportRequest,
): Promise<ExportFile> {
  const { context } = call;
  const layout =
    request.layout === undefined ? await deploymentLayout(context) : loadLayout(request.layout);
  if (layout === undefined) {
    throw new WebError(
      'REQUEST_INVALID',
      'Cannot export: no voter file has been imported yet; name the layout',
    );
  }
  const named = request.counties ?? [];
  const only = defaultJurisdiction(call.principal, named.length === 1 ? named[0] : undefined);
  const counties = named.length === 0 && only !== undefined ? [only] : named;
  const jurisdiction = counties.length === 1 ? counties[0] : undefined;
  const dir = await mkdtemp(join(tmpdir(), 'votervault-export-'));
  const path = join(dir, 'export');
  try {
    const report = await withAccess(
      accessContext(call),
      {
        action: 'export',
        ...(jurisdiction === undefined ? {} : { jurisdiction }),
        ...(request.purpose === undefined ? {} : { purpose: request.purpose }),
      },
      async () => {
        assert(request.purpose !== undefined, 'An export was allowed without a purpose');
        const done = await exportVoters(context.handle, context.ring, {
          layout,
          jurisdictions: counties,
          ...(request.columns === undefined ? {} : { columns: request.columns }),
          recipient: request.recipient,
          purpose: request.purpose,
          out: path,
          appendLog: async (entry) => {
            await context.log.append(canonicalJsonBytes({ ...entry, channel: call.channel }));
          },
          ...(context.now === undefined ? {} : { now: context.now }),
        });
        return { value: done, subjects: [], records: done.records };
      },
    );
    return { report, path, dir, layout };
  } catch (error) {
    await rm(dir, { recursive: true, force: true });
    throw error;
  }
}

/** Sends an export file as a download and removes it once sent (or the client went away). */
export function sendExport(reply: FastifyReply, file: ExportFile): FastifyReply {
  const { format } = file.layout;
  const type =
    format.delimiter === 'comma'
      ? 'text/csv'
      : format.delimiter === 'tab'
        ? 'text/tab-separated-values'
        : 'text/plain';
  const charset = format.encoding === 'utf-8' ? 'utf-8' : 'windows-1252';
  const extension = format.delimiter === 'comma' ? 'csv' : 'txt';
  const stream = createReadStream(file.path);
  stream.on('close', () => {
    void rm(file.dir, { recursive: true, force: true });
  });
  return reply
    .header('content-type', `${type}; charset=${charset}`)
    .header(
      'content-disposition',
      `attachment; filename="voters-${file.layout.id}-${file.report.exportId}.${extension}"`,
    )
    .header('cache-control', 'no-store')
    .header('x-export-id', file.report.exportId)
    .header('x-export-records', String(file.report.records))
    .send(stream);
}

/** A record as the API answers it. */
export function recordResponse(view: VoterView): z.infer<typeof VoterRecordSchema> {
  return VoterRecordSchema.parse({
    voterId: view.voterId,
    jurisdiction: view.jurisdiction,
    rowVersion: view.rowVersion,
    status: view.status,
    precinct: view.precinct,
    removed: view.removed,
    confidentialRecord: view.confidentialRecord,
    shredded: view.shredded,
    fieldClasses: view.fields.confidential === undefined ? ['public'] : ['public', 'confidential'],
    fields: {
      public: view.fields.public,
      ...(view.fields.confidential === undefined ? {} : { confidential: view.fields.confidential }),
    },
  });
}

/** Whether the principal's role may change records at all (to offer the edit form). */
export function mayUpdate(principal: Principal): boolean {
  return (
    ACCESS_POLICY[principal.role].actions.update !== undefined &&
    (principal.actions === undefined || principal.actions.includes('update'))
  );
}

/** Whether the principal's role may export. */
export function mayExport(principal: Principal): boolean {
  return (
    ACCESS_POLICY[principal.role].actions.export !== undefined &&
    (principal.actions === undefined || principal.actions.includes('export'))
  );
}

// ---------------------------------------------------------------------------------------------
// Routes

/** What the API routes need. */
export interface OfficialsApiOptions {
  readonly context: WebContext;
  readonly csrf: Csrf;
}

/** Registers the JSON API under /api/v1 (authenticated by the hooks of officials-auth.ts). */
export function registerOfficialsApi(app: FastifyInstance, options: OfficialsApiOptions): void {
  const { context, csrf } = options;
  const callOf = (request: FastifyRequest): OfficialCall => ({
    context,
    principal: principalOf(request).principal,
    channel: 'api',
  });
  const json = (reply: FastifyReply, status: number, body: unknown): FastifyReply =>
    reply
      .code(status)
      .header('content-type', 'application/json; charset=utf-8')
      .header('cache-control', 'no-store')
      .send(JSON.stringify(body));

  app.get('/api/v1/me', (request, reply) => {
    const auth = principalOf(request);
    return json(
      reply,
      200,
      MeResponseSchema.parse({
        name: auth.principal.name,
        role: auth.principal.role,
        scope: [...scopeWords(auth.principal.scope)],
        purposes: [...PURPOSES],
        csrfToken: auth.via === 'session' ? csrf.token(request, reply) : null,
      }),
    );
  });

  app.post('/api/v1/voters/search', async (request, reply) => {
    const body = parse(SearchRequestSchema, request.body, 'search');
    const result = await searchAsOfficial(callOf(request), body);
    return json(
      reply,
      200,
      SearchResponseSchema.parse({
        results: result.hits,
        total: result.total,
        hasMore: result.hasMore,
        limit: result.limit,
        offset: result.offset,
      }),
    );
  });

  app.get('/api/v1/voters/:id', async (request, reply) => {
    const { id } = parse(VoterParamsSchema, request.params, 'voter id');
    const { purpose } = parse(ViewQuerySchema, request.query, 'query');
    const view = await viewAsOfficial(callOf(request), id, purpose);
    return json(reply, 200, recordResponse(view));
  });

  app.patch('/api/v1/voters/:id', async (request, reply) => {
    const { id } = parse(VoterParamsSchema, request.params, 'voter id');
    const body = parse(UpdateRequestSchema, request.body, 'change');
    const rowVersion = await updateAsOfficial(callOf(request), id, {
      purpose: body.purpose,
      reason: body.reason,
      ...(body.rowVersion === undefined ? {} : { rowVersion: body.rowVersion }),
      changes: {
        ...(body.changes.public === undefined ? {} : { public: body.changes.public }),
        ...(body.changes.confidential === undefined
          ? {}
          : { confidential: body.changes.confidential }),
        ...(body.changes.protected === undefined ? {} : { protected: body.changes.protected }),
      },
    });
    return json(reply, 200, UpdateResponseSchema.parse({ voterId: id, rowVersion }));
  });

  app.post('/api/v1/exports', async (request, reply) => {
    const body = parse(ExportRequestSchema, request.body, 'export');
    const file = await exportAsOfficial(callOf(request), body);
    return sendExport(reply, file);
  });
}
