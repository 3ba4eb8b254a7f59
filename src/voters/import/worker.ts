/**
 * Entry point of the importer's worker threads (started by `worker-pool.ts`): loads the key ring
 * itself from the keys directory, so root keys never cross a thread boundary, then prepares the
 * batches it is sent. Nothing here runs when the file is imported outside a worker started for
 * it: a worker is recognised by the marker in its `workerData`.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { loadKeyRing } from '../../crypto/index.ts';
import type { KeyRing } from '../../crypto/index.ts';
import { describeFailure, isWorkerInit, prepareBatch } from './worker-pool.ts';
import type { PrepareJob, WorkerReply } from './worker-pool.ts';

async function serve(): Promise<void> {
  const port = parentPort;
  const init: unknown = workerData;
  if (port === null || !isWorkerInit(init)) return;
  let ring: KeyRing;
  try {
    ring = await loadKeyRing(init.keys);
  } catch (error: unknown) {
    port.postMessage({ kind: 'failed', error: describeFailure(error) } satisfies WorkerReply);
    return;
  }
  port.on('message', (job: PrepareJob) => {
    let reply: WorkerReply;
    try {
      reply = { kind: 'prepared', id: job.id, outcomes: prepareBatch(ring, init.layout, job.rows) };
    } catch (error: unknown) {
      // A thrown error is a bug or a key problem, never a bad row: the import stops.
      reply = { kind: 'error', id: job.id, error: describeFailure(error) };
    }
    port.postMessage(reply);
  });
  port.postMessage({ kind: 'ready' } satisfies WorkerReply);
}

await serve();
