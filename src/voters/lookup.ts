// The public "am I registered, where do I vote" lookup. It matches only through blind indexes
// (compound HMACs of normalised name, date of birth and ZIP or county; docs/design/lookup.md),
// so it works without decrypting the roll, and it answers the same way for no match and for
// several matches. Every query field is attacker-controlled (a public form or API): lengths
// are capped before normalisation, the values reach the database only as HMAC digests bound as
// parameters, and the answer carries status, precinct and polling place only.
import { CompiledQuery } from 'kysely';
import {
  CryptoError,
  MAX_NORMALISE_INPUT,
  normaliseBirthYear,
  normaliseCounty,
  normaliseDate,
  normaliseName,
  normaliseZip,
} from '../crypto/index.ts';
import type {
  BlindIndexValues,
  KeyRing,
  NormalisedBirthYear,
  NormalisedDate,
  SubjectTag,
} from '../crypto/index.ts';
import { assert } from '../basics/index.ts';
import { withTransaction } from '../store/index.ts';
import type { Queryable } from '../store/index.ts';
import { openStoredRecord, VoterStoreError } from './record.ts';
import type { VotersTables } from './schema.ts';

/**
 * Digests every lookup asks the database for, whatever the query holds: full date and birth
 * year, each with ZIP and with county. Missing combinations are filled with values that
 * match nothing, so every lookup runs the same statement with the same number of values.
 */
export const LOOKUP_DIGEST_COUNT = 4;

/** What a voter types into the lookup form. */
export interface LookupQuery {
  readonly last: string;
  readonly first: string;
  /** `YYYY` or `YYYY-MM-DD`. */
  readonly dob: string;
  readonly zip?: string;
  readonly county?: string;
}

/** Where the voters of a precinct vote. */
export interface PollingPlace {
  readonly name: string;
  readonly address: string;
}

/**
 * The public answer. "No match" and "several matches" are the same `not-found`, so the lookup
 * cannot be used to learn that two people share a name and date of birth.
 */
export type LookupAnswer =
  | {
      readonly status: 'found';
      readonly voterStatus: string;
      readonly precinct: string;
      readonly pollingPlace: PollingPlace | null;
    }
  | { readonly status: 'not-found' };

/** A lookup's answer and, for the access log only, the subject tag of the voter found. */
export interface LookupResult {
  readonly answer: LookupAnswer;
  /** Never part of the public answer. */
  readonly subject: SubjectTag | undefined;
}

/**
 * Stands in for a combination the query does not have. Stored digests are 64 hex digits, so
 * this never matches; it keeps the statement's shape independent of what the query holds.
 */
const NO_DIGEST = 'none-';

const DOB_FORM = /^\d{4}(?:-\d{2}-\d{2})?$/;

/** The digests of a query, in a fixed order, dummies filling the gaps. */
function queryDigests(ring: KeyRing, query: LookupQuery): string[] {
  return queryDigestSlots(ring, query, 'look up voter').map((digest, i) =>
    digest === undefined ? `${NO_DIGEST}${i}` : digest,
  );
}

/**
 * The blind indexes a query can match, as records are indexed (`computeLookupDigests`): name
 * with the full date (when given) and with the birth year, each with the ZIP code and with the
 * county, in that fixed order of {@link LOOKUP_DIGEST_COUNT} slots, undefined where the query
 * lacks a part. `action` starts the error message ("look up voter", "search voters").
 * Attacker-controlled query: lengths are bounded before anything is normalised, and messages
 * name the field, never its value.
 * @throws VoterStoreError LOOKUP_QUERY_INVALID
 */
export function queryDigestSlots(
  ring: KeyRing,
  query: LookupQuery,
  action: string,
): (string | undefined)[] {
  const invalid = (what: string): VoterStoreError =>
    new VoterStoreError('LOOKUP_QUERY_INVALID', `Cannot ${action}: ${what}`);
  for (const [name, value] of Object.entries(query)) {
    if (typeof value === 'string' && value.length > MAX_NORMALISE_INPUT) {
      throw invalid(`the ${name} is longer than ${MAX_NORMALISE_INPUT} characters`);
    }
  }
  const dob = query.dob.trim();
  if (!DOB_FORM.test(dob)) throw invalid('the date of birth must be YYYY or YYYY-MM-DD');
  const zipText = query.zip?.trim() ?? '';
  const countyText = query.county?.trim() ?? '';
  if (zipText === '' && countyText === '') throw invalid('give a ZIP code or a county');
  try {
    const last = normaliseName(query.last);
    const first = normaliseName(query.first);
    const full: NormalisedDate | undefined = dob.length === 4 ? undefined : normaliseDate(dob);
    const year: NormalisedBirthYear = normaliseBirthYear(dob);
    const zip = zipText === '' ? undefined : normaliseZip(zipText);
    const county = countyText === '' ? undefined : normaliseCounty(countyText);
    const names = { 'last-name': last, 'first-name': first } as const;
    const combos: (BlindIndexValues | undefined)[] = [
      full !== undefined && zip !== undefined ? { ...names, dob: full, zip } : undefined,
      full !== undefined && county !== undefined ? { ...names, dob: full, county } : undefined,
      zip !== undefined ? { ...names, 'birth-year': year, zip } : undefined,
      county !== undefined ? { ...names, 'birth-year': year, county } : undefined,
    ];
    assert(combos.length === LOOKUP_DIGEST_COUNT, 'Lookup digest count changed');
    return combos.map((values) => (values === undefined ? undefined : ring.blindIndex(values)));
  } catch (error) {
    if (error instanceof CryptoError) {
      // The crypto message names the kind of value, never the value itself.
      throw invalid(error.message);
    }
    throw error;
  }
}

