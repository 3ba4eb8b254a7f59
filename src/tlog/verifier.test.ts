import { cp, mkdtemp, readFile, rm, truncate, unlink, writeFile } from 'node:fs/promises';
import { createServer } from 'node:http';
import type { Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openLogAppender } from './appender.ts';
import { signCheckpoint } from './checkpoint.ts';
import { TlogError } from './errors.ts';
import { createLogKeys, loadLogKeys } from './keys.ts';
import type { LogKeys } from './keys.ts';
import { parseVerifierKey } from './note.ts';
import type { NoteVerifier } from './note.ts';
import { serveLog } from './serve.ts';
import { directorySource, httpSource, verifyLog } from './verifier.ts';

let root: string;
let keys: LogKeys;
let verifiers: NoteVerifier[];
const ORIGIN = 'verifier.test/log';

/** Builds a log of `size` entries in its own directory and returns that log directory. */
async function buildLog(name: string, size: number, from = 0, logKeys = keys): Promise<string> {
  const logDir = join(root, name);
  const appender = await openLogAppender({
    logDir,
    origin: logKeys.origin,
    sign: (c) => signCheckpoint(c, logKeys.signers),
  });
  const entries = Array.from({ length: size - from }, (_, i) => Buffer.from(`entry ${from + i}`));
  if (entries.length > 0) await appender.appendMany(entries);
  await appender.close();
  return logDir;
}

async function copyLog(from: string, name: string): Promise<string> {
  const to = join(root, name);
  await cp(from, to, { recursive: true });
  await rm(join(to, '.lock'), { force: true });
  return to;
}

async function failure(promise: Promise<unknown>): Promise<TlogError> {
  try {
    await promise;
  } catch (error: unknown) {
    if (error instanceof TlogError) return error;
    throw error;
  }
  throw new Error('Expected the verification to fail');
}

let base: string;

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'vv-verify-'));
  await createLogKeys(join(root, 'keys'), ORIGIN);
  keys = await loadLogKeys(join(root, 'keys'));
  verifiers = keys.verifierKeys.map((k) => parseVerifierKey(k));
  // 66,000 entries: full and partial tiles at levels 0, 1 and 2.
  base = await buildLog('base', 66_000);
});

afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

