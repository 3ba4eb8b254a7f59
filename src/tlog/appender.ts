import { hash as digest } from 'node:crypto';
import { rm } from 'node:fs/promises';
import { setImmediate as yieldToLoop, setTimeout as sleep } from 'node:timers/promises';
import { join } from 'node:path';
import { assert } from '../basics/index.ts';
import type { Brand } from '../basics/index.ts';
import { formatCheckpoint, isValidOrigin, parseCheckpoint } from './checkpoint.ts';
import type { Checkpoint } from './checkpoint.ts';
import {
  CHECKPOINT_FILE,
  createDirectory,
  beginDurableWrites,
  durableWriteFiles,
  lockLogDirectory,
  pathExists,
  readCheckpointFile,
  readLogFile,
} from './driver/fs.ts';
import type { DurableWrites, LogLock } from './driver/fs.ts';
import { startWriteThread } from './driver/write-thread.ts';
import type { WriteThread } from './driver/write-thread.ts';
import {
  checkEntrySize,
  decodeEntryBundle,
  ENTRY_PREFIX_BYTES,
  MAX_ENTRY_BYTES,
} from './entry-bundle.ts';
import { TlogError } from './errors.ts';
import { emptyRoot, equalBytes, HASH_SIZE } from './hash.ts';
import type { Hash } from './hash.ts';
import { decodeTile, FULL_TILE_BYTES } from './tile.ts';
import { entriesPath, TILE_WIDTH, tilePath } from './tile-path.ts';

/** Position of an entry in the log, counted from 0. */
export type LogIndex = Brand<number, 'LogIndex'>;

/**
 * Most entries one batch writes. Large enough that the fsyncs of a batch (a handful, done in
 * parallel) cost little per entry; small enough that a batch's buffers stay a few megabytes.
 */
export const DEFAULT_MAX_BATCH_SIZE = 1024;

/**
 * How long the first append of a batch waits for others, in milliseconds. 0 still gathers
 * every append made in the same turn of the event loop, and appends that arrive while a batch
 * is being written form the next batch, so waiting longer only adds latency by default.
 */
export const DEFAULT_MAX_BATCH_DELAY_MS = 0;

/** How to open a log for appending. */
export interface LogAppenderOptions {
  /** The log directory (the one holding `checkpoint` and `tile/`); created when missing. */
  readonly logDir: string;
  /** The checkpoint origin line; must match the existing checkpoint's. */
  readonly origin: string;
  /**
   * Signs a checkpoint: returns the signed note text (the checkpoint body, a blank line,
   * signatures). A promise lets the signature be made off the main thread while the batch's
   * tiles are written and the next batch is hashed.
   */
  readonly sign: (checkpoint: Checkpoint) => string | Promise<string>;
  /** Most entries per batch; default {@link DEFAULT_MAX_BATCH_SIZE}. */
  readonly maxBatchSize?: number;
  /** How long to wait to fill a batch; default {@link DEFAULT_MAX_BATCH_DELAY_MS}. */
  readonly maxBatchDelayMs?: number;
  /**
   * Make the durable writes on a thread of their own, for a writer whose main thread is busy
   * with other work (a web server): each write's steps then wait only for the disk. Costs a
   * thread start at open; off by default.
   */
  readonly writeThread?: boolean;
}

/** The one writer of a log. */
export interface LogAppender {
  /**
   * Appends one entry and resolves with its index once it is durable: written, fsynced and
   * covered by the checkpoint on disk. The entry's bytes are read when its batch is written:
   * do not change them before the promise settles.
   * @throws TlogError ENTRY_TOO_LARGE, LOG_CLOSED, DISK_FULL, IO_FAILED
   */
  append(entry: Uint8Array): Promise<LogIndex>;
  /**
   * Appends entries at contiguous indices and resolves with the first once all are durable.
   * More entries than a batch holds are written over several batches: if one of those fails,
   * the rest are dropped and the promise rejects, but the batches already written stay in the
   * log. An empty list resolves with the current size.
   * @throws TlogError ENTRY_TOO_LARGE (nothing appended), LOG_CLOSED, DISK_FULL, IO_FAILED
   */
  appendMany(entries: readonly Uint8Array[]): Promise<LogIndex>;
  /** Number of durable entries: the size of the checkpoint on disk. */
  readonly size: number;
  /** The signed checkpoint note on disk. */
  checkpoint(): string;
  /** Root hash of the checkpoint on disk. */
  rootHash(): Uint8Array;
  /** Waits for the appends already made, then gives up the lock; later appends reject with LOG_CLOSED. */
  close(): Promise<void>;
}

