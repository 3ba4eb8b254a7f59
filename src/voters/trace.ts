// Tracing a leaked file to the export it came from (docs/design/exports.md): canary records
// found by id and keyed fingerprint, and the keyed spelling marks of every row compared with
// each recorded export's, scored as the chance that an unrelated file agrees that well.
//
// Attacker-controlled input: the whole file (it comes from wherever it leaked). It is read with
// the delimited reader, which bounds line length and never throws on a bad row; only the first
// `maxRows` distinct voters are compared (bounded work and memory), canary ids are looked up in
// a map, and values are only compared, split on spaces and looked up in fixed tables.
// The `voter_export` rows are read from the database and parsed with a strict schema.
import { createReadStream } from 'node:fs';
import { open } from 'node:fs/promises';
import { z } from 'zod';
import type { KeyRing } from '../crypto/index.ts';
import type { Queryable } from '../store/index.ts';
import { DEFAULT_MAX_LINE_BYTES, parseDelimitedLine, readDelimited } from './delimited.ts';
import { ExportError } from './export.ts';
import type { ExportTables, VoterExportTable } from './export-schema.ts';
import { layoutDialect, loadLayout, SHIPPED_LAYOUT_IDS } from './layout.ts';
import type { LayoutColumn, VoterLayout } from './layout.ts';
import {
  binomialTailLog10,
  canaryDigest,
  MARK_SCHEME,
  markBits,
  markColumnsOf,
  popCount,
  readMarks,
} from './watermark.ts';
import type { MarkColumns } from './watermark.ts';

/**
 * Distinct voters whose marks are compared, at most. Ten thousand rows give tens of thousands
 * of marks, far more evidence than a decision needs; past that, reading on costs time for
 * nothing. Canaries are looked for in every row.
 */
export const DEFAULT_TRACE_ROWS = 10_000;

/**
 * Fingerprint score (−log10 of the chance that a file without this export's marks agrees with
 * them this well) from which a file is attributed to an export: one in a billion. With about
 * one mark per row, some thirty rows of the export reach it.
 */
export const MATCH_SCORE = 9;

/**
 * Share of marks that must agree besides the score. An unrelated file agrees on half; a copy of
 * the export on all of them; a file merged from two recipients' copies on about three quarters
 * for each (both are named).
 */
export const MIN_AGREEMENT = 0.7;

/**
 * Score each confirmed canary adds: an unrelated file holding a synthetic voter's id together
 * with its keyed name fingerprint is taken to have a chance below 1e-10.
 */
export const CANARY_SCORE = 10;

/** Options of {@link traceFile}. */
export interface TraceFileOptions {
  /**
   * The layout the file is in, when it cannot be told from the file (no header) or its id is
   * not a shipped layout's; by default each recorded export's layout is tried.
   */
  readonly layout?: VoterLayout;
  /** Distinct voters whose marks are compared; {@link DEFAULT_TRACE_ROWS} by default. */
  readonly maxRows?: number;
}

/** One recorded export and the evidence that the file came from it. */
export interface TraceCandidate {
  readonly exportId: string;
  readonly recipient: string;
  readonly purpose: string;
  readonly time: string;
  readonly layout: string;
  readonly records: number;
  readonly canaries: {
    /** Canary records the export held. */
    readonly issued: number;
    /** Found in the file by voter id. */
    readonly found: number;
    /** Found with their keyed name fingerprint too. */
    readonly confirmed: number;
  };
  readonly fingerprint: {
    /** Marks compared (a row carries one to three). */
    readonly compared: number;
    readonly agreeing: number;
    /** Chance that a file without this export's marks agrees this well (may round to 0). */
    readonly pValue: number;
  };
  /** −log10 of the fingerprint's p-value, plus {@link CANARY_SCORE} per confirmed canary. */
  readonly score: number;
  /** Whether the evidence names this export as the file's source. */
  readonly matched: boolean;
}

