import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { openLogAppender } from './appender.ts';
import { formatCheckpoint, parseCheckpoint } from './checkpoint.ts';
import type { Checkpoint } from './checkpoint.ts';
import { readCheckpointFile, readEntryBundle } from './driver/fs.ts';
import { emptyRoot, leafHash, nodeHash } from './hash.ts';
import type { Hash } from './hash.ts';
import { TILE_WIDTH } from './tile-path.ts';

const CHILD = join(import.meta.dirname, 'testdata', 'append-until-killed.ts');
const ROUNDS = 24;

// The same entries as the child makes, to check each acknowledged one byte for byte.
function crashEntry(tag: string, seq: number): Buffer {
  return Buffer.from(`${tag}-${seq}-${'.'.repeat(seq % 97)}`);
}

function sign(checkpoint: Checkpoint): string {
  const body = formatCheckpoint(checkpoint);
  return `${body}\n— test ${createHash('sha256').update(body).digest('base64')}\n`;
}

// A naive RFC 6962 root, independent of the appender.
function referenceRoot(leaves: readonly Hash[], start = 0, end = leaves.length): Hash {
  const n = end - start;
  if (n === 0) return emptyRoot();
  if (n === 1) return leaves[start]!;
  let k = 1;
  while (k * 2 < n) k *= 2;
  return nodeHash(referenceRoot(leaves, start, start + k), referenceRoot(leaves, start + k, end));
}

interface Ack {
  readonly index: number;
  readonly count: number;
  readonly first: number;
}

/** Runs the child until a random moment, kills it with SIGKILL, returns what it acknowledged. */
function runAndKill(logDir: string, tag: string, round: number): Promise<Ack[]> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CHILD, logDir, tag], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    let timer: NodeJS.Timeout | undefined;
    const kill = () => child.kill('SIGKILL');
    child.stdout.setEncoding('utf8');
    child.stderr.setEncoding('utf8');
    child.stderr.on('data', (chunk: string) => (err += chunk));
    // Every fourth round dies at a random moment from the start (in the middle of opening,
    // often); the others at a random moment after the first appends.
    if (round % 4 === 3) timer = setTimeout(kill, Math.random() * 250);
    child.stdout.on('data', (chunk: string) => {
      out += chunk;
      if (timer === undefined && out.startsWith('ready'))
        timer = setTimeout(kill, Math.random() * 150);
    });
    child.on('error', reject);
    child.on('exit', (code, signal) => {
      clearTimeout(timer);
      if (signal !== 'SIGKILL') {
        reject(new Error(`Child exited with ${code}: ${err}`));
        return;
      }
      // Only complete lines: a line cut by the kill was never fully written.
      const lines = out
        .split('\n')
        .slice(0, -1)
        .filter((line) => !line.startsWith('ready'));
      resolve(
        lines.map((line) => {
          const [index, count, first] = line.split(' ').map(Number);
          return { index: index!, count: count!, first: first! };
        }),
      );
    });
  });
}

describe('the appender under SIGKILL', () => {
  let dir: string | undefined;
  afterAll(async () => {
    if (dir !== undefined) await rm(dir, { recursive: true, force: true });
  });

  it(`loses no acknowledged entry and never goes back, over ${ROUNDS} kills`, async () => {
    dir = await mkdtemp(join(tmpdir(), 'tlog-crash-'));
    const logDir = join(dir, 'log');
    let lastSize = 0;
    let acknowledged = 0;
    // What the log must hold: index → entry, for every acknowledged entry.
    const expected = new Map<number, Buffer>();
    for (let round = 0; round < ROUNDS; round += 1) {
      const tag = `r${round}`;
      const acks = await runAndKill(logDir, tag, round);
      for (const { index, count, first } of acks) {
        for (let k = 0; k < count; k += 1) expected.set(index + k, crashEntry(tag, first + k));
        acknowledged += count;
      }

      // The log reopens (the dead child's lock is stale) at a checkpoint that did not go back
      // and covers every acknowledged entry.
      const log = await openLogAppender({ logDir, origin: 'crash.example/log', sign });
      const note = (await readCheckpointFile(logDir))!;
      const checkpoint = parseCheckpoint(note.slice(0, note.indexOf('\n\n') + 1));
      expect(checkpoint.size).toBe(log.size);
      expect(log.size).toBeGreaterThanOrEqual(lastSize);
      for (const index of expected.keys()) expect(log.size).toBeGreaterThan(index);

      // Every entry bundle together gives the checkpoint's root, and holds each acknowledged entry.
      const entries: Uint8Array[] = [];
      for (let index = 0; index * TILE_WIDTH < log.size; index += 1) {
        const width = Math.min(TILE_WIDTH, log.size - index * TILE_WIDTH);
        entries.push(...(await readEntryBundle(logDir, index, width)));
      }
      expect(entries).toHaveLength(log.size);
      for (const [index, bytes] of expected) {
        expect(Buffer.from(entries[index]!).equals(bytes), `entry ${index}`).toBe(true);
      }
      const root = referenceRoot(entries.map((e) => leafHash(e)));
      expect(Buffer.from(root).equals(Buffer.from(checkpoint.rootHash))).toBe(true);

      // And appending continues.
      const mine = Buffer.from(`parent-${round}`);
      const index = await log.append(mine);
      expect(index).toBe(entries.length);
      expected.set(index, mine);
      lastSize = log.size;
      await log.close();
    }
    // The kills must have hit while appending, not only before the first append.
    expect(acknowledged).toBeGreaterThan(ROUNDS * 10);
  }, 60_000);
});
