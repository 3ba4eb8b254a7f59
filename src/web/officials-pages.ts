// The officials' pages: sign-in, search, a record (purpose first, then the fields by class, then
// the edit form) and the export form. Server-rendered, no script needed, no inline script or
// style; every form posts with its CSRF token (checked once, in officials-auth.ts). Every form
// field is attacker-controlled: parsed by zod with bounded lengths, and echoed only through the
// escaping `html` tag. Reads and changes go through the same operations as the API, with the
// channel `officials`, so each is one logged access event.
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { ACCESS_POLICY, LoginFailedError, PURPOSES, login } from '../access/index.ts';
import type { Principal, Purpose } from '../access/index.ts';
import { VotervaultError } from '../basics/index.ts';
import { roleIndex } from '../voters/index.ts';
import type { SearchResult, VoterLayout, VoterView } from '../voters/index.ts';
import type { WebContext } from './context.ts';
import { WebError } from './errors.ts';
import { html, page } from './html.ts';
import type { Html } from './html.ts';
import {
  deploymentLayout,
  EXPORT_LAYOUT_IDS,
  exportAsOfficial,
  ExportRequestSchema,
  MAX_FIELD_VALUE,
  MAX_REASON_LENGTH,
  mayExport,
  mayUpdate,
  searchAsOfficial,
  SearchRequestSchema,
  sendExport,
  updateAsOfficial,
  VoterParamsSchema,
  viewAsOfficial,
} from './officials-api.ts';
import type { OfficialCall, SearchRequest } from './officials-api.ts';
import { accessStore, principalOf, SESSION_COOKIE, signOut } from './officials-auth.ts';
import { cookieName, CSRF_FIELD, setCookie } from './security.ts';
import type { Csrf } from './security.ts';

/** What the pages need. */
export interface OfficialsPagesOptions {
  readonly context: WebContext;
  readonly csrf: Csrf;
  readonly tls: boolean;
}

/** The one answer to every failed sign-in: it never says which part was wrong. */
export const LOGIN_FAILED_MESSAGE =
  'The name, password or code is not right, or the account is locked for a while. Check them and try again.';

const ROLE_WORDS: Readonly<Record<string, string>> = {
  'state-admin': 'State administrator',
  'county-clerk': 'County clerk',
  'county-staff': 'County staff',
  auditor: 'Auditor',
  'api-client': 'Connected program',
};

const PURPOSE_WORDS: Readonly<Record<Purpose, string>> = {
  'voter-request': 'The voter asked',
  registration: 'Processing a registration application or change',
  'list-maintenance': 'List maintenance (duplicates, deaths, moves)',
  'election-administration': 'Poll books, ballots, petitions, provisional ballots',
  'public-records-request': 'A public records request',
  'legal-process': 'A court order or other legal process',
  audit: 'Audit of logged accesses',
  'incident-response': 'Investigating a suspected breach',
};

/** The sign-in form as posted. Attacker-controlled. */
const LoginFormSchema = z.object({
  name: z.string().max(200),
  password: z.string().max(1024),
  code: z.string().max(16),
});

const text = (max: number) => z.string().trim().max(max).optional().default('');

/** The search form as posted. Attacker-controlled. */
const SearchFormSchema = z.object({
  last: text(100),
  first: text(100),
  dob: text(10),
  zip: text(10),
  county: text(40),
  jurisdiction: text(16),
  offset: z
    .string()
    .regex(/^\d{1,5}$/)
    .optional()
    .default('0'),
});
type SearchForm = z.infer<typeof SearchFormSchema>;

const PurposeFieldSchema = z.union([z.enum(PURPOSES), z.literal('')]).optional();

/** The edit form as posted (besides the `f.<column>` fields). Attacker-controlled. */
const EditFormSchema = z.object({
  purpose: PurposeFieldSchema,
  reason: z.string().max(MAX_REASON_LENGTH).optional().default(''),
  rowVersion: z.string().regex(/^\d{1,9}$/),
});

/** The export form as posted. Attacker-controlled. */
const ExportFormSchema = z.object({
  purpose: PurposeFieldSchema,
  recipient: text(200),
  counties: text(2000),
  layout: z.union([z.enum(EXPORT_LAYOUT_IDS), z.literal('')]).optional(),
});

