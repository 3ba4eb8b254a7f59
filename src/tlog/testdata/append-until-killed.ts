// Child process of appender-crash.test.ts: appends as fast as it can until it is killed, and
// prints a line for every acknowledged appendMany only after its promise resolved:
// "<first index> <count> <first sequence number>". Entry k of a call is `<tag>-<seq>-` padded
// with a sequence-dependent number of dots, so that the parent can check every acknowledged
// entry byte for byte.
import { createHash } from 'node:crypto';
import { openLogAppender } from '../appender.ts';
import { formatCheckpoint } from '../checkpoint.ts';
import type { Checkpoint } from '../checkpoint.ts';

const [logDir, tag] = process.argv.slice(2);
if (logDir === undefined || tag === undefined) throw new Error('usage: append-until-killed.ts LOG_DIR TAG');

function sign(checkpoint: Checkpoint): string {
  const body = formatCheckpoint(checkpoint);
  return `${body}\n— test ${createHash('sha256').update(body).digest('base64')}\n`;
}

function crashEntry(tag: string, seq: number): Buffer {
  return Buffer.from(`${tag}-${seq}-${'.'.repeat(seq % 97)}`);
}

const log = await openLogAppender({ logDir, origin: 'crash.example/log', sign, maxBatchSize: 64 });
process.stdout.write(`ready ${log.size}\n`);
let next = 0;
async function worker(): Promise<never> {
  for (;;) {
    const count = 1 + (next % 7);
    const first = next;
    next += count;
    const entries = Array.from({ length: count }, (_, k) => crashEntry(tag!, first + k));
    const index = await log.appendMany(entries);
    // Pipes are written synchronously on Linux: the line is out before any later kill.
    process.stdout.write(`${index} ${count} ${first}\n`);
  }
}
await Promise.all(Array.from({ length: 8 }, worker));
