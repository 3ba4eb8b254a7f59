/**
 * A streaming, quote-aware reader and writer of delimited text records (tab, comma or pipe),
 * the shape every state voter file we know of comes in. The reader never throws on bad input:
 * each physical line becomes either a record or an `invalid` outcome carrying the line number,
 * so an importer can quarantine one bad row and keep the rest.
 *
 * Attacker-controlled input: the whole byte stream. Guards: lines are cut at `maxLineBytes`
 * (a file without newlines cannot grow memory), a quoted field never spans lines (an
 * unterminated quote costs one row, not the rest of the file), bytes are decoded strictly for
 * the declared encoding, and NUL bytes are refused.
 */
import { isAscii, isUtf8 } from 'node:buffer';
import { VotervaultError } from '../basics/index.ts';

/** Codes of the per-row problems the reader reports. */
export const DELIMITED_ISSUE_CODES = [
  'STRAY_QUOTE',
  'UNTERMINATED_QUOTE',
  'FIELD_COUNT',
  'ENCODING_INVALID',
  'LINE_TOO_LONG',
] as const;

/** One of {@link DELIMITED_ISSUE_CODES}. */
export type DelimitedIssueCode = (typeof DELIMITED_ISSUE_CODES)[number];

/** Text encodings a voter file may declare. */
export const TEXT_ENCODINGS = ['utf-8', 'windows-1252'] as const;

/** One of {@link TEXT_ENCODINGS}. */
export type TextEncodingName = (typeof TEXT_ENCODINGS)[number];

/** How fields are separated and quoted. */
export interface DelimitedDialect {
  /** One character: tab, comma or pipe. */
  readonly delimiter: string;
  /**
   * `none`: a double quote is an ordinary character. `double`: a field may be enclosed in
   * double quotes, and `""` inside it stands for one quote (RFC 4180 §2).
   */
  readonly quote: 'none' | 'double';
}

/** Options of {@link readDelimited}. */
export interface DelimitedReadOptions extends DelimitedDialect {
  readonly encoding: TextEncodingName;
  /** When set, a row with another number of fields is reported as `FIELD_COUNT`. */
  readonly expectedFields?: number;
  /** Longest physical line accepted, in bytes; defaults to {@link DEFAULT_MAX_LINE_BYTES}. */
  readonly maxLineBytes?: number;
}

/**
 * Longest line accepted by default. The widest layout we ship (NC, 67 columns of at most 65
 * characters) stays under 5 KiB; 1 MiB leaves room for odd files while bounding memory.
 */
export const DEFAULT_MAX_LINE_BYTES = 1 << 20;

/** A row whose fields were split successfully. */
export interface DelimitedFields {
  readonly kind: 'fields';
  /** 1-based physical line number in the file. */
  readonly line: number;
  readonly fields: readonly string[];
}

/** A row that could not be split; the reader continues with the next line. */
export interface DelimitedInvalid {
  readonly kind: 'invalid';
  readonly line: number;
  /** 1-based character position in the line, when one position is at fault. */
  readonly column: number | undefined;
  readonly code: DelimitedIssueCode;
  readonly message: string;
}

/** The outcome of one physical line. */
export type DelimitedRecord = DelimitedFields | DelimitedInvalid;

/** Result of {@link parseDelimitedLine}. */
export type LineParse =
  | { readonly ok: true; readonly fields: string[] }
  | {
      readonly ok: false;
      readonly code: 'STRAY_QUOTE' | 'UNTERMINATED_QUOTE';
      readonly column: number;
      readonly message: string;
    };

const QUOTE = '"';

/**
 * Splits one line (without its line ending) into fields.
 *
 * With `quote: 'double'`, a field that starts with `"` runs to the next `"` that is followed by
 * the delimiter or the end of the line, and `""` inside it is one quote. A quote anywhere else
 * is a `STRAY_QUOTE`: we refuse to guess where such a field ends, since guessing wrong shifts
 * every later column of the row (a surname landing in the ZIP column).
 */