// Scratch inputs of the two RFC 6962 hashes, reused so that hashing allocates only its output.
// The one-shot hash() over one buffer is markedly faster than createHash().update() chains.
const leafInput = Buffer.alloc(1 + MAX_ENTRY_BYTES);
const nodeInput = Buffer.alloc(1 + 2 * HASH_SIZE);
// SPEC: RFC 6962 §2.1 leaf hash SHA-256(0x00 || entry), node hash SHA-256(0x01 || left || right).
leafInput[0] = 0x00;
nodeInput[0] = 0x01;

/** SHA-256(0x00 || entry). */
function hashLeaf(entry: Uint8Array): Hash {
  leafInput.set(entry, 1);
  return digest('sha256', leafInput.subarray(0, 1 + entry.length), 'buffer');
}

/** SHA-256(0x01 || left || right). */
function hashNode(left: Uint8Array, right: Uint8Array): Hash {
  nodeInput.set(left, 1);
  nodeInput.set(right, 1 + HASH_SIZE);
  return digest('sha256', nodeInput, 'buffer');
}

/** The rightmost tile of one level: `count` hashes of tile `index`, in a full tile's buffer. */
interface LevelTile {
  index: number;
  count: number;
  bytes: Uint8Array;
}

/** The rightmost entry bundle: `count` encoded entries of bundle `index` in `bytes[0, length)`. */
interface BundleTail {
  index: number;
  count: number;
  bytes: Buffer;
  length: number;
}

/**
 * The right edge of the tree, all an appender keeps in memory (flat in the log's size):
 * `range` holds the roots of the perfect subtrees that the binary decomposition of `size` cuts
 * the tree into, largest (leftmost) first; `levels[k]` the rightmost tile of level k; `bundle`
 * the rightmost entry bundle.
 */
interface Edge {
  size: number;
  range: Hash[];
  levels: LevelTile[];
  bundle: BundleTail;
}

/** Files a batch writes and partial-tile directories it may delete once committed. */
interface BatchFiles {
  /** Writes under way: full tiles and bundles start as soon as they are complete. */
  readonly writes: DurableWrites;
  readonly completed: string[];
}

const INITIAL_BUNDLE_BYTES = 64 * 1024;

function emptyLevel(index: number): LevelTile {
  return { index, count: 0, bytes: new Uint8Array(FULL_TILE_BYTES) };
}

function addToLevel(logDir: string, edge: Edge, level: number, hash: Hash, files: BatchFiles) {
  let tile = edge.levels[level];
  if (tile === undefined) {
    tile = emptyLevel(0);
    edge.levels[level] = tile;
  }
  tile.bytes.set(hash, tile.count * HASH_SIZE);
  tile.count += 1;
  if (tile.count === TILE_WIDTH) {
    const path = tilePath({ level, index: tile.index, width: TILE_WIDTH });
    files.writes.add({ path: join(logDir, path), bytes: tile.bytes });
    files.completed.push(`${path}.p`);
    edge.levels[level] = emptyLevel(tile.index + 1);
  }
}

function addToBundle(logDir: string, edge: Edge, entry: Uint8Array, files: BatchFiles) {
  const bundle = edge.bundle;
  const needed = bundle.length + ENTRY_PREFIX_BYTES + entry.length;
  if (needed > bundle.bytes.length) {
    const grown = Buffer.allocUnsafe(Math.max(needed, 2 * bundle.bytes.length));
    bundle.bytes.copy(grown, 0, 0, bundle.length);
    bundle.bytes = grown;
  }
  bundle.bytes.writeUInt16BE(entry.length, bundle.length);
  bundle.bytes.set(entry, bundle.length + ENTRY_PREFIX_BYTES);
  bundle.length = needed;
  bundle.count += 1;
  if (bundle.count === TILE_WIDTH) {
    const path = entriesPath(bundle.index, TILE_WIDTH);
    files.writes.add({ path: join(logDir, path), bytes: bundle.bytes.subarray(0, bundle.length) });
    files.completed.push(`${path}.p`);
    edge.bundle = {
      index: bundle.index + 1,
      count: 0,
      bytes: Buffer.allocUnsafe(INITIAL_BUNDLE_BYTES),
      length: 0,
    };
  }
}