/** Prefix of the edit form's field inputs: `f.<column name>`. */
const FIELD_PREFIX = 'f.';
const COLUMN_NAME = /^[A-Za-z0-9][A-Za-z0-9_ .-]{0,99}$/;

/** Registers the pages on the officials' listener. */
export function registerOfficialsPages(app: FastifyInstance, options: OfficialsPagesOptions): void {
  const { context, csrf, tls } = options;
  const callOf = (request: FastifyRequest): OfficialCall => ({
    context,
    principal: principalOf(request).principal,
    channel: 'officials',
  });
  const send = (
    request: FastifyRequest,
    reply: FastifyReply,
    status: number,
    title: string,
    main: Html,
  ): FastifyReply =>
    sendHtml(
      reply,
      status,
      page({
        title,
        site: 'officials',
        main,
        nav: navigation(principalOf(request).principal, csrf.token(request, reply)),
      }),
    );

  app.get('/login', (request, reply) =>
    sendHtml(
      reply,
      200,
      page({ title: 'Sign in', site: 'officials', main: loginForm(csrf.token(request, reply)) }),
    ),
  );

  app.post('/login', async (request, reply) => {
    const form = LoginFormSchema.safeParse(request.body);
    try {
      if (!form.success) throw new LoginFailedError('unknown-name');
      const result = await login(accessStore(context), {
        name: form.data.name,
        password: form.data.password,
        code: form.data.code,
        client: request.ip,
      });
      setCookie(reply, cookieName(SESSION_COOKIE, tls), result.session, { tls });
      return reply.redirect('/search', 303);
    } catch (error) {
      if (!(error instanceof LoginFailedError)) throw error;
      // The reason is for the server's private log only; the page says the same every time.
      request.log.warn({ reason: error.reason }, 'sign-in failed');
      return sendHtml(
        reply,
        401,
        page({
          title: 'Sign in',
          site: 'officials',
          main: loginForm(csrf.token(request, reply), LOGIN_FAILED_MESSAGE),
        }),
      );
    }
  });

  app.post('/logout', async (request, reply) => {
    await signOut(context, request, reply, tls);
    return reply.redirect('/login', 303);
  });

  app.get('/', (_request, reply) => reply.redirect('/search', 303));

  app.get('/search', (request, reply) =>
    send(
      request,
      reply,
      200,
      'Search voters',
      searchForm(principalOf(request).principal, csrf.token(request, reply), {}),
    ),
  );

  app.post('/search', async (request, reply) => {
    const principal = principalOf(request).principal;
    const form = SearchFormSchema.safeParse(request.body);
    if (!form.success) {
      return send(
        request,
        reply,
        400,
        'Search voters',
        searchForm(principal, csrf.token(request, reply), {}, ['Check the search fields']),
      );
    }
    const problems = searchProblems(form.data);
    const parsed = SearchRequestSchema.safeParse(toSearchRequest(form.data));
    if (problems.length > 0 || !parsed.success) {
      return send(
        request,
        reply,
        400,
        'Search voters',
        searchForm(
          principal,
          csrf.token(request, reply),
          form.data,
          problems.length > 0 ? problems : ['Check the search fields'],
        ),
      );
    }
    let result: SearchResult;
    try {
      result = await searchAsOfficial(callOf(request), parsed.data);
    } catch (error) {
      if (!(error instanceof VotervaultError) || error.code !== 'LOOKUP_QUERY_INVALID') throw error;
      return send(
        request,
        reply,
        400,
        'Search voters',
        searchForm(principal, csrf.token(request, reply), form.data, [error.message]),
      );
    }
    const layout = await deploymentLayout(context);
    return send(
      request,
      reply,
      200,
      'Search voters',
      html`${searchForm(principal, csrf.token(request, reply), form.data)}${resultsTable(result, form.data, layout, csrf.token(request, reply))}`,
    );
  });

  app.get('/voters/:id', (request, reply) => {
    const { id } = voterParams(request);
    const saved = (request.query as Record<string, unknown>)['saved'];
    return send(
      request,
      reply,
      200,
      `Voter ${id}`,
      html`${
        typeof saved === 'string' && /^\d{1,9}$/.test(saved)
          ? html`<div class="notice success" role="status">
              <p>The change was saved as version ${saved}.</p>
            </div>`
          : ''
      }${purposeForm(id, csrf.token(request, reply))}`,
    );
  });

  app.post('/voters/:id/view', async (request, reply) => {
    const { id } = voterParams(request);
    const body = z.object({ purpose: PurposeFieldSchema }).safeParse(request.body);
    if (!body.success) throw invalidForm();
    const purpose = body.data.purpose === '' ? undefined : body.data.purpose;
    const view = await viewAsOfficial(callOf(request), id, purpose);
    const principal = principalOf(request).principal;
    return send(
      request,
      reply,
      200,
      `Voter ${id}`,
      recordHtml(view, {
        edit: mayUpdate(principal) && !view.shredded,
        purpose,
        token: csrf.token(request, reply),
      }),
    );
  });

  app.post('/voters/:id/edit', async (request, reply) => {
    const { id } = voterParams(request);
    const body = EditFormSchema.safeParse(request.body);
    if (!body.success) throw invalidForm();
    const posted = postedFields(request.body);
    const version = await updateAsOfficial(callOf(request), id, {
      purpose: body.data.purpose === '' ? undefined : body.data.purpose,
      reason: body.data.reason,
      rowVersion: Number(body.data.rowVersion),
      // Only the fields whose value differs from the stored one are changed.
      changes: (current) => {
        const changed: Record<string, string> = {};
        for (const [column, value] of posted) {
          if (value !== (current.fields.public[column] ?? '')) changed[column] = value;
        }
        return { public: changed };
      },
    });
    return reply.redirect(`/voters/${encodeURIComponent(id)}?saved=${version}`, 303);
  });

  app.get('/export', async (request, reply) => {
    const principal = principalOf(request).principal;
    const layout = await deploymentLayout(context);
    return send(
      request,
      reply,
      200,
      'Export the public roll',
      exportForm(principal, layout?.id, csrf.token(request, reply), {}),
    );
  });

  app.post('/export', async (request, reply) => {
    const principal = principalOf(request).principal;
    const form = ExportFormSchema.safeParse(request.body);
    const layout = await deploymentLayout(context);
    const problems: string[] = [];
    if (!form.success) problems.push('Check the export fields');
    else if (form.data.recipient === '') problems.push('Enter the receiving organisation');
    const counties = form.success ? form.data.counties.split(/[\s,]+/).filter((c) => c !== '') : [];
    const parsed = ExportRequestSchema.safeParse({
      ...(form.success && form.data.purpose !== '' && form.data.purpose !== undefined
        ? { purpose: form.data.purpose }
        : {}),
      recipient: form.success ? form.data.recipient : '',
      ...(counties.length === 0 ? {} : { counties }),
      ...(form.success && form.data.layout !== '' && form.data.layout !== undefined
        ? { layout: form.data.layout }
        : {}),
    });
    if (problems.length === 0 && !parsed.success)
      problems.push('Enter county codes as the voter file writes them');
    if (problems.length > 0 || !parsed.success) {
      return send(
        request,
        reply,
        400,
        'Export the public roll',
        exportForm(
          principal,
          layout?.id,
          csrf.token(request, reply),
          form.success ? form.data : {},
          problems,
        ),
      );
    }
    const file = await exportAsOfficial(callOf(request), parsed.data);
    return sendExport(reply, file);
  });
}

