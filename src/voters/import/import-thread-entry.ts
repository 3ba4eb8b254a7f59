/**
 * Entry point of the import thread started by `importVoterFileInThread`: opens the database,
 * runs the import, and passes log entries and progress to the thread that started it. Nothing
 * runs unless the `workerData` carries the import thread's marker.
 */
import { parentPort, workerData } from 'node:worker_threads';
import type { MessagePort } from 'node:worker_threads';
import { openDatabase } from '../../store/index.ts';
import {
  describeThreadFailure,
  IMPORT_THREAD_MARKER,
  rebuildThreadFailure,
} from './import-thread.ts';
import type { ImportThreadInit, ImportThreadMessage, ImportThreadReply } from './import-thread.ts';
import { importVoterFile } from './pipeline.ts';
import type { ImportDatabase } from './pipeline.ts';

function isInit(value: unknown): value is ImportThreadInit {
  return (
    typeof value === 'object' &&
    value !== null &&
    (value as { marker?: unknown }).marker === IMPORT_THREAD_MARKER
  );
}

async function serve(port: MessagePort, init: ImportThreadInit): Promise<void> {
  const post = (message: ImportThreadMessage): void => port.postMessage(message);
  const pending = new Map<number, { resolve: () => void; reject: (error: Error) => void }>();
  let nextId = 1;
  port.on('message', (reply: ImportThreadReply) => {
    const waiter = pending.get(reply.id);
    pending.delete(reply.id);
    if (reply.kind === 'logged') waiter?.resolve();
    else waiter?.reject(rebuildThreadFailure(reply.error));
  });
  const { database, progress, ...options } = init.options;
  try {
    const handle = await openDatabase<ImportDatabase>(database);
    try {
      const report = await importVoterFile({
        ...options,
        db: handle,
        appendLog: (entry) =>
          new Promise<void>((resolve, reject) => {
            const id = nextId++;
            pending.set(id, { resolve, reject });
            post({ kind: 'log', id, entry });
          }),
        ...(progress ? { onProgress: (p) => post({ kind: 'progress', progress: p }) } : {}),
      });
      post({ kind: 'done', report });
    } finally {
      await handle.close();
    }
  } catch (error: unknown) {
    post({ kind: 'failed', error: describeThreadFailure(error) });
  } finally {
    port.close();
  }
}

const init: unknown = workerData;
if (parentPort !== null && isInit(init)) await serve(parentPort, init);