/**
 * Appends one entry to the edge: its bundle, its leaf hash to the level-0 tile, and the merges
 * of the compact range. Each merge that completes a subtree of 256^k leaves (height 8k) is the
 * next hash of the level-k tile.
 * SPEC: https://c2sp.org/tlog-tiles "At “level 1” and above, each hash in a tile is the Merkle
 * Tree Hash of a *full* tile at the level below." and a partial tile "MUST NOT be hashed into a
 * tile at the level above": only a completed subtree of height 8k ever reaches level k.
 */
function appendLeaf(logDir: string, edge: Edge, entry: Uint8Array, files: BatchFiles): void {
  addToBundle(logDir, edge, entry, files);
  let node = hashLeaf(entry);
  addToLevel(logDir, edge, 0, node, files);
  let rest = edge.size;
  let height = 0;
  // Plain arithmetic, not bit operators: sizes go past 2^32.
  while (rest % 2 === 1) {
    node = hashNode(edge.range.pop() as Hash, node);
    height += 1;
    rest = (rest - 1) / 2;
    if (height % 8 === 0) addToLevel(logDir, edge, height / 8, node, files);
  }
  edge.range.push(node);
  edge.size += 1;
}

/** MTH of the whole tree from its compact range: fold the subtree roots from the right. */
function rootOf(range: readonly Hash[]): Hash {
  let root = range.at(-1);
  if (root === undefined) return emptyRoot();
  for (let i = range.length - 2; i >= 0; i -= 1) root = hashNode(range[i] as Hash, root);
  return root;
}

/** MTH of a power-of-two run of tile hashes. */
function perfectRoot(hashes: readonly Hash[]): Hash {
  let layer = hashes;
  while (layer.length > 1) {
    const next: Hash[] = [];
    for (let i = 0; i < layer.length; i += 2)
      next.push(hashNode(layer[i] as Hash, layer[i + 1] as Hash));
    layer = next;
  }
  return layer[0] as Hash;
}

/** Adds the files of the right edge that a batch changed: the partial tiles and bundle. */
function addPartials(logDir: string, edge: Edge, startSize: number, files: BatchFiles): void {
  let span = 1;
  for (const [level, tile] of edge.levels.entries()) {
    // SPEC: https://c2sp.org/tlog-tiles "Empty tiles MUST NOT be served." Hence count > 0.
    // The level-k tile changed iff floor(size / 256^k) did.
    if (tile.count > 0 && Math.floor(startSize / span) !== Math.floor(edge.size / span)) {
      files.writes.add({
        path: join(logDir, tilePath({ level, index: tile.index, width: tile.count })),
        bytes: tile.bytes.subarray(0, tile.count * HASH_SIZE),
      });
    }
    span *= TILE_WIDTH;
  }
  const bundle = edge.bundle;
  if (bundle.count > 0) {
    files.writes.add({
      path: join(logDir, entriesPath(bundle.index, bundle.count)),
      bytes: bundle.bytes.subarray(0, bundle.length),
    });
  }
}

/**
 * Reads a tile or bundle file that the checkpoint on disk needs. Unlike a reader serving
 * clients, it does not fall back to the full file: the appender deletes a partial only after a
 * checkpoint past it is durable, so a missing partial beside its full file means the checkpoint
 * went back.
 */
async function readCommitted(logDir: string, path: string, full: string): Promise<Uint8Array> {
  const file = join(logDir, path);
  const bytes = await readLogFile(file);
  if (bytes !== undefined) return bytes;
  if (await pathExists(join(logDir, full))) {
    throw new TlogError(
      'CHECKPOINT_ROLLBACK',
      `Cannot resume log "${logDir}": "${path}" was removed after a later checkpoint completed "${full}"; the checkpoint went back`,
      { file },
    );
  }
  throw new TlogError('NOT_FOUND', `Cannot resume log "${logDir}": "${file}" is missing`, { file });
}

/**
 * Rebuilds the right edge of the tree of `checkpoint.size` entries from the partial tiles and
 * bundle on disk, and checks that it gives the checkpoint's root.
 * Attacker-controlled, to a degree: the files may have been altered on disk. Every length is
 * checked, the bundle against the level-0 tile, and the tiles against the signed root.
 */