function sendHtml(reply: FastifyReply, status: number, body: string): FastifyReply {
  return reply
    .code(status)
    .header('content-type', 'text/html; charset=utf-8')
    .header('cache-control', 'no-store')
    .send(body);
}

function voterParams(request: FastifyRequest): { readonly id: string } {
  const parsed = VoterParamsSchema.safeParse(request.params);
  if (!parsed.success) throw new WebError('NOT_FOUND', 'There is no voter with such an id');
  return parsed.data;
}

function invalidForm(): WebError {
  return new WebError('REQUEST_INVALID', 'Cannot accept the form: a field is missing or too long');
}

/** The `f.<column>` fields of the edit form, checked: known shape, bounded values. */
function postedFields(body: unknown): [string, string][] {
  if (typeof body !== 'object' || body === null) return [];
  const out: [string, string][] = [];
  for (const [key, value] of Object.entries(body)) {
    if (!key.startsWith(FIELD_PREFIX)) continue;
    const column = key.slice(FIELD_PREFIX.length);
    if (!COLUMN_NAME.test(column) || typeof value !== 'string' || value.length > MAX_FIELD_VALUE) {
      throw invalidForm();
    }
    out.push([column, value.trim()]);
  }
  if (out.length > 200) throw invalidForm();
  return out;
}

