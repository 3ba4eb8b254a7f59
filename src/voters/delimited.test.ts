import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  DelimitedError,
  formatDelimitedRow,
  parseDelimitedLine,
  readDelimited,
} from './delimited.ts';
import type { DelimitedReadOptions, DelimitedRecord } from './delimited.ts';

const TAB_QUOTED: DelimitedReadOptions = { delimiter: '\t', quote: 'double', encoding: 'utf-8' };
const CSV: DelimitedReadOptions = { delimiter: ',', quote: 'double', encoding: 'utf-8' };
const PIPE: DelimitedReadOptions = { delimiter: '|', quote: 'none', encoding: 'windows-1252' };

async function* chunks(parts: readonly Uint8Array[]): AsyncGenerator<Uint8Array> {
  for (const part of parts) yield part;
  await Promise.resolve();
}

async function readAll(
  bytes: Uint8Array | readonly Uint8Array[],
  options: DelimitedReadOptions,
): Promise<DelimitedRecord[]> {
  const out: DelimitedRecord[] = [];
  const parts = bytes instanceof Uint8Array ? [bytes] : bytes;
  for await (const record of readDelimited(chunks(parts), options)) out.push(record);
  return out;
}

/** Splits bytes into single-byte chunks, the worst case for boundary handling. */
function byteByByte(bytes: Uint8Array): Uint8Array[] {
  return [...bytes].map((b) => Uint8Array.of(b));
}

describe('parseDelimitedLine', () => {
  it('splits unquoted fields and keeps empty ones', () => {
    expect(parseDelimitedLine('a,,b,', CSV)).toEqual({ ok: true, fields: ['a', '', 'b', ''] });
    expect(parseDelimitedLine('', CSV)).toEqual({ ok: true, fields: [''] });
  });

  it('reads quoted fields with doubled quotes, delimiters inside and empty quoted fields', () => {
    expect(parseDelimitedLine('"a ""b"" c","x,y","",z', CSV)).toEqual({
      ok: true,
      fields: ['a "b" c', 'x,y', '', 'z'],
    });
    expect(parseDelimitedLine('"a",', CSV)).toEqual({ ok: true, fields: ['a', ''] });
  });

  it('treats quotes as text when the dialect has no quoting', () => {
    expect(parseDelimitedLine('ROBERT "BOB"|X', PIPE)).toEqual({
      ok: true,
      fields: ['ROBERT "BOB"', 'X'],
    });
  });

  it('reports a quote inside an unquoted field with its column', () => {
    expect(parseDelimitedLine('ab,c"d,e', CSV)).toMatchObject({
      ok: false,
      code: 'STRAY_QUOTE',
      column: 5,
    });
  });

  it('reports text after a closing quote', () => {
    expect(parseDelimitedLine('"ab"c,d', CSV)).toMatchObject({
      ok: false,
      code: 'STRAY_QUOTE',
      column: 4,
    });
  });

  it('reports a quoted field left open on its line', () => {
    expect(parseDelimitedLine('x,"abc', CSV)).toMatchObject({
      ok: false,
      code: 'UNTERMINATED_QUOTE',
      column: 3,
    });
  });
});

describe('formatDelimitedRow', () => {
  it('quotes only what needs it, or everything when asked', () => {
    const write = { delimiter: ',', quote: 'double', quoteAll: false } as const;
    expect(formatDelimitedRow(['a', 'b,c', 'd"e', ''], write)).toBe('a,"b,c","d""e",');
    expect(formatDelimitedRow(['a', ''], { ...write, quoteAll: true })).toBe('"a",""');
  });

  it('refuses values it cannot write', () => {
    expect(() =>
      formatDelimitedRow(['a\nb'], { delimiter: ',', quote: 'double', quoteAll: false }),
    ).toThrow(DelimitedError);
    expect(() =>
      formatDelimitedRow(['a|b'], { delimiter: '|', quote: 'none', quoteAll: false }),
    ).toThrow(/delimiter/);
  });

  it('round-trips any single-line fields through parseDelimitedLine', () => {
    const field = fc.string({ unit: 'grapheme' }).filter((s) => !/[\r\n]/.test(s));
    fc.assert(
      fc.property(
        fc.array(field, { minLength: 1, maxLength: 8 }),
        fc.constantFrom(',', '\t', '|'),
        fc.boolean(),
        (fields, delimiter, quoteAll) => {
          const line = formatDelimitedRow(fields, { delimiter, quote: 'double', quoteAll });
          expect(parseDelimitedLine(line, { delimiter, quote: 'double' })).toEqual({
            ok: true,
            fields,
          });
        },
      ),
    );
  });
});