async function loadEdge(logDir: string, checkpoint: Checkpoint): Promise<Edge> {
  const size = checkpoint.size;
  const levels: LevelTile[] = [];
  const tiles: Hash[][] = [];
  const files: string[] = [];
  for (let level = 0, span = 1; span <= size; level += 1, span *= TILE_WIDTH) {
    // SPEC: https://c2sp.org/tlog-tiles "The partial tile at level *l* for a tree of size *s*
    // has `floor(s / 256**l) mod 256` entries."
    const tile = emptyLevel(Math.floor(size / span / TILE_WIDTH));
    tile.count = Math.floor(size / span) % TILE_WIDTH;
    const path = tilePath({ level, index: tile.index, width: TILE_WIDTH });
    let hashes: Hash[] = [];
    if (tile.count > 0) {
      const partial = tilePath({ level, index: tile.index, width: tile.count });
      const bytes = await readCommitted(logDir, partial, path);
      hashes = decodeTile(bytes, tile.count, join(logDir, partial));
      tile.bytes.set(bytes);
      files.push(partial);
    }
    levels.push(tile);
    tiles.push(hashes);
  }

  // The compact range, largest subtrees first: level by level from the top, and within a
  // level the runs of 128, 64, ... 1 tile hashes that the bits of the tile's width select.
  const range: Hash[] = [];
  for (let level = tiles.length - 1; level >= 0; level -= 1) {
    const hashes = tiles[level] as Hash[];
    let offset = 0;
    for (let run = TILE_WIDTH / 2; run >= 1; run /= 2) {
      if (hashes.length - offset >= run) {
        range.push(perfectRoot(hashes.slice(offset, offset + run)));
        offset += run;
      }
    }
  }
  const root = rootOf(range);
  if (!equalBytes(root, checkpoint.rootHash)) {
    const file = files[0] ?? CHECKPOINT_FILE;
    throw new TlogError(
      'ROOT_MISMATCH',
      `Cannot resume log "${logDir}": tiles ${files.map((f) => `"${f}"`).join(', ') || '(none)'} give root "${Buffer.from(root).toString('base64')}" for size ${size}, not the checkpoint's`,
      { file: join(logDir, file) },
    );
  }

  const bundle: BundleTail = {
    index: Math.floor(size / TILE_WIDTH),
    count: 0,
    bytes: Buffer.allocUnsafe(INITIAL_BUNDLE_BYTES),
    length: 0,
  };
  const edge: Edge = { size, range, levels, bundle };
  const width = size % TILE_WIDTH;
  if (width > 0) {
    const path = entriesPath(bundle.index, width);
    const file = join(logDir, path);
    const entries = decodeEntryBundle(
      await readCommitted(logDir, path, entriesPath(bundle.index, TILE_WIDTH)),
      file,
    );
    const leaves = tiles[0] as Hash[];
    if (entries.length !== width) {
      throw new TlogError(
        'BUNDLE_MALFORMED',
        `Cannot resume log "${logDir}": "${path}" holds "${entries.length}" entries, expected ${width}`,
        { file },
      );
    }
    entries.forEach((entry, i) => {
      if (!equalBytes(hashLeaf(entry), leaves[i] as Hash)) {
        throw new TlogError(
          'BUNDLE_MISMATCH',
          `Cannot resume log "${logDir}": entry ${i} of "${path}" does not hash to its leaf in the level-0 tile`,
          { file },
        );
      }
      addToBundle(logDir, edge, entry, { writes: beginDurableWrites(), completed: [] });
    });
  }
  return edge;
}

/** The body of a signed note: everything up to the blank line before the signatures. */
function noteBody(note: string, file: string): string {
  const end = note.indexOf('\n\n');
  if (end < 0) {
    throw new TlogError(
      'CHECKPOINT_MALFORMED',
      `Cannot parse "${file}": no blank line before signatures`,
      {
        file,
      },
    );
  }
  return note.slice(0, end + 1);
}

/** The committed state: the checkpoint on disk and the edge of its tree. */
interface Committed {
  readonly note: string;
  readonly checkpoint: Checkpoint;
  readonly edge: Edge;
}

/**
 * Loads the log's state from disk: the checkpoint (verified against the tiles) or, for a new
 * log, an empty tree whose first checkpoint is signed and written here. A checkpoint smaller
 * than `previousSize` (the one this process last wrote) is refused.
 */
