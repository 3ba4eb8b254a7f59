// Public exports of the voter roll (docs/design/exports.md): the public columns of a state's
// layout, for a named recipient and a stated purpose, watermarked per export with canary records
// and a keyed fingerprint, recorded in `voter_export` and in the public log.
//
// What keeps confidential and protected data out, in code rather than by care: the column list
// is built only from columns whose class is `public` (asking for any other is an error), rows
// are read only from the clear `public_fields` JSON (no sealed column is selected, nothing is
// decrypted), voters in an address-confidentiality program and shredded records are excluded in
// the query, and the only filter is the jurisdiction and the only sort key the voter id.
//
// The database is attacker-controlled in the threat model: stored public fields are parsed
// (parsePublicFields) and a row is written only when its voter id field is the row's own id.
import { randomBytes } from 'node:crypto';
import { open, rename, rm, stat } from 'node:fs/promises';
import type { FileHandle } from 'node:fs/promises';
import { VotervaultError } from '../basics/index.ts';
import type { KeyRing } from '../crypto/index.ts';
import type { Queryable } from '../store/index.ts';
import { DelimitedError, formatDelimitedRow } from './delimited.ts';
import type { DelimitedWriteOptions } from './delimited.ts';
import type { ExportTables } from './export-schema.ts';
import { createVoterGenerator } from './generate.ts';
import {
  columnCodes,
  columnIndex,
  INTERCHANGE_LAYOUT_IDS,
  isRecordConfidential,
  layoutDialect,
} from './layout.ts';
import type { LayoutColumn, VoterLayout } from './layout.ts';
import { parsePublicFields } from './record.ts';
import {
  applyMarks,
  canaryCount,
  canaryDigest,
  canarySeed,
  MARK_SCHEME,
  markBits,
  markColumnsOf,
} from './watermark.ts';
import type { MarkKey } from './watermark.ts';

/** Stable codes of export and trace failures. */
export const EXPORT_ERROR_CODES = [
  /** No purpose was stated, or it is too long. */
  'EXPORT_PURPOSE_REQUIRED',
  /** The recipient is empty, too long, or holds control characters. */
  'EXPORT_RECIPIENT_INVALID',
  /** A column asked for is confidential or protected: never exported. */
  'EXPORT_COLUMN_NOT_PUBLIC',
  /** A column asked for is not in the layout. */
  'EXPORT_COLUMN_UNKNOWN',
  /** The columns asked for leave out the voter id, which every watermark is keyed on. */
  'EXPORT_COLUMNS_INVALID',
  /** A county code is not one of the layout's. */
  'EXPORT_JURISDICTION_UNKNOWN',
  /** The layout is not a delimited file layout (the NIST interchange JSON has its own export). */
  'EXPORT_LAYOUT_UNSUPPORTED',
  /** The output file exists already: exports never overwrite one another. */
  'EXPORT_OUT_EXISTS',
  /** A stored value cannot be written in the layout (a delimiter without quoting, encoding). */
  'EXPORT_VALUE_UNREPRESENTABLE',
  /** No canary record could be generated for the jurisdictions asked (a bug or a tiny layout). */
  'EXPORT_CANARY_FAILED',
  /** A `voter_export` row is not in the format export.ts writes (edited in the database). */
  'EXPORT_RECORD_INVALID',
  /** Trace cannot tell which layout a file is in. */
  'TRACE_LAYOUT_UNDETECTED',
  /** Trace cannot read the file. */
  'TRACE_FILE_UNREADABLE',
] as const;

/** One of {@link EXPORT_ERROR_CODES}. */
export type ExportErrorCode = (typeof EXPORT_ERROR_CODES)[number];

/** A failed export or trace. Messages name voters by id at most, never a field value. */
export class ExportError extends VotervaultError<ExportErrorCode> {}

/** Longest purpose recorded; a purpose is a sentence or a paragraph, not a document. */
export const MAX_PURPOSE_LENGTH = 2_000;

/** Longest recipient name: an organisation's name. */
export const MAX_RECIPIENT_LENGTH = 200;

/** Voter rows read per query: bounded memory, few round trips. */
const PAGE_SIZE = 2_000;

/** Characters of text buffered before a write. */
const WRITE_CHUNK = 1 << 20;

