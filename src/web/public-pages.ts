// The voters' site: "Am I registered? Where do I vote?" and "Who accessed my record". Both
// answer only someone who knows a voter's name, date of birth and ZIP code or county; both are
// logged (channel `public`) before they answer, so scraping shows up in the public log.
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { accessHistory, indexAccessLog } from '../access/index.ts';
import type { SubjectTag } from '../crypto/index.ts';
import {
  canonicalJsonBytes,
  createFsTileReader,
  inclusionProof,
  readEntryBundle,
} from '../tlog/index.ts';
import { lookupVoter } from '../voters/index.ts';
import type { LookupAnswer, LookupQuery } from '../voters/index.ts';
import type { WebContext } from './context.ts';
import { WebError } from './errors.ts';
import { html, page } from './html.ts';
import type { Html } from './html.ts';
import { CSRF_FIELD } from './security.ts';
import type { Csrf, RateLimiter } from './security.ts';
import { describeEntry } from './log-entries.ts';

/** Entries per tile bundle (C2SP tlog-tiles). */
const BUNDLE_WIDTH = 256;
/** Most access events one history page lists, newest first. */
export const HISTORY_PAGE_SIZE = 50;

/** The lookup form as posted. Attacker-controlled: every field bounded and shaped here. */
const LookupFormSchema = z.object({
  last: z.string().trim().min(1, 'Enter your last name').max(100),
  first: z.string().trim().min(1, 'Enter your first name').max(100),
  dob: z
    .string()
    .trim()
    .regex(/^\d{4}-\d{2}-\d{2}$/, 'Enter your date of birth as year-month-day, like 1980-04-23'),
  zip: z
    .string()
    .trim()
    .max(10)
    .regex(/^(?:\d{5}(?:-?\d{4})?)?$/, 'Enter a 5-digit ZIP code'),
  county: z.string().trim().max(40),
  [CSRF_FIELD]: z.string().max(200).optional(),
});

type LookupForm = z.infer<typeof LookupFormSchema>;

/** What the public routes need besides the context. */
export interface PublicPagesOptions {
  readonly context: WebContext;
  readonly csrf: Csrf;
  /** Lookups and history checks per client address. */
  readonly lookupLimiter: RateLimiter;
}

const NAV = html`<nav aria-label="Site">
  <ul>
    <li><a href="/">Am I registered?</a></li>
    <li><a href="/history">Who accessed my record</a></li>
    <li><a href="/results/">Election results</a></li>
  </ul>
</nav>`;

/** Registers the voters' pages on the public listener. */
export function registerPublicPages(app: FastifyInstance, options: PublicPagesOptions): void {
  const { context, csrf, lookupLimiter } = options;

  app.get('/', (request, reply) =>
    sendPage(reply, 200, {
      title: 'Am I registered? Where do I vote?',
      main: lookupForm({ action: '/lookup', token: csrf.token(request, reply) }),
    }),
  );

  app.get('/history', (request, reply) =>
    sendPage(reply, 200, {
      title: 'Who accessed my record',
      main: html`<p>
          Every time an election official, a program or the public lookup opened your record, the
          office wrote a line about it to a public log that nobody can change without being caught.
          Enter the same details as for the registration check to see those lines.
        </p>
        ${lookupForm({ action: '/history', token: csrf.token(request, reply), submit: 'Show who accessed my record' })}`,
    }),
  );

  app.post('/lookup', async (request, reply) => {
    const form = await checkedForm(request, reply, '/lookup');
    if (form === undefined) return reply;
    const { answer } = await lookup(form);
    return sendPage(reply, 200, {
      title: 'Your registration',
      main: answerHtml(answer, form, csrf.token(request, reply)),
    });
  });

  app.post('/history', async (request, reply) => {
    const form = await checkedForm(request, reply, '/history');
    if (form === undefined) return reply;
    const { answer, subject } = await lookup(form);
    if (answer.status !== 'found' || subject === undefined) {
      return sendPage(reply, 200, {
        title: 'Who accessed my record',
        main: notFoundHtml(),
      });
    }
    return sendPage(reply, 200, {
      title: 'Who accessed my record',
      // The command shown to voters names the log at the address they reached it by.
      main: await historyHtml(context, subject, `${request.protocol}://${request.host}/log/`),
      scripts: ['log-proof.js', 'verify.js'],
    });
  });

  /**
   * Validates a posted form: rate limit first (so failures count too), then CSRF, then the
   * fields. On a field error the form is shown again with the messages; returns undefined then.
   */
  async function checkedForm(
    request: FastifyRequest,
    reply: FastifyReply,
    action: string,
  ): Promise<LookupForm | undefined> {
    lookupLimiter.hit(request.ip);
    csrf.checkForm(request);
    const parsed = LookupFormSchema.safeParse(request.body);
    let problems: string[] = [];
    if (!parsed.success) {
      problems = parsed.error.issues.map((issue) => issue.message);
    } else if (parsed.data.zip === '' && parsed.data.county === '') {
      problems = ['Enter your ZIP code or your county'];
    }
    if (problems.length > 0 || !parsed.success) {
      await sendPage(reply, 400, {
        title: 'Check your details',
        main: lookupForm({ action, token: csrf.token(request, reply), problems }),
      });
      return undefined;
    }
    return parsed.data;
  }

  async function lookup(form: LookupForm) {
    const query: LookupQuery = {
      last: form.last,
      first: form.first,
      dob: form.dob,
      ...(form.zip === '' ? {} : { zip: form.zip }),
      ...(form.county === '' ? {} : { county: form.county }),
    };
    return lookupVoter(context.handle, context.ring, query, {
      channel: 'public',
      appendLog: async (entry) => {
        await context.log.append(canonicalJsonBytes(entry));
      },
      ...(context.now === undefined ? {} : { now: context.now }),
    });
  }
}

