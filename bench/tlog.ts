// Benchmark of the transparency log: durable appends at batch sizes 1, 64 and 1,024, proof
// generation and verification, next to the SHA-256 floor measured in the same run.
//
//   npm run bench:tlog [-- --entries N] [-- --dir DIR]
//
// The floor is the least hashing any RFC 6962 log must do per entry: its leaf hash and one
// interior-node hash (a tree of n leaves has n-1 interior nodes), in a tight loop with the
// fastest one-shot SHA-256 this runtime has. On a shared machine the CPU's speed drifts, so the
// floor is measured right before and right after each append run and the run is compared with
// their mean; proof verification is the best of three passes.
import { hash } from 'node:crypto';
import { mkdtemp, rm, mkdir } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { availableParallelism } from 'node:os';
import {
  consistencyProof,
  createFsTileReader,
  createLogKeys,
  inclusionProof,
  leafHash,
  loadLogKeys,
  openLogAppender,
  signCheckpointAsync,
  treeRoot,
  verifyConsistency,
  verifyInclusion,
} from '../src/tlog/index.ts';
import type { Hash } from '../src/tlog/index.ts';

const { values } = parseArgs({
  options: {
    entries: { type: 'string', default: '1000000' },
    dir: { type: 'string', default: '.bench' },
    'batch1-seconds': { type: 'string', default: '15' },
    proofs: { type: 'string', default: '20000' },
  },
});
const ENTRIES = Number(values.entries);
const BATCH1_SECONDS = Number(values['batch1-seconds']);
const PROOFS = Number(values.proofs);
const ENTRY_BYTES = 200;
/** Batches' worth of appends kept outstanding (see appendRun). */
const IN_FLIGHT_BATCHES = 4;

const rssMiB = (): number => Math.round(process.memoryUsage().rss / 2 ** 20);
const fmt = (n: number): string => Math.round(n).toLocaleString('en-US');

function makeEntry(i: number): Uint8Array {
  const e = Buffer.alloc(ENTRY_BYTES, 0x61 + (i % 26));
  e.writeUInt32BE(i >>> 0, 0);
  return e;
}

function measureFloor(count: number): number {
  const entry = Buffer.alloc(1 + ENTRY_BYTES, 7);
  const node = Buffer.alloc(1 + 64, 9);
  entry[0] = 0;
  node[0] = 1;
  const start = performance.now();
  for (let i = 0; i < count; i++) {
    entry.writeUInt32BE(i, 1);
    const leaf = hash('sha256', entry, 'buffer');
    node.set(leaf, 1);
    hash('sha256', node, 'buffer');
  }
  return count / ((performance.now() - start) / 1000);
}

async function appendRun(
  root: string,
  batch: number,
  target: number,
  seconds: number,
): Promise<{ entries: number; rate: number; rssAt10: number; rssAtEnd: number; logDir: string }> {
  const dir = join(root, `batch-${batch}`);
  await rm(dir, { recursive: true, force: true });
  await mkdir(dir, { recursive: true });
  await createLogKeys(join(dir, 'keys'), 'bench.votervault.localhost/log');
  const keys = await loadLogKeys(join(dir, 'keys'));
  const logDir = join(dir, 'log');
  const appender = await openLogAppender({
    logDir,
    origin: keys.origin,
    sign: (cp) => signCheckpointAsync(cp, keys.signers),
    maxBatchSize: batch,
  });
  const entries = Array.from({ length: 1024 }, (_, i) => makeEntry(i));
  // Election-day load: many requests append at once. Keep IN_FLIGHT_BATCHES batches' worth of
  // single-entry appends outstanding, so the appender writes full batches of `batch` back to
  // back (hashing the next while the previous is being fsynced).
  const window = batch * IN_FLIGHT_BATCHES;
  // A ring of the outstanding appends: waiting on the oldest keeps `window` in flight without
  // the cost of shifting an array.
  const inFlight: (Promise<unknown> | undefined)[] = new Array<Promise<unknown> | undefined>(
    window,
  );
  let started = 0;
  let rssAt10 = 0;
  const start = performance.now();
  const deadline = start + seconds * 1000;
  while (started < target && performance.now() < deadline) {
    const slot = started % window;
    const oldest = inFlight[slot];
    if (oldest !== undefined) await oldest;
    inFlight[slot] = appender.append(entries[started % entries.length] as Uint8Array);
    started++;
    if (rssAt10 === 0 && started >= target / 10) rssAt10 = rssMiB();
    if (process.stderr.isTTY && started % (1024 * 64) === 0) {
      process.stderr.write(`\r  batch ${batch}: ${fmt(started)} / ${fmt(target)} entries`);
    }
  }
  await Promise.all(inFlight.filter((p) => p !== undefined));
  const done = started;
  const elapsed = (performance.now() - start) / 1000;
  if (process.stderr.isTTY) process.stderr.write('\r\x1b[K');
  await appender.close();
  return { entries: done, rate: done / elapsed, rssAt10, rssAtEnd: rssMiB(), logDir };
}

