import { TlogError } from './errors.ts';
import { HASH_SIZE } from './hash.ts';
import type { Hash } from './hash.ts';
import { TILE_WIDTH } from './tile-path.ts';

/** Size in bytes of a full hash tile: 256 hashes of 32 bytes. */
export const FULL_TILE_BYTES = TILE_WIDTH * HASH_SIZE;

/**
 * Encodes a hash tile: its hashes concatenated, nothing else.
 * SPEC: https://c2sp.org/tlog-tiles "concatenated sequences of consecutive Merkle Tree Hashes"
 * and "Full tiles MUST be exactly 256 hashes wide, or 8,192 bytes".
 * @throws TlogError TILE_MALFORMED when there are 0 or more than 256 hashes, or one is not 32 bytes
 */
export function encodeTile(hashes: readonly Hash[]): Uint8Array {
  // SPEC: https://c2sp.org/tlog-tiles "Empty tiles MUST NOT be served."
  if (hashes.length === 0 || hashes.length > TILE_WIDTH) {
    throw new TlogError(
      'TILE_MALFORMED',
      `Cannot encode a tile of "${hashes.length}" hashes: expected 1 to ${TILE_WIDTH}`,
    );
  }
  const bytes = new Uint8Array(hashes.length * HASH_SIZE);
  hashes.forEach((hash, i) => {
    if (hash.length !== HASH_SIZE) {
      throw new TlogError(
        'TILE_MALFORMED',
        `Cannot encode hash ${i} of a tile: "${hash.length}" bytes, expected ${HASH_SIZE}`,
      );
    }
    bytes.set(hash, i * HASH_SIZE);
  });
  return bytes;
}

/**
 * Decodes a hash tile of `width` hashes. The hashes returned are views into `bytes`.
 * Attacker-controlled: tiles come from disk or from servers we do not trust. The only thing a
 * tile can get wrong in its encoding is its length, which must be exactly `width` × 32 bytes;
 * whether the hashes are right is for the caller to check against a signed root.
 * @throws TlogError TILE_MALFORMED naming `file` when the length is wrong; INDEX_OUT_OF_RANGE for a width outside 1..256
 */
export function decodeTile(bytes: Uint8Array, width: number, file?: string): Hash[] {
  if (!Number.isInteger(width) || width < 1 || width > TILE_WIDTH) {
    throw new TlogError('INDEX_OUT_OF_RANGE', `Cannot use tile width "${width}"`);
  }
  if (bytes.length !== width * HASH_SIZE) {
    const name = file === undefined ? 'tile' : `tile "${file}"`;
    throw new TlogError(
      'TILE_MALFORMED',
      `Cannot decode ${name}: "${bytes.length}" bytes, expected ${width * HASH_SIZE} for ${width} hashes`,
      file === undefined ? {} : { file },
    );
  }
  const hashes: Hash[] = [];
  for (let offset = 0; offset < bytes.length; offset += HASH_SIZE) {
    hashes.push(bytes.subarray(offset, offset + HASH_SIZE));
  }
  return hashes;
}
