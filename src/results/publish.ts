// Publications: the public view of an election frozen as canonical JSON (RFC 8785), stored, and
// announced in the transparency log with its SHA-256, so that anyone holding the snapshot can
// check it is the one the office published and that the office cannot quietly swap it later.
// A correction is a new publication with the next sequence number; nothing is overwritten.
import { createHash } from 'node:crypto';
import {
  canonicalJsonBytes,
  createFsTileReader,
  inclusionProof,
  leafHash,
  readCheckpointFile,
  readEntryBundle,
  TILE_WIDTH,
  verifyCheckpoint,
  verifyInclusion,
} from '../tlog/index.ts';
import type { NoteVerifier } from '../tlog/index.ts';
import { withTransaction } from '../store/index.ts';
import type { Queryable } from '../store/index.ts';
import { electionResults } from './aggregate.ts';
import type { ElectionResults } from './aggregate.ts';
import { ResultsError } from './errors.ts';
import type { ResultsTables } from './schema.ts';
import { loadElection } from './store.ts';

/** Format tag of a snapshot; a reader refuses snapshots of a format it does not know. */
export const SNAPSHOT_FORMAT = 'votervault-results/1';

/** `type` of the log entry announcing a publication. */
export const PUBLICATION_ENTRY_TYPE = 'results-publication';

/** What a publication freezes: the public view of an election, with its format tag. */
export interface PublishedSnapshot extends ElectionResults {
  readonly format: typeof SNAPSHOT_FORMAT;
}

/** The log entry announcing a publication (canonical JSON; no personal data). */
export interface PublicationEntry {
  readonly type: typeof PUBLICATION_ENTRY_TYPE;
  readonly election: string;
  readonly sequence: number;
  /** Lower-case hex SHA-256 of the snapshot's bytes. */
  readonly sha256: string;
  /** The previous publication's hash, null for the first: the publications form a chain. */
  readonly previous: string | null;
  readonly contests: number;
  readonly bytes: number;
  readonly time: string;
}

/** A change of one choice's total between two publications. */
export interface ChoiceChange {
  readonly choiceId: string;
  readonly name: string;
  readonly before: number | null;
  readonly after: number | null;
}

/** What changed in one contest between two publications. */
export interface ContestChange {
  readonly contestId: string;
  readonly name: string;
  readonly change: 'added' | 'removed' | 'changed';
  readonly choices: readonly ChoiceChange[];
}

/** A stored publication. */
export interface Publication {
  readonly electionId: string;
  readonly sequence: number;
  readonly publishedAt: string;
  readonly sha256: string;
  /** Index of its log entry; null when the log did not take it (see {@link publishResults}). */
  readonly logIndex: number | null;
  /** The snapshot's bytes exactly as published (serve these, not a re-serialisation). */
  readonly bytes: Uint8Array;
  readonly snapshot: PublishedSnapshot;
}

/** A publication in the history, with what changed since the one before. */
export interface PublicationSummary {
  readonly sequence: number;
  readonly publishedAt: string;
  readonly sha256: string;
  readonly logIndex: number | null;
  readonly changes: readonly ContestChange[];
}

/** Options of {@link publishResults}. */
export interface PublishOptions {
  /** Appends one entry to the log; resolves with its index (a number) once durable. */
  readonly appendLog: (entry: Uint8Array) => Promise<unknown>;
  readonly now?: () => Date;
  /** Threshold of the ballot-secrecy rule; default SMALL_UNIT_BALLOTS. */
  readonly smallUnitBallots?: number;
}

/** What {@link publishResults} did. */
export interface PublishReport extends PublicationSummary {
  readonly electionId: string;
  readonly bytes: number;
}

