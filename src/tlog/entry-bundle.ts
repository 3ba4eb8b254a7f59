import { TlogError } from './errors.ts';
import { TILE_WIDTH } from './tile-path.ts';

/**
 * Largest entry the log accepts, in bytes: the bundle's length prefix is a big-endian uint16.
 * SPEC: https://c2sp.org/tlog-tiles "Entry bundles are sequences of big-endian uint16
 * length-prefixed log entries."
 */
export const MAX_ENTRY_BYTES = 0xffff;

/** Bytes of the length prefix in front of every entry of a bundle. */
export const ENTRY_PREFIX_BYTES = 2;

/**
 * Refuses an entry that a bundle cannot hold.
 * @throws TlogError ENTRY_TOO_LARGE naming the size and the limit
 */
export function checkEntrySize(entry: Uint8Array): void {
  if (entry.length > MAX_ENTRY_BYTES) {
    throw new TlogError(
      'ENTRY_TOO_LARGE',
      `Cannot append an entry of "${entry.length}" bytes: the limit is ${MAX_ENTRY_BYTES}`,
    );
  }
}

/**
 * Encodes entries as an entry bundle: each as its length (big-endian uint16), then its bytes.
 * @throws TlogError ENTRY_TOO_LARGE when an entry is over {@link MAX_ENTRY_BYTES};
 *   BUNDLE_MALFORMED when there are more than 256 entries
 */
export function encodeEntryBundle(entries: readonly Uint8Array[]): Uint8Array {
  if (entries.length > TILE_WIDTH) {
    throw new TlogError(
      'BUNDLE_MALFORMED',
      `Cannot encode a bundle of "${entries.length}" entries: the limit is ${TILE_WIDTH}`,
    );
  }
  let length = 0;
  for (const entry of entries) {
    checkEntrySize(entry);
    length += ENTRY_PREFIX_BYTES + entry.length;
  }
  const bytes = new Uint8Array(length);
  let offset = 0;
  for (const entry of entries) {
    bytes[offset] = entry.length >>> 8;
    bytes[offset + 1] = entry.length & 0xff;
    bytes.set(entry, offset + ENTRY_PREFIX_BYTES);
    offset += ENTRY_PREFIX_BYTES + entry.length;
  }
  return bytes;
}

/**
 * Decodes an entry bundle. The entries returned are views into `bytes`.
 * Attacker-controlled: bundles come from disk or from servers we do not trust. Every length
 * prefix is checked against the bytes that remain before anything is read, a bundle may hold
 * at most 256 entries, and a trailing byte that cannot be a length prefix is refused, so no
 * input reads out of bounds or yields an entry that is not exactly what the bytes say.
 * @throws TlogError BUNDLE_MALFORMED naming `file` on truncated or oversized input
 */
export function decodeEntryBundle(bytes: Uint8Array, file?: string): Uint8Array[] {
  const name = file === undefined ? 'entry bundle' : `entry bundle "${file}"`;
  const fail = (why: string): TlogError =>
    new TlogError(
      'BUNDLE_MALFORMED',
      `Cannot decode ${name}: ${why}`,
      file === undefined ? {} : { file },
    );
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const entries: Uint8Array[] = [];
  let offset = 0;
  while (offset < bytes.length) {
    if (entries.length === TILE_WIDTH) {
      throw fail(`it holds more than ${TILE_WIDTH} entries`);
    }
    if (offset + ENTRY_PREFIX_BYTES > bytes.length) {
      throw fail(`it ends inside the length of entry ${entries.length}`);
    }
    const length = view.getUint16(offset);
    const start = offset + ENTRY_PREFIX_BYTES;
    if (start + length > bytes.length) {
      throw fail(
        `entry ${entries.length} claims "${length}" bytes but only ${bytes.length - start} remain`,
      );
    }
    entries.push(bytes.subarray(start, start + length));
    offset = start + length;
  }
  return entries;
}