describe('verifyLog', () => {
  it('recomputes every tile and the root of a log with three tile levels', async () => {
    const report = await verifyLog(directorySource(base), { verifiers });
    expect(report.checkpoint.size).toBe(66_000);
    expect(report.entriesChecked).toBe(66_000);
    // 258 level-0 tiles, 2 level-1 tiles, 1 level-2 tile.
    expect(report.tilesChecked).toBe(258 + 2 + 1);
    expect(report.verifiedBy).toEqual([`${ORIGIN} (ed25519)`, `${ORIGIN} (ml-dsa-44-cosignature)`]);
  });

  it('accepts either key alone', async () => {
    for (const v of verifiers) {
      const report = await verifyLog(directorySource(base), { verifiers: [v] });
      expect(report.verifiedBy).toHaveLength(1);
    }
  });

  it('verifies a log served over HTTP, gzip and all', async () => {
    const { server, url } = await serveLog({ logDir: base, host: '127.0.0.1', port: 0 });
    try {
      const report = await verifyLog(httpSource(url), { verifiers });
      expect(report.checkpoint.size).toBe(66_000);
    } finally {
      await new Promise((r) => server.close(r));
    }
  });

  it('refuses a checkpoint signed by another key', async () => {
    await createLogKeys(join(root, 'other-keys'), ORIGIN);
    const other = await loadLogKeys(join(root, 'other-keys'));
    const forged = await buildLog('forged', 10, 0, other);
    const error = await failure(verifyLog(directorySource(forged), { verifiers }));
    expect(error.code).toBe('SIGNATURE_INVALID');
    expect(error.file).toBe('checkpoint');
  });

  it('names a level-0 tile whose hashes do not match its entry bundle', async () => {
    const log = await copyLog(base, 'bad-leaf');
    const path = join(log, 'tile/0/200');
    const bytes = await readFile(path);
    bytes[40] = (bytes[40] ?? 0) ^ 1;
    await writeFile(path, bytes);
    const error = await failure(verifyLog(directorySource(log), { verifiers }));
    expect(error.code).toBe('BUNDLE_MISMATCH');
    expect(error.message).toContain('"tile/entries/200"');
    expect(error.message).toContain('"tile/0/200"');
    expect(error.message).toContain('Entry 51201');
  });

  it('names an altered entry', async () => {
    const log = await copyLog(base, 'bad-entry');
    const path = join(log, 'tile/entries/000');
    const bytes = await readFile(path);
    bytes[5] = 0x58;
    await writeFile(path, bytes);
    const error = await failure(verifyLog(directorySource(log), { verifiers }));
    expect(error.code).toBe('BUNDLE_MISMATCH');
    expect(error.file).toBe('tile/entries/000');
  });

  it('names a higher tile that does not match the tiles below', async () => {
    const log = await copyLog(base, 'bad-level-1');
    const path = join(log, 'tile/1/001.p/1');
    const bytes = await readFile(path);
    bytes[0] = (bytes[0] ?? 0) ^ 0x80;
    await writeFile(path, bytes);
    const error = await failure(verifyLog(directorySource(log), { verifiers }));
    expect(error.code).toBe('TILE_MISMATCH');
    expect(error.file).toBe('tile/1/001.p/1');
  });

  it('names a truncated tile', async () => {
    const log = await copyLog(base, 'truncated');
    await truncate(join(log, 'tile/0/005'), 8000);
    const error = await failure(verifyLog(directorySource(log), { verifiers }));
    expect(error.code).toBe('TILE_MALFORMED');
    expect(error.message).toContain('tile/0/005');
  });

  it('names a truncated entry bundle', async () => {
    const log = await copyLog(base, 'truncated-bundle');
    await truncate(join(log, 'tile/entries/007'), 100);
    const error = await failure(verifyLog(directorySource(log), { verifiers }));
    expect(error.code).toBe('BUNDLE_MALFORMED');
    expect(error.message).toContain('tile/entries/007');
  });

  it('names a missing tile', async () => {
    const log = await copyLog(base, 'missing');
    await unlink(join(log, 'tile/2/000.p/1'));
    const error = await failure(verifyLog(directorySource(log), { verifiers }));
    expect(error.code).toBe('NOT_FOUND');
    expect(error.message).toContain('tile/2/000.p/1');
  });

  it('falls back to the full tile when an old partial tile is gone', async () => {
    // Keep the checkpoint of size 300, grow the log past the tile boundary (which deletes the
    // size-300 partials), then verify against the old checkpoint.
    const log = await buildLog('fallback', 300);
    const old = await readFile(join(log, 'checkpoint'));
    await buildLog('fallback', 600, 300);
    await writeFile(join(log, 'checkpoint'), old);
    const report = await verifyLog(directorySource(log), { verifiers });
    expect(report.checkpoint.size).toBe(300);
  });

  describe('with a state file', () => {
    it('accepts growth with a consistency proof and refuses a checkpoint that goes back', async () => {
      const state = join(root, 'state-rollback');
      const log = await buildLog('grow', 700);
      const snapshot = await copyLog(log, 'grow-snapshot');
      await buildLog('grow', 1500, 700);
      const first = await verifyLog(directorySource(snapshot), { verifiers, stateFile: state });
      expect(first.previousSize).toBeUndefined();
      const second = await verifyLog(directorySource(log), { verifiers, stateFile: state });
      expect(second.previousSize).toBe(700);
      // The operator restores the older copy: the verifier has seen size 1500 already.
      const error = await failure(
        verifyLog(directorySource(snapshot), { verifiers, stateFile: state }),
      );
      expect(error.code).toBe('CHECKPOINT_ROLLBACK');
      expect(error.message).toContain('1500');
    });

    it('refuses a fork: another tree of a size seen before', async () => {
      const state = join(root, 'state-fork');
      await verifyLog(directorySource(base), { verifiers, stateFile: state });
      // Same keys, same size, different entries.
      const forkDir = join(root, 'fork');
      const appender = await openLogAppender({
        logDir: forkDir,
        origin: keys.origin,
        sign: (c) => signCheckpoint(c, keys.signers),
      });
      await appender.appendMany(
        Array.from({ length: 66_000 }, (_, i) => Buffer.from(`other ${i}`)),
      );
      await appender.close();
      const error = await failure(
        verifyLog(directorySource(forkDir), { verifiers, stateFile: state }),
      );
      expect(error.code).toBe('CHECKPOINT_ROLLBACK');
      expect(error.message).toContain('forked');
    });

    it('refuses a grown log that is not consistent with the one seen before', async () => {
      const state = join(root, 'state-inconsistent');
      const a = await buildLog('inconsistent-a', 100);
      await verifyLog(directorySource(a), { verifiers, stateFile: state });
      const appender = await openLogAppender({
        logDir: join(root, 'inconsistent-b'),
        origin: keys.origin,
        sign: (c) => signCheckpoint(c, keys.signers),
      });
      await appender.appendMany(
        Array.from({ length: 200 }, (_, i) => Buffer.from(`rewritten ${i}`)),
      );
      await appender.close();
      const error = await failure(
        verifyLog(directorySource(join(root, 'inconsistent-b')), { verifiers, stateFile: state }),
      );
      expect(error.code).toBe('PROOF_INVALID');
    });
  });

  it('stops reading an endless body from a hostile server', async () => {
    const checkpoint = await readFile(join(base, 'checkpoint'));
    const server: Server = createServer((req, res) => {
      if (req.url === '/checkpoint') {
        res.end(checkpoint);
        return;
      }
      res.writeHead(200, { 'content-type': 'application/octet-stream' });
      const chunk = Buffer.alloc(65_536, 1);
      const pump = (): void => {
        while (res.write(chunk)) {
          /* keep writing until the client goes away */
        }
        res.once('drain', pump);
      };
      res.on('error', () => undefined);
      pump();
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const address = server.address();
    const port = typeof address === 'object' && address !== null ? address.port : 0;
    try {
      const error = await failure(verifyLog(httpSource(`http://127.0.0.1:${port}`), { verifiers }));
      expect(error.code).toBe('TILE_MALFORMED');
      expect(error.message).toContain('larger than');
    } finally {
      server.closeAllConnections();
      await new Promise((r) => server.close(r));
    }
  });

  it('reports an unreachable server as IO_FAILED', async () => {
    const error = await failure(verifyLog(httpSource('http://127.0.0.1:1/'), { verifiers }));
    expect(error.code).toBe('IO_FAILED');
  });
});
