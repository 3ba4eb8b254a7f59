/**
 * The importer's pool of worker threads running `prepareVoterRow`, the CPU-heavy part of an
 * import, so that an import uses every core while the main thread reads the file and writes
 * the database. Each worker loads the key ring itself (`worker.ts`); rows travel by structured
 * clone, outcomes as plain data whose bytes are transferred in one buffer (see `worker.ts`).
 */
import { Worker } from 'node:worker_threads';
import { loadKeyRing } from '../../crypto/index.ts';
import type { KeyRing, KeyRingSource } from '../../crypto/index.ts';
import type { VoterLayout } from '../layout.ts';
import { prepareVoterRow } from '../record.ts';
import type { ExistingVoter, PrepareOutcome, StoredVoterRow } from '../record.ts';
import { ImportError } from './errors.ts';

/** Marks the `workerData` of an import worker, so `worker.ts` serves only when started for it. */
export const IMPORT_WORKER_MARKER = 'votervault-import-worker-1';

/**
 * Heap limits of each worker. A worker holds one batch at a time (a few megabytes), but V8 sizes
 * heaps for the machine's memory and collects lazily, so an unbounded worker grows to hundreds
 * of megabytes; bounds keep an import's memory flat whatever the file's size. The old
 * generation grows with the batch size so that large batches never run a worker out of memory.
 */
export function workerResourceLimits(batchSize: number): {
  readonly maxYoungGenerationSizeMb: number;
  readonly maxOldGenerationSizeMb: number;
} {
  return {
    maxYoungGenerationSizeMb: 8,
    maxOldGenerationSizeMb: Math.max(64, Math.ceil(batchSize / 40)),
  };
}

/** What a worker starts with. */
export interface WorkerInit {
  readonly marker: typeof IMPORT_WORKER_MARKER;
  readonly keys: KeyRingSource;
  readonly layout: VoterLayout;
}

/** One row to prepare. */
export interface PrepareInput {
  readonly fields: readonly string[];
  readonly existing: ExistingVoter | undefined;
}

/** What the pool returns for a row: prepared rows come without their map of public fields. */
export type PooledOutcome = PrepareOutcome<StoredVoterRow>;

/** A batch of rows; the reply carries the same id. */
export interface PrepareJob {
  readonly id: number;
  readonly rows: readonly PrepareInput[];
}

/**
 * A job as posted: each MAC read from the database is copied into its own 32 bytes first, since
 * it may be a view of a large shared buffer, which structured clone would copy whole.
 */
export function jobOf(id: number, rows: readonly PrepareInput[]): PrepareJob {
  return {
    id,
    rows: rows.map((row) =>
      row.existing === undefined
        ? row
        : { ...row, existing: { ...row.existing, rowMac: new Uint8Array(row.existing.rowMac) } },
    ),
  };
}

/** A failure, as plain data. */
export interface WorkerFailure {
  readonly name: string;
  readonly code: string | undefined;
  readonly message: string;
}

/** Messages a worker sends. */
export type WorkerReply =
  | { readonly kind: 'ready' }
  | { readonly kind: 'failed'; readonly error: WorkerFailure }
  | { readonly kind: 'prepared'; readonly id: number; readonly outcomes: readonly PooledOutcome[] }
  | { readonly kind: 'error'; readonly id: number; readonly error: WorkerFailure };

/** Whether `value` is the `workerData` of an import worker. */
export function isWorkerInit(value: unknown): value is WorkerInit {
  return (
    typeof value === 'object' &&
    value !== null &&
    (value as { marker?: unknown }).marker === IMPORT_WORKER_MARKER
  );
}

/**
 * Prepares every row of a batch, in order.
 * @throws CryptoError BINDING_INVALID from `prepareVoterRow` (a bug, not a bad row)
 */
export function prepareBatch(
  ring: KeyRing,
  layout: VoterLayout,
  rows: readonly PrepareInput[],
): PrepareOutcome[] {
  return rows.map((row) => prepareVoterRow(ring, layout, row.fields, row.existing));
}

/** A thrown value as plain data that survives postMessage with its code. */
export function describeFailure(error: unknown): WorkerFailure {
  if (error instanceof Error) {
    const code = (error as { code?: unknown }).code;
    return {
      name: error.name,
      code: typeof code === 'string' ? code : undefined,
      message: error.message,
    };
  }
  return { name: 'Error', code: undefined, message: String(error) };
}

/** Runs `prepareVoterRow` over batches, on worker threads or (size 0) on the calling thread. */
export interface PreparePool {
  /** Worker threads; 0 when rows are prepared on the calling thread. */
  readonly size: number;
  /**
   * Prepares a batch on the least busy worker; batches may complete in any order.
   * @throws ImportError WORKER_FAILED when a worker throws or dies
   */
  prepare(rows: readonly PrepareInput[]): Promise<PooledOutcome[]>;
  /** Stops the workers; pending batches reject. */
  close(): Promise<void>;
}