/** The header's navigation: the pages, who is signed in, and the sign-out button. */
export function navigation(principal: Principal, token: string): Html {
  return html`<nav aria-label="Officials">
      <ul>
        <li><a href="/search">Search voters</a></li>
        ${mayExport(principal) ? html`<li><a href="/export">Export</a></li>` : ''}
        ${mayPublishResults(principal) ? html`<li><a href="/results">Results</a></li>` : ''}
      </ul>
    </nav>
    <div class="signed-in">
      <p>
        Signed in as <strong>${principal.name}</strong>,
        ${ROLE_WORDS[principal.role] ?? principal.role}
        (${principal.scope.kind === 'state' ? 'statewide' : `counties ${principal.scope.counties.join(', ')}`})
      </p>
      <form method="post" action="/logout" class="inline">
        <input type="hidden" name="${CSRF_FIELD}" value="${token}" />
        <button type="submit" class="secondary">Sign out</button>
      </form>
    </div>`;
}

function problemsHtml(problems: readonly string[]): Html {
  if (problems.length === 0) return html``;
  return html`<div class="problems" role="alert">
    <h2>There is a problem</h2>
    <ul>
      ${problems.map((p) => html`<li>${p}</li>`)}
    </ul>
  </div>`;
}

function loginForm(token: string, problem?: string): Html {
  return html`${problem === undefined ? '' : problemsHtml([problem])}
    <form method="post" action="/login" class="login">
      <input type="hidden" name="${CSRF_FIELD}" value="${token}" />
      <div class="field">
        <label for="name">Login name</label>
        <input id="name" name="name" autocomplete="username" required maxlength="64" />
      </div>
      <div class="field">
        <label for="password">Password</label>
        <input
          id="password"
          name="password"
          type="password"
          autocomplete="current-password"
          required
          maxlength="1024"
        />
      </div>
      <div class="field">
        <label for="code">Code from your authenticator app</label>
        <p class="hint" id="code-hint">6 digits</p>
        <input
          id="code"
          name="code"
          inputmode="numeric"
          autocomplete="one-time-code"
          required
          maxlength="7"
          aria-describedby="code-hint"
        />
      </div>
      <button type="submit">Sign in</button>
    </form>`;
}

function purposeOptions(selected: Purpose | undefined): Html {
  return html`<option value="">Choose a purpose</option>
    ${PURPOSES.map(
      (p) =>
        html`<option value="${p}" ${selected === p ? html` selected` : ''}>
          ${PURPOSE_WORDS[p]}
        </option>`,
    )}`;
}

function purposeField(selected: Purpose | undefined): Html {
  return html`<div class="field">
    <label for="purpose">Purpose</label>
    <p class="hint" id="purpose-hint">
      Why you use this record. It goes into the public log with your official id.
    </p>
    <select id="purpose" name="purpose" required aria-describedby="purpose-hint">
      ${purposeOptions(selected)}
    </select>
  </div>`;
}

function searchProblems(form: SearchForm): string[] {
  const problems: string[] = [];
  if (form.last === '') problems.push('Enter the last name');
  if (form.first === '') problems.push('Enter the first name');
  if (!/^\d{4}(?:-\d{2}-\d{2})?$/.test(form.dob)) {
    problems.push('Enter the date of birth as a year (1980) or year-month-day (1980-04-23)');
  }
  if (form.zip === '' && form.county === '') problems.push('Enter a ZIP code or a county name');
  return problems;
}