function sha256Hex(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

/** The snapshot of the public view of `data`, and its canonical bytes. */
export function buildSnapshot(
  data: Parameters<typeof electionResults>[0],
  smallUnitBallots?: number,
): { readonly snapshot: PublishedSnapshot; readonly bytes: Uint8Array; readonly sha256: string } {
  const view = electionResults(data, {
    view: 'public',
    ...(smallUnitBallots === undefined ? {} : { smallUnitBallots }),
  });
  const snapshot: PublishedSnapshot = { format: SNAPSHOT_FORMAT, ...view };
  const bytes = canonicalJsonBytes(snapshot);
  return { snapshot, bytes, sha256: sha256Hex(bytes) };
}

/**
 * Publishes the public view of an election: stores its canonical snapshot under the next
 * sequence number, appends the announcing entry to the log, and records the entry's index.
 * The row is written before the entry (a log entry must never name a snapshot nobody can
 * fetch); if the append fails, the row is removed again and the error is rethrown.
 * @throws ResultsError ELECTION_NOT_FOUND, NOTHING_TO_PUBLISH
 * @throws TlogError or whatever `appendLog` throws; StoreError when the database fails
 */
export async function publishResults(
  q: Queryable<ResultsTables>,
  electionId: string,
  options: PublishOptions,
): Promise<PublishReport> {
  const data = await loadElection(q, electionId);
  if (data.contests.length === 0) {
    throw new ResultsError(
      'NOTHING_TO_PUBLISH',
      `Cannot publish election "${electionId}": it has no contests`,
    );
  }
  const { snapshot, bytes, sha256 } = buildSnapshot(data, options.smallUnitBallots);
  const publishedAt = (options.now ?? (() => new Date()))().toISOString();
  const { sequence, previous } = await withTransaction(q, async (tx) => {
    const last = await tx.db
      .selectFrom('results_publication')
      .select(['sequence', 'snapshot', 'sha256'])
      .where('election_id', '=', electionId)
      .orderBy('sequence', 'desc')
      .limit(1)
      .executeTakeFirst();
    const next = (last?.sequence ?? 0) + 1;
    await tx.db
      .insertInto('results_publication')
      .values({
        election_id: electionId,
        sequence: next,
        published_at: publishedAt,
        sha256,
        snapshot: Buffer.from(bytes).toString('utf8'),
        log_index: null,
      })
      .execute();
    return { sequence: next, previous: last };
  });
  const entry: PublicationEntry = {
    type: PUBLICATION_ENTRY_TYPE,
    election: electionId,
    sequence,
    sha256,
    previous: previous?.sha256 ?? null,
    contests: snapshot.contests.length,
    bytes: bytes.length,
    time: publishedAt,
  };
  let appended: unknown;
  try {
    appended = await options.appendLog(canonicalJsonBytes(entry));
  } catch (error) {
    await q.db
      .deleteFrom('results_publication')
      .where('election_id', '=', electionId)
      .where('sequence', '=', sequence)
      .execute();
    throw error;
  }
  const logIndex = typeof appended === 'number' && Number.isSafeInteger(appended) ? appended : null;
  if (logIndex !== null) {
    await q.db
      .updateTable('results_publication')
      .set({ log_index: logIndex })
      .where('election_id', '=', electionId)
      .where('sequence', '=', sequence)
      .execute();
  }
  return {
    electionId,
    sequence,
    publishedAt,
    sha256,
    logIndex,
    bytes: bytes.length,
    changes: diffSnapshots(
      previous === undefined ? undefined : parseSnapshot(previous.snapshot),
      snapshot,
    ),
  };
}

function parseSnapshot(text: string): PublishedSnapshot {
  // Our own stored text, written by publishResults; a different format is a broken invariant
  // only if someone edited the database, which verifyPublication reports by hash.
  return JSON.parse(text) as PublishedSnapshot;
}

/** What changed in contest totals from `before` to `after` (every contest is new without `before`). */
export function diffSnapshots(
  before: PublishedSnapshot | undefined,
  after: PublishedSnapshot,
): ContestChange[] {
  const old = new Map((before?.contests ?? []).map((c) => [c.contestId, c]));
  const changes: ContestChange[] = [];
  for (const c of after.contests) {
    const prev = old.get(c.contestId);
    old.delete(c.contestId);
    const prevVotes = new Map((prev?.choices ?? []).map((ch) => [ch.choiceId, ch]));
    const choices: ChoiceChange[] = [];
    for (const ch of c.choices) {
      const p = prevVotes.get(ch.choiceId);
      prevVotes.delete(ch.choiceId);
      if (p === undefined || p.votes !== ch.votes) {
        choices.push({
          choiceId: ch.choiceId,
          name: ch.name,
          before: p?.votes ?? null,
          after: ch.votes,
        });
      }
    }
    for (const p of prevVotes.values()) {
      choices.push({ choiceId: p.choiceId, name: p.name, before: p.votes, after: null });
    }
    if (prev === undefined)
      changes.push({ contestId: c.contestId, name: c.name, change: 'added', choices });
    else if (choices.length > 0)
      changes.push({ contestId: c.contestId, name: c.name, change: 'changed', choices });
  }
  for (const p of old.values()) {
    changes.push({
      contestId: p.contestId,
      name: p.name,
      change: 'removed',
      choices: p.choices.map((ch) => ({
        choiceId: ch.choiceId,
        name: ch.name,
        before: ch.votes,
        after: null,
      })),
    });
  }
  return changes;
}

const toIndex = (v: number | string | null): number | null => (v === null ? null : Number(v));

/**
 * Every publication of an election, oldest first, each with what changed since the one before.
 * @throws StoreError when the database fails
 */
export async function publicationHistory(
  q: Queryable<ResultsTables>,
  electionId: string,
): Promise<PublicationSummary[]> {
  const rows = await q.db
    .selectFrom('results_publication')
    .select(['sequence', 'published_at', 'sha256', 'snapshot', 'log_index'])
    .where('election_id', '=', electionId)
    .orderBy('sequence')
    .execute();
  let previous: PublishedSnapshot | undefined;
  return rows.map((r) => {
    const snapshot = parseSnapshot(r.snapshot);
    const changes = diffSnapshots(previous, snapshot);
    previous = snapshot;
    return {
      sequence: r.sequence,
      publishedAt: r.published_at,
      sha256: r.sha256,
      logIndex: toIndex(r.log_index),
      changes,
    };
  });
}

/**
 * One publication of an election (the latest when `sequence` is not given), or undefined when
 * there is none. This is what public pages serve: `bytes` as they are, and `snapshot` parsed.
 * @throws StoreError when the database fails
 */
export async function readPublication(
  q: Queryable<ResultsTables>,
  electionId: string,
  sequence?: number,
): Promise<Publication | undefined> {
  let query = q.db
    .selectFrom('results_publication')
    .select(['sequence', 'published_at', 'sha256', 'snapshot', 'log_index'])
    .where('election_id', '=', electionId);
  query =
    sequence === undefined
      ? query.orderBy('sequence', 'desc').limit(1)
      : query.where('sequence', '=', sequence);
  const r = await query.executeTakeFirst();
  if (r === undefined) return undefined;
  return {
    electionId,
    sequence: r.sequence,
    publishedAt: r.published_at,
    sha256: r.sha256,
    logIndex: toIndex(r.log_index),
    bytes: Buffer.from(r.snapshot, 'utf8'),
    snapshot: parseSnapshot(r.snapshot),
  };
}

/**
 * The latest publication of an election, or undefined before the first.
 * @throws StoreError when the database fails
 */
export function latestPublication(
  q: Queryable<ResultsTables>,
  electionId: string,
): Promise<Publication | undefined> {
  return readPublication(q, electionId);
}

/** Options of {@link verifyPublication}. */
export interface VerifyPublicationOptions {
  /** The log directory (C2SP tlog-tiles layout) the publication was announced in. */
  readonly logDir: string;
  /** Keys the log's checkpoint must be signed by. */
  readonly verifiers: readonly NoteVerifier[];
  /** Which publication; default the latest. */
  readonly sequence?: number;
}

/** What {@link verifyPublication} checked. */
export interface VerifyPublicationReport {
  readonly electionId: string;
  readonly sequence: number;
  readonly sha256: string;
  readonly logIndex: number;
  /** Size of the signed checkpoint the inclusion proof was checked against. */
  readonly treeSize: number;
  /**
   * Whether the stored results today give the same snapshot. False is not tampering: the data
   * changed after this publication and a newer publication (a correction) is due or exists.
   */
  readonly matchesCurrentData: boolean;
}

/**
 * Checks a publication end to end: the stored snapshot hashes to its recorded SHA-256; the log
 * entry at its index is a `results-publication` entry naming this election, sequence and hash;
 * that entry is included in the tree of the log's signed checkpoint (RFC 6962 inclusion proof
 * read from the tiles). Then it says whether today's data still give the same snapshot.
 * Attacker-controlled: the log's files and the database rows may have been altered; each is
 * checked, and the first check that fails is reported with what it found.
 * @throws ResultsError PUBLICATION_NOT_FOUND; PUBLICATION_INVALID saying which check failed
 * @throws TlogError when the checkpoint's signature does not verify or the log cannot be read
 */
export async function verifyPublication(
  q: Queryable<ResultsTables>,
  electionId: string,
  options: VerifyPublicationOptions,
): Promise<VerifyPublicationReport> {
  const pub = await readPublication(q, electionId, options.sequence);
  const which = `publication ${options.sequence ?? pub?.sequence ?? '(latest)'} of election "${electionId}"`;
  if (pub === undefined) {
    throw new ResultsError('PUBLICATION_NOT_FOUND', `Cannot verify ${which}: there is none`);
  }
  const invalid = (why: string): ResultsError =>
    new ResultsError('PUBLICATION_INVALID', `Cannot verify ${which}: ${why}`);
  const actual = sha256Hex(pub.bytes);
  if (actual !== pub.sha256) {
    throw invalid(
      `the stored snapshot hashes to "${actual}", the recorded hash is "${pub.sha256}"`,
    );
  }
  if (pub.logIndex === null) throw invalid('it was never appended to the log');
  const note = await readCheckpointFile(options.logDir);
  if (note === undefined) throw invalid('the log has no checkpoint');
  const checkpoint = verifyCheckpoint(note, options.verifiers);
  const index = pub.logIndex;
  if (index >= checkpoint.size) {
    throw invalid(`its log index ${index} is beyond the checkpoint's size ${checkpoint.size}`);
  }
  const bundle = Math.floor(index / TILE_WIDTH);
  const width = Math.min(TILE_WIDTH, checkpoint.size - bundle * TILE_WIDTH);
  const entries = await readEntryBundle(options.logDir, bundle, width);
  const entryBytes = entries[index % TILE_WIDTH];
  if (entryBytes === undefined) throw invalid(`the log has no entry ${index}`);
  let entry: Partial<PublicationEntry>;
  try {
    entry = JSON.parse(Buffer.from(entryBytes).toString('utf8')) as Partial<PublicationEntry>;
  } catch {
    throw invalid(`log entry ${index} is not JSON`);
  }
  if (
    entry.type !== PUBLICATION_ENTRY_TYPE ||
    entry.election !== electionId ||
    entry.sequence !== pub.sequence ||
    entry.sha256 !== pub.sha256
  ) {
    throw invalid(
      `log entry ${index} does not announce this snapshot (hash "${String(entry.sha256)}")`,
    );
  }
  const proof = await inclusionProof(index, checkpoint.size, createFsTileReader(options.logDir));
  try {
    verifyInclusion(leafHash(entryBytes), index, checkpoint.size, proof, checkpoint.rootHash);
  } catch (error: unknown) {
    throw new ResultsError(
      'PUBLICATION_INVALID',
      `Cannot verify ${which}: log entry ${index} is not in the signed tree of size ${checkpoint.size}`,
      {},
      { cause: error },
    );
  }
  const current = buildSnapshot(await loadElection(q, electionId), pub.snapshot.smallUnitBallots);
  return {
    electionId,
    sequence: pub.sequence,
    sha256: pub.sha256,
    logIndex: index,
    treeSize: checkpoint.size,
    matchesCurrentData: current.sha256 === pub.sha256,
  };
}
