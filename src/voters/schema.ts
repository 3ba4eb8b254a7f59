// Tables of the voter store and their migrations. Public fields are stored in clear (a canonical
// JSON text of the public columns, plus the few columns queries filter on); confidential and
// protected fields only inside `sealed`, an AEAD blob whose data key is wrapped under a root key
// version (src/crypto). Columns that hold sealed material are named in the few explicit column
// lists of record.ts, rotate.ts, verify.ts and aggregate.ts; nothing selects every column.
import type { Kysely } from 'kysely';
import type { DatabaseDialect, Migration } from '../store/index.ts';

/**
 * One row of `voter` (the current version of each voter) or `voter_version` (every superseded
 * version). Binary columns are BLOB on SQLite and BYTEA on PostgreSQL; flags are 0/1 integers.
 */
export interface VoterRowTable {
  voter_id: string;
  /** County code, or the state for statewide-only records; bound into the envelope. */
  jurisdiction: string;
  row_version: number;
  /**
   * Row version the envelope was sealed for. Equal to `row_version` except for versions that
   * changed no field (a removal), which keep the previous version's envelope.
   */
  envelope_version: number;
  status: string;
  /** '' when unknown, and for confidential records, whose precinct is sealed. */
  precinct: string;
  removed: number;
  confidential_record: number;
  /** Canonical JSON (sorted keys) of the non-empty public fields: column name → value. */
  public_fields: string;
  /** hashPublicFields of `public_fields`, bound into the envelope. */
  public_hash: Uint8Array;
  /** AES-256-GCM ciphertext of the sealed fields (see record.ts, `SealedFields`). */
  sealed: Uint8Array;
  /** Null once shredded. */
  key_version: number | null;
  /** Null once shredded: without it the sealed fields can never be opened. */
  wrapped_key: Uint8Array | null;
  /** Keyed MAC over the record's content, to tell unchanged rows without decrypting. */
  row_mac: Uint8Array;
  /** Id of the last import that listed this voter ('' for none). */
  last_seen_import: string;
  changed_at: string;
  /** Why this version was written: 'import', 'removed', or an official's stated reason. */
  change_reason: string;
  shredded_at: string | null;
}

/** `voter_lookup`: blind indexes (hex HMAC-SHA256) a voter is found by. */
export interface VoterLookupTable {
  digest: string;
  voter_id: string;
}

/** `voter_polling_place`: where the voters of a precinct vote. */
export interface VoterPollingPlaceTable {
  jurisdiction: string;
  precinct: string;
  name: string;
  address: string;
}

/** `voter_key_rotation`: one row per key rotation run, for resuming after a crash. */
export interface VoterKeyRotationTable {
  rotation_id: number;
  /** JSON array of the root key versions being rotated away from. */
  from_versions: string;
  to_version: number;
  started_at: string;
  finished_at: string | null;
  rows_rewrapped: number;
}

/** The tables of the voter store, for `Queryable<VotersTables>`. */
export interface VotersTables {
  voter: VoterRowTable;
  voter_version: VoterRowTable;
  voter_lookup: VoterLookupTable;
  voter_polling_place: VoterPollingPlaceTable;
  voter_key_rotation: VoterKeyRotationTable;
}

function binary(dialect: DatabaseDialect): 'blob' | 'bytea' {
  return dialect === 'postgres' ? 'bytea' : 'blob';
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- migrations see the database untyped
async function createVoterRowTable(db: Kysely<any>, dialect: DatabaseDialect, name: string) {
  const bin = binary(dialect);
  await db.schema
    .createTable(name)
    .addColumn('voter_id', 'text', (c) => c.notNull())
    .addColumn('jurisdiction', 'text', (c) => c.notNull())
    .addColumn('row_version', 'integer', (c) => c.notNull())
    .addColumn('envelope_version', 'integer', (c) => c.notNull())
    .addColumn('status', 'text', (c) => c.notNull())
    .addColumn('precinct', 'text', (c) => c.notNull())
    .addColumn('removed', 'integer', (c) => c.notNull())
    .addColumn('confidential_record', 'integer', (c) => c.notNull())
    .addColumn('public_fields', 'text', (c) => c.notNull())
    .addColumn('public_hash', bin, (c) => c.notNull())
    .addColumn('sealed', bin, (c) => c.notNull())
    .addColumn('key_version', 'integer')
    .addColumn('wrapped_key', bin)
    .addColumn('row_mac', bin, (c) => c.notNull())
    .addColumn('last_seen_import', 'text', (c) => c.notNull())
    .addColumn('changed_at', 'text', (c) => c.notNull())
    .addColumn('change_reason', 'text', (c) => c.notNull())
    .addColumn('shredded_at', 'text')
    .addPrimaryKeyConstraint(
      `${name}_pk`,
      name === 'voter' ? ['voter_id'] : ['voter_id', 'row_version'],
    )
    .execute();
  // Rotation finds the rows still wrapped under an old version.
  await db.schema.createIndex(`${name}_key_version`).on(name).column('key_version').execute();
}

/** Migrations of the voter store, in order; they run before the importer's. */
export const VOTERS_MIGRATIONS: readonly Migration[] = [
  {
    name: 'voters-0001-create-voter',
    async up(db, dialect) {
      await createVoterRowTable(db, dialect, 'voter');
      await createVoterRowTable(db, dialect, 'voter_version');
      // markUnseenRemoved: the voters of a jurisdiction an import did not list.
      await db.schema
        .createIndex('voter_jurisdiction_seen')
        .on('voter')
        .columns(['jurisdiction', 'last_seen_import'])
        .execute();
      await db.schema
        .createTable('voter_lookup')
        .addColumn('digest', 'text', (c) => c.notNull())
        .addColumn('voter_id', 'text', (c) => c.notNull())
        // The primary key covers the lookup: digest → voter ids, without reading the table.
        .addPrimaryKeyConstraint('voter_lookup_pk', ['digest', 'voter_id'])
        .execute();
      await db.schema
        .createIndex('voter_lookup_voter')
        .on('voter_lookup')
        .column('voter_id')
        .execute();
      await db.schema
        .createTable('voter_polling_place')
        .addColumn('jurisdiction', 'text', (c) => c.notNull())
        .addColumn('precinct', 'text', (c) => c.notNull())
        .addColumn('name', 'text', (c) => c.notNull())
        .addColumn('address', 'text', (c) => c.notNull())
        .addPrimaryKeyConstraint('voter_polling_place_pk', ['jurisdiction', 'precinct'])
        .execute();
      await db.schema
        .createTable('voter_key_rotation')
        .addColumn('rotation_id', 'integer', (c) => c.primaryKey())
        .addColumn('from_versions', 'text', (c) => c.notNull())
        .addColumn('to_version', 'integer', (c) => c.notNull())
        .addColumn('started_at', 'text', (c) => c.notNull())
        .addColumn('finished_at', 'text')
        .addColumn('rows_rewrapped', 'integer', (c) => c.notNull())
        .execute();
    },
  },
];
