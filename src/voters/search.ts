// The officials' search: every voter matching a name, a date of birth and a ZIP code or county,
// found through the same blind indexes as the public lookup (docs/design/lookup.md), so it works
// without decrypting the roll. Unlike the lookup it lists every match, and only public fields.
// The query fields come from officials' forms and API clients: attacker-controlled, so lengths
// are capped before normalisation and the values reach the database only as HMAC digests bound
// as parameters. The only filters are those digests and the jurisdiction, and the only sort key
// the voter id, fixed in code: a protected attribute can be neither.
import type { KeyRing } from '../crypto/index.ts';
import type { Queryable } from '../store/index.ts';
import { queryDigestSlots } from './lookup.ts';
import { parsePublicFields, VoterStoreError } from './record.ts';
import type { VoterId } from './record.ts';
import type { VotersTables } from './schema.ts';

/**
 * Most voters one search page returns. An access event names at most 500 subjects; a page well
 * below that keeps every event small and makes bulk harvesting take many logged requests.
 */
export const MAX_SEARCH_RESULTS = 50;

/** Deepest offset a search may page to: a name shared by more voters needs a narrower query. */
export const MAX_SEARCH_OFFSET = 10_000;

/** What an official searches by: the blind-indexed combinations only. */
export interface SearchQuery {
  readonly last: string;
  readonly first: string;
  /** `YYYY` or `YYYY-MM-DD`. */
  readonly dob: string;
  readonly zip?: string;
  /** County name, as the blind index holds it. */
  readonly county?: string;
}

/** Where and how much to search. */
export interface SearchOptions {
  /** Jurisdictions the hits must be in (the caller's scope), or the whole state. */
  readonly jurisdictions: readonly string[] | 'state';
  /** Hits per page; capped at {@link MAX_SEARCH_RESULTS}. */
  readonly limit: number;
  /** Hits to skip, in voter id order. */
  readonly offset: number;
}

/** One voter found: public fields only. */
export interface SearchHit {
  readonly voterId: VoterId;
  readonly jurisdiction: string;
  readonly status: string;
  /** '' when unknown or sealed (address-confidential voters). */
  readonly precinct: string;
  readonly publicFields: Readonly<Record<string, string>>;
}

/** One page of a search. */
export interface SearchResult {
  readonly hits: readonly SearchHit[];
  /** Every match in the jurisdictions, across pages. */
  readonly total: number;
  readonly hasMore: boolean;
  readonly limit: number;
  readonly offset: number;
}

function invalid(what: string): VoterStoreError {
  return new VoterStoreError('LOOKUP_QUERY_INVALID', `Cannot search voters: ${what}`);
}

/**
 * The blind indexes a query can match: those the public lookup computes, without its dummies.
 * @throws VoterStoreError LOOKUP_QUERY_INVALID
 */
function searchDigests(ring: KeyRing, query: SearchQuery): string[] {
  return queryDigestSlots(ring, query, 'search voters').filter(
    (digest): digest is string => digest !== undefined,
  );
}

/**
 * Lists the current voters matching `query` in `options.jurisdictions`, ordered by voter id,
 * one page at a time, with public fields only (nothing is decrypted). Removed and shredded
 * voters have no blind indexes and are never found. It does not log: the caller runs it under
 * the access policy (`withAccess`), which logs the subject tags of the page returned.
 * @throws VoterStoreError LOOKUP_QUERY_INVALID when a value is missing, too long or in the wrong
 *   form, or the page is out of range (the message names the field, never the value);
 *   RECORD_INVALID when stored public fields are malformed
 * @throws StoreError when the database cannot be read
 */
export async function searchVoters(
  q: Queryable<VotersTables>,
  ring: KeyRing,
  query: SearchQuery,
  options: SearchOptions,
): Promise<SearchResult> {
  const digests = searchDigests(ring, query);
  if (!Number.isInteger(options.limit) || options.limit < 1) {
    throw invalid('the page size must be a positive whole number');
  }
  if (
    !Number.isInteger(options.offset) ||
    options.offset < 0 ||
    options.offset > MAX_SEARCH_OFFSET
  ) {
    throw invalid(`the offset must be a whole number from 0 to ${MAX_SEARCH_OFFSET}`);
  }
  const limit = Math.min(options.limit, MAX_SEARCH_RESULTS);
  const { offset } = options;
  const { jurisdictions } = options;
  if (jurisdictions !== 'state' && jurisdictions.length === 0) {
    return { hits: [], total: 0, hasMore: false, limit, offset };
  }
  let base = q.db
    .selectFrom('voter')
    .where('voter_id', 'in', (eb) =>
      eb.selectFrom('voter_lookup').select('voter_lookup.voter_id').where('digest', 'in', digests),
    )
    .where('removed', '=', 0)
    .where('shredded_at', 'is', null);
  if (jurisdictions !== 'state') base = base.where('jurisdiction', 'in', [...jurisdictions]);
  const counted = await base.select((eb) => eb.fn.countAll().as('n')).executeTakeFirst();
  const total = Number(counted?.n ?? 0);
  const rows =
    offset >= total
      ? []
      : await base
          .select(['voter_id', 'jurisdiction', 'status', 'precinct', 'public_fields'])
          .orderBy('voter_id')
          .limit(limit)
          .offset(offset)
          .execute();
  return {
    hits: rows.map((row) => ({
      voterId: row.voter_id as VoterId,
      jurisdiction: row.jurisdiction,
      status: row.status,
      precinct: row.precinct,
      publicFields: parsePublicFields(row.voter_id, row.public_fields),
    })),
    total,
    hasMore: offset + rows.length < total,
    limit,
    offset,
  };
}

/**
 * The jurisdiction of a voter's current version, read without opening the record, so that the
 * caller can check its scope before it reads or changes anything; undefined for no such voter.
 * @throws StoreError when the database cannot be read
 */
export async function voterJurisdiction(
  q: Queryable<VotersTables>,
  voterId: string,
): Promise<string | undefined> {
  const row = await q.db
    .selectFrom('voter')
    .select('jurisdiction')
    .where('voter_id', '=', voterId)
    .executeTakeFirst();
  return row?.jurisdiction;
}