async function loadCommitted(
  options: LogAppenderOptions,
  previousSize: number,
): Promise<Committed> {
  const { logDir, origin } = options;
  const file = join(logDir, CHECKPOINT_FILE);
  const note = await readCheckpointFile(logDir);
  if (note === undefined) {
    if (previousSize > 0 || (await pathExists(join(logDir, 'tile')))) {
      throw new TlogError(
        'CHECKPOINT_ROLLBACK',
        `Cannot open log "${logDir}": it has tiles but no "${CHECKPOINT_FILE}"; restore the checkpoint`,
        { file },
      );
    }
    const checkpoint: Checkpoint = { origin, size: 0, rootHash: emptyRoot(), extensions: [] };
    const edge: Edge = {
      size: 0,
      range: [],
      levels: [],
      bundle: { index: 0, count: 0, bytes: Buffer.allocUnsafe(INITIAL_BUNDLE_BYTES), length: 0 },
    };
    const first = await signChecked(options, checkpoint);
    await durableWriteFiles([], { path: file, bytes: first });
    return { note: first, checkpoint, edge };
  }
  const checkpoint = parseCheckpoint(noteBody(note, file), file);
  if (checkpoint.origin !== origin) {
    throw new TlogError(
      'CHECKPOINT_MALFORMED',
      `Cannot open log "${logDir}": its origin is "${checkpoint.origin}", not "${origin}"`,
      { file },
    );
  }
  if (checkpoint.size < previousSize) {
    throw new TlogError(
      'CHECKPOINT_ROLLBACK',
      `Cannot continue log "${logDir}": its checkpoint went back from size ${previousSize} to ${checkpoint.size}`,
      { file },
    );
  }
  return { note, checkpoint, edge: await loadEdge(logDir, checkpoint) };
}

async function signChecked(options: LogAppenderOptions, checkpoint: Checkpoint): Promise<string> {
  const note = await options.sign(checkpoint);
  // A note whose body is not this checkpoint would make the log unreadable on the next open.
  assert(
    note.startsWith(`${formatCheckpoint(checkpoint)}\n`),
    'The signer returned a note that does not start with the checkpoint body and a blank line',
  );
  return note;
}

/** Entries queued by one append() or appendMany() call. */
interface Group {
  readonly entries: readonly Uint8Array[];
  /** Entries already taken into batches. */
  taken: number;
  /** Entries of those batches that are durable. */
  committed: number;
  first: number;
  failed: boolean;
  readonly resolve: (index: LogIndex) => void;
  readonly reject: (error: unknown) => void;
}

/** Part of a group taken into one batch. */
interface Segment {
  readonly group: Group;
  readonly start: number;
  readonly count: number;
}

/** What a batch writes once computed. */
interface Prepared {
  readonly files: BatchFiles;
  readonly checkpoint: Checkpoint;
  /** Being signed while the tiles are written; settled before the checkpoint is. */
  readonly note: Promise<string>;
  readonly edge: Edge;
}

/** A batch taken from the queue: computed, or the error that stopped it. */
interface Batch {
  /** The queue position it was taken from. */
  readonly head: number;
  readonly segments: readonly Segment[];
  /** Its writes, some of which may be under way. */
  readonly writes: DurableWrites;
  readonly ready: Prepared | Error;
}

/**
 * Entries hashed between two yields to the event loop. Small: each step of the previous
 * batch's writes (open, write, close, rename, directory fsync, then the checkpoint's) waits
 * for the main thread, so a long slice stalls the disk. Measured on 2 cores at batch 1,024:
 * 128 gave 93,000 entries/s, 32 gave 138,000, 8 gave 151,000.
 */
const HASH_SLICE = 8;

/** Queue slots consumed before the queue array is compacted. */
const QUEUE_COMPACTION = 1024;

/**
 * Opens the log under `options.logDir` for appending, as its only writer.
 *
 * Group commit: appends made while a batch is being written queue up and form the next batch.
 * A batch's entry bundles and tiles are written and fsynced, their directories fsynced, and only
 * then the checkpoint is replaced atomically; then the batch's promises resolve. A crash at any
 * point leaves the old checkpoint (and files past it that the next start overwrites) or the new
 * one: the checkpoint never goes back and no acknowledged entry is lost. A batch that fails
 * (a full disk, say) rejects its callers and the appender reloads the checkpoint on disk, so
 * the log stays at its last checkpoint and usable.
 *
 * On open it takes the directory's lock, reads the checkpoint, rebuilds the right edge of the
 * tree from the partial tiles for that size and checks that they give the checkpoint's root.
 * @throws TlogError LOG_LOCKED, CHECKPOINT_MALFORMED (bad origin, or not this log's),
 *   CHECKPOINT_ROLLBACK, ROOT_MISMATCH, BUNDLE_MISMATCH, TILE_MALFORMED, BUNDLE_MALFORMED,
 *   NOT_FOUND, DISK_FULL, IO_FAILED
 */