export function parseDelimitedLine(line: string, dialect: DelimitedDialect): LineParse {
  const { delimiter } = dialect;
  if (dialect.quote === 'none' || !line.includes(QUOTE)) {
    return { ok: true, fields: line.split(delimiter) };
  }
  const fields: string[] = [];
  const length = line.length;
  let pos = 0;
  for (;;) {
    if (line[pos] === QUOTE) {
      let value = '';
      let from = pos + 1;
      for (;;) {
        const close = line.indexOf(QUOTE, from);
        if (close < 0) {
          return {
            ok: false,
            code: 'UNTERMINATED_QUOTE',
            column: pos + 1,
            message: `Quoted field starting at column ${pos + 1} is not closed on its line`,
          };
        }
        value += line.slice(from, close);
        const next = close + 1;
        if (line[next] === QUOTE) {
          value += QUOTE;
          from = next + 1;
          continue;
        }
        if (next === length || line[next] === delimiter) {
          fields.push(value);
          pos = next;
          break;
        }
        return {
          ok: false,
          code: 'STRAY_QUOTE',
          column: close + 1,
          message: `Quote at column ${close + 1} ends a quoted field but is not followed by the delimiter`,
        };
      }
    } else {
      let end = line.indexOf(delimiter, pos);
      if (end < 0) end = length;
      const value = line.slice(pos, end);
      const stray = value.indexOf(QUOTE);
      if (stray >= 0) {
        return {
          ok: false,
          code: 'STRAY_QUOTE',
          column: pos + stray + 1,
          message: `Quote at column ${pos + stray + 1} inside an unquoted field`,
        };
      }
      fields.push(value);
      pos = end;
    }
    if (pos >= length) return { ok: true, fields };
    pos += 1; // skip the delimiter
    if (pos === length) {
      fields.push('');
      return { ok: true, fields };
    }
  }
}

/** Options of {@link formatDelimitedRow}. */
export interface DelimitedWriteOptions extends DelimitedDialect {
  /** Quote every field (some states do), not only those that need it. */
  readonly quoteAll: boolean;
}

/** Codes of {@link DelimitedError}. */
export type DelimitedErrorCode = 'VALUE_UNREPRESENTABLE';

/** A value that cannot be written in the requested dialect. */
export class DelimitedError extends VotervaultError<DelimitedErrorCode> {}

/**
 * Joins fields into one line (without line ending) that {@link parseDelimitedLine} splits back
 * into the same fields.
 * @throws DelimitedError VALUE_UNREPRESENTABLE when a value holds a line break, or, without
 *   quoting, the delimiter or (with `quote: 'double'` never) a quote that would be misread
 */
export function formatDelimitedRow(
  fields: readonly string[],
  options: DelimitedWriteOptions,
): string {
  let out = '';
  for (let i = 0; i < fields.length; i++) {
    if (i > 0) out += options.delimiter;
    out += formatField(fields[i] ?? '', options);
  }
  return out;
}

function formatField(value: string, options: DelimitedWriteOptions): string {
  if (value.includes('\n') || value.includes('\r')) {
    throw new DelimitedError(
      'VALUE_UNREPRESENTABLE',
      `Cannot write value ${JSON.stringify(value)}: it holds a line break`,
    );
  }
  if (options.quote === 'none') {
    if (value.includes(options.delimiter)) {
      throw new DelimitedError(
        'VALUE_UNREPRESENTABLE',
        `Cannot write value ${JSON.stringify(value)}: it holds the delimiter and the layout has no quoting`,
      );
    }
    return value;
  }
  if (options.quoteAll || value.includes(options.delimiter) || value.includes(QUOTE)) {
    return QUOTE + value.replaceAll(QUOTE, QUOTE + QUOTE) + QUOTE;
  }
  return value;
}

