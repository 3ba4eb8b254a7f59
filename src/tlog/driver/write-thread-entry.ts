// Entry point of a log's writing thread (see write-thread.ts): runs beginDurableWrites for the
// requests it is sent and answers each commit and abandon once done.
import { parentPort } from 'node:worker_threads';
import { assert, unreachable } from '../../basics/index.ts';
import { beginDurableWrites } from './fs.ts';
import type { DurableWrites } from './fs.ts';
import type { WriteReply, WriteRequest } from './write-thread.ts';

const port = parentPort;
assert(port !== null, 'The log writing thread was started outside a worker');
const sets = new Map<number, DurableWrites>();

function setOf(id: number): DurableWrites {
  let writes = sets.get(id);
  if (writes === undefined) {
    writes = beginDurableWrites();
    sets.set(id, writes);
  }
  return writes;
}

function describe(error: unknown): NonNullable<WriteReply['error']> {
  const code: unknown = (error as { code?: unknown }).code;
  const file: unknown = (error as { file?: unknown }).file;
  return {
    code: typeof code === 'string' ? code : 'IO_FAILED',
    message: error instanceof Error ? error.message : 'Cannot write the log',
    ...(typeof file === 'string' ? { file } : {}),
  };
}

port.on('message', (request: WriteRequest) => {
  switch (request.op) {
    case 'add':
      setOf(request.id).add({ path: request.path, bytes: request.bytes });
      return;
    case 'commit': {
      const writes = setOf(request.id);
      sets.delete(request.id);
      writes.commit({ path: request.path, bytes: request.bytes }).then(
        () => port.postMessage({ id: request.id } satisfies WriteReply),
        (error: unknown) =>
          port.postMessage({ id: request.id, error: describe(error) } satisfies WriteReply),
      );
      return;
    }
    case 'abandon': {
      const writes = setOf(request.id);
      sets.delete(request.id);
      void writes.abandon().then(() => port.postMessage({ id: request.id } satisfies WriteReply));
      return;
    }
    default:
      unreachable(request);
  }
});
