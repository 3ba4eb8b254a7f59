import { describe, expect, it } from 'vitest';
import { leafHash } from './hash.ts';
import { decodeTile, encodeTile, FULL_TILE_BYTES } from './tile.ts';

const hashes = Array.from({ length: 256 }, (_, i) => leafHash(Uint8Array.of(i)));

describe('hash tiles', () => {
  it('concatenates the hashes and splits them back', () => {
    const tile = encodeTile(hashes);
    expect(tile.length).toBe(FULL_TILE_BYTES);
    expect(FULL_TILE_BYTES).toBe(8192);
    expect(Buffer.from(tile.subarray(32, 64))).toEqual(Buffer.from(hashes[1]!));
    const decoded = decodeTile(tile, 256);
    expect(decoded.map((h) => Buffer.from(h).toString('hex'))).toEqual(
      hashes.map((h) => Buffer.from(h).toString('hex')),
    );
    expect(decodeTile(encodeTile(hashes.slice(0, 3)), 3)).toHaveLength(3);
  });

  it('refuses to encode no hashes, more than 256, or a hash that is not 32 bytes', () => {
    expect(() => encodeTile([])).toThrow(expect.objectContaining({ code: 'TILE_MALFORMED' }));
    expect(() => encodeTile([...hashes, hashes[0]!])).toThrow(
      expect.objectContaining({ code: 'TILE_MALFORMED' }),
    );
    expect(() => encodeTile([hashes[0]!, new Uint8Array(31)])).toThrow(
      expect.objectContaining({
        code: 'TILE_MALFORMED',
        message: expect.stringContaining('hash 1'),
      }),
    );
  });

  it('refuses bytes of the wrong length naming the file', () => {
    const tile = encodeTile(hashes.slice(0, 4));
    expect(() => decodeTile(tile.subarray(0, 127), 4, 'tile/0/000.p/4')).toThrow(
      expect.objectContaining({
        code: 'TILE_MALFORMED',
        file: 'tile/0/000.p/4',
        message: expect.stringMatching(/"127" bytes, expected 128/),
      }),
    );
    expect(() => decodeTile(tile, 3)).toThrow(
      expect.objectContaining({ code: 'TILE_MALFORMED', file: undefined }),
    );
  });

  it('refuses a width outside 1..256', () => {
    for (const width of [0, 257, 1.5]) {
      expect(() => decodeTile(new Uint8Array(0), width)).toThrow(
        expect.objectContaining({ code: 'INDEX_OUT_OF_RANGE' }),
      );
    }
  });
});