function toSearchRequest(form: SearchForm): SearchRequest {
  return {
    last: form.last,
    first: form.first,
    dob: form.dob,
    ...(form.zip === '' ? {} : { zip: form.zip }),
    ...(form.county === '' ? {} : { county: form.county }),
    ...(form.jurisdiction === '' ? {} : { jurisdiction: form.jurisdiction }),
    offset: Number(form.offset),
  };
}

function searchForm(
  principal: Principal,
  token: string,
  values: Partial<SearchForm>,
  problems: readonly string[] = [],
): Html {
  const { scope } = principal;
  const jurisdiction =
    scope.kind === 'state'
      ? html`<div class="field">
          <label for="jurisdiction">County code</label>
          <p class="hint" id="jurisdiction-hint">Leave blank to search the whole state</p>
          <input
            id="jurisdiction"
            name="jurisdiction"
            maxlength="16"
            value="${values.jurisdiction ?? ''}"
            aria-describedby="jurisdiction-hint"
          />
        </div>`
      : scope.counties.length > 1
        ? html`<div class="field">
            <label for="jurisdiction">County</label>
            <select id="jurisdiction" name="jurisdiction" required>
              ${scope.counties.map(
                (c) =>
                  html`<option value="${c}" ${values.jurisdiction === c ? html` selected` : ''}>
                    ${c}
                  </option>`,
              )}
            </select>
          </div>`
        : '';
  return html`${problemsHtml(problems)}
    <form method="post" action="/search" class="search" novalidate>
      <input type="hidden" name="${CSRF_FIELD}" value="${token}" />
      <div class="field">
        <label for="last">Last name</label>
        <input id="last" name="last" required maxlength="100" value="${values.last ?? ''}" />
      </div>
      <div class="field">
        <label for="first">First name</label>
        <input id="first" name="first" required maxlength="100" value="${values.first ?? ''}" />
      </div>
      <div class="field">
        <label for="dob">Date of birth or birth year</label>
        <p class="hint" id="dob-hint">
          For example 1980-04-23, or 1980 for records that hold only the year
        </p>
        <input
          id="dob"
          name="dob"
          required
          maxlength="10"
          value="${values.dob ?? ''}"
          aria-describedby="dob-hint"
        />
      </div>
      <div class="field">
        <label for="zip">ZIP code</label>
        <input id="zip" name="zip" inputmode="numeric" maxlength="10" value="${values.zip ?? ''}" />
      </div>
      <div class="field">
        <label for="county">Or county name</label>
        <input id="county" name="county" maxlength="40" value="${values.county ?? ''}" />
      </div>
      ${jurisdiction}
      <button type="submit">Search</button>
    </form>`;
}

function resultsTable(
  result: SearchResult,
  form: SearchForm,
  layout: VoterLayout | undefined,
  token: string,
): Html {
  if (result.total === 0) {
    return html`<div class="notice" role="status">
      <h2>No voters found</h2>
      <p>
        Check the spelling and the date of birth, or try the county name instead of the ZIP code.
      </p>
    </div>`;
  }
  const roles = layout === undefined ? undefined : roleIndex(layout);
  const valueOf = (
    fields: Readonly<Record<string, string>>,
    role: 'lastName' | 'firstName' | 'middleName' | 'residenceAddress' | 'residenceCity',
  ): string => {
    const index = roles?.get(role)?.[0];
    const column = index === undefined ? undefined : layout?.columns[index];
    return column === undefined ? '' : (fields[column.name] ?? '');
  };
  const first = result.offset + 1;
  const last = result.offset + result.hits.length;
  const rows = result.hits.map(
    (hit) =>
      html`<tr>
        <td><a href="/voters/${encodeURIComponent(hit.voterId)}">${hit.voterId}</a></td>
        <td>
          ${[valueOf(hit.publicFields, 'lastName'), valueOf(hit.publicFields, 'firstName'), valueOf(hit.publicFields, 'middleName')].filter((v) => v !== '').join(', ')}
        </td>
        <td>
          ${[valueOf(hit.publicFields, 'residenceAddress'), valueOf(hit.publicFields, 'residenceCity')].filter((v) => v !== '').join(', ')}
        </td>
        <td>${hit.jurisdiction}</td>
        <td>${hit.status}</td>
        <td>${hit.precinct}</td>
      </tr>`,
  );
  const next = result.hasMore
    ? html`<form method="post" action="/search" class="inline">
        <input type="hidden" name="${CSRF_FIELD}" value="${token}" />
        ${(['last', 'first', 'dob', 'zip', 'county', 'jurisdiction'] as const).map(
          (name) => html`<input type="hidden" name="${name}" value="${form[name]}" />`,
        )}
        <input type="hidden" name="offset" value="${result.offset + result.limit}" />
        <button type="submit" class="secondary">Next ${result.limit} voters</button>
      </form>`
    : '';
  return html`<section aria-labelledby="results-heading">
    <h2 id="results-heading">${result.total} ${result.total === 1 ? 'voter' : 'voters'} found</h2>
    <table>
      <caption>
        Voters ${first} to ${last} of ${result.total}, by voter id
      </caption>
      <thead>
        <tr>
          <th scope="col">Voter id</th>
          <th scope="col">Name</th>
          <th scope="col">Residence</th>
          <th scope="col">County</th>
          <th scope="col">Status</th>
          <th scope="col">Precinct</th>
        </tr>
      </thead>
      <tbody>
        ${rows}
      </tbody>
    </table>
    ${next}
  </section>`;
}

