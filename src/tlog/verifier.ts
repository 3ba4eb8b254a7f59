import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Checkpoint } from './checkpoint.ts';
import { openCheckpoint, verifyCheckpoint } from './checkpoint.ts';
import { durableWriteFile } from './driver/fs.ts';
import { decodeEntryBundle } from './entry-bundle.ts';
import { TlogError } from './errors.ts';
import type { Hash } from './hash.ts';
import { equalBytes, HASH_SIZE, leafHash } from './hash.ts';
import type { NoteVerifier } from './note.ts';
import { consistencyProof, inclusionProof, verifyConsistency, verifyInclusion } from './proof.ts';
import { decodeTile } from './tile.ts';
import { entriesPath, TILE_WIDTH, tilePath } from './tile-path.ts';
import { subtreeRoot, treeRoot } from './tree.ts';
import type { TileReader } from './tree.ts';

/** Largest file a verifier accepts: a full bundle of 256 maximal entries. */
const MAX_FETCH_BYTES = TILE_WIDTH * (65_535 + 2);
/** Bundles and tiles fetched ahead of the one being checked (HTTP round trips overlap). */
const PREFETCH = 16;
/** How long one HTTP fetch may take. */
const FETCH_TIMEOUT_MS = 30_000;

/**
 * Where a verifier reads a log from. `read` resolves with undefined when the file does not
 * exist; any other failure is a TlogError naming the file.
 */
export interface LogSource {
  readonly name: string;
  read(path: string): Promise<Uint8Array | undefined>;
}

/** Reads a log from a directory. */
export function directorySource(logDir: string): LogSource {
  return {
    name: logDir,
    async read(path) {
      try {
        return await readFile(join(logDir, path));
      } catch (error: unknown) {
        if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
        throw new TlogError('IO_FAILED', `Cannot read "${path}" from "${logDir}"`, {
          file: path,
          cause: error,
        });
      }
    },
  };
}

/** Reads a log served over http(s) at a URL prefix. */
export function httpSource(prefix: string): LogSource {
  const base = prefix.endsWith('/') ? prefix : `${prefix}/`;
  return {
    name: base,
    async read(path) {
      const url = new URL(path, base);
      let response: Response;
      try {
        response = await fetch(url, {
          headers: { 'accept-encoding': 'gzip, identity' },
          signal: AbortSignal.timeout(FETCH_TIMEOUT_MS),
          redirect: 'error',
        });
      } catch (error: unknown) {
        throw new TlogError('IO_FAILED', `Cannot fetch "${url.href}"`, {
          file: path,
          cause: error,
        });
      }
      if (response.status === 404) {
        await response.body?.cancel();
        return undefined;
      }
      if (!response.ok) {
        await response.body?.cancel();
        throw new TlogError('IO_FAILED', `Cannot fetch "${url.href}": HTTP ${response.status}`, {
          file: path,
        });
      }
      // Attacker-controlled: a hostile server could send an endless body. Stop past the limit.
      const chunks: Uint8Array[] = [];
      let total = 0;
      const body = (response.body ?? []) as AsyncIterable<Uint8Array>;
      for await (const chunk of body) {
        total += chunk.length;
        if (total > MAX_FETCH_BYTES) {
          // Leaving the loop cancels the stream.
          throw new TlogError(
            'TILE_MALFORMED',
            `Cannot use "${url.href}": larger than ${MAX_FETCH_BYTES} bytes`,
            {
              file: path,
            },
          );
        }
        chunks.push(chunk);
      }
      return Buffer.concat(chunks);
    },
  };
}

/** Options of {@link verifyLog}. */
export interface VerifyLogOptions {
  /** Keys the checkpoint must be signed by; at least one must verify. */
  readonly verifiers: readonly NoteVerifier[];
  /**
   * File holding the last checkpoint this verifier accepted. When present, the new checkpoint
   * must not go back and must be consistent with it; on success it is replaced.
   */
  readonly stateFile?: string;
  readonly onProgress?: (entriesDone: number, entriesTotal: number) => void;
}

/** What a successful verification checked. */
export interface VerifyReport {
  readonly checkpoint: Checkpoint;
  /** Names and types of the keys whose signatures verified. */
  readonly verifiedBy: readonly string[];
  readonly entriesChecked: number;
  readonly tilesChecked: number;
  readonly previousSize: number | undefined;
}

