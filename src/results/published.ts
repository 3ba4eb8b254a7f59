// Which elections the public may see: those with at least one publication. The public site
// shows only published snapshots, never the live tables an import is still filling.
import type { Queryable } from '../store/index.ts';
import type { ResultsTables } from './schema.ts';

/** An election that has been published, with its latest publication. */
export interface PublishedElection {
  readonly electionId: string;
  readonly latestSequence: number;
}

/**
 * Elections with at least one publication, newest election date first.
 * @throws StoreError when the database fails
 */
export async function publishedElections(
  q: Queryable<ResultsTables>,
): Promise<readonly PublishedElection[]> {
  const rows = await q.db
    .selectFrom('results_publication as p')
    .innerJoin('results_election as e', 'e.election_id', 'p.election_id')
    .select(['p.election_id', 'e.election_date'])
    .select((eb) => eb.fn.max('p.sequence').as('latest'))
    .groupBy(['p.election_id', 'e.election_date'])
    .orderBy('e.election_date', 'desc')
    .orderBy('p.election_id')
    .execute();
  return rows.map((row) => ({ electionId: row.election_id, latestSequence: Number(row.latest) }));
}