describe('readDelimited', () => {
  const text = '"id"\t"name"\r\n"1"\t"PEÑA"\n\n"2"\t"O""NEIL"\n3\tLAST';

  it('reads LF and CRLF lines, skips blank lines and counts physical lines', async () => {
    const records = await readAll(Buffer.from(text, 'utf8'), TAB_QUOTED);
    expect(records).toEqual([
      { kind: 'fields', line: 1, fields: ['id', 'name'] },
      { kind: 'fields', line: 2, fields: ['1', 'PEÑA'] },
      { kind: 'fields', line: 4, fields: ['2', 'O"NEIL'] },
      { kind: 'fields', line: 5, fields: ['3', 'LAST'] },
    ]);
  });

  it('gives the same records whatever the chunk boundaries', async () => {
    const bytes = Buffer.from(`\uFEFF${text}\n`, 'utf8');
    const whole = await readAll(bytes, TAB_QUOTED);
    expect(await readAll(byteByByte(bytes), TAB_QUOTED)).toEqual(whole);
    expect(
      await readAll([bytes.subarray(0, 7), bytes.subarray(7, 30), bytes.subarray(30)], TAB_QUOTED),
    ).toEqual(whole);
    expect(whole[0]).toEqual({ kind: 'fields', line: 1, fields: ['id', 'name'] });
  });

  it('reports bad rows and keeps reading the rest', async () => {
    const bytes = Buffer.from('a,b\n"x,y\nc,d"e\nf,g,h\ni,j\n', 'utf8');
    const records = await readAll(bytes, { ...CSV, expectedFields: 2 });
    expect(
      records.map((r) => (r.kind === 'fields' ? r.fields.join('+') : `${r.code}@${r.line}`)),
    ).toEqual(['a+b', 'UNTERMINATED_QUOTE@2', 'STRAY_QUOTE@3', 'FIELD_COUNT@4', 'i+j']);
    const invalid = records.find((r) => r.kind === 'invalid' && r.code === 'FIELD_COUNT');
    expect(invalid).toMatchObject({ message: 'Expected 2 fields, found 3' });
  });

  it('refuses invalid UTF-8 per line', async () => {
    const bytes = Buffer.concat([
      Buffer.from('ok,1\nbad,'),
      Buffer.from([0xd1]),
      Buffer.from('\nok,2\n'),
    ]);
    const records = await readAll(bytes, CSV);
    expect(records.map((r) => r.kind)).toEqual(['fields', 'invalid', 'fields']);
    expect(records[1]).toMatchObject({ code: 'ENCODING_INVALID', line: 2 });
  });

  it('decodes windows-1252, including the bytes it maps beyond Latin-1', async () => {
    const bytes = Buffer.from([...Buffer.from('PE'), 0xd1, 0x41, 0x7c, 0x80, 0x0a]);
    expect(await readAll(bytes, PIPE)).toEqual([
      { kind: 'fields', line: 1, fields: ['PEÑA', '€'] },
    ]);
  });

  it('refuses UTF-8 text in a windows-1252 file, which would otherwise decode as mojibake', async () => {
    const records = await readAll(Buffer.from('PEÑA|X\nPENA|X\n', 'utf8'), PIPE);
    expect(records[0]).toMatchObject({ kind: 'invalid', code: 'ENCODING_INVALID', line: 1 });
    expect(records[1]).toMatchObject({ kind: 'fields', fields: ['PENA', 'X'] });
  });

  it('refuses bytes windows-1252 leaves undefined', async () => {
    const records = await readAll(Buffer.from([0x41, 0x81, 0x7c, 0x42]), PIPE);
    expect(records[0]).toMatchObject({ kind: 'invalid', code: 'ENCODING_INVALID' });
  });

  it('refuses NUL bytes, as in a UTF-16 file', async () => {
    const records = await readAll(Buffer.from('a,b\n', 'utf16le'), CSV);
    expect(records[0]).toMatchObject({ kind: 'invalid', code: 'ENCODING_INVALID', line: 1 });
  });

  it('cuts over-long lines without holding them, then resumes', async () => {
    const long = 'x'.repeat(5000);
    const bytes = Buffer.from(`a,b\n${long}\nc,d\n${long}`, 'utf8');
    for (const parts of [[bytes], byteByByte(bytes)]) {
      const records = await readAll(parts, { ...CSV, maxLineBytes: 1000 });
      expect(
        records.map((r) => (r.kind === 'fields' ? r.fields.join('+') : `${r.code}@${r.line}`)),
      ).toEqual(['a+b', 'LINE_TOO_LONG@2', 'c+d', 'LINE_TOO_LONG@4']);
    }
  });

  it('reads a last line without a line ending', async () => {
    expect(await readAll(byteByByte(Buffer.from('a|b\nc|d')), PIPE)).toEqual([
      { kind: 'fields', line: 1, fields: ['a', 'b'] },
      { kind: 'fields', line: 2, fields: ['c', 'd'] },
    ]);
  });
});
