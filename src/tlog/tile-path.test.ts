import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { encodeTileIndex, entriesPath, parseTilePath, tilePath, TILE_WIDTH } from './tile-path.ts';
import { TlogError } from './errors.ts';

describe('tile paths', () => {
  it('encodes indices as x-prefixed 3-digit elements (C2SP example)', () => {
    expect(encodeTileIndex(1234067)).toBe('x001/x234/067');
    expect(encodeTileIndex(0)).toBe('000');
    expect(encodeTileIndex(999)).toBe('999');
    expect(encodeTileIndex(1000)).toBe('x001/000');
  });

  it('adds .p/<W> only to partial tiles', () => {
    expect(tilePath({ level: 0, index: 1234067, width: 256 })).toBe('tile/0/x001/x234/067');
    expect(tilePath({ level: 2, index: 0, width: 1 })).toBe('tile/2/000.p/1');
    expect(entriesPath(5, 255)).toBe('tile/entries/005.p/255');
    expect(entriesPath(5, TILE_WIDTH)).toBe('tile/entries/005');
  });

  it.each([
    () => encodeTileIndex(-1),
    () => encodeTileIndex(1.5),
    () => tilePath({ level: 64, index: 0, width: 256 }),
    () => tilePath({ level: -1, index: 0, width: 256 }),
    () => tilePath({ level: 0, index: 0, width: 0 }),
    () => entriesPath(0, 257),
  ])('refuses out-of-range coordinates (%#)', (call) => {
    expect(call).toThrow(TlogError);
  });

  it('parses exactly what it formats', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 63 }),
        fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER }),
        fc.integer({ min: 1, max: 256 }),
        (level, index, width) => {
          expect(parseTilePath(tilePath({ level, index, width }))).toEqual({ level, index, width });
          expect(parseTilePath(entriesPath(index, width))).toEqual({
            level: 'entries',
            index,
            width,
          });
        },
      ),
    );
  });

  it.each([
    'tile/0/1',
    'tile/00/000',
    'tile/64/000',
    'tile/0/x000/001',
    'tile/0/001/002',
    'tile/0/000.p/0',
    'tile/0/000.p/256',
    'tile/0/000.p/01',
    'tile/0/../000',
    'tile/entries/000.p/',
    'tile/data/000',
    '/tile/0/000',
    'tile/0/000/',
    'tile/0/x9007/x199/x254/x740/x992/000',
  ])('rejects %s', (path) => {
    expect(parseTilePath(path)).toBeUndefined();
  });
});
