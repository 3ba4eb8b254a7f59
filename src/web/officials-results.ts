// The office's own view of published results: what each publication withheld from the public
// to protect ballot secrecy, and why, with the counts the public never sees. Results hold no
// personal data, so reading them is not an access event; only roles that publish results see it.
import type { FastifyInstance } from 'fastify';
import { electionResults, loadElection, publishedElections } from '../results/index.ts';
import type { ContestResults } from '../results/index.ts';
import type { WebContext } from './context.ts';
import { WebError } from './errors.ts';
import { html, page } from './html.ts';
import type { Html } from './html.ts';
import { principalOf } from './officials-auth.ts';
import { mayPublishResults, navigation } from './officials-pages.ts';
import type { Csrf } from './security.ts';

const SUPPRESSION_WORDS = {
  'small-unit': 'fewer ballots than the threshold',
  complementary: 'combined too, so the small unit cannot be worked out by subtraction',
} as const;

/** Registers `GET /results` on the officials' listener. */
export function registerOfficialsResults(
  app: FastifyInstance,
  options: { readonly context: WebContext; readonly csrf: Csrf },
): void {
  const { context, csrf } = options;
  app.get('/results', async (request, reply) => {
    const { principal } = principalOf(request);
    if (!mayPublishResults(principal)) {
      throw new WebError('NOT_FOUND', 'There is no page at this address');
    }
    const sections: Html[] = [];
    for (const { electionId, latestSequence } of await publishedElections(context.handle)) {
      const data = await loadElection(context.handle, electionId);
      const office = electionResults(data, { view: 'office' });
      const withheld = office.contests.flatMap((contest) => withheldRows(contest));
      sections.push(
        html`<section aria-labelledby="e-${electionId}">
          <h2 id="e-${electionId}">${office.election.name}</h2>
          <p>
            Publication ${latestSequence}; public page
            <a href="/results/${electionId}/">/results/${electionId}/</a> on the voters' site.
            Reporting units with fewer than ${office.smallUnitBallots} ballots are combined with
            others of their county in every public output.
          </p>
          ${
            withheld.length === 0
              ? html`<p>Nothing is withheld from the public in this election.</p>`
              : html`<div class="table-scroll">
                  <table>
                    <caption>
                      Counts withheld from the public, ${withheld.length} rows
                    </caption>
                    <thead>
                      <tr>
                        <th scope="col">Contest</th>
                        <th scope="col">Reporting unit</th>
                        <th scope="col">Ballots</th>
                        <th scope="col">Votes by choice</th>
                        <th scope="col">Why</th>
                      </tr>
                    </thead>
                    <tbody>
                      ${withheld}
                    </tbody>
                  </table>
                </div>`
          }
        </section>`,
      );
    }
    return reply
      .header('content-type', 'text/html; charset=utf-8')
      .header('cache-control', 'no-store')
      .send(
        page({
          title: 'Results withheld for ballot secrecy',
          site: 'officials',
          nav: navigation(principal, csrf.token(request, reply)),
          main:
            sections.length === 0
              ? html`<p>No results have been published.</p>`
              : html`${sections}`,
        }),
      );
  });
}

function withheldRows(contest: ContestResults): Html[] {
  return contest.rows
    .filter((row) => row.suppression !== null)
    .map(
      (row) =>
        html`<tr>
          <td>${contest.name}</td>
          <td>${row.name}</td>
          <td>${row.ballots ?? 'not reported'}</td>
          <td>
            ${contest.choices
              .map((choice, i) => `${choice.name}: ${row.votes[i] ?? 'not reported'}`)
              .join('; ')}
          </td>
          <td>${row.suppression === null ? '' : SUPPRESSION_WORDS[row.suppression]}</td>
        </tr>`,
    );
}