/** What {@link traceFile} found. */
export interface TraceReport {
  /** Layout the file was read in, or undefined when no export was recorded. */
  readonly layout: string | undefined;
  /** Whether the file's first line was a header. */
  readonly header: boolean;
  /** Data rows read. */
  readonly rows: number;
  /** Lines that could not be split into fields. */
  readonly invalidRows: number;
  /** Distinct voters whose marks were compared. */
  readonly comparedRows: number;
  /** Every recorded export, best evidence first. */
  readonly candidates: readonly TraceCandidate[];
  /** The best candidate, when it matched. */
  readonly match: TraceCandidate | undefined;
}

const CanariesSchema = z.array(z.strictObject({ id: z.string().min(1), digest: z.string() }));
const NamesSchema = z.array(z.string());

/** A recorded export, parsed. */
interface RecordedExport {
  readonly row: Pick<
    VoterExportTable,
    'export_id' | 'recipient' | 'purpose' | 'created_at' | 'layout_id' | 'record_count'
  >;
  readonly columns: readonly string[];
  readonly canaries: readonly { readonly id: string; readonly digest: string }[];
}

/** How the file's fields are read: its layout and the layout column at each position. */
interface Reading {
  readonly layout: VoterLayout;
  readonly header: boolean;
  readonly columns: readonly (LayoutColumn | undefined)[];
}

/**
 * Ranks every recorded export by the evidence that `file` came from it: canary records found
 * (by id, confirmed by a keyed fingerprint of their name), and agreement of the file's address
 * spellings with the export's keyed marks over the first `maxRows` distinct voters. Works on a
 * whole copy, on an excerpt, on shuffled rows and on a copy re-written by a spreadsheet, as long
 * as the voter id and residence address columns survive (docs/design/exports.md).
 * @throws ExportError TRACE_FILE_UNREADABLE, TRACE_LAYOUT_UNDETECTED, EXPORT_RECORD_INVALID
 * @throws StoreError when the database cannot be read
 */