interface MatchRow {
  digest: string;
  voter_id: string;
  jurisdiction: string;
  status: string;
  precinct: string;
  confidential_record: number;
  place_name: string | null;
  place_address: string | null;
}

/**
 * Most lookups answered by one statement. Lookups that arrive while a statement runs wait for
 * it and then go together in the next one: under load this spreads the per-statement cost
 * (SQLite prepares every statement again) over many lookups, and alone a lookup runs at once.
 */
export const MAX_LOOKUP_BATCH = 64;

// The digests of every lookup of a batch are bound parameters of one statement; the primary key
// of voter_lookup (digest, voter_id) answers the `in` without reading that table. Only narrow
// columns are read: the public fields and sealed blob are fetched for the rare
// confidential-record voter alone. Removed and shredded voters have no digests.
function matchStatement(dialect: Queryable<VotersTables>['dialect'], count: number): string {
  const params = Array.from({ length: count }, (_, i) =>
    dialect === 'postgres' ? `$${i + 1}` : '?',
  );
  return `select l.digest, v.voter_id, v.jurisdiction, v.status, v.precinct, v.confidential_record,
      p.name as place_name, p.address as place_address
    from voter_lookup l
    join voter v on v.voter_id = l.voter_id
    left join voter_polling_place p on p.jurisdiction = v.jurisdiction and p.precinct = v.precinct
    where l.digest in (${params.join(', ')})`;
}

interface PendingLookup {
  readonly digests: readonly string[];
  readonly resolve: (rows: MatchRow[]) => void;
  readonly reject: (error: unknown) => void;
}

/** Runs the match statement for the lookups of one database handle, batching under load. */
class LookupBatcher {
  readonly #q: Queryable<VotersTables>;
  #pending: PendingLookup[] = [];
  #running = false;

  constructor(q: Queryable<VotersTables>) {
    this.#q = q;
  }

  match(digests: readonly string[]): Promise<MatchRow[]> {
    return new Promise((resolve, reject) => {
      this.#pending.push({ digests, resolve, reject });
      if (!this.#running) void this.#drain();
    });
  }

  async #drain(): Promise<void> {
    this.#running = true;
    try {
      while (this.#pending.length > 0) {
        const batch = this.#pending.splice(0, MAX_LOOKUP_BATCH);
        try {
          const rows = await matchRows(
            this.#q,
            batch.flatMap((lookup) => lookup.digests),
          );
          const byDigest = new Map<string, MatchRow[]>();
          for (const row of rows) {
            const list = byDigest.get(row.digest);
            if (list === undefined) byDigest.set(row.digest, [row]);
            else list.push(row);
          }
          for (const lookup of batch) {
            lookup.resolve(lookup.digests.flatMap((digest) => byDigest.get(digest) ?? []));
          }
        } catch (error) {
          for (const lookup of batch) lookup.reject(error);
        }
      }
    } finally {
      this.#running = false;
    }
  }
}

async function matchRows(q: Queryable<VotersTables>, digests: readonly string[]) {
  const result = await q.db.executeQuery<MatchRow>(
    CompiledQuery.raw(matchStatement(q.dialect, digests.length), [...digests]),
  );
  return result.rows;
}

const batchers = new WeakMap<object, LookupBatcher>();

function matchesOf(q: Queryable<VotersTables>, digests: readonly string[]): Promise<MatchRow[]> {
  // Inside a transaction the statement must run on it, alone.
  if (q.db.isTransaction) return matchRows(q, digests);
  let batcher = batchers.get(q.db);
  if (batcher === undefined) {
    batcher = new LookupBatcher(q);
    batchers.set(q.db, batcher);
  }
  return batcher.match(digests);
}

/**
 * Looks a voter up by name, date of birth and ZIP or county, through blind indexes only, and
 * returns the public answer with the subject tag of the voter found (for the access log). It
 * does not log; {@link lookupVoter} does.
 *
 * A full date of birth finds records that have the full date and records of states that publish
 * only the birth year; a year finds only the latter. Exactly one voter matching is `found`; none
 * or several is `not-found`, after the same statement and the same work.
 * @throws VoterStoreError LOOKUP_QUERY_INVALID when a value is missing, too long or in the wrong
 *   form (the message names the field, never the value)
 */