async function proofRun(logDir: string, size: number): Promise<Record<string, number>> {
  const readTile = createFsTileReader(logDir);
  const root = await treeRoot(size, readTile);
  const count = Math.min(PROOFS, size);
  const indices = Array.from({ length: count }, (_, i) =>
    Math.floor((((i * 2654435761) % 2 ** 32) / 2 ** 32) * size),
  );
  let t = performance.now();
  const proofs: Hash[][] = [];
  for (const i of indices) proofs.push(await inclusionProof(i, size, readTile));
  const inclusionGen = count / ((performance.now() - t) / 1000);
  const leaves = indices.map((i) => leafHash(makeEntry(i % 1024)));
  let inclusionVerify = 0;
  for (let pass = 0; pass < 3; pass++) {
    t = performance.now();
    for (let k = 0; k < count; k++)
      verifyInclusion(leaves[k] as Hash, indices[k] as number, size, proofs[k] as Hash[], root);
    inclusionVerify = Math.max(inclusionVerify, count / ((performance.now() - t) / 1000));
  }

  const olds = indices.map((i) => Math.max(1, i));
  const oldRoots: Hash[] = [];
  for (const m of olds.slice(0, 200)) oldRoots.push(await treeRoot(m, readTile));
  t = performance.now();
  const cproofs: Hash[][] = [];
  for (const m of olds) cproofs.push(await consistencyProof(m, size, readTile));
  const consistencyGen = count / ((performance.now() - t) / 1000);
  t = performance.now();
  let verified = 0;
  for (let k = 0; k < count; k++) {
    const j = k % oldRoots.length;
    verifyConsistency(olds[j] as number, size, cproofs[j] as Hash[], oldRoots[j] as Hash, root);
    verified++;
  }
  const consistencyVerify = verified / ((performance.now() - t) / 1000);
  return { inclusionGen, inclusionVerify, consistencyGen, consistencyVerify };
}

const root = resolve(values.dir);
await mkdir(root, { recursive: true });
const work = await mkdtemp(join(root, 'tlog-'));
console.log(
  `votervault tlog benchmark: ${fmt(ENTRIES)} entries of ${ENTRY_BYTES} bytes, durable, in ${work}`,
);
console.log(`node ${process.version}, ${availableParallelism()} cores\n`);

const FLOOR_COUNT = Math.max(200_000, Math.min(ENTRIES, 1_000_000));
const floors = [measureFloor(FLOOR_COUNT)];
/** The mean of the floors measured just before and just after the latest run. */
const floorAround = (): number => ((floors.at(-2) as number) + (floors.at(-1) as number)) / 2;