export async function traceFile(
  q: Queryable<ExportTables>,
  ring: KeyRing,
  file: string,
  options: TraceFileOptions = {},
): Promise<TraceReport> {
  const exports = await recordedExports(q);
  const firstLine = await readFirstLine(file);
  if (exports.length === 0) {
    return {
      layout: undefined,
      header: false,
      rows: 0,
      invalidRows: 0,
      comparedRows: 0,
      candidates: [],
      match: undefined,
    };
  }
  const reading = chooseReading(exports, firstLine, options.layout);
  const { layout } = reading;
  const at = (role: LayoutColumn['role']): number =>
    reading.columns.findIndex((c) => c?.role === role);
  const idAt = at('voterId');
  const lastAt = at('lastName');
  const firstAt = at('firstName');
  const idName = reading.columns[idAt]?.name.toLowerCase() ?? '';
  const marks: MarkColumns = markColumnsOf(
    reading.columns.map(
      (c, i) => c ?? { name: `#${i}`, class: 'public', role: 'other', required: false },
    ),
  );
  const candidates = exports
    .map((e, i) => ({ e, i }))
    .filter(({ e }) => e.row.layout_id === layout.id);
  const compared = new Array<number>(exports.length).fill(0);
  const agreeing = new Array<number>(exports.length).fill(0);
  const found = exports.map(() => new Set<string>());
  const confirmed = exports.map(() => new Set<string>());
  const canaryIndex = new Map<string, number[]>();
  exports.forEach((e, i) => {
    for (const canary of e.canaries) {
      const list = canaryIndex.get(canary.id) ?? [];
      list.push(i);
      canaryIndex.set(canary.id, list);
    }
  });
  const maxRows = options.maxRows ?? DEFAULT_TRACE_ROWS;
  const seen = new Set<string>();
  let rows = 0;
  let invalidRows = 0;
  let stream: NodeJS.ReadableStream | undefined;
  try {
    stream = createReadStream(file);
    for await (const record of readDelimited(stream as AsyncIterable<Uint8Array>, {
      ...layoutDialect(layout),
      encoding: layout.format.encoding,
      maxLineBytes: DEFAULT_MAX_LINE_BYTES,
    })) {
      if (record.kind === 'invalid') {
        invalidRows += 1;
        continue;
      }
      const fields = record.fields;
      const voterId = (fields[idAt] ?? '').trim();
      // A header line, wherever a shuffle put it, is not a voter.
      if (voterId === '' || (reading.header && voterId.toLowerCase() === idName)) continue;
      rows += 1;
      for (const i of canaryIndex.get(voterId) ?? []) {
        const e = exports[i] as RecordedExport;
        found[i]?.add(voterId);
        const digest = canaryDigest(ring, e.row.export_id, {
          voterId,
          last: fields[lastAt] ?? '',
          first: fields[firstAt] ?? '',
        });
        if (e.canaries.some((c) => c.id === voterId && c.digest === digest)) {
          confirmed[i]?.add(voterId);
        }
      }
      if (seen.size >= maxRows || seen.has(voterId)) continue;
      const observed = readMarks(fields, marks);
      if (observed.mask === 0) continue;
      // Each voter counts once: a duplicated row is not new evidence.
      seen.add(voterId);
      const carriers = popCount(observed.mask);
      for (const { e, i } of candidates) {
        const expected = markBits(
          ring,
          { exportId: e.row.export_id, recipient: e.row.recipient },
          voterId,
        );
        compared[i] = (compared[i] ?? 0) + carriers;
        agreeing[i] = (agreeing[i] ?? 0) + popCount(observed.mask & ~(expected ^ observed.bits));
      }
    }
  } catch (error: unknown) {
    throw isSystemError(error) ? unreadable(file, error) : error;
  }
  const ranked = exports
    .map((e, i): TraceCandidate => {
      const n = compared[i] ?? 0;
      const k = agreeing[i] ?? 0;
      const log10p = binomialTailLog10(n, k);
      const canaries = confirmed[i]?.size ?? 0;
      const fingerprintScore = -log10p;
      return {
        exportId: e.row.export_id,
        recipient: e.row.recipient,
        purpose: e.row.purpose,
        time: e.row.created_at,
        layout: e.row.layout_id,
        records: Number(e.row.record_count),
        canaries: { issued: e.canaries.length, found: found[i]?.size ?? 0, confirmed: canaries },
        fingerprint: { compared: n, agreeing: k, pValue: 10 ** log10p },
        score: fingerprintScore + CANARY_SCORE * canaries,
        matched:
          canaries > 0 || (fingerprintScore >= MATCH_SCORE && n > 0 && k / n >= MIN_AGREEMENT),
      };
    })
    .sort((a, b) => Number(b.matched) - Number(a.matched) || b.score - a.score);
  const best = ranked[0];
  return {
    layout: layout.id,
    header: reading.header,
    rows,
    invalidRows,
    comparedRows: seen.size,
    candidates: ranked,
    match: best?.matched === true ? best : undefined,
  };
}

/** Every `voter_export` row, parsed. */
async function recordedExports(q: Queryable<ExportTables>): Promise<RecordedExport[]> {
  const rows = await q.db
    .selectFrom('voter_export')
    .select([
      'export_id',
      'recipient',
      'purpose',
      'created_at',
      'layout_id',
      'record_count',
      'columns',
      'canaries',
      'mark_scheme',
    ])
    .orderBy('created_at')
    .orderBy('export_id')
    .execute();
  return rows.map((row) => {
    const columns = parseJson(NamesSchema, row.columns);
    const canaries = parseJson(CanariesSchema, row.canaries);
    if (columns === undefined || canaries === undefined || row.mark_scheme !== MARK_SCHEME) {
      throw new ExportError(
        'EXPORT_RECORD_INVALID',
        `Cannot read export "${row.export_id}": its record is not in the format this version writes`,
      );
    }
    return { row, columns, canaries };
  });
}

