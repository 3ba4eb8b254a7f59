// Server-rendered HTML without a template engine: a tagged template that escapes every
// interpolated value unless it is already markup made by this tag. Pages carry no inline script
// or style (the Content-Security-Policy forbids both); behaviour comes from /assets/*.js.

const HTML_BRAND = Symbol('html');

/** Markup built by {@link html}: safe to interpolate into more markup as it is. */
export interface Html {
  readonly [HTML_BRAND]: true;
  readonly text: string;
}

const ESCAPES: Readonly<Record<string, string>> = {
  '&': '&amp;',
  '<': '&lt;',
  '>': '&gt;',
  '"': '&quot;',
  "'": '&#39;',
};

/** Escapes text for an HTML text node or a quoted attribute value. */
export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ESCAPES[c] ?? c);
}

function isHtml(value: unknown): value is Html {
  return typeof value === 'object' && value !== null && HTML_BRAND in value;
}

/** An interpolated value: text (escaped), markup, a list of either, or nothing. */
export type HtmlValue = string | number | Html | readonly HtmlValue[] | undefined | null | false;

function render(value: HtmlValue): string {
  if (value === undefined || value === null || value === false) return '';
  if (Array.isArray(value)) return (value as readonly HtmlValue[]).map(render).join('');
  if (isHtml(value)) return value.text;
  return escapeHtml(typeof value === 'number' ? String(value) : (value as string));
}

/**
 * Tagged template for markup. Attacker-controlled values (anything from a request, the
 * database or the log) are escaped; only other `html` results pass through.
 */
export function html(strings: TemplateStringsArray, ...values: readonly HtmlValue[]): Html {
  let text = strings[0] ?? '';
  for (let i = 0; i < values.length; i += 1) text += render(values[i]) + (strings[i + 1] ?? '');
  return { [HTML_BRAND]: true, text };
}

/** Markup from a constant string of this code (never from input). */
export function trustedHtml(text: string): Html {
  return { [HTML_BRAND]: true, text };
}

/** What a page shows around its content. */
export interface PageOptions {
  readonly title: string;
  /** Which site the page belongs to: the voters' or the officials'. */
  readonly site: 'public' | 'officials';
  readonly main: Html;
  /** Links in the header; the current page first. */
  readonly nav?: Html;
  /** Scripts under /assets/ to load (deferred). */
  readonly scripts?: readonly string[];
}

const SITE_NAMES = {
  public: 'Voter information',
  officials: 'Voter roll — election officials',
} as const;

/** A whole page: language, viewport, one stylesheet, a skip link, header, main and footer. */
export function page(options: PageOptions): string {
  const scripts = (options.scripts ?? []).map(
    (src) => html`<script src="/assets/${src}" defer></script>`,
  );
  return `<!doctype html>\n${
    html`<html lang="en">
      <head>
        <meta charset="utf-8" />
        <meta name="viewport" content="width=device-width, initial-scale=1" />
        <title>${options.title} — ${SITE_NAMES[options.site]}</title>
        <link rel="stylesheet" href="/assets/site.css" />
        <link rel="icon" href="data:," />
        ${scripts}
      </head>
      <body class="site-${options.site}">
        <a class="skip" href="#main">Skip to main content</a>
        <header class="masthead">
          <p class="site-name">${SITE_NAMES[options.site]}</p>
          ${options.nav ?? ''}
        </header>
        <main id="main" tabindex="-1">
          <h1>${options.title}</h1>
          ${options.main}
        </main>
        <footer>
          <p>
            Every look at a voter record is written to a public, tamper-evident log.
            ${
              options.site === 'public'
                ? html`<a href="/log/checkpoint">Current log checkpoint</a>.`
                : 'Yours included: with your role, your official id and the purpose you state.'
            }
          </p>
        </footer>
      </body>
    </html> `.text
  }`;
}