function sendPage(
  reply: FastifyReply,
  status: number,
  options: { readonly title: string; readonly main: Html; readonly scripts?: readonly string[] },
): FastifyReply {
  return reply
    .code(status)
    .header('content-type', 'text/html; charset=utf-8')
    .header('cache-control', 'no-store')
    .send(page({ ...options, site: 'public', nav: NAV }));
}

function lookupForm(options: {
  readonly action: string;
  readonly token: string;
  readonly submit?: string;
  readonly problems?: readonly string[];
}): Html {
  const problems = options.problems ?? [];
  return html`${
      problems.length > 0
        ? html`<div class="problems" role="alert">
            <h2>Please check</h2>
            <ul>
              ${problems.map((p) => html`<li>${p}</li>`)}
            </ul>
          </div>`
        : ''
    }
    <form method="post" action="${options.action}" class="lookup" novalidate>
      <input type="hidden" name="${CSRF_FIELD}" value="${options.token}" />
      <p class="hint">
        Enter your details as they appear on your registration. We do not keep what you type.
      </p>
      <div class="field">
        <label for="last">Last name</label>
        <input id="last" name="last" autocomplete="family-name" required maxlength="100" />
      </div>
      <div class="field">
        <label for="first">First name</label>
        <input id="first" name="first" autocomplete="given-name" required maxlength="100" />
      </div>
      <div class="field">
        <label for="dob">Date of birth</label>
        <p class="hint" id="dob-hint">Year, month and day, for example 1980-04-23</p>
        <input
          id="dob"
          name="dob"
          type="date"
          autocomplete="bday"
          required
          aria-describedby="dob-hint"
        />
      </div>
      <div class="field">
        <label for="zip">ZIP code of your home address</label>
        <input id="zip" name="zip" inputmode="numeric" autocomplete="postal-code" maxlength="10" />
      </div>
      <div class="field">
        <label for="county">Or your county</label>
        <p class="hint" id="county-hint">Only if you do not know your ZIP code</p>
        <input id="county" name="county" maxlength="40" aria-describedby="county-hint" />
      </div>
      <button type="submit">${options.submit ?? 'Check my registration'}</button>
    </form>`;
}

function notFoundHtml(): Html {
  return html`<div class="notice" role="status">
      <h2>We could not find exactly one registration with those details</h2>
      <p>
        Check the spelling of your name and your date of birth, or try your county instead of your
        ZIP code. If you moved or changed your name, your registration may be under your former
        details. Your county board of elections can help.
      </p>
    </div>
    <p><a href="/">Try again</a></p>`;
}

function answerHtml(answer: LookupAnswer, form: LookupForm, token: string): Html {
  if (answer.status !== 'found') return notFoundHtml();
  const place = answer.pollingPlace;
  return html`<div class="notice success" role="status">
      <h2>You are registered to vote</h2>
      <dl class="facts">
        <dt>Registration status</dt>
        <dd>${statusText(answer.voterStatus)}</dd>
        <dt>Precinct</dt>
        <dd>${answer.precinct === '' ? 'Not assigned' : answer.precinct}</dd>
        <dt>Where you vote on election day</dt>
        <dd>
          ${place === null ? 'Ask your county board of elections' : html`${place.name}<br />${place.address}`}
        </dd>
      </dl>
    </div>
    <form method="post" action="/history" class="inline">
      <input type="hidden" name="${CSRF_FIELD}" value="${token}" />
      <input type="hidden" name="last" value="${form.last}" />
      <input type="hidden" name="first" value="${form.first}" />
      <input type="hidden" name="dob" value="${form.dob}" />
      <input type="hidden" name="zip" value="${form.zip}" />
      <input type="hidden" name="county" value="${form.county}" />
      <button type="submit" class="secondary">See who accessed my record</button>
    </form>`;
}

