import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createKeyRing } from '../../crypto/index.ts';
import { createVoterGenerator } from '../generate.ts';
import { loadLayout } from '../layout.ts';
import { startPreparePool, workerResourceLimits } from './worker-pool.ts';
import type { PrepareInput } from './worker-pool.ts';

let root: string;
const layout = loadLayout('fl');

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'votervault-pool-'));
  await createKeyRing({ dir: join(root, 'keys') });
});

afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

function rows(count: number): PrepareInput[] {
  const generator = createVoterGenerator(layout, { seed: 'pool' });
  return Array.from({ length: count }, () => ({ fields: generator.next(), existing: undefined }));
}

describe('startPreparePool', () => {
  it('prepares on worker threads exactly what the calling thread prepares', async () => {
    const input = rows(300);
    input[7] = { fields: input[7]?.fields.slice(0, 3) ?? [], existing: undefined };
    const inline = await startPreparePool({ size: 0, keys: { dir: join(root, 'keys') }, layout });
    const pool = await startPreparePool({ size: 2, keys: { dir: join(root, 'keys') }, layout });
    try {
      expect(pool.size).toBe(2);
      const [a, b, c] = await Promise.all([
        pool.prepare(input.slice(0, 100)),
        pool.prepare(input.slice(100, 200)),
        pool.prepare(input.slice(200)),
      ]);
      const threaded = [...(a ?? []), ...(b ?? []), ...(c ?? [])];
      const local = await inline.prepare(input);
      const summary = (o: (typeof local)[number]): unknown =>
        o.kind === 'prepared'
          ? [o.kind, o.row.voterId, Buffer.from(o.row.rowMac).toString('hex'), o.row.lookupDigests]
          : o.kind === 'invalid'
            ? [o.kind, o.field, o.code]
            : [o.kind, o.voterId];
      expect(threaded.map(summary)).toEqual(local.map(summary));
      expect(threaded[7]).toMatchObject({ kind: 'invalid' });
      expect(threaded.filter((o) => o.kind === 'prepared')).toHaveLength(299);
    } finally {
      await pool.close();
      await inline.close();
    }
    await expect(pool.prepare(input)).rejects.toMatchObject({ code: 'WORKER_FAILED' });
  });

  it('fails with the key ring error when the keys are missing', async () => {
    await expect(
      startPreparePool({ size: 1, keys: { dir: join(root, 'nowhere') }, layout }),
    ).rejects.toMatchObject({ code: 'KEY_NOT_FOUND' });
  });

  it('bounds worker heaps, more for larger batches', () => {
    expect(workerResourceLimits(2000).maxOldGenerationSizeMb).toBe(64);
    expect(workerResourceLimits(40_000).maxOldGenerationSizeMb).toBe(1000);
  });
});
