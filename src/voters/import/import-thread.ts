/**
 * Runs an import on a thread of its own with a bounded heap, for the command line.
 *
 * The thread that reads the file and writes the database allocates fast (fields, outcomes,
 * statements), and V8 sizes the heap of the main thread for the machine's memory and collects
 * lazily: on a large machine an import's main thread would hold a few hundred megabytes it does
 * not need. Only worker threads can be given heap limits from inside a process, so the whole
 * import runs in one (`import-thread-entry.ts`), which opens the database itself; the calling
 * thread keeps the log appender (`appendLog` is called here) and the progress display.
 */
import { Worker } from 'node:worker_threads';
import { VotervaultError } from '../../basics/index.ts';
import type { KeyRingSource } from '../../crypto/index.ts';
import { ImportError } from './errors.ts';
import type { ImportErrorCode } from './errors.ts';
import type { ImportProgress, ImportReport } from './pipeline.ts';
import { DEFAULT_BATCH_SIZE } from './pipeline.ts';

/** Marks the `workerData` of an import thread. */
export const IMPORT_THREAD_MARKER = 'votervault-import-thread-1';

/** Options of {@link importVoterFileInThread}: those of `importVoterFile`, with a location. */
export interface ImportInThreadOptions {
  /** Where the database is (`openDatabase`); it must be migrated already. */
  readonly database: string;
  readonly file: string;
  /** A shipped layout id, `nc`, or a policy file path. */
  readonly layout: string;
  readonly keys: KeyRingSource;
  readonly quarantineDir: string;
  /** Called on this thread. */
  readonly appendLog: (entry: Uint8Array) => Promise<void>;
  readonly operator: string;
  readonly workers?: number;
  readonly batchSize?: number;
  /** Called on this thread. */
  readonly onProgress?: (progress: ImportProgress) => void;
}

/** What the import thread starts with (structured clone of the options without callbacks). */
export interface ImportThreadInit {
  readonly marker: typeof IMPORT_THREAD_MARKER;
  readonly options: Omit<ImportInThreadOptions, 'appendLog' | 'onProgress'> & {
    readonly progress: boolean;
  };
}

/** An error as plain data. */
export interface ThreadFailure {
  readonly name: string;
  readonly code: string | undefined;
  readonly message: string;
  readonly file: string | undefined;
  readonly line: number | undefined;
  readonly column: number | undefined;
}

/** Messages of the import thread. */
export type ImportThreadMessage =
  | { readonly kind: 'progress'; readonly progress: ImportProgress }
  | { readonly kind: 'log'; readonly id: number; readonly entry: Uint8Array }
  | { readonly kind: 'done'; readonly report: ImportReport }
  | { readonly kind: 'failed'; readonly error: ThreadFailure };

/** Replies to `log` messages. */
export type ImportThreadReply =
  | { readonly kind: 'logged'; readonly id: number }
  | { readonly kind: 'log-failed'; readonly id: number; readonly error: ThreadFailure };

/**
 * Heap limits of the import thread: room for the batches in flight and the database driver,
 * growing with the batch size like the workers' (see `workerResourceLimits`). About 20 KB per
 * row of a batch is ample: two batches are held at once, and a row's fields are released once
 * it is prepared; a looser limit only lets the heap grow before V8 collects it.
 */
export function importThreadResourceLimits(batchSize: number): {
  readonly maxYoungGenerationSizeMb: number;
  readonly maxOldGenerationSizeMb: number;
} {
  return {
    maxYoungGenerationSizeMb: 8,
    maxOldGenerationSizeMb: Math.max(96, Math.ceil(batchSize / 50)),
  };
}

/** A thrown value as plain data. */
export function describeThreadFailure(error: unknown): ThreadFailure {
  if (error instanceof Error) {
    const e = error as Error & { code?: unknown; file?: unknown; line?: unknown; column?: unknown };
    return {
      name: error.name,
      code: typeof e.code === 'string' ? e.code : undefined,
      message: error.message,
      file: typeof e.file === 'string' ? e.file : undefined,
      line: typeof e.line === 'number' ? e.line : undefined,
      column: typeof e.column === 'number' ? e.column : undefined,
    };
  }
  return {
    name: 'Error',
    code: undefined,
    message: String(error),
    file: undefined,
    line: undefined,
    column: undefined,
  };
}

/**
 * The error of the import thread, rebuilt on this thread: an ImportError as such, any other
 * coded error as a VotervaultError with the same code, name and message.
 */
export function rebuildThreadFailure(failure: ThreadFailure): Error {
  if (failure.code === undefined) {
    const error = new Error(failure.message);
    error.name = failure.name;
    return error;
  }
  if (failure.name === 'ImportError') {
    return new ImportError(failure.code as ImportErrorCode, failure.message, {
      ...(failure.file === undefined ? {} : { file: failure.file }),
      ...(failure.line === undefined ? {} : { line: failure.line }),
      ...(failure.column === undefined ? {} : { column: failure.column }),
    });
  }
  const error = new VotervaultError(failure.code, failure.message);
  error.name = failure.name;
  return error;
}

/**
 * Runs `importVoterFile` on a thread of its own (see the module comment) and resolves with its
 * report.
 * @throws the import's error, rebuilt with its code (see {@link rebuildThreadFailure});
 *   ImportError WORKER_FAILED when the thread dies (out of its heap, say)
 */
export function importVoterFileInThread(options: ImportInThreadOptions): Promise<ImportReport> {
  const { appendLog, onProgress, ...rest } = options;
  const init: ImportThreadInit = {
    marker: IMPORT_THREAD_MARKER,
    options: { ...rest, progress: onProgress !== undefined },
  };
  const worker = new Worker(new URL('./import-thread-entry.ts', import.meta.url), {
    workerData: init,
    resourceLimits: importThreadResourceLimits(options.batchSize ?? DEFAULT_BATCH_SIZE),
  });
  return new Promise<ImportReport>((resolve, reject) => {
    let settled = false;
    const settle = (fn: () => void): void => {
      if (settled) return;
      settled = true;
      fn();
      void worker.terminate();
    };
    worker.on('message', (message: ImportThreadMessage) => {
      switch (message.kind) {
        case 'progress':
          onProgress?.(message.progress);
          return;
        case 'log':
          appendLog(message.entry).then(
            () =>
              worker.postMessage({ kind: 'logged', id: message.id } satisfies ImportThreadReply),
            (error: unknown) =>
              worker.postMessage({
                kind: 'log-failed',
                id: message.id,
                error: describeThreadFailure(error),
              } satisfies ImportThreadReply),
          );
          return;
        case 'done':
          settle(() => resolve(message.report));
          return;
        case 'failed':
          settle(() => reject(rebuildThreadFailure(message.error)));
          return;
      }
    });
    worker.on('error', (error: Error) => {
      settle(() =>
        reject(
          new ImportError('WORKER_FAILED', `Import thread crashed: ${error.message}`, {
            cause: error,
          }),
        ),
      );
    });
    worker.on('exit', (code) => {
      settle(() =>
        reject(new ImportError('WORKER_FAILED', `Import thread exited with code ${code}`)),
      );
    });
  });
}