function purposeForm(id: string, token: string): Html {
  return html`<p>Opening a record is written to the public log, with the purpose you choose.</p>
    <form method="post" action="/voters/${encodeURIComponent(id)}/view">
      <input type="hidden" name="${CSRF_FIELD}" value="${token}" />
      ${purposeField(undefined)}
      <button type="submit">Open the record</button>
    </form>`;
}

const CLASS_TITLES = { public: 'Public fields', confidential: 'Confidential fields' } as const;

function recordHtml(
  view: VoterView,
  options: {
    readonly edit: boolean;
    readonly purpose: Purpose | undefined;
    readonly token: string;
  },
): Html {
  const sections = (['public', 'confidential'] as const).map((fieldClass) => {
    const fields = view.fields[fieldClass];
    if (fields === undefined) return '';
    const entries = Object.entries(fields).sort(([a], [b]) => a.localeCompare(b));
    return html`<section aria-labelledby="class-${fieldClass}">
      <h2 id="class-${fieldClass}">${CLASS_TITLES[fieldClass]}</h2>
      ${
        entries.length === 0
          ? html`<p>None recorded.</p>`
          : html`<table>
              <caption>
                ${CLASS_TITLES[fieldClass]} of voter ${view.voterId}
              </caption>
              <thead>
                <tr>
                  <th scope="col">Field</th>
                  <th scope="col">Value</th>
                </tr>
              </thead>
              <tbody>
                ${entries.map(
                  ([name, value]) =>
                    html`<tr>
                      <th scope="row">${name}</th>
                      <td>${value}</td>
                    </tr>`,
                )}
              </tbody>
            </table>`
      }
    </section>`;
  });
  const editable = Object.entries(view.fields.public).sort(([a], [b]) => a.localeCompare(b));
  const edit = options.edit
    ? html`<section aria-labelledby="edit-heading">
        <h2 id="edit-heading">Change public fields</h2>
        <form method="post" action="/voters/${encodeURIComponent(view.voterId)}/edit">
          <input type="hidden" name="${CSRF_FIELD}" value="${options.token}" />
          <input type="hidden" name="rowVersion" value="${view.rowVersion}" />
          ${editable.map(
            ([name, value], i) =>
              html`<div class="field">
                <label for="field-${i}">${name}</label>
                <input
                  id="field-${i}"
                  name="${FIELD_PREFIX}${name}"
                  value="${value}"
                  maxlength="${MAX_FIELD_VALUE}"
                />
              </div>`,
          )}
          ${purposeField(options.purpose)}
          <div class="field">
            <label for="reason">Reason for the change</label>
            <p class="hint" id="reason-hint">Kept with the record for the office; not published.</p>
            <textarea
              id="reason"
              name="reason"
              required
              maxlength="${MAX_REASON_LENGTH}"
              aria-describedby="reason-hint"
            ></textarea>
          </div>
          <button type="submit">Save the change</button>
        </form>
      </section>`
    : '';
  return html`<dl class="facts">
      <dt>Voter id</dt>
      <dd>${view.voterId}</dd>
      <dt>County</dt>
      <dd>${view.jurisdiction}</dd>
      <dt>Status</dt>
      <dd>${view.status}${view.removed ? ' (removed from the roll)' : ''}</dd>
      <dt>Precinct</dt>
      <dd>${view.precinct === '' ? 'Not shown' : view.precinct}</dd>
      <dt>Version</dt>
      <dd>${view.rowVersion}</dd>
      ${
        view.confidentialRecord
          ? html`<dt>Address confidentiality</dt>
              <dd>In a confidentiality program</dd>`
          : ''
      }
      ${
        view.shredded
          ? html`<dt>Sealed fields</dt>
              <dd>Destroyed</dd>`
          : ''
      }
    </dl>
    ${sections} ${edit}`;
}