const NEWLINE = 0x0a;
const CARRIAGE_RETURN = 0x0d;
const UTF8_BOM = [0xef, 0xbb, 0xbf] as const;
// Bytes that windows-1252 leaves undefined; the WHATWG decoder maps them to C1 controls.
const CP1252_UNDEFINED = /[\u0081\u008d\u008f\u0090\u009d]/;

/**
 * Reads delimited records from a byte stream, one outcome per non-blank physical line, in
 * order. Blank lines are skipped (their numbers still count). Accepts LF and CRLF endings and
 * strips a UTF-8 byte-order mark at the start.
 */
export async function* readDelimited(
  source: AsyncIterable<Uint8Array>,
  options: DelimitedReadOptions,
): AsyncGenerator<DelimitedRecord, void, undefined> {
  const state = new LineState(options);
  for await (const raw of source) {
    const chunk = Buffer.isBuffer(raw)
      ? raw
      : Buffer.from(raw.buffer, raw.byteOffset, raw.byteLength);
    yield* state.push(chunk);
  }
  yield* state.end();
}

/** Splits bytes into lines across chunk boundaries and turns each line into an outcome. */
class LineState {
  readonly #options: DelimitedReadOptions;
  readonly #maxLineBytes: number;
  readonly #utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });
  readonly #cp1252 = new TextDecoder('windows-1252');
  #pending: Buffer[] = [];
  #pendingBytes = 0;
  /** Set while discarding the rest of an over-long line. */
  #skipping = false;
  #line = 0;

  constructor(options: DelimitedReadOptions) {
    this.#options = options;
    this.#maxLineBytes = options.maxLineBytes ?? DEFAULT_MAX_LINE_BYTES;
  }

  *push(chunk: Buffer): Generator<DelimitedRecord> {
    let start = 0;
    const firstNewline = chunk.indexOf(NEWLINE, start);
    if (firstNewline < 0) {
      yield* this.#accumulate(chunk.subarray(start));
      return;
    }
    // The line begun in earlier chunks ends here.
    if (this.#pendingBytes > 0 || this.#skipping) {
      const tail = chunk.subarray(start, firstNewline);
      if (this.#skipping) {
        this.#skipping = false;
      } else if (this.#pendingBytes + tail.length > this.#maxLineBytes) {
        this.#line += 1;
        yield this.#tooLong();
      } else {
        this.#pending.push(tail);
        yield* this.#lines(Buffer.concat(this.#pending));
      }
      this.#pending = [];
      this.#pendingBytes = 0;
      start = firstNewline + 1;
    }
    const lastNewline = chunk.lastIndexOf(NEWLINE);
    if (lastNewline >= start) {
      yield* this.#lines(chunk.subarray(start, lastNewline));
      start = lastNewline + 1;
    }
    if (start < chunk.length) yield* this.#accumulate(chunk.subarray(start));
  }

  *end(): Generator<DelimitedRecord> {
    if (this.#pendingBytes > 0 && !this.#skipping) {
      yield* this.#lines(Buffer.concat(this.#pending));
    }
    this.#pending = [];
    this.#pendingBytes = 0;
  }

  *#accumulate(part: Buffer): Generator<DelimitedRecord> {
    if (this.#skipping || part.length === 0) return;
    if (this.#pendingBytes + part.length > this.#maxLineBytes) {
      // Report now and drop what we hold, so a file without newlines costs no memory.
      this.#line += 1;
      this.#skipping = true;
      this.#pending = [];
      this.#pendingBytes = 0;
      yield this.#tooLong();
      return;
    }
    this.#pending.push(Buffer.from(part));
    this.#pendingBytes += part.length;
  }

  #tooLong(): DelimitedInvalid {
    return invalid(this.#line, 'LINE_TOO_LONG', `Line is longer than ${this.#maxLineBytes} bytes`);
  }

