// A minimal zip reader for the one shape results arrive in (MEDSL ships a state's precinct CSV
// as one deflated entry): stored and deflated entries, no zip64, no encryption. Each entry is
// checked against its CRC-32 and its stated size.
// SPEC: PKWARE APPNOTE.TXT 6.3.x, sections 4.3.7 (local file header), 4.3.12 (central directory
// header), 4.3.16 (end of central directory record).
import { crc32, inflateRawSync } from 'node:zlib';
import { ResultsError } from './errors.ts';

/** One file inside a zip archive. */
export interface ZipEntry {
  readonly name: string;
  readonly bytes: Uint8Array;
}

const EOCD_SIGNATURE = 0x06054b50;
const CENTRAL_SIGNATURE = 0x02014b50;
const LOCAL_SIGNATURE = 0x04034b50;
const EOCD_SIZE = 22;
const MAX_COMMENT = 0xffff;
/** Most bytes one entry may inflate to: a zip bomb stops here, not in memory. */
export const MAX_ZIP_ENTRY_BYTES = 256 * 1024 * 1024;

/** True when the bytes start like a zip archive (a local file header). */
export function isZip(bytes: Uint8Array): boolean {
  return (
    bytes.length >= 4 && bytes[0] === 0x50 && bytes[1] === 0x4b && bytes[2] === 3 && bytes[3] === 4
  );
}

/**
 * Reads every file entry of a zip archive (directories are skipped).
 * Attacker-controlled: the archive is an uploaded file. Every offset and length is checked
 * against the buffer before use, inflation is capped at the stated size and at
 * {@link MAX_ZIP_ENTRY_BYTES}, and the CRC-32 must match.
 * @throws ResultsError ZIP_MALFORMED naming the archive and what is wrong
 */
export function readZip(bytes: Uint8Array, file: string): ZipEntry[] {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const fail = (why: string): ResultsError =>
    new ResultsError('ZIP_MALFORMED', `Cannot read zip "${file}": ${why}`, { file });
  const u32 = (at: number): number => {
    if (at < 0 || at + 4 > bytes.length) throw fail('a header runs past the end');
    return view.getUint32(at, true);
  };
  const u16 = (at: number): number => {
    if (at < 0 || at + 2 > bytes.length) throw fail('a header runs past the end');
    return view.getUint16(at, true);
  };
  let eocd = -1;
  for (
    let at = bytes.length - EOCD_SIZE;
    at >= Math.max(0, bytes.length - EOCD_SIZE - MAX_COMMENT);
    at--
  ) {
    if (view.getUint32(at, true) === EOCD_SIGNATURE) {
      eocd = at;
      break;
    }
  }
  if (eocd < 0) throw fail('no end of central directory record');
  const entries = u16(eocd + 10);
  const directoryOffset = u32(eocd + 16);
  if (entries === 0xffff || directoryOffset === 0xffffffff) throw fail('zip64 is not supported');
  const out: ZipEntry[] = [];
  let at = directoryOffset;
  for (let i = 0; i < entries; i++) {
    if (u32(at) !== CENTRAL_SIGNATURE)
      throw fail(`central directory entry ${i} has a bad signature`);
    const flags = u16(at + 8);
    const method = u16(at + 10);
    const crc = u32(at + 16);
    const compressedSize = u32(at + 20);
    const size = u32(at + 24);
    const nameLength = u16(at + 28);
    const extraLength = u16(at + 30);
    const commentLength = u16(at + 32);
    const localOffset = u32(at + 42);
    if (at + 46 + nameLength > bytes.length) throw fail('a name runs past the end');
    const name = new TextDecoder().decode(bytes.subarray(at + 46, at + 46 + nameLength));
    at += 46 + nameLength + extraLength + commentLength;
    if (name.endsWith('/')) continue;
    if ((flags & 1) !== 0) throw fail(`entry "${name}" is encrypted`);
    if (size > MAX_ZIP_ENTRY_BYTES)
      throw fail(`entry "${name}" is over ${MAX_ZIP_ENTRY_BYTES} bytes`);
    if (u32(localOffset) !== LOCAL_SIGNATURE) throw fail(`entry "${name}" has a bad local header`);
    const dataStart = localOffset + 30 + u16(localOffset + 26) + u16(localOffset + 28);
    if (dataStart + compressedSize > bytes.length) throw fail(`entry "${name}" runs past the end`);
    const data = bytes.subarray(dataStart, dataStart + compressedSize);
    let content: Uint8Array;
    switch (method) {
      case 0:
        content = data;
        break;
      case 8:
        try {
          content = inflateRawSync(data, { maxOutputLength: Math.max(size, 1) });
        } catch (error: unknown) {
          throw new ResultsError(
            'ZIP_MALFORMED',
            `Cannot read zip "${file}": entry "${name}" does not inflate`,
            {
              file,
            },
            { cause: error },
          );
        }
        break;
      default:
        throw fail(`entry "${name}" uses compression method ${method}, expected 0 or 8`);
    }
    if (content.length !== size)
      throw fail(`entry "${name}" is ${content.length} bytes, its header says ${size}`);
    if (crc32(content) !== crc) throw fail(`entry "${name}" fails its CRC-32 check`);
    out.push({ name, bytes: content });
  }
  return out;
}
