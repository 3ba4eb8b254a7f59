// Durable writes made by a thread of their own. The writes are the same as beginDurableWrites'
// (write, fsync, rename, fsync the directory, the checkpoint last); only where their steps run
// changes. Each write is a chain of a dozen small steps, and on the main thread every step waits
// for its turn in the event loop: in a busy web server the chain stretched from 2 to 7 ms and
// more, and every request waiting for its log entry waited that much longer. Here the steps
// wait for nothing but the disk.
import { Worker } from 'node:worker_threads';
import { TlogError, TLOG_ERROR_CODES } from '../errors.ts';
import type { TlogErrorCode } from '../errors.ts';
import type { DurableWrites, FileWrite } from './fs.ts';

/** A message to the writing thread. */
export type WriteRequest =
  | { readonly op: 'add'; readonly id: number; readonly path: string; readonly bytes: Uint8Array }
  | {
      readonly op: 'commit';
      readonly id: number;
      readonly path: string;
      readonly bytes: Uint8Array;
    }
  | { readonly op: 'abandon'; readonly id: number };

/** The answer to a commit or an abandon. */
export interface WriteReply {
  readonly id: number;
  readonly error?: { readonly code: string; readonly message: string; readonly file?: string };
}

/** A thread that makes durable writes; one per log appender. */
export interface WriteThread {
  /** Starts a set of writes, as {@link beginDurableWrites} does. */
  begin(): DurableWrites;
  /** Stops the thread once the writes under way are done. */
  close(): Promise<void>;
}

/** Own bytes to send: a view's whole buffer would be copied otherwise, so copy just the view. */
function ownBytes(bytes: Uint8Array | string): Uint8Array {
  // Not Buffer.from or Buffer#slice: those may return a view of Node's shared pool, which can
  // be neither transferred nor sent without copying all of it.
  if (typeof bytes === 'string') return new TextEncoder().encode(bytes);
  const copy = new Uint8Array(bytes.byteLength);
  copy.set(bytes);
  return copy;
}

function revive(error: NonNullable<WriteReply['error']>): Error {
  const code = (TLOG_ERROR_CODES as readonly string[]).includes(error.code)
    ? (error.code as TlogErrorCode)
    : 'IO_FAILED';
  return new TlogError(code, error.message, error.file === undefined ? {} : { file: error.file });
}

/** Starts a writing thread. */
export function startWriteThread(): WriteThread {
  const worker = new Worker(new URL('./write-thread-entry.ts', import.meta.url));
  const waiting = new Map<number, { resolve: () => void; reject: (error: Error) => void }>();
  let next = 0;
  let failure: Error | undefined;
  worker.on('message', (reply: WriteReply) => {
    const waiter = waiting.get(reply.id);
    if (waiter === undefined) return;
    waiting.delete(reply.id);
    if (reply.error === undefined) waiter.resolve();
    else waiter.reject(revive(reply.error));
  });
  const failAll = (error: Error): void => {
    failure = error;
    for (const waiter of waiting.values()) waiter.reject(error);
    waiting.clear();
  };
  worker.on('error', (error: Error) =>
    failAll(
      new TlogError(
        'IO_FAILED',
        `Cannot write the log: its writing thread failed (${error.message})`,
      ),
    ),
  );
  worker.on('exit', () =>
    failAll(new TlogError('IO_FAILED', 'Cannot write the log: its writing thread stopped')),
  );

  function call(request: WriteRequest, transfer: ArrayBuffer[]): Promise<void> {
    if (failure !== undefined) return Promise.reject(failure);
    return new Promise((resolve, reject) => {
      waiting.set(request.id, { resolve, reject });
      worker.postMessage(request, transfer);
    });
  }

  return {
    begin(): DurableWrites {
      const id = next++;
      return {
        add(file: FileWrite) {
          if (failure !== undefined) return;
          const bytes = ownBytes(file.bytes);
          worker.postMessage({ op: 'add', id, path: file.path, bytes } satisfies WriteRequest, [
            bytes.buffer as ArrayBuffer,
          ]);
        },
        commit(last: FileWrite) {
          const bytes = ownBytes(last.bytes);
          return call({ op: 'commit', id, path: last.path, bytes }, [bytes.buffer as ArrayBuffer]);
        },
        abandon() {
          return call({ op: 'abandon', id }, []).catch(() => undefined);
        },
      };
    },
    async close() {
      worker.removeAllListeners('exit');
      await worker.terminate();
    },
  };
}