const STATUS_WORDS: Readonly<Record<string, string>> = {
  A: 'Active',
  ACTIVE: 'Active',
  I: 'Inactive',
  INACTIVE: 'Inactive',
  S: 'Temporary',
  TEMPORARY: 'Temporary',
};

function statusText(status: string): string {
  return STATUS_WORDS[status.toUpperCase()] ?? status;
}

/**
 * The voter's access history: catches the subject index up to the log's checkpoint, reads each
 * entry naming the voter, and proves each one included in that signed checkpoint. The proofs
 * and the checkpoint go into the page for verify.js to check in the browser.
 */
async function historyHtml(
  context: WebContext,
  subject: SubjectTag,
  logUrl: string,
): Promise<Html> {
  const note = context.log.checkpoint();
  const size = context.log.size;
  await indexAccessLog(context.handle, { logDir: context.logDir, size });
  const indices = (
    await accessHistory(context.handle, subject, { limit: HISTORY_PAGE_SIZE })
  ).filter((index) => index < size);
  const readTile = createFsTileReader(context.logDir);
  const bundles = new Map<number, Uint8Array[]>();
  const items: Html[] = [];
  for (const index of indices) {
    const bundleIndex = Math.floor(index / BUNDLE_WIDTH);
    let bundle = bundles.get(bundleIndex);
    if (bundle === undefined) {
      const width = Math.min(BUNDLE_WIDTH, size - bundleIndex * BUNDLE_WIDTH);
      bundle = await readEntryBundle(context.logDir, bundleIndex, width);
      bundles.set(bundleIndex, bundle);
    }
    const entry = bundle[index % BUNDLE_WIDTH];
    if (entry === undefined) continue;
    const proof = await inclusionProof(index, size, readTile);
    const described = describeEntry(entry);
    items.push(
      html`<li
        class="event"
        data-index="${index}"
        data-entry="${Buffer.from(entry).toString('base64')}"
        data-proof="${proof.map((h) => Buffer.from(h).toString('base64')).join(' ')}"
      >
        <p class="what"><strong>${described.summary}</strong></p>
        <p class="when">${described.time}</p>
        <p class="who">${described.who}</p>
        <p class="proof-status" data-role="status">
          Log entry ${index}. Not checked yet: this browser checks the proof when scripts run.
        </p>
        <details>
          <summary>The log entry and its proof</summary>
          <pre>${Buffer.from(entry).toString('utf8')}</pre>
          <p>
            Inclusion proof (${proof.length} hashes) to the checkpoint of ${size} entries. Check it
            yourself with
            <code>votervault log proof inclusion --index ${index} --size ${size}</code> on a copy of
            the log, or verify the whole log with
            <code
              >votervault log verify --url ${logUrl} --vkey ${context.verifierKeys[0] ?? ''}</code
            >.
          </p>
        </details>
      </li>`,
    );
  }
  return html`<p>
      These are the times your record was looked up or opened, newest first. Each line is proved to
      be in the public log, checked by this page against the log's signed checkpoint.
    </p>
    <section
      id="proofs"
      data-checkpoint="${note}"
      data-vkey="${context.verifierKeys[0] ?? ''}"
      aria-live="polite"
    >
      <p id="checkpoint-status" class="proof-status">
        Signed checkpoint of ${size} entries. Not checked yet.
      </p>
      ${
        items.length === 0
          ? html`<p>Nobody has accessed your record yet.</p>`
          : html`<ol class="events">
              ${items}
            </ol>`
      }
    </section>`;
}

/** Turns a web error into the page a voter sees (rate limit, CSRF, log down). */
export function publicErrorPage(error: WebError | Error, status: number): string {
  const message =
    error instanceof WebError
      ? error.message
      : 'We cannot answer right now. Please try again in a few minutes.';
  return page({
    site: 'public',
    nav: NAV,
    title: status === 429 ? 'Please wait a moment' : 'Something went wrong',
    main: html`<div class="notice" role="alert"><p>${message}</p></div>
      <p><a href="/">Back to the start</a></p>`,
  });
}