/**
 * Generated rows tried per canary before giving up: a canary must fall in one of the exported
 * counties, so an export of one county in a hundred needs about a hundred draws each.
 */
const MAX_CANARY_DRAWS = 100_000;

const CONTROL = /[\u0000-\u001f\u007f-\u009f]/;

/** The entry appended to the public log for each export: no voter's data. */
export interface ExportLogEntry {
  readonly type: 'export';
  readonly export: string;
  readonly recipient: string;
  readonly purpose: string;
  readonly layout: string;
  /** County codes exported; empty for the whole roll. */
  readonly jurisdictions: readonly string[];
  /** Voters whose public record is in the file. */
  readonly records: number;
  readonly time: string;
}

/** Options of {@link exportVoters}. */
export interface ExportVotersOptions {
  /** The state layout the file is written in, restricted to its public columns. */
  readonly layout: VoterLayout;
  /** County codes to export; the whole roll when absent or empty. */
  readonly jurisdictions?: readonly string[];
  /**
   * Public columns to export, by name; every public column of the layout by default. Naming a
   * confidential or protected column is an error, as is leaving out the voter id.
   */
  readonly columns?: readonly string[];
  /** The organisation receiving the file, as the official names it. */
  readonly recipient: string;
  /** Why the recipient asked for it; required. */
  readonly purpose: string;
  /** Path of the file to write; it must not exist. */
  readonly out: string;
  /** Appends the export's entry to the public log; the file appears only once it resolves. */
  readonly appendLog: (entry: ExportLogEntry) => Promise<void>;
  /** Clock for the export's time; `new Date()` by default. */
  readonly now?: () => Date;
}

/** What {@link exportVoters} wrote. */
export interface ExportReport {
  readonly exportId: string;
  readonly recipient: string;
  readonly purpose: string;
  readonly time: string;
  readonly layout: string;
  readonly jurisdictions: readonly string[];
  readonly columns: readonly string[];
  /** Real voters in the file. */
  readonly records: number;
  /** Canary records in the file (do not pass this number on to the recipient). */
  readonly canaries: number;
  /** Rows carrying at least one fingerprint mark, canaries included. */
  readonly markedRows: number;
  /** Voters left out because their record was stored under another layout's column names. */
  readonly skipped: number;
}

/**
 * The columns an export of `layout` writes: `names` in layout order, or every public column.
 * @throws ExportError EXPORT_COLUMN_NOT_PUBLIC for a confidential or protected column,
 *   EXPORT_COLUMN_UNKNOWN for a name the layout does not have, EXPORT_COLUMNS_INVALID when the
 *   voter id column is left out
 */
export function exportColumns(
  layout: VoterLayout,
  names?: readonly string[],
): readonly LayoutColumn[] {
  const isPublic = (column: LayoutColumn): boolean =>
    column.class === 'public' && column.role !== 'unused';
  if (names === undefined || names.length === 0) return layout.columns.filter(isPublic);
  const wanted = new Set<number>();
  for (const name of names) {
    const index = columnIndex(layout, name.trim());
    const column = layout.columns[index];
    if (column === undefined) {
      throw new ExportError(
        'EXPORT_COLUMN_UNKNOWN',
        `Cannot export column ${JSON.stringify(name)}: layout "${layout.id}" has no such column`,
      );
    }
    // The one gate of the column list: a confidential or protected column is refused here,
    // whatever the caller asked for.
    if (column.class !== 'public') {
      throw new ExportError(
        'EXPORT_COLUMN_NOT_PUBLIC',
        `Cannot export column "${column.name}": it is ${column.class}, and only public columns are exported`,
      );
    }
    if (isPublic(column)) wanted.add(index);
  }
  const columns = layout.columns.filter((_, i) => wanted.has(i));
  if (!columns.some((column) => column.role === 'voterId')) {
    throw new ExportError(
      'EXPORT_COLUMNS_INVALID',
      `Cannot export without the voter id column of layout "${layout.id}": the watermark is keyed on it`,
    );
  }
  return columns;
}

/**
 * The layout of an export file: `layout` restricted to the exported columns, with a header (an
 * export always has one, since it may leave columns out), no extra columns, and the
 * confidential marker only if its column is exported. Parse export files with it.
 * @throws ExportError as {@link exportColumns}
 */