export async function openLogAppender(options: LogAppenderOptions): Promise<LogAppender> {
  const { logDir, origin } = options;
  const maxBatchSize = options.maxBatchSize ?? DEFAULT_MAX_BATCH_SIZE;
  const maxBatchDelayMs = options.maxBatchDelayMs ?? DEFAULT_MAX_BATCH_DELAY_MS;
  assert(
    Number.isSafeInteger(maxBatchSize) && maxBatchSize >= 1,
    'maxBatchSize must be a positive integer',
  );
  assert(maxBatchDelayMs >= 0, 'maxBatchDelayMs must not be negative');
  if (!isValidOrigin(origin)) {
    throw new TlogError(
      'CHECKPOINT_MALFORMED',
      `Cannot open log "${logDir}": invalid origin "${origin}"`,
    );
  }
  await createDirectory(logDir);
  const lock: LogLock = await lockLogDirectory(logDir);
  let state: Committed;
  try {
    state = await loadCommitted(options, 0);
  } catch (error) {
    await lock.release();
    throw error;
  }
  const checkpointFile = join(logDir, CHECKPOINT_FILE);
  const thread: WriteThread | undefined =
    options.writeThread === true ? startWriteThread() : undefined;
  const beginWrites = (): DurableWrites => thread?.begin() ?? beginDurableWrites();

  // Set after a failed batch when the state on disk could not be reloaded; each later batch
  // tries again first and fails with this error while it persists.
  let broken: Error | undefined;
  let closed = false;
  let running: Promise<void> | undefined;
  const queue: Group[] = [];
  let head = 0;

  async function recover(): Promise<void> {
    try {
      state = await loadCommitted(options, state.checkpoint.size);
      broken = undefined;
    } catch (error) {
      broken = error as Error;
    }
  }

  /**
   * Takes up to maxBatchSize queued entries, skipping what is left of failed groups. Entries
   * get their indices here: `state.edge` is the tip, including a batch still being written.
   */
  function takeBatch(): Segment[] {
    const segments: Segment[] = [];
    let taken = 0;
    while (taken < maxBatchSize && head < queue.length) {
      const group = queue[head] as Group;
      const count = Math.min(group.entries.length - group.taken, maxBatchSize - taken);
      if (group.failed) {
        head += 1;
        continue;
      }
      if (group.taken === 0) group.first = state.edge.size + taken;
      segments.push({ group, start: group.taken, count });
      group.taken += count;
      taken += count;
      if (group.taken === group.entries.length) head += 1;
    }
    return segments;
  }

  /** Puts a prepared batch back in the queue, to be taken again from a reloaded edge. */
  function untake(batch: Batch): void {
    for (const { group, start } of batch.segments) group.taken = start;
    head = batch.head;
  }

  /**
   * Takes the next batch and computes it on the tip: hashes, tiles, bundles, the signed
   * checkpoint. It yields to the event loop every HASH_SLICE entries so that the previous
   * batch's writes make progress meanwhile. Its files only grow the buffers of the edge past
   * what the previous batch is writing, so that batch's bytes are never touched.
   */
  async function prepare(): Promise<Batch | undefined> {
    if (broken !== undefined) await recover();
    // Drop consumed groups now and then. Safe here: only the batch being prepared can be
    // put back (untake), and it records its head after this.
    if (head > QUEUE_COMPACTION && head * 2 > queue.length) {
      queue.splice(0, head);
      head = 0;
    }
    const batchHead = head;
    const segments = takeBatch();
    if (segments.length === 0) return undefined;
    const files: BatchFiles = { writes: beginWrites(), completed: [] };
    try {
      if (broken !== undefined) throw broken;
      const edge = state.edge;
      const startSize = edge.size;
      let hashed = 0;
      for (const { group, start, count } of segments) {
        for (let i = start; i < start + count; i += 1) {
          appendLeaf(logDir, edge, group.entries[i] as Uint8Array, files);
          hashed += 1;
          if (hashed % HASH_SLICE === 0) await yieldToLoop();
        }
      }
      addPartials(logDir, edge, startSize, files);
      const checkpoint: Checkpoint = {
        origin,
        size: edge.size,
        rootHash: rootOf(edge.range),
        extensions: [],
      };
      const note = signChecked(options, checkpoint);
      // Awaited by write(); a rejection before then must not count as unhandled.
      note.catch(() => undefined);
      return {
        head: batchHead,
        segments,
        writes: files.writes,
        ready: { files, checkpoint, note, edge },
      };
    } catch (error) {
      await files.writes.abandon();
      return { head: batchHead, segments, writes: files.writes, ready: error as Error };
    }
  }

  /** Writes a prepared batch; resolves with its signed note, or with the error instead of rejecting. */
  async function write(batch: Batch): Promise<{ readonly note: string } | Error> {
    const ready = batch.ready;
    if (ready instanceof Error) return ready;
    let note: string;
    try {
      note = await ready.note;
    } catch (error) {
      await ready.files.writes.abandon();
      return error as Error;
    }
    try {
      await ready.files.writes.commit({ path: checkpointFile, bytes: note });
      return { note };
    } catch (error) {
      return error as Error;
    }
  }

  function pause(): Promise<void> {
    return maxBatchDelayMs === 0 ? yieldToLoop() : sleep(maxBatchDelayMs);
  }

  async function run(): Promise<void> {
    await pause();
    let cleanup: Promise<unknown> = Promise.resolve();
    let next = await prepare();
    while (next !== undefined) {
      const batch = next;
      const written = write(batch);
      // Pipeline: compute the next batch while the disk works on this one.
      next = batch.ready instanceof Error ? undefined : await prepare();
      const outcome = await written;
      if (!(outcome instanceof Error)) {
        const ready = batch.ready as Prepared;
        state = { note: outcome.note, checkpoint: ready.checkpoint, edge: ready.edge };
        for (const { group, count } of batch.segments) {
          group.committed += count;
          if (group.committed === group.entries.length) group.resolve(group.first as LogIndex);
        }
        // SPEC: https://c2sp.org/tlog-tiles "Logs MUST serve partial tiles corresponding to
        // tree sizes for which a checkpoint was produced, but MAY delete any partial tile once
        // the corresponding full tile is either available". The full tiles of this batch are
        // durable and in a checkpoint now; deleting no earlier also lets a later open tell a
        // checkpoint put back from a crash (readCommitted). Best effort, errors ignored: a
        // partial left behind is still correct.
        await cleanup;
        cleanup = Promise.allSettled(
          ready.files.completed.map((path) =>
            rm(join(logDir, path), { recursive: true, force: true }),
          ),
        );
      } else {
        for (const { group } of batch.segments) {
          group.failed = true;
          group.reject(outcome);
        }
        // The next batch was computed on top of this one: take it again after reloading.
        if (next !== undefined) {
          untake(next);
          await next.writes.abandon();
        }
        // The edge in memory holds the failed batch: reload the one on disk.
        await recover();
        next = undefined;
      }
      next ??= await prepare();
    }
    await cleanup;
    // Appends queued while the last prepare() found nothing start the next run.
    running = head < queue.length ? run() : undefined;
  }

  // Async so that a refusal is a rejected promise; everything before the returned promise runs
  // synchronously, so appends are queued in call order.
  async function appendMany(entries: readonly Uint8Array[]): Promise<LogIndex> {
    if (closed) throw new TlogError('LOG_CLOSED', `Cannot append to log "${logDir}": it is closed`);
    for (const entry of entries) checkEntrySize(entry);
    if (entries.length === 0) return state.checkpoint.size as LogIndex;
    return new Promise<LogIndex>((resolve, reject) => {
      queue.push({ entries, taken: 0, committed: 0, first: 0, failed: false, resolve, reject });
      running ??= run();
    });
  }

  return {
    append: (entry) => appendMany([entry]),
    appendMany,
    get size() {
      return state.checkpoint.size;
    },
    checkpoint: () => state.note,
    rootHash: () => Uint8Array.from(state.checkpoint.rootHash),
    async close() {
      if (closed) return;
      closed = true;
      while (running !== undefined) await running;
      await thread?.close();
      await lock.release();
    },
  };
}