const rows: string[][] = [];
let bigLog = { logDir: '', size: 0 };
for (const batch of [1, 64, 1024]) {
  const seconds = batch === 1 ? BATCH1_SECONDS : 3600;
  const r = await appendRun(work, batch, ENTRIES, seconds);
  floors.push(measureFloor(FLOOR_COUNT));
  const floor = floorAround();
  rows.push([
    String(batch),
    fmt(r.entries),
    fmt(r.rate),
    `${((100 * r.rate) / floor).toFixed(1)}%`,
    `${r.rssAt10 || '-'} / ${r.rssAtEnd}`,
    fmt(floor),
  ]);
  if (batch === 1024) bigLog = { logDir: r.logDir, size: r.entries };
  if (r.entries < ENTRIES) rows[rows.length - 1]?.push(`stopped after ${seconds} s`);
}
console.log(
  `durable append (${IN_FLIGHT_BATCHES} batches of single-entry appends in flight; each resolves once durable)`,
);
console.log(
  ['batch', 'entries', 'entries/s', 'of floor', 'RSS MiB at 10% / end', 'floor entries/s'].join(
    '\t',
  ),
);
for (const r of rows) console.log(r.join('\t'));

// The same batches handed over whole (how `votervault log append` and imports append).
{
  const dir = join(work, 'append-many');
  await createLogKeys(join(dir, 'keys'), 'bench.votervault.localhost/log');
  const keys = await loadLogKeys(join(dir, 'keys'));
  const appender = await openLogAppender({
    logDir: join(dir, 'log'),
    origin: keys.origin,
    sign: (cp) => signCheckpointAsync(cp, keys.signers),
  });
  const chunk = Array.from({ length: 1024 }, (_, i) => makeEntry(i));
  const start = performance.now();
  for (let done = 0; done < ENTRIES; done += chunk.length) {
    await appender.appendMany(chunk.slice(0, Math.min(chunk.length, ENTRIES - done)));
  }
  const rate = ENTRIES / ((performance.now() - start) / 1000);
  await appender.close();
  floors.push(measureFloor(FLOOR_COUNT));
  const floor = floorAround();
  rows.push([
    '1024 (appendMany)',
    fmt(ENTRIES),
    fmt(rate),
    `${((100 * rate) / floor).toFixed(1)}%`,
    '-',
    fmt(floor),
  ]);
  console.log(rows[rows.length - 1]?.join('\t'));
}

const p = await proofRun(bigLog.logDir, bigLog.size);
console.log(`\nproofs on a log of ${fmt(bigLog.size)} entries (read from tiles on disk)`);
console.log(
  `inclusion:   generate ${fmt(p['inclusionGen'] ?? 0)}/s, verify ${fmt(p['inclusionVerify'] ?? 0)}/s`,
);
console.log(
  `consistency: generate ${fmt(p['consistencyGen'] ?? 0)}/s, verify ${fmt(p['consistencyVerify'] ?? 0)}/s`,
);

const numberAt = (row: string[] | undefined, column: number): number =>
  Number((row?.[column] ?? '0').replaceAll(',', ''));
const batch1024 = numberAt(rows[2], 2);
const many1024 = numberAt(rows[3], 2);
const floor1024 = numberAt(rows[2], 5);
const floorMany = numberAt(rows[3], 5);
console.log('\ntargets (2 cores)');
console.log(
  `durable append at batch 1,024 >= 50% of floor: ${((100 * batch1024) / floor1024).toFixed(1)}% ${batch1024 >= floor1024 / 2 ? 'met' : 'NOT met'}`,
);
console.log(
  `  handed over whole (appendMany of 1,024): ${((100 * many1024) / floorMany).toFixed(1)}% ${many1024 >= floorMany / 2 ? 'met' : 'NOT met'}`,
);
console.log(
  `proof verification >= 100,000/s: ${fmt(p['inclusionVerify'] ?? 0)}/s ${(p['inclusionVerify'] ?? 0) >= 100_000 ? 'met' : 'NOT met'}`,
);
console.log(
  `peak RSS ${Math.round(process.resourceUsage().maxRSS / 1024)} MiB (flat in log size when RSS at 10% ≈ at end)`,
);
await rm(work, { recursive: true, force: true });