export function exportLayout(layout: VoterLayout, names?: readonly string[]): VoterLayout {
  const columns = exportColumns(layout, names);
  const marker = layout.confidentialMarker;
  const keepMarker =
    marker !== undefined &&
    columns.some((c) => c.name.toLowerCase() === marker.column.toLowerCase());
  return {
    id: layout.id,
    title: layout.title,
    state: layout.state,
    source: layout.source,
    ...(layout.notes === undefined ? {} : { notes: layout.notes }),
    format: { ...layout.format, header: 'present' },
    columns,
    ...(keepMarker ? { confidentialMarker: marker } : {}),
    ...(layout.counties === undefined ? {} : { counties: layout.counties }),
  };
}

/**
 * Writes a public, watermarked export of the voter roll and records it:
 *
 * 1. The public columns of `layout` (see {@link exportColumns}), header first, every current
 *    voter of `jurisdictions` sorted by voter id, except removed voters, voters in an
 *    address-confidentiality program and shredded records; read page by page, written in
 *    chunks (constant memory).
 * 2. A fingerprint in every row that has a carrier: the spelling of its street suffix and
 *    directionals, chosen by a keyed MAC of the export and the voter id (watermark.ts).
 * 3. 3 to 10 canary records (synthetic voters from a keyed seed, never stored as voters) at the
 *    places their ids sort to.
 * 4. A `voter_export` row, then one log entry through `appendLog`; only then is the file
 *    renamed into place, so no export leaves without being logged.
 *
 * @throws ExportError EXPORT_PURPOSE_REQUIRED, EXPORT_RECIPIENT_INVALID, EXPORT_COLUMN_*,
 *   EXPORT_COLUMNS_INVALID, EXPORT_JURISDICTION_UNKNOWN, EXPORT_LAYOUT_UNSUPPORTED,
 *   EXPORT_OUT_EXISTS, EXPORT_VALUE_UNREPRESENTABLE, EXPORT_CANARY_FAILED
 * @throws VoterStoreError RECORD_INVALID when stored public fields are not a JSON object
 * @throws StoreError when the database cannot be read or written
 * @throws whatever `appendLog` throws (the export is then undone and no file is left)
 */
