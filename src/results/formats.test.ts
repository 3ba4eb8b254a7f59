import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { crc32, deflateRawSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { detectFormat, detectFormatOfBytes } from './formats.ts';
import { readZip } from './zip.ts';

const DATA = resolve(import.meta.dirname, '../../../shared/data/results');

/** Where a zip header keeps the fields of an entry: APPNOTE 4.3.7 (local), 4.3.12 (central). */
interface HeaderLayout {
  readonly size: number;
  readonly signature: number;
  /** Offset of the compression method; CRC and sizes follow at fixed distances from it. */
  readonly method: number;
}

const LOCAL_HEADER: HeaderLayout = { size: 30, signature: 0x04034b50, method: 8 };
const CENTRAL_HEADER: HeaderLayout = { size: 46, signature: 0x02014b50, method: 10 };

/** A local or central header of one deflated entry. */
function entryHeader(
  layout: HeaderLayout,
  entry: { crc: number; compressed: number; size: number; nameLength: number },
): Buffer {
  const header = Buffer.alloc(layout.size);
  header.writeUInt32LE(layout.signature, 0);
  header.writeUInt16LE(8, layout.method);
  header.writeUInt32LE(entry.crc, layout.method + 6);
  header.writeUInt32LE(entry.compressed, layout.method + 10);
  header.writeUInt32LE(entry.size, layout.method + 14);
  header.writeUInt16LE(entry.nameLength, layout.method + 18);
  return header;
}

/** A one-entry zip with a deflated entry, built by hand per APPNOTE. */
function zipOf(name: string, content: Buffer, crc = crc32(content)): Buffer {
  const data = deflateRawSync(content);
  const n = Buffer.from(name);
  const entry = { crc, compressed: data.length, size: content.length, nameLength: n.length };
  const eocd = Buffer.alloc(22);
  eocd.writeUInt32LE(0x06054b50, 0);
  eocd.writeUInt16LE(1, 8);
  eocd.writeUInt16LE(1, 10);
  eocd.writeUInt32LE(CENTRAL_HEADER.size + n.length, 12);
  eocd.writeUInt32LE(LOCAL_HEADER.size + n.length + data.length, 16);
  return Buffer.concat([
    entryHeader(LOCAL_HEADER, entry),
    n,
    data,
    entryHeader(CENTRAL_HEADER, entry),
    n,
    eocd,
  ]);
}

describe('readZip', () => {
  it('inflates an entry and checks its CRC', () => {
    const content = Buffer.from('a,b\n1,2\n');
    const [entry] = readZip(zipOf('x.csv', content), 'x.zip');
    expect(entry?.name).toBe('x.csv');
    expect(Buffer.from(entry!.bytes).toString()).toBe('a,b\n1,2\n');
    expect(() => readZip(zipOf('x.csv', content, 1), 'x.zip')).toThrow(
      expect.objectContaining({ code: 'ZIP_MALFORMED' }),
    );
    expect(() => readZip(Buffer.from('PK\u0003\u0004 not really'), 'x.zip')).toThrow(
      expect.objectContaining({ code: 'ZIP_MALFORMED' }),
    );
  });
});

describe('detectFormat', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'votervault-results-formats-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('guesses every shipped format from its first bytes', async () => {
    expect(
      await detectFormat(join(DATA, 'openelections-nm/20201103__nm__general__precinct.csv')),
    ).toBe('openelections-csv');
    expect(await detectFormat(join(DATA, 'medsl-2024/2024-senate-state.csv'))).toBe('medsl-csv');
    expect(await detectFormat(join(DATA, 'medsl-2024/wy24.zip'))).toBe('medsl-csv');
    expect(await detectFormat(join(DATA, 'clarity-enr/county.xml'))).toBe('clarity-xml');
    expect(
      await detectFormat(join(DATA, 'google-civics-cdf/post_election_sample_feed_summary.xml')),
    ).toBe('nist-cdf-xml');
    const json = join(dir, 'report.json');
    await writeFile(json, '{"@type":"ElectionResults.ElectionReport","Election":[]}');
    expect(await detectFormat(json)).toBe('nist-cdf-json');
  });

  it('refuses what it cannot tell, and files it cannot read', async () => {
    expect(() => detectFormatOfBytes(Buffer.from('name,address\n'), 'x.csv')).toThrow(
      expect.objectContaining({ code: 'FORMAT_UNKNOWN', line: 1 }),
    );
    expect(() => detectFormatOfBytes(Buffer.from('<html></html>'), 'x.xml')).toThrow(/root "html"/);
    expect(() => detectFormatOfBytes(Buffer.from('{"a":1}'), 'x.json')).toThrow(
      expect.objectContaining({ code: 'FORMAT_UNKNOWN' }),
    );
    await expect(detectFormat(join(dir, 'missing.csv'))).rejects.toMatchObject({
      code: 'FILE_UNREADABLE',
    });
  });
});
