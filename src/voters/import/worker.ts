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
import type { PooledOutcome, PrepareJob, WorkerReply } from './worker-pool.ts';
import type { PrepareOutcome, StoredVoterRow } from '../record.ts';

/**
 * Copies the bytes of every prepared row into one buffer, which is then transferred instead of
 * cloned. The crypto's small Buffers are slices of Node's shared 8 KiB pool, and structured
 * clone copies a view's whole underlying buffer: each reply copied (and the importing thread
 * then collected) megabytes of unrelated pool memory. The map of public fields stays here: the
 * importing thread stores their JSON, and cloning the map cost more than the rest of the row.
 */
function packOutcomes(outcomes: readonly PrepareOutcome[]): {
  readonly outcomes: PooledOutcome[];
  readonly buffer: ArrayBuffer;
} {
  let size = 0;
  for (const outcome of outcomes) {
    if (outcome.kind !== 'prepared') continue;
    const row = outcome.row;
    size +=
      row.publicHash.byteLength +
      row.sealed.byteLength +
      row.wrappedKey.byteLength +
      row.rowMac.byteLength;
  }
  const buffer = new ArrayBuffer(size);
  const bytes = new Uint8Array(buffer);
  let at = 0;
  const place = (source: Uint8Array): Uint8Array => {
    bytes.set(source, at);
    const view = bytes.subarray(at, at + source.byteLength);
    at += source.byteLength;
    return view;
  };
  const packed = outcomes.map((outcome): PooledOutcome => {
    if (outcome.kind !== 'prepared') return outcome;
    const row: StoredVoterRow = {
      voterId: outcome.row.voterId,
      jurisdiction: outcome.row.jurisdiction,
      rowVersion: outcome.row.rowVersion,
      publicJson: outcome.row.publicJson,
      keyVersion: outcome.row.keyVersion,
      lookupDigests: outcome.row.lookupDigests,
      status: outcome.row.status,
      precinct: outcome.row.precinct,
      confidentialRecord: outcome.row.confidentialRecord,
      publicHash: place(outcome.row.publicHash),
      sealed: place(outcome.row.sealed),
      wrappedKey: place(outcome.row.wrappedKey),
      rowMac: place(outcome.row.rowMac),
    };
    return { ...outcome, row };
  });
  return { outcomes: packed, buffer };
}

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
    const transfer: ArrayBuffer[] = [];
    try {
      const packed = packOutcomes(prepareBatch(ring, init.layout, job.rows));
      transfer.push(packed.buffer);
      reply = { kind: 'prepared', id: job.id, outcomes: packed.outcomes };
    } catch (error: unknown) {
      // A thrown error is a bug or a key problem, never a bad row: the import stops.
      reply = { kind: 'error', id: job.id, error: describeFailure(error) };
    }
    port.postMessage(reply, transfer);
  });
  port.postMessage({ kind: 'ready' } satisfies WorkerReply);
}

await serve();
