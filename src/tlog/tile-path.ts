import { TlogError } from './errors.ts';

// SPEC: https://c2sp.org/tlog-tiles "Tiles are always 256 hashes wide, i.e. they have a height of 8".
/** Number of tree levels one tile spans. */
export const TILE_HEIGHT = 8;
/** Hashes (or entries) in a full tile or entry bundle. */
export const TILE_WIDTH = 256;
/** Largest tile level a path may name (the tree never needs more for 2^63 entries). */
export const MAX_TILE_LEVEL = 63;

/**
 * Where a tile sits: its level `level`, its index `index` within the level and its width
 * (`TILE_WIDTH` for a full tile, 1..255 for a partial one).
 */
export interface TileCoordinates {
  readonly level: number;
  readonly index: number;
  readonly width: number;
}

/**
 * Encodes a tile index as path elements.
 * SPEC: https://c2sp.org/tlog-tiles "<N> is the index of the tile within the level. It MUST be a
 * non-negative integer encoded into zero-padded 3-digit path elements. All but the last path
 * element MUST begin with an x." e.g. 1234067 → x001/x234/067.
 */
export function encodeTileIndex(index: number): string {
  if (!Number.isSafeInteger(index) || index < 0) {
    throw new TlogError('INDEX_OUT_OF_RANGE', `Cannot encode tile index "${index}"`);
  }
  let rest = index;
  let path = String(rest % 1000).padStart(3, '0');
  rest = Math.floor(rest / 1000);
  while (rest > 0) {
    path = `x${String(rest % 1000).padStart(3, '0')}/${path}`;
    rest = Math.floor(rest / 1000);
  }
  return path;
}

function widthSuffix(width: number): string {
  if (!Number.isInteger(width) || width < 1 || width > TILE_WIDTH) {
    throw new TlogError('INDEX_OUT_OF_RANGE', `Cannot use tile width "${width}"`);
  }
  // SPEC: https://c2sp.org/tlog-tiles "<W> is the width of the tile, a decimal integer between 1
  // and 255, with no additional leading zeroes" and partial tiles end in ".p/<W>".
  return width === TILE_WIDTH ? '' : `.p/${width}`;
}

/** Path of a hash tile, relative to the log root: `tile/<L>/<N>[.p/<W>]`. */
export function tilePath(tile: TileCoordinates): string {
  if (!Number.isInteger(tile.level) || tile.level < 0 || tile.level > MAX_TILE_LEVEL) {
    throw new TlogError('INDEX_OUT_OF_RANGE', `Cannot use tile level "${tile.level}"`);
  }
  return `tile/${tile.level}/${encodeTileIndex(tile.index)}${widthSuffix(tile.width)}`;
}

/** Path of an entry bundle, relative to the log root: `tile/entries/<N>[.p/<W>]`. */
export function entriesPath(index: number, width: number): string {
  return `tile/entries/${encodeTileIndex(index)}${widthSuffix(width)}`;
}

const PATH_ELEMENT = /^(?:x\d{3}\/)*\d{3}$/;

/**
 * Parses a request path (relative to the log root) naming a tile or entry bundle.
 * Attacker-controlled: the path comes from HTTP clients. Only the exact C2SP grammar is
 * accepted (no `..`, no leading zeros in the width, no redundant `x000` elements), so a parsed
 * path can be joined to the log directory without escaping it.
 * Returns `undefined` for anything that is not a tile path; `level` is `'entries'` for bundles.
 */
export function parseTilePath(
  path: string,
):
  | { readonly level: number | 'entries'; readonly index: number; readonly width: number }
  | undefined {
  const match = /^tile\/(entries|\d{1,2})\/((?:x\d{3}\/)*\d{3})(?:\.p\/([1-9]\d{0,2}))?$/.exec(
    path,
  );
  if (match === null) return undefined;
  const [, levelText, indexText, widthText] = match;
  if (levelText === undefined || indexText === undefined || !PATH_ELEMENT.test(indexText)) {
    return undefined;
  }
  const level = levelText === 'entries' ? 'entries' : Number(levelText);
  if (level !== 'entries' && (level > MAX_TILE_LEVEL || String(level) !== levelText)) {
    return undefined;
  }
  const index = Number(indexText.replaceAll('x', '').replaceAll('/', ''));
  if (!Number.isSafeInteger(index) || encodeTileIndex(index) !== indexText) return undefined;
  const width = widthText === undefined ? TILE_WIDTH : Number(widthText);
  if (width < 1 || width >= TILE_WIDTH + (widthText === undefined ? 1 : 0)) return undefined;
  return { level, index, width };
}