/** Options of {@link startPreparePool}. */
export interface PreparePoolOptions {
  /** Worker threads; 0 prepares on the calling thread (tests, one-core machines). */
  readonly size: number;
  readonly keys: KeyRingSource;
  readonly layout: VoterLayout;
  /** Most rows one batch will hold; sizes the workers' heaps. */
  readonly batchSize?: number;
}

/** Batch size assumed when {@link PreparePoolOptions.batchSize} is not given. */
const DEFAULT_POOL_BATCH = 2000;

interface Pending {
  readonly resolve: (outcomes: PooledOutcome[]) => void;
  readonly reject: (error: Error) => void;
}

interface PoolWorker {
  readonly worker: Worker;
  readonly pending: Map<number, Pending>;
}

/**
 * Loads the key ring on this thread first (so a missing or insecure key file fails here with
 * its own code), then starts the workers and waits until each has loaded the ring too.
 * @throws CryptoError from loading the key ring
 * @throws ImportError WORKER_FAILED when a worker cannot start
 */
export async function startPreparePool(options: PreparePoolOptions): Promise<PreparePool> {
  const ring = await loadKeyRing(options.keys);
  if (options.size <= 0) {
    return {
      size: 0,
      prepare: (rows) => Promise.resolve(prepareBatch(ring, options.layout, rows)),
      close: () => Promise.resolve(),
    };
  }
  const init: WorkerInit = {
    marker: IMPORT_WORKER_MARKER,
    keys: options.keys,
    layout: options.layout,
  };
  const workers: PoolWorker[] = [];
  let broken: Error | undefined;
  let closing = false;
  let nextId = 1;

  const fail = (entry: PoolWorker, error: Error): void => {
    broken ??= error;
    for (const pending of entry.pending.values()) pending.reject(error);
    entry.pending.clear();
  };

  const starting = Array.from({ length: options.size }, () => {
    const worker = new Worker(new URL('./worker.ts', import.meta.url), {
      workerData: init,
      resourceLimits: workerResourceLimits(options.batchSize ?? DEFAULT_POOL_BATCH),
    });
    const entry: PoolWorker = { worker, pending: new Map() };
    workers.push(entry);
    return new Promise<void>((resolve, reject) => {
      worker.on('message', (reply: WorkerReply) => {
        switch (reply.kind) {
          case 'ready':
            resolve();
            return;
          case 'failed':
            reject(workerFailed('Cannot start import worker', reply.error));
            return;
          case 'prepared': {
            const pending = entry.pending.get(reply.id);
            entry.pending.delete(reply.id);
            pending?.resolve([...reply.outcomes]);
            return;
          }
          case 'error': {
            const pending = entry.pending.get(reply.id);
            entry.pending.delete(reply.id);
            pending?.reject(workerFailed('Cannot prepare rows', reply.error));
            return;
          }
        }
      });
      worker.on('error', (error: Error) => {
        const wrapped = workerFailed('Import worker crashed', describeFailure(error));
        reject(wrapped);
        fail(entry, wrapped);
      });
      worker.on('exit', (code) => {
        const error = new ImportError(
          'WORKER_FAILED',
          `Import worker exited with code ${code} before the import ended`,
        );
        reject(error);
        if (!closing) fail(entry, error);
      });
    });
  });

  const close = async (): Promise<void> => {
    closing = true;
    await Promise.all(workers.map((w) => w.worker.terminate()));
    for (const w of workers) fail(w, new ImportError('WORKER_FAILED', 'Import workers stopped'));
  };

  try {
    await Promise.all(starting);
  } catch (error: unknown) {
    await close();
    throw error;
  }

  return {
    size: workers.length,
    prepare(rows) {
      if (broken) return Promise.reject(broken);
      let target = workers[0];
      for (const w of workers) {
        if (target === undefined || w.pending.size < target.pending.size) target = w;
      }
      if (target === undefined) return Promise.reject(new Error('No import worker'));
      const chosen = target;
      const id = nextId++;
      return new Promise<PooledOutcome[]>((resolve, reject) => {
        chosen.pending.set(id, { resolve, reject });
        chosen.worker.postMessage(jobOf(id, rows));
      });
    },
    close,
  };
}

function workerFailed(action: string, failure: WorkerFailure): ImportError {
  const code = failure.code === undefined ? '' : ` ${failure.code}`;
  return new ImportError('WORKER_FAILED', `${action}: ${failure.name}${code}: ${failure.message}`);
}