export async function exportVoters(
  q: Queryable<ExportTables>,
  ring: KeyRing,
  options: ExportVotersOptions,
): Promise<ExportReport> {
  const { layout, out } = options;
  const purpose = checkPurpose(options.purpose);
  const recipient = checkRecipient(options.recipient);
  if ((INTERCHANGE_LAYOUT_IDS as readonly string[]).includes(layout.id)) {
    throw new ExportError(
      'EXPORT_LAYOUT_UNSUPPORTED',
      `Cannot export in layout "${layout.id}": it is not a delimited file layout`,
    );
  }
  const columns = exportColumns(layout, options.columns);
  const jurisdictions = checkJurisdictions(layout, options.jurisdictions ?? []);
  const time = (options.now ?? (() => new Date()))().toISOString();
  const exportId = randomBytes(16).toString('hex');
  const key: MarkKey = { exportId, recipient };
  const marks = markColumnsOf(columns);
  const voterIdName = columns.find((c) => c.role === 'voterId')?.name ?? '';
  const write: DelimitedWriteOptions = {
    ...layoutDialect(layout),
    quoteAll: layout.format.quoteAll,
  };
  const eol = layout.format.lineEnding === 'crlf' ? '\r\n' : '\n';

  if (await exists(out)) {
    throw new ExportError('EXPORT_OUT_EXISTS', `Cannot export to "${out}": the file exists`);
  }
  const partial = `${out}.partial`;
  // A partial file is only ever ours, left by an export that crashed before renaming it.
  await rm(partial, { force: true });
  const file = await open(partial, 'wx', 0o600);
  const writer = new ChunkWriter(file, layout.format.encoding === 'utf-8' ? 'utf-8' : 'cp1252');
  let recorded = false;
  try {
    const expected = await countVoters(q, jurisdictions);
    const canaries = await makeCanaries(q, ring, {
      layout,
      columns,
      jurisdictions,
      key,
      count: canaryCount(expected),
      asOf: time.slice(0, 10),
    });
    await writer.line(
      formatDelimitedRow(
        columns.map((c) => c.name),
        write,
      ) + eol,
      '',
    );
    let records = 0;
    let skipped = 0;
    let markedRows = 0;
    let next = 0;
    const writeRow = async (voterId: string, fields: string[], bits: number): Promise<void> => {
      if (applyMarks(fields, marks, bits) !== 0) markedRows += 1;
      let text: string;
      try {
        text = formatDelimitedRow(fields, write);
      } catch (error: unknown) {
        if (!(error instanceof DelimitedError)) throw error;
        throw new ExportError(
          'EXPORT_VALUE_UNREPRESENTABLE',
          `Cannot export voter "${voterId}": a value cannot be written in layout "${layout.id}" (${error.code})`,
        );
      }
      await writer.line(text + eol, voterId);
    };
    const writeCanariesBefore = async (position: number): Promise<void> => {
      for (let c = canaries[next]; c !== undefined && c.position <= position; c = canaries[next]) {
        await writeRow(c.voterId, [...c.fields], markBits(ring, key, c.voterId));
        next += 1;
      }
    };
    let after: string | undefined;
    for (;;) {
      let query = q.db
        .selectFrom('voter')
        .select(['voter_id', 'public_fields'])
        .where('removed', '=', 0)
        .where('confidential_record', '=', 0)
        .where('shredded_at', 'is', null)
        .orderBy('voter_id')
        .limit(PAGE_SIZE);
      if (jurisdictions.length > 0) query = query.where('jurisdiction', 'in', jurisdictions);
      if (after !== undefined) query = query.where('voter_id', '>', after);
      const rows = await query.execute();
      for (const row of rows) {
        const publicFields = parsePublicFields(row.voter_id, row.public_fields);
        // A record stored under another layout's column names (or edited so that its id field
        // is not its id) is left out rather than written with misplaced or missing values.
        if (publicFields[voterIdName] !== row.voter_id) {
          skipped += 1;
          continue;
        }
        await writeCanariesBefore(records + skipped);
        const fields = columns.map((column) => publicFields[column.name] ?? '');
        await writeRow(row.voter_id, fields, markBits(ring, key, row.voter_id));
        records += 1;
      }
      if (rows.length < PAGE_SIZE) break;
      after = rows[rows.length - 1]?.voter_id;
    }
    await writeCanariesBefore(Number.POSITIVE_INFINITY);
    await writer.finish();

    await q.db
      .insertInto('voter_export')
      .values({
        export_id: exportId,
        recipient,
        purpose,
        created_at: time,
        layout_id: layout.id,
        jurisdictions: JSON.stringify(jurisdictions),
        columns: JSON.stringify(columns.map((c) => c.name)),
        record_count: records,
        canaries: JSON.stringify(canaries.map((c) => ({ id: c.voterId, digest: c.digest }))),
        mark_scheme: MARK_SCHEME,
        mark_key_version: ring.stableVersion,
        marked_rows: markedRows,
      })
      .execute();
    recorded = true;
    await options.appendLog({
      type: 'export',
      export: exportId,
      recipient,
      purpose,
      layout: layout.id,
      jurisdictions,
      records,
      time,
    });
    await rename(partial, out);
    return {
      exportId,
      recipient,
      purpose,
      time,
      layout: layout.id,
      jurisdictions,
      columns: columns.map((c) => c.name),
      records,
      canaries: canaries.length,
      markedRows,
      skipped,
    };
  } catch (error: unknown) {
    await writer.abort();
    await rm(partial, { force: true });
    // The log did not take the entry: the export did not happen, so its record goes too.
    if (recorded) {
      await q.db.deleteFrom('voter_export').where('export_id', '=', exportId).execute();
    }
    throw error;
  }
}

function checkPurpose(text: string): string {
  const purpose = text.trim();
  if (purpose === '' || purpose.length > MAX_PURPOSE_LENGTH) {
    throw new ExportError(
      'EXPORT_PURPOSE_REQUIRED',
      `Cannot export without a stated purpose of 1 to ${MAX_PURPOSE_LENGTH} characters`,
    );
  }
  return purpose;
}

