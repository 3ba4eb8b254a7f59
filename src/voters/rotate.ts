// Root key rotation over a live roll: add a root key version, re-wrap every record's data key
// (current rows and history) under it in small transactions while readers keep working (the
// ring opens both versions meanwhile), then retire the old versions once no row uses them.
// Progress lives in `voter_key_rotation`, and the rows still to do are simply those whose
// key_version is old, so a run that crashed is continued by the next one.
import type { KeyRing, KeyVersion } from '../crypto/index.ts';
import { parseKeyVersion } from '../crypto/index.ts';
import { withTransaction } from '../store/index.ts';
import type { Queryable } from '../store/index.ts';
import { asBuffer, VoterStoreError } from './record.ts';
import type { VotersTables } from './schema.ts';

/**
 * Wrapped keys re-wrapped per transaction: small enough that a transaction holds SQLite's write
 * lock for a few milliseconds (imports and updates interleave), large enough to amortise the
 * commit's fsync.
 */
export const ROTATION_BATCH_SIZE = 1_000;

/** Progress of a rotation, reported after each batch. */
export interface RotationProgress {
  readonly toVersion: number;
  /** Wrapped keys re-wrapped so far by this rotation (all runs together). */
  readonly rewrapped: number;
  /** Wrapped keys still under an old version when the batch ended. */
  readonly remaining: number;
}

/** What a rotation did, for its log entry: versions and counts, nothing about any voter. */
export interface RotationSummary {
  readonly type: 'key-rotation';
  readonly rotationId: number;
  readonly fromVersions: readonly number[];
  readonly toVersion: number;
  /** Wrapped keys re-wrapped, current rows and history together, over every run. */
  readonly rowsRewrapped: number;
  readonly retiredVersions: readonly number[];
  /** True when this run continued a rotation an earlier run left unfinished. */
  readonly resumed: boolean;
  readonly startedAt: string;
  readonly finishedAt: string;
}

/** Options of {@link rotateKeys}. */
export interface RotateKeysOptions {
  readonly onProgress?: (progress: RotationProgress) => void;
  /** Appends the summary to the access log once the rotation finished. */
  readonly appendLog?: (entry: RotationSummary) => Promise<void>;
  readonly batchSize?: number;
  /** Clock for the recorded times; `new Date()` by default. */
  readonly now?: () => Date;
}

const TABLES = ['voter', 'voter_version'] as const;

/**
 * Rotates the root key: `ring.rotate()` to a new version (unless an unfinished rotation already
 * did), re-wraps every wrapped data key of older versions in batches (no record is decrypted),
 * then retires every older version once no row uses it, and returns the summary (also given to
 * `appendLog`). If the process stops midway, the next call continues the same rotation.
 *
 * Every process using the ring must reload it after the new version exists and before the old
 * one is retired (docs/design/key-ring.md); rows a stale process wraps under the old version
 * keep the retirement from happening and are re-wrapped by the next run.
 * @throws VoterStoreError ROTATION_CONFLICT when the ring's current version is not the one an
 *   unfinished rotation recorded, or rows still use an old version after the re-wrap (another
 *   process wrapped new rows under it; run again)
 * @throws CryptoError from rotate, rewrapKey (ENVELOPE_INVALID for an altered wrapped key:
 *   run verifyStore) and retire
 */