export async function findVoter(
  q: Queryable<VotersTables>,
  ring: KeyRing,
  query: LookupQuery,
): Promise<LookupResult> {
  const digests = queryDigests(ring, query);
  const rows = await matchesOf(q, digests);
  const voterIds = new Set(rows.map((row) => row.voter_id));
  const row = rows[0];
  if (voterIds.size !== 1 || row === undefined) {
    return { answer: { status: 'not-found' }, subject: undefined };
  }
  let precinct = row.precinct;
  let pollingPlace: PollingPlace | null =
    row.place_name === null ? null : { name: row.place_name, address: row.place_address ?? '' };
  if (Number(row.confidential_record) === 1) {
    // An address-confidential voter's precinct is sealed with the rest of the record: open it
    // for this one answer, which goes only to someone who knew the name and date of birth.
    precinct = await sealedPrecinct(q, ring, row.voter_id);
    pollingPlace = await pollingPlaceOf(q, row.jurisdiction, precinct);
  }
  return {
    answer: { status: 'found', voterStatus: row.status, precinct, pollingPlace },
    subject: ring.subjectTag(row.voter_id),
  };
}

async function sealedPrecinct(
  q: Queryable<VotersTables>,
  ring: KeyRing,
  voterId: string,
): Promise<string> {
  const stored = await q.db
    .selectFrom('voter')
    .select([
      'voter_id',
      'jurisdiction',
      'envelope_version',
      'public_fields',
      'sealed',
      'key_version',
      'wrapped_key',
    ])
    .where('voter_id', '=', voterId)
    .executeTakeFirst();
  if (stored === undefined) return '';
  const sealed = openStoredRecord(ring, stored);
  const column = sealed.r.precinct;
  return column === undefined ? '' : (sealed.c[column] ?? '');
}

async function pollingPlaceOf(
  q: Queryable<VotersTables>,
  jurisdiction: string,
  precinct: string,
): Promise<PollingPlace | null> {
  if (precinct === '') return null;
  const place = await q.db
    .selectFrom('voter_polling_place')
    .select(['name', 'address'])
    .where('jurisdiction', '=', jurisdiction)
    .where('precinct', '=', precinct)
    .executeTakeFirst();
  return place ?? null;
}

/** The access-log entry of one lookup: no personal data, the voter only as its subject tag. */
export interface LookupLogEntry {
  readonly type: 'lookup';
  readonly channel: string;
  readonly result: 'found' | 'not-found';
  readonly subjects: readonly string[];
  readonly time: string;
}

/** Options of {@link lookupVoter}. */
export interface LookupVoterOptions {
  /** Appends one entry to the access log; the answer is returned only once it resolves. */
  readonly appendLog: (entry: LookupLogEntry) => Promise<void>;
  /** Where the lookup came from: 'cli', 'web', 'api'. */
  readonly channel: string;
  /** Clock for the entry's time; `new Date()` by default. */
  readonly now?: () => Date;
}

/**
 * {@link findVoter}, logged: the result is returned only after the log entry
 * `{ type: 'lookup', channel, result, subjects: [tag] or [], time }` was appended, so no lookup
 * goes unrecorded. The subject tag in the result is for the voter's own access history only.
 * @throws VoterStoreError LOOKUP_QUERY_INVALID
 * @throws whatever `appendLog` throws (the answer is then withheld)
 */
export async function lookupVoter(
  q: Queryable<VotersTables>,
  ring: KeyRing,
  query: LookupQuery,
  options: LookupVoterOptions,
): Promise<LookupResult> {
  const result = await findVoter(q, ring, query);
  const { answer, subject } = result;
  await options.appendLog({
    type: 'lookup',
    channel: options.channel,
    result: answer.status,
    subjects: subject === undefined ? [] : [subject],
    time: (options.now?.() ?? new Date()).toISOString(),
  });
  return result;
}

/** A polling place of a precinct, to store. */
export interface PrecinctPollingPlace extends PollingPlace {
  readonly jurisdiction: string;
  readonly precinct: string;
}

/**
 * Stores where the voters of each precinct vote, replacing what was stored for those precincts.
 * @throws StoreError DATABASE_BUSY, TRANSACTION_CONFLICT
 */
export async function setPollingPlaces(
  q: Queryable<VotersTables>,
  places: readonly PrecinctPollingPlace[],
): Promise<void> {
  await withTransaction(q, async (tx) => {
    for (const place of places) {
      await tx.db
        .deleteFrom('voter_polling_place')
        .where('jurisdiction', '=', place.jurisdiction)
        .where('precinct', '=', place.precinct)
        .execute();
      await tx.db
        .insertInto('voter_polling_place')
        .values({
          jurisdiction: place.jurisdiction,
          precinct: place.precinct,
          name: place.name,
          address: place.address,
        })
        .execute();
    }
  });
}