function checkRecipient(text: string): string {
  const recipient = text.trim();
  if (recipient === '' || recipient.length > MAX_RECIPIENT_LENGTH || CONTROL.test(recipient)) {
    throw new ExportError(
      'EXPORT_RECIPIENT_INVALID',
      `Cannot export: the recipient must be a name of 1 to ${MAX_RECIPIENT_LENGTH} characters without control characters`,
    );
  }
  return recipient;
}

function checkJurisdictions(layout: VoterLayout, codes: readonly string[]): readonly string[] {
  const unique = [...new Set(codes.map((code) => code.trim()))].sort();
  const county = layout.columns.find((c) => c.role === 'countyCode');
  const known = county === undefined ? undefined : columnCodes(layout, county);
  for (const code of unique) {
    if (code === '' || (known !== undefined && !Object.hasOwn(known.values, code))) {
      throw new ExportError(
        'EXPORT_JURISDICTION_UNKNOWN',
        `Cannot export county ${JSON.stringify(code)}: it is not a county code of layout "${layout.id}"`,
      );
    }
  }
  return unique;
}

async function exists(path: string): Promise<boolean> {
  try {
    await stat(path);
    return true;
  } catch (error: unknown) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw error;
  }
}

/** Voters an export of `jurisdictions` would hold, below `before` when given (in id order). */
async function countVoters(
  q: Queryable<ExportTables>,
  jurisdictions: readonly string[],
  before?: string,
): Promise<number> {
  let query = q.db
    .selectFrom('voter')
    .select((eb) => eb.fn.countAll<number | string | bigint>().as('n'))
    .where('removed', '=', 0)
    .where('confidential_record', '=', 0)
    .where('shredded_at', 'is', null);
  if (jurisdictions.length > 0) query = query.where('jurisdiction', 'in', jurisdictions);
  if (before !== undefined) query = query.where('voter_id', '<', before);
  const row = await query.executeTakeFirst();
  return Number(row?.n ?? 0);
}

/** A canary record ready to write. */
interface Canary {
  readonly voterId: string;
  /** The exported columns' values, before marking. */
  readonly fields: readonly string[];
  readonly digest: string;
  /** Real rows that sort before it: it is written after that many. */
  readonly position: number;
}

interface CanaryContext {
  readonly layout: VoterLayout;
  readonly columns: readonly LayoutColumn[];
  readonly jurisdictions: readonly string[];
  readonly key: MarkKey;
  readonly count: number;
  /** Date the synthetic records describe (the export's), so no date in them is in the future. */
  readonly asOf: string;
}

/**
 * Synthetic voters from the layout's generator, seeded by a keyed MAC of the export: in an
 * exported county, not in an address-confidentiality program, with an id no stored voter has.
 * Each is placed where its id sorts among the real rows, in the database's own order, so the
 * file stays sorted and the canaries do not stand out.
 */
async function makeCanaries(
  q: Queryable<ExportTables>,
  ring: KeyRing,
  context: CanaryContext,
): Promise<Canary[]> {
  const { layout, columns, jurisdictions, key } = context;
  const generator = createVoterGenerator(layout, {
    seed: canarySeed(ring, key),
    asOf: context.asOf,
  });
  const at = (role: LayoutColumn['role']): number =>
    layout.columns.findIndex((c) => c.role === role);
  const idAt = at('voterId');
  const countyAt = at('countyCode');
  const lastAt = at('lastName');
  const firstAt = at('firstName');
  const positions = columns.map((column) => layout.columns.indexOf(column));
  const chosen = new Map<string, Canary>();
  for (let draw = 0; chosen.size < context.count; draw++) {
    if (draw >= MAX_CANARY_DRAWS) {
      throw new ExportError(
        'EXPORT_CANARY_FAILED',
        `Cannot make canary records for layout "${layout.id}" in the counties asked`,
      );
    }
    const fields = generator.next().map((value) => value.trim());
    if (isRecordConfidential(layout, fields)) continue;
    const jurisdiction = (countyAt < 0 ? '' : fields[countyAt]) || layout.state;
    if (jurisdictions.length > 0 && !jurisdictions.includes(jurisdiction)) continue;
    const voterId = fields[idAt] ?? '';
    if (voterId === '' || chosen.has(voterId) || (await voterExists(q, voterId))) continue;
    chosen.set(voterId, {
      voterId,
      fields: positions.map((i) => fields[i] ?? ''),
      digest: canaryDigest(ring, key.exportId, {
        voterId,
        last: fields[lastAt] ?? '',
        first: fields[firstAt] ?? '',
      }),
      position: await countVoters(q, jurisdictions, voterId),
    });
  }
  return [...chosen.values()].sort(
    (a, b) => a.position - b.position || (a.voterId < b.voterId ? -1 : 1),
  );
}