async function readTileFrom(
  source: LogSource,
  level: number,
  index: number,
  width: number,
): Promise<Hash[]> {
  const path = tilePath({ level, index, width });
  let bytes = await source.read(path);
  let file = path;
  // SPEC: https://c2sp.org/tlog-tiles clients "MAY fetch the full tile ... as a fallback in
  // case the partial tile is not available anymore". Its first `width` hashes are the partial tile.
  if (bytes === undefined && width < TILE_WIDTH) {
    file = tilePath({ level, index, width: TILE_WIDTH });
    const full = await source.read(file);
    if (full !== undefined) {
      decodeTile(full, TILE_WIDTH, file);
      bytes = full.subarray(0, width * HASH_SIZE);
    }
  }
  if (bytes === undefined)
    throw new TlogError('NOT_FOUND', `Cannot find tile "${path}" in "${source.name}"`, {
      file: path,
    });
  return decodeTile(bytes, width, file);
}

async function readBundleFrom(
  source: LogSource,
  index: number,
  width: number,
): Promise<{ entries: Uint8Array[]; file: string }> {
  const path = entriesPath(index, width);
  let bytes = await source.read(path);
  let file = path;
  if (bytes === undefined && width < TILE_WIDTH) {
    file = entriesPath(index, TILE_WIDTH);
    bytes = await source.read(file);
  }
  if (bytes === undefined)
    throw new TlogError('NOT_FOUND', `Cannot find entry bundle "${path}" in "${source.name}"`, {
      file: path,
    });
  const entries = decodeEntryBundle(bytes, file);
  if (entries.length < width || (file === path && entries.length !== width)) {
    throw new TlogError(
      'BUNDLE_MALFORMED',
      `Entry bundle "${file}" has ${entries.length} entries, expected ${width}`,
      { file },
    );
  }
  return { entries: entries.slice(0, width), file };
}

/**
 * Verifies a whole log without trusting anything it reads: the checkpoint signature, every
 * level-0 tile against the leaf hashes of the entry bundles, every higher tile against the
 * tiles below it, the root against the checkpoint, and (with a state file) that the log only
 * grew since the last verification, by a consistency proof.
 *
 * Attacker-controlled: every byte from `source`. Sizes are bounded, every file is decoded by
 * a strict parser, and the first file that does not match is named in the error.
 * Memory is flat in the log size: one tile per level is held at a time.
 * @throws TlogError SIGNATURE_INVALID, CHECKPOINT_MALFORMED, CHECKPOINT_ROLLBACK, NOT_FOUND,
 *   TILE_MALFORMED, TILE_MISMATCH, BUNDLE_MALFORMED, BUNDLE_MISMATCH, ROOT_MISMATCH,
 *   PROOF_INVALID, IO_FAILED
 */