function parseJson<T>(schema: z.ZodType<T>, text: string): T | undefined {
  try {
    const result = schema.safeParse(JSON.parse(text));
    return result.success ? result.data : undefined;
  } catch {
    return undefined;
  }
}

/**
 * The first line of the file (without its line ending), decoded leniently: only its field
 * count and, for a header, its ASCII column names matter.
 */
async function readFirstLine(file: string): Promise<string> {
  let bytes: Buffer;
  try {
    const handle = await open(file, 'r');
    try {
      const buffer = Buffer.alloc(Math.min(DEFAULT_MAX_LINE_BYTES, 1 << 16));
      let length = 0;
      for (;;) {
        const { bytesRead } = await handle.read(buffer, length, buffer.length - length, length);
        length += bytesRead;
        if (
          bytesRead === 0 ||
          length === buffer.length ||
          buffer.subarray(0, length).includes(0x0a)
        ) {
          break;
        }
      }
      bytes = buffer.subarray(0, length);
    } finally {
      await handle.close();
    }
  } catch (error: unknown) {
    throw isSystemError(error) ? unreadable(file, error) : error;
  }
  const end = bytes.indexOf(0x0a);
  const text = new TextDecoder('utf-8').decode(end < 0 ? bytes : bytes.subarray(0, end));
  return text.replace(/^\uFEFF/, '').replace(/\r$/, '');
}

/** An error of the file system (ENOENT, EISDIR, EACCES…), not a bug of ours. */
function isSystemError(error: unknown): error is NodeJS.ErrnoException {
  return error instanceof Error && typeof (error as NodeJS.ErrnoException).syscall === 'string';
}

function unreadable(file: string, error: NodeJS.ErrnoException): ExportError {
  return new ExportError(
    'TRACE_FILE_UNREADABLE',
    `Cannot read "${file}": ${error.code ?? error.message}`,
    { cause: error },
  );
}

/**
 * Tells how to read the file from its first line: a header naming public columns of a layout
 * the exports used (in any order, any subset, as long as the voter id is there), or else rows of
 * exactly as many fields as an export's column list.
 * @throws ExportError TRACE_LAYOUT_UNDETECTED when nothing fits, or several layouts do
 */
function chooseReading(
  exports: readonly RecordedExport[],
  firstLine: string,
  given: VoterLayout | undefined,
): Reading {
  const layouts = new Map<string, VoterLayout>();
  for (const e of exports) {
    const id = e.row.layout_id;
    if (layouts.has(id)) continue;
    if (given !== undefined) {
      if (given.id === id) layouts.set(id, given);
    } else if ((SHIPPED_LAYOUT_IDS as readonly string[]).includes(id)) {
      layouts.set(id, loadLayout(id));
    }
  }
  const positional: Reading[] = [];
  for (const layout of layouts.values()) {
    const parsed = parseDelimitedLine(firstLine, layoutDialect(layout));
    if (!parsed.ok) continue;
    const byName = new Map(
      layout.columns
        .filter((c) => c.class === 'public')
        .map((c) => [c.name.toLowerCase(), c] as const),
    );
    const named = parsed.fields.map((f) => byName.get(f.trim().toLowerCase()));
    if (named.every((c) => c !== undefined) && named.some((c) => c.role === 'voterId')) {
      return { layout, header: true, columns: named };
    }
    const shapes = new Set(
      exports
        .filter((e) => e.row.layout_id === layout.id && e.columns.length === parsed.fields.length)
        .map((e) => JSON.stringify(e.columns)),
    );
    for (const shape of shapes) {
      const names = JSON.parse(shape) as string[];
      positional.push({
        layout,
        header: false,
        columns: names.map((name) => byName.get(name.toLowerCase())),
      });
    }
  }
  if (positional.length === 1 && positional[0] !== undefined) return positional[0];
  throw new ExportError(
    'TRACE_LAYOUT_UNDETECTED',
    positional.length === 0
      ? 'Cannot trace the file: its first line is neither the header nor a row of any recorded export'
      : 'Cannot trace the file: its rows fit several recorded export layouts; name the layout',
  );
}