  /** `block` holds one or more complete lines separated by LF, without the final LF. */
  *#lines(block: Buffer): Generator<DelimitedRecord> {
    if (isAscii(block)) {
      // Fast path: ASCII decodes identically in every supported encoding.
      const text = block.toString('latin1');
      let from = 0;
      for (;;) {
        const nl = text.indexOf('\n', from);
        const end = nl < 0 ? text.length : nl;
        this.#line += 1;
        const record =
          end - from > this.#maxLineBytes
            ? this.#tooLong()
            : this.#record(stripCr(text, from, end));
        if (record) yield record;
        if (nl < 0) return;
        from = nl + 1;
      }
    }
    let from = 0;
    for (;;) {
      const nl = block.indexOf(NEWLINE, from);
      const end = nl < 0 ? block.length : nl;
      this.#line += 1;
      if (end - from > this.#maxLineBytes) {
        yield this.#tooLong();
        if (nl < 0) return;
        from = nl + 1;
        continue;
      }
      // A UTF-8 byte-order mark may open the first line; it is not part of the first field.
      const bom =
        this.#line === 1 &&
        block[from] === UTF8_BOM[0] &&
        block[from + 1] === UTF8_BOM[1] &&
        block[from + 2] === UTF8_BOM[2];
      const bytes = block.subarray(
        bom ? from + 3 : from,
        end > from && block[end - 1] === CARRIAGE_RETURN ? end - 1 : end,
      );
      const decoded = this.#decode(bytes);
      const record = typeof decoded === 'string' ? this.#record(decoded) : decoded;
      if (record) yield record;
      if (nl < 0) return;
      from = nl + 1;
    }
  }

  #decode(bytes: Buffer): string | DelimitedInvalid {
    if (isAscii(bytes)) return bytes.toString('latin1');
    if (this.#options.encoding === 'utf-8') {
      if (!isUtf8(bytes)) {
        return invalid(this.#line, 'ENCODING_INVALID', 'Line is not valid UTF-8');
      }
      return this.#utf8.decode(bytes);
    }
    // A UTF-8 file read as windows-1252 would turn "PEÑA" into "PEÃ‘A" without any error, and
    // names would silently stop matching; non-ASCII text that is also valid UTF-8 is almost
    // never real windows-1252, so we refuse it loudly.
    if (isUtf8(bytes)) {
      return invalid(
        this.#line,
        'ENCODING_INVALID',
        'Line is UTF-8 but the layout declares windows-1252',
      );
    }
    const text = this.#cp1252.decode(bytes);
    if (CP1252_UNDEFINED.test(text)) {
      return invalid(this.#line, 'ENCODING_INVALID', 'Line holds bytes undefined in windows-1252');
    }
    return text;
  }

  #record(text: string): DelimitedRecord | undefined {
    if (text.length === 0) return undefined;
    if (text.includes('\0')) {
      return invalid(
        this.#line,
        'ENCODING_INVALID',
        'Line holds NUL bytes (a UTF-16 or binary file?)',
      );
    }
    const parsed = parseDelimitedLine(text, this.#options);
    if (!parsed.ok) {
      return {
        kind: 'invalid',
        line: this.#line,
        column: parsed.column,
        code: parsed.code,
        message: parsed.message,
      };
    }
    const expected = this.#options.expectedFields;
    if (expected !== undefined && parsed.fields.length !== expected) {
      return invalid(
        this.#line,
        'FIELD_COUNT',
        `Expected ${expected} fields, found ${parsed.fields.length}`,
      );
    }
    return { kind: 'fields', line: this.#line, fields: parsed.fields };
  }
}

function stripCr(text: string, from: number, end: number): string {
  return text.slice(from, end > from && text.charCodeAt(end - 1) === 0x0d ? end - 1 : end);
}

function invalid(line: number, code: DelimitedIssueCode, message: string): DelimitedInvalid {
  return { kind: 'invalid', line, column: undefined, code, message };
}