export async function verifyLog(
  source: LogSource,
  options: VerifyLogOptions,
): Promise<VerifyReport> {
  const note = await source.read('checkpoint');
  if (note === undefined)
    throw new TlogError('NOT_FOUND', `Cannot find "checkpoint" in "${source.name}"`, {
      file: 'checkpoint',
    });
  const opened = openCheckpoint(note, options.verifiers, { file: 'checkpoint' });
  const checkpoint = opened.checkpoint;
  const size = checkpoint.size;

  // Level by level (1 and up), the hashes computed from below that the next tile must hold.
  const pending: Hash[][] = [];
  const nextTile: number[] = [];
  let tilesChecked = 0;
  const checkTile = async (level: number, computed: Hash[]): Promise<void> => {
    const index = nextTile[level] ?? 0;
    nextTile[level] = index + 1;
    const stored = await readTileFrom(source, level, index, computed.length);
    tilesChecked++;
    for (let i = 0; i < computed.length; i++) {
      if (!equalBytes(stored[i] as Hash, computed[i] as Hash)) {
        const file = tilePath({ level, index, width: computed.length });
        throw new TlogError(
          'TILE_MISMATCH',
          `Tile "${file}" hash ${i} does not match the tiles below it`,
          { file },
        );
      }
    }
    if (computed.length === TILE_WIDTH) await pushUp(level + 1, subtreeRoot(computed));
  };
  const pushUp = async (level: number, hash: Hash): Promise<void> => {
    const row = (pending[level] ??= []);
    row.push(hash);
    if (row.length === TILE_WIDTH) {
      pending[level] = [];
      await checkTile(level, row);
    }
  };

  const bundles = Math.ceil(size / TILE_WIDTH);
  const fetchBundle = (k: number): Promise<[{ entries: Uint8Array[]; file: string }, Hash[]]> => {
    const width = Math.min(TILE_WIDTH, size - k * TILE_WIDTH);
    return Promise.all([readBundleFrom(source, k, width), readTileFrom(source, 0, k, width)]);
  };
  const queue: Promise<[{ entries: Uint8Array[]; file: string }, Hash[]]>[] = [];
  for (let k = 0; k < Math.min(PREFETCH, bundles); k++) queue.push(fetchBundle(k));
  for (let k = 0; k < bundles; k++) {
    const next = queue.shift() as Promise<[{ entries: Uint8Array[]; file: string }, Hash[]]>;
    if (k + PREFETCH < bundles) queue.push(fetchBundle(k + PREFETCH));
    // Avoid unhandled rejections of prefetched reads if this one fails.
    for (const q of queue) q.catch(() => undefined);
    const [{ entries, file }, stored] = await next;
    tilesChecked++;
    const leaves = entries.map((e) => leafHash(e));
    for (let i = 0; i < leaves.length; i++) {
      if (!equalBytes(leaves[i] as Hash, stored[i] as Hash)) {
        throw new TlogError(
          'BUNDLE_MISMATCH',
          `Entry ${k * TILE_WIDTH + i} in bundle "${file}" does not hash to tile "${tilePath({ level: 0, index: k, width: leaves.length })}"`,
          { file },
        );
      }
    }
    if (leaves.length === TILE_WIDTH) await pushUp(1, subtreeRoot(leaves));
    options.onProgress?.(Math.min(size, (k + 1) * TILE_WIDTH), size);
  }
  // The rightmost partial tile of each level above 0.
  for (let level = 1; level < pending.length; level++) {
    const row = pending[level];
    if (row !== undefined && row.length > 0) await checkTile(level, row);
  }

  const readTile: TileReader = async (level, index, width) =>
    Buffer.concat(await readTileFrom(source, level, index, width));
  const root = await treeRoot(size, readTile);
  if (!equalBytes(root, checkpoint.rootHash)) {
    throw new TlogError(
      'ROOT_MISMATCH',
      `The tiles hash to a root that is not the one in "checkpoint"`,
      { file: 'checkpoint' },
    );
  }
  if (size > 0) {
    // Inclusion proofs of the first and last entries, recomputed from the tiles.
    for (const index of new Set([0, size - 1])) {
      const { entries } = await readBundleFrom(
        source,
        Math.floor(index / TILE_WIDTH),
        Math.min(TILE_WIDTH, size - Math.floor(index / TILE_WIDTH) * TILE_WIDTH),
      );
      const leaf = leafHash(entries[index % TILE_WIDTH] as Uint8Array);
      verifyInclusion(leaf, index, size, await inclusionProof(index, size, readTile), root);
    }
  }

  let previousSize: number | undefined;
  if (options.stateFile !== undefined) {
    previousSize = await checkAgainstState(
      options.stateFile,
      checkpoint,
      options.verifiers,
      readTile,
    );
    await durableWriteFile(options.stateFile, note);
  }
  return {
    checkpoint,
    verifiedBy: opened.verifiedBy.map((v) => `${v.name} (${v.type})`),
    entriesChecked: size,
    tilesChecked,
    previousSize,
  };
}

async function checkAgainstState(
  stateFile: string,
  checkpoint: Checkpoint,
  verifiers: readonly NoteVerifier[],
  readTile: TileReader,
): Promise<number | undefined> {
  let previousNote: Buffer;
  try {
    previousNote = await readFile(stateFile);
  } catch (error: unknown) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new TlogError('IO_FAILED', `Cannot read state file "${stateFile}"`, {
      file: stateFile,
      cause: error,
    });
  }
  const previous = verifyCheckpoint(previousNote, verifiers, { file: stateFile });
  if (previous.origin !== checkpoint.origin) {
    throw new TlogError(
      'CHECKPOINT_MALFORMED',
      `Checkpoint origin "${checkpoint.origin}" is not the origin "${previous.origin}" in "${stateFile}"`,
      { file: 'checkpoint' },
    );
  }
  if (checkpoint.size < previous.size) {
    throw new TlogError(
      'CHECKPOINT_ROLLBACK',
      `Checkpoint size ${checkpoint.size} goes back from size ${previous.size} seen before`,
      { file: 'checkpoint' },
    );
  }
  if (checkpoint.size === previous.size) {
    if (!equalBytes(checkpoint.rootHash, previous.rootHash)) {
      throw new TlogError(
        'CHECKPOINT_ROLLBACK',
        `Checkpoint has a different root for the same size ${checkpoint.size}: the log forked`,
        {
          file: 'checkpoint',
        },
      );
    }
    return previous.size;
  }
  const proof = await consistencyProof(previous.size, checkpoint.size, readTile);
  verifyConsistency(previous.size, checkpoint.size, proof, previous.rootHash, checkpoint.rootHash);
  return previous.size;
}