export async function rotateKeys(
  q: Queryable<VotersTables>,
  ring: KeyRing,
  options: RotateKeysOptions = {},
): Promise<RotationSummary> {
  const now = (): string => (options.now?.() ?? new Date()).toISOString();
  const batchSize = options.batchSize ?? ROTATION_BATCH_SIZE;
  const unfinished = await q.db
    .selectFrom('voter_key_rotation')
    .select(['rotation_id', 'from_versions', 'to_version', 'started_at', 'rows_rewrapped'])
    .where('finished_at', 'is', null)
    .orderBy('rotation_id')
    .executeTakeFirst();
  let rotation: {
    readonly rotationId: number;
    readonly fromVersions: readonly number[];
    readonly toVersion: KeyVersion;
    readonly startedAt: string;
    rewrapped: number;
  };
  const resumed = unfinished !== undefined;
  if (unfinished === undefined) {
    const fromVersions = activeVersions(ring);
    const toVersion = parseKeyVersion(ring.currentVersion + 1);
    const startedAt = now();
    // Recorded before the ring changes: a crash between the two leaves a row that the next run
    // completes (it finds the ring one version behind and rotates it then).
    const rotationId = await withTransaction(q, async (tx) => {
      const last = await tx.db
        .selectFrom('voter_key_rotation')
        .select((eb) => eb.fn.max('rotation_id').as('id'))
        .executeTakeFirst();
      const id = Number(last?.id ?? 0) + 1;
      await tx.db
        .insertInto('voter_key_rotation')
        .values({
          rotation_id: id,
          from_versions: JSON.stringify(fromVersions),
          to_version: toVersion,
          started_at: startedAt,
          finished_at: null,
          rows_rewrapped: 0,
        })
        .execute();
      return id;
    });
    rotation = { rotationId, fromVersions, toVersion, startedAt, rewrapped: 0 };
  } else {
    rotation = {
      rotationId: Number(unfinished.rotation_id),
      fromVersions: parseVersions(unfinished.from_versions),
      toVersion: parseKeyVersion(Number(unfinished.to_version)),
      startedAt: unfinished.started_at,
      rewrapped: Number(unfinished.rows_rewrapped),
    };
  }
  if (ring.currentVersion === rotation.toVersion - 1) {
    await ring.rotate();
  }
  if (ring.currentVersion !== rotation.toVersion) {
    throw new VoterStoreError(
      'ROTATION_CONFLICT',
      `Cannot continue key rotation ${rotation.rotationId} to version ${rotation.toVersion}: the key ring's current version is ${ring.currentVersion} (reload the ring, or restore its manifest)`,
    );
  }
  const target = rotation.toVersion;
  for (const table of TABLES) {
    for (;;) {
      const count = await withTransaction(q, async (tx) => {
        const rows = await tx.db
          .selectFrom(table)
          .select(['voter_id', 'row_version', 'key_version', 'wrapped_key'])
          .where('key_version', '<>', target)
          .where('wrapped_key', 'is not', null)
          .orderBy('voter_id')
          .orderBy('row_version')
          .limit(batchSize)
          .execute();
        for (const row of rows) {
          if (row.wrapped_key === null || row.key_version === null) continue;
          const wrapped = ring.rewrapKey(
            { keyVersion: parseKeyVersion(Number(row.key_version)), bytes: row.wrapped_key },
            row.voter_id,
          );
          await tx.db
            .updateTable(table)
            .set({ key_version: wrapped.keyVersion, wrapped_key: asBuffer(wrapped.bytes) })
            .where('voter_id', '=', row.voter_id)
            .where('row_version', '=', row.row_version)
            .execute();
        }
        await tx.db
          .updateTable('voter_key_rotation')
          .set({ rows_rewrapped: rotation.rewrapped + rows.length })
          .where('rotation_id', '=', rotation.rotationId)
          .execute();
        return rows.length;
      });
      // Counted once committed: a PostgreSQL transaction may run more than once.
      rotation.rewrapped += count;
      options.onProgress?.({
        toVersion: target,
        rewrapped: rotation.rewrapped,
        remaining: await countOld(q, target),
      });
      if (count < batchSize) break;
    }
  }
  const left = await countOld(q, target);
  if (left > 0) {
    throw new VoterStoreError(
      'ROTATION_CONFLICT',
      `Cannot finish key rotation ${rotation.rotationId}: ${left} wrapped keys are still under an older version (a process that did not reload the key ring wrote them); run the rotation again`,
    );
  }
  const retiredVersions: number[] = [];
  for (const info of ring.versions()) {
    if (info.version === target || info.status === 'retired') continue;
    await ring.retire(info.version);
    retiredVersions.push(info.version);
  }
  const finishedAt = now();
  await q.db
    .updateTable('voter_key_rotation')
    .set({ finished_at: finishedAt })
    .where('rotation_id', '=', rotation.rotationId)
    .execute();
  const summary: RotationSummary = {
    type: 'key-rotation',
    rotationId: rotation.rotationId,
    fromVersions: rotation.fromVersions,
    toVersion: target,
    rowsRewrapped: rotation.rewrapped,
    retiredVersions,
    resumed,
    startedAt: rotation.startedAt,
    finishedAt,
  };
  await options.appendLog?.(summary);
  return summary;
}

/** Wrapped keys, current and history, under another version than `target`. */
async function countOld(q: Queryable<VotersTables>, target: number): Promise<number> {
  let total = 0;
  for (const table of TABLES) {
    const row = await q.db
      .selectFrom(table)
      .select((eb) => eb.fn.countAll().as('n'))
      .where('key_version', '<>', target)
      .where('wrapped_key', 'is not', null)
      .executeTakeFirst();
    total += Number(row?.n ?? 0);
  }
  return total;
}

function activeVersions(ring: KeyRing): number[] {
  return ring
    .versions()
    .filter((info) => info.status === 'active')
    .map((info) => info.version);
}

function parseVersions(text: string): number[] {
  const value: unknown = JSON.parse(text);
  if (!Array.isArray(value) || !value.every((v) => Number.isSafeInteger(v))) {
    throw new VoterStoreError(
      'ROTATION_CONFLICT',
      'Cannot continue key rotation: its recorded versions are not a list of integers',
    );
  }
  return value as number[];
}