function exportForm(
  principal: Principal,
  defaultLayout: string | undefined,
  token: string,
  values: Partial<z.infer<typeof ExportFormSchema>>,
  problems: readonly string[] = [],
): Html {
  if (!mayExport(principal)) {
    return html`<div class="notice" role="status">
      <p>Your role cannot export the roll. Ask a county clerk or the state office.</p>
    </div>`;
  }
  const { scope } = principal;
  const counties =
    scope.kind === 'state'
      ? html`<div class="field">
          <label for="counties">County codes</label>
          <p class="hint" id="counties-hint">
            Separated by spaces; leave blank for the whole state
          </p>
          <input
            id="counties"
            name="counties"
            maxlength="2000"
            value="${values.counties ?? ''}"
            aria-describedby="counties-hint"
          />
        </div>`
      : html`<div class="field">
          <label for="counties">County</label>
          <select id="counties" name="counties" required>
            ${scope.counties.map(
              (c) =>
                html`<option value="${c}" ${values.counties === c ? html` selected` : ''}>
                  ${c}
                </option>`,
            )}
          </select>
        </div>`;
  const chosen =
    values.layout === undefined || values.layout === '' ? defaultLayout : values.layout;
  return html`${problemsHtml(problems)}
    <p>
      An export holds public fields only. Each file is marked for its recipient, and the export is
      written to the public log with the recipient and the purpose.
    </p>
    <form method="post" action="/export">
      <input type="hidden" name="${CSRF_FIELD}" value="${token}" />
      ${purposeField(values.purpose === '' ? undefined : values.purpose)}
      <div class="field">
        <label for="recipient">Receiving organisation</label>
        <p class="hint" id="recipient-hint">
          Published in the log: an organisation’s name, never a person’s
        </p>
        <input
          id="recipient"
          name="recipient"
          required
          maxlength="200"
          value="${values.recipient ?? ''}"
          aria-describedby="recipient-hint"
        />
      </div>
      ${counties}
      <div class="field">
        <label for="layout">File layout</label>
        <select id="layout" name="layout">
          ${EXPORT_LAYOUT_IDS.map(
            (id) =>
              html`<option value="${id}" ${chosen === id ? html` selected` : ''}>${id}</option>`,
          )}
        </select>
      </div>
      <button type="submit">Download the export</button>
    </form>`;
}

/** The page an official sees for an error (refused, not found, log down). */
export function officialsErrorPage(error: Error, status: number): string {
  const message =
    error instanceof VotervaultError
      ? error.message
      : 'The server could not complete the request. Try again in a few minutes.';
  const title =
    status === 403
      ? 'Not allowed'
      : status === 404
        ? 'Not found'
        : status === 429
          ? 'Please wait a moment'
          : status === 409
            ? 'The record changed'
            : 'Something went wrong';
  return page({
    site: 'officials',
    title,
    main: html`<div class="notice" role="alert"><p>${message}</p></div>
      <p><a href="/search">Back to the search</a></p>`,
  });
}

/** Whether the role publishes results, and so sees what publications withhold. */
export function mayPublishResults(principal: Principal): boolean {
  return ACCESS_POLICY[principal.role].actions['publish-results'] !== undefined;
}