/** Whether any voter, current or superseded, has the id. */
async function voterExists(q: Queryable<ExportTables>, voterId: string): Promise<boolean> {
  for (const table of ['voter', 'voter_version'] as const) {
    const row = await q.db
      .selectFrom(table)
      .select('voter_id')
      .where('voter_id', '=', voterId)
      .limit(1)
      .executeTakeFirst();
    if (row !== undefined) return true;
  }
  return false;
}

// windows-1252 bytes 0x80–0x9F, by the character they stand for (the rest of 0xA0–0xFF is
// Latin-1). SPEC: https://encoding.spec.whatwg.org/index-windows-1252.txt
const CP1252_HIGH: ReadonlyMap<string, number> = new Map(
  [
    '\u20ac',
    '',
    '\u201a',
    '\u0192',
    '\u201e',
    '\u2026',
    '\u2020',
    '\u2021',
    '\u02c6',
    '\u2030',
    '\u0160',
    '\u2039',
    '\u0152',
    '',
    '\u017d',
    '',
    '',
    '\u2018',
    '\u2019',
    '\u201c',
    '\u201d',
    '\u2022',
    '\u2013',
    '\u2014',
    '\u02dc',
    '\u2122',
    '\u0161',
    '\u203a',
    '\u0153',
    '',
    '\u017e',
    '\u0178',
  ].flatMap((ch, i) => (ch === '' ? [] : [[ch, 0x80 + i] as const])),
);

const ASCII_ONLY = /^[\u0000-\u007f]*$/;

/** Text as windows-1252 bytes, or undefined when a character has no byte there. */
function encodeCp1252(text: string): Buffer | undefined {
  if (ASCII_ONLY.test(text)) return Buffer.from(text, 'latin1');
  const bytes = Buffer.allocUnsafe(text.length);
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    const byte =
      code < 0x80 || (code >= 0xa0 && code <= 0xff) ? code : CP1252_HIGH.get(text.charAt(i));
    if (byte === undefined) return undefined;
    bytes[i] = byte;
  }
  return bytes;
}

/** Buffers lines and writes them in large chunks, in the layout's encoding. */
class ChunkWriter {
  readonly #file: FileHandle;
  readonly #encoding: 'utf-8' | 'cp1252';
  #chunks: Buffer[] = [];
  #size = 0;
  #closed = false;

  constructor(file: FileHandle, encoding: 'utf-8' | 'cp1252') {
    this.#file = file;
    this.#encoding = encoding;
  }

  /** @throws ExportError EXPORT_VALUE_UNREPRESENTABLE naming `voterId` */
  async line(text: string, voterId: string): Promise<void> {
    const bytes = this.#encoding === 'utf-8' ? Buffer.from(text, 'utf8') : encodeCp1252(text);
    if (bytes === undefined) {
      throw new ExportError(
        'EXPORT_VALUE_UNREPRESENTABLE',
        `Cannot export voter "${voterId}": a value has a character windows-1252 cannot encode`,
      );
    }
    this.#chunks.push(bytes);
    this.#size += bytes.length;
    if (this.#size >= WRITE_CHUNK) await this.#flush();
  }

  async #flush(): Promise<void> {
    if (this.#size === 0) return;
    const chunk = Buffer.concat(this.#chunks, this.#size);
    this.#chunks = [];
    this.#size = 0;
    await this.#file.write(chunk);
  }

  /** Writes what is buffered, syncs and closes. */
  async finish(): Promise<void> {
    await this.#flush();
    await this.#file.sync();
    this.#closed = true;
    await this.#file.close();
  }

  async abort(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await this.#file.close().catch(() => undefined);
  }
}
