// Checks every stored row version against its envelope: a database edited behind votervault's
// back (public fields changed, sealed blobs swapped between rows, a byte flipped) is reported by
// voter id and reason, never with a field value. The database is the attacker-controlled input
// here; each row is opened with the binding computed from its own clear columns, and a failure
// is narrowed down (wrapped key, public fields, ciphertext) by further checks that decrypt
// nothing new.
import { CryptoError, hashPublicFields } from '../crypto/index.ts';
import type { KeyRing } from '../crypto/index.ts';
import type { Queryable } from '../store/index.ts';
import { parseKeyVersion } from '../crypto/index.ts';
import { openStoredRecord, parsePublicFields, storedRowMac, VoterStoreError } from './record.ts';
import type { VotersTables, VoterRowTable } from './schema.ts';

/** Why a row version failed verification (or, for `shredded`, cannot be verified). */
export const VERIFY_REASONS = [
  /** Its wrapped key was destroyed on purpose: not tampering. */
  'shredded',
  /** The public fields are not what was sealed with the record (edited in the database). */
  'public-fields-altered',
  /** The wrapped key was altered, its key version changed, or it belongs to another voter. */
  'wrapped-key-invalid',
  /**
   * The sealed fields do not open under the row's binding: the ciphertext was altered or moved
   * from another row, or the row's jurisdiction or version was changed.
   */
  'ciphertext-invalid',
  /** The clear status, precinct or confidentiality flag differ from what was recorded. */
  'clear-columns-altered',
  /** The row's key version was retired: its record can no longer be opened. */
  'key-version-retired',
  /** The row names a key version the ring never had. */
  'key-version-unknown',
] as const;

/** One of {@link VERIFY_REASONS}. */
export type VerifyReason = (typeof VERIFY_REASONS)[number];

/** A row version that failed. */
export interface RowProblem {
  readonly voterId: string;
  readonly rowVersion: number;
  /** `current`: the `voter` table; `history`: `voter_version`. */
  readonly table: 'current' | 'history';
  readonly reason: VerifyReason;
}

/** What {@link verifyStore} found. */
export interface VerifyStoreReport {
  /** Row versions checked, current and history. */
  readonly checked: number;
  /** Every row version with a problem, shredded ones included, by table, voter id, version. */
  readonly problems: readonly RowProblem[];
  /** Row versions shredded (not tampering). */
  readonly shredded: number;
  /** True when no problem other than shredding was found. */
  readonly ok: boolean;
}

/** Options of {@link verifyStore}. */
export interface VerifyStoreOptions {
  /** Called after each page with the row versions checked so far. */
  readonly onProgress?: (checked: number) => void;
}

const PAGE_SIZE = 2_000;

const COLUMNS = [
  'voter_id',
  'row_version',
  'jurisdiction',
  'envelope_version',
  'status',
  'precinct',
  'confidential_record',
  'public_fields',
  'public_hash',
  'sealed',
  'key_version',
  'wrapped_key',
  'row_mac',
] as const satisfies readonly (keyof VoterRowTable)[];

type CheckedRow = Pick<VoterRowTable, (typeof COLUMNS)[number]>;

/**
 * Opens every row version (current and history) and checks its envelope, its public fields and
 * its row MAC. Batch work: problems are returned, not thrown.
 * @throws StoreError when the database cannot be read
 */
export async function verifyStore(
  q: Queryable<VotersTables>,
  ring: KeyRing,
  options: VerifyStoreOptions = {},
): Promise<VerifyStoreReport> {
  const problems: RowProblem[] = [];
  let checked = 0;
  for (const [table, name] of [
    ['voter', 'current'],
    ['voter_version', 'history'],
  ] as const) {
    let after: { voterId: string; rowVersion: number } | undefined;
    for (;;) {
      let query = q.db
        .selectFrom(table)
        .select(COLUMNS)
        .orderBy('voter_id')
        .orderBy('row_version')
        .limit(PAGE_SIZE);
      if (after !== undefined) {
        const { voterId, rowVersion } = after;
        query = query.where((eb) =>
          eb.or([
            eb('voter_id', '>', voterId),
            eb.and([eb('voter_id', '=', voterId), eb('row_version', '>', rowVersion)]),
          ]),
        );
      }
      const rows = await query.execute();
      for (const row of rows) {
        const reason = checkRow(ring, row);
        if (reason !== undefined) {
          problems.push({
            voterId: row.voter_id,
            rowVersion: Number(row.row_version),
            table: name,
            reason,
          });
        }
      }
      checked += rows.length;
      options.onProgress?.(checked);
      const last = rows.at(-1);
      if (last === undefined || rows.length < PAGE_SIZE) break;
      after = { voterId: last.voter_id, rowVersion: Number(last.row_version) };
    }
  }
  const shredded = problems.filter((p) => p.reason === 'shredded').length;
  return { checked, problems, shredded, ok: shredded === problems.length };
}

/** The problem of one row version, or undefined when it is intact. */
function checkRow(ring: KeyRing, row: CheckedRow): VerifyReason | undefined {
  if (row.wrapped_key === null || row.key_version === null) return 'shredded';
  let publicHash: Uint8Array;
  try {
    publicHash = hashPublicFields(parsePublicFields(row.voter_id, row.public_fields));
  } catch (error) {
    if (error instanceof VoterStoreError || error instanceof CryptoError) {
      return 'public-fields-altered';
    }
    throw error;
  }
  try {
    const fields = openStoredRecord(ring, row);
    const mac = storedRowMac(ring, row, fields);
    return Buffer.from(mac).equals(row.row_mac) ? undefined : 'clear-columns-altered';
  } catch (error) {
    if (!(error instanceof CryptoError)) throw error;
    switch (error.code) {
      case 'KEY_VERSION_RETIRED':
        return 'key-version-retired';
      case 'KEY_VERSION_UNKNOWN':
        return 'key-version-unknown';
      case 'ENVELOPE_INVALID':
      case 'BINDING_INVALID':
        return narrowEnvelopeFailure(ring, row, publicHash);
      default:
        throw error;
    }
  }
}

/** Tells which part of a row that does not open was changed. */
function narrowEnvelopeFailure(
  ring: KeyRing,
  row: CheckedRow,
  publicHash: Uint8Array,
): VerifyReason {
  const wrapped = row.wrapped_key;
  const version = row.key_version;
  if (wrapped === null || version === null) return 'shredded';
  try {
    // Unwraps (and re-wraps, discarded) the data key alone: it fails when the wrapped key, its
    // version or its voter changed.
    ring.rewrapKey({ keyVersion: parseKeyVersion(Number(version)), bytes: wrapped }, row.voter_id);
  } catch (error) {
    if (error instanceof CryptoError) return 'wrapped-key-invalid';
    throw error;
  }
  // The key is sound. If the record opens with the public-fields hash stored at write time, the
  // public fields were edited since.
  if (!Buffer.from(publicHash).equals(row.public_hash)) {
    try {
      ring
        .openRecord(
          {
            ciphertext: row.sealed,
            wrappedKey: { keyVersion: parseKeyVersion(Number(version)), bytes: wrapped },
          },
          {
            voterId: row.voter_id,
            jurisdiction: row.jurisdiction,
            rowVersion: Number(row.envelope_version),
            publicFieldsHash: row.public_hash,
          },
        )
        .fill(0);
      return 'public-fields-altered';
    } catch (error) {
      if (!(error instanceof CryptoError)) throw error;
    }
  }
  return 'ciphertext-invalid';
}
