// A small RFC 4180 reader for results files. Results CSVs are a few megabytes at most, so the
// whole text is split at once; each record remembers the line it starts on, which is what
// anomalies and errors report.
import { ResultsError } from './errors.ts';

/** One record of a CSV file: its fields and the 1-based line it starts on. */
export interface CsvRecord {
  readonly fields: readonly string[];
  readonly line: number;
}

/** Most bytes a results text file may have; a county's precinct file is a few megabytes. */
export const MAX_RESULTS_FILE_BYTES = 256 * 1024 * 1024;

/**
 * Splits CSV text into records. Quoted fields may hold commas, doubled quotes and line breaks;
 * CRLF and LF both end a record; a leading byte-order mark is dropped; empty lines are skipped.
 * Attacker-controlled: the text is an uploaded file. A NUL character (a binary file) or a quote
 * left open at the end is refused with the line it started on; nothing else is interpreted.
 * @throws ResultsError FILE_MALFORMED naming the file and line
 */
export function parseCsv(text: string, file: string): CsvRecord[] {
  const records: CsvRecord[] = [];
  let fields: string[] = [];
  let field = '';
  let line = 1;
  let recordLine = 1;
  let quoted = false;
  let quoteLine = 0;
  let fieldStarted = false;
  let i = text.charCodeAt(0) === 0xfeff ? 1 : 0;
  const n = text.length;
  const endRecord = (): void => {
    if (fields.length > 0 || fieldStarted || field !== '') {
      fields.push(field);
      records.push({ fields, line: recordLine });
    }
    fields = [];
    field = '';
    fieldStarted = false;
  };
  for (; i < n; i++) {
    const c = text.charCodeAt(i);
    if (c === 0) {
      throw new ResultsError(
        'FILE_MALFORMED',
        `Cannot read "${file}" as CSV: line ${line} holds a NUL byte, expected text`,
        { file, line },
      );
    }
    if (quoted) {
      if (c === 0x22) {
        if (text.charCodeAt(i + 1) === 0x22) {
          field += '"';
          i++;
        } else {
          quoted = false;
        }
      } else {
        if (c === 0x0a) line++;
        field += text[i];
      }
      continue;
    }
    switch (c) {
      case 0x2c: // ,
        fields.push(field);
        field = '';
        fieldStarted = true;
        break;
      case 0x0d: // \r, alone or before \n
        if (text.charCodeAt(i + 1) === 0x0a) i++;
        endRecord();
        line++;
        recordLine = line;
        break;
      case 0x0a:
        endRecord();
        line++;
        recordLine = line;
        break;
      case 0x22: // "
        if (field === '') {
          quoted = true;
          quoteLine = line;
          fieldStarted = true;
        } else {
          // A quote inside an unquoted field (`5" screen`) is kept as a character.
          field += '"';
        }
        break;
      default:
        field += text[i];
    }
  }
  if (quoted) {
    throw new ResultsError(
      'FILE_MALFORMED',
      `Cannot read "${file}" as CSV: the quoted field opened on line ${quoteLine} is never closed`,
      { file, line: quoteLine },
    );
  }
  endRecord();
  return records;
}

/** Folds a header name for matching: lower case, runs of non-alphanumerics to `_`. */
export function headerKey(name: string): string {
  return name
    .trim()
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '_')
    .replace(/^_|_$/g, '');
}

/** A CSV file read as a header row and the records under it. */
export interface CsvTable {
  /** The line the header row starts on. */
  readonly headerLine: number;
  /** The header's names folded by {@link headerKey}, in column order. */
  readonly keys: readonly string[];
  /** The records after the header. */
  readonly rows: readonly CsvRecord[];
}

/**
 * Splits CSV text ({@link parseCsv}) whose first record is a header.
 * Attacker-controlled: the text is an uploaded file; see {@link parseCsv}.
 * @throws ResultsError FILE_MALFORMED when it is not CSV or holds no record at all
 */
export function parseCsvTable(text: string, file: string): CsvTable {
  const [header, ...rows] = parseCsv(text, file);
  if (header === undefined) {
    throw new ResultsError(
      'FILE_MALFORMED',
      `Cannot read "${file}": it is empty, expected a CSV header`,
      { file, line: 1 },
    );
  }
  return { headerLine: header.line, keys: header.fields.map(headerKey), rows };
}

/** Where {@link requireColumns} reports missing columns. */
export interface ColumnsContext {
  readonly file: string;
  /** The format as the error names it (`MEDSL CSV`). */
  readonly format: string;
  readonly headerLine: number;
  /** What the format's header looks like, for the error. */
  readonly expected: string;
}

/**
 * Refuses a header that lacks columns its format needs; does nothing when `missing` is empty.
 * @throws ResultsError COLUMNS_MISSING naming every missing column and the header's line
 */
export function requireColumns(missing: readonly string[], context: ColumnsContext): void {
  if (missing.length === 0) return;
  const { file, format, headerLine, expected } = context;
  throw new ResultsError(
    'COLUMNS_MISSING',
    `Cannot read "${file}" as ${format}: line ${headerLine} has no ${missing.map((m) => `"${m}"`).join(', ')} column, expected ${expected}`,
    { file, line: headerLine },
  );
}
