import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createTestDatabase, DIALECTS } from '../../../test/setup/databases.ts';
import type { TestDatabase } from '../../../test/setup/databases.ts';
import { loadKeyRing } from '../../crypto/index.ts';
import { openDatabase } from '../../store/index.ts';
import { parseCheckpoint, readCheckpointFile, readEntryBundle } from '../../tlog/index.ts';
import {
  createVoterGenerator,
  loadLayout,
  prepareVoterRow,
  writeVoterRows,
} from '../../voters/index.ts';
import type { PreparedVoterRow, VotersTables } from '../../voters/index.ts';
import type { CliIo } from '../command.ts';
import { UsageError } from '../command.ts';
import { dataDir } from '../data-dir.ts';
import { initDataDir } from './log.ts';
import { VOTERS_COMMANDS } from './voters.ts';
import { initDataStore } from '../data-store.ts';

const OH = loadLayout('oh');

interface Run {
  code: number;
  out: string;
  err: string;
}

async function run(path: string, args: string[], isTty = false): Promise<Run> {
  const command = VOTERS_COMMANDS.find((c) => c.path.join(' ') === path);
  if (command === undefined) throw new Error(`no command "${path}"`);
  let out = '';
  let err = '';
  const io: CliIo = {
    out: (t) => (out += t),
    err: (t) => (err += t),
    stdin: Readable.from([]),
    isTty,
  };
  const code = await command.run(args, io);
  return { code, out, err };
}

async function logEntries(dir: string): Promise<unknown[]> {
  const logDir = dataDir(dir).log;
  // The checkpoint is a signed note: origin, size, root hash, then a blank line and signatures.
  const note = String(await readCheckpointFile(logDir));
  const size = Number(parseCheckpoint(`${note.split('\n\n')[0]}\n`).size);
  if (size === 0) return [];
  const entries = await readEntryBundle(logDir, 0, size);
  return entries.map((bytes) => JSON.parse(Buffer.from(bytes).toString('utf8')) as unknown);
}

for (const dialect of DIALECTS) {
  describe(dialect, () => {
    let testDb: TestDatabase;
    let dir: string;
    let database: string[];
    const generator = createVoterGenerator(OH, { seed: 61 });
    const voters = Array.from({ length: 12 }, () => generator.next());
    const get = (fields: readonly string[], name: string): string =>
      fields[OH.columns.findIndex((c) => c.name === name)] ?? '';

    beforeEach(async () => {
      testDb = await createTestDatabase(dialect);
      dir = await mkdtemp(join(tmpdir(), 'votervault-cli-voters-'));
      // SQLite runs on the data directory's default file; PostgreSQL through --database.
      database = dialect === 'sqlite' ? [] : ['--database', testDb.location];
      await initDataDir(dir, 'votervault.test/log');
      const init = await initDataStore(dir, dialect === 'sqlite' ? undefined : testDb.location);
      expect(init.created).toBe(true);
      const ring = await loadKeyRing({ dir: dataDir(dir).keys });
      const handle = await openDatabase<VotersTables>(
        dialect === 'sqlite' ? join(dataDir(dir).root, 'votervault.db') : testDb.location,
      );
      try {
        const rows = voters.map((fields) => {
          const outcome = prepareVoterRow(ring, OH, fields, undefined);
          if (outcome.kind !== 'prepared') throw new Error('row not prepared');
          return outcome.row;
        }) satisfies PreparedVoterRow[];
        await writeVoterRows(handle, rows, { importId: 'i1', changedAt: '2026-01-01T00:00:00Z' });
      } finally {
        await handle.close();
      }
    });

    afterEach(async () => {
      await rm(dir, { recursive: true, force: true });
      await testDb.drop();
    });

    it('looks a voter up, prints the answer as JSON and logs only the subject tag', async () => {
      const voter = voters[0]!;
      const found = await run('lookup', [
        '--data',
        dir,
        ...database,
        '--last',
        get(voter, 'LAST_NAME'),
        '--first',
        get(voter, 'FIRST_NAME'),
        '--dob',
        get(voter, 'DATE_OF_BIRTH'),
        '--zip',
        get(voter, 'RESIDENTIAL_ZIP'),
      ]);
      expect(found.code).toBe(0);
      expect(JSON.parse(found.out)).toEqual({
        status: 'found',
        voterStatus: get(voter, 'VOTER_STATUS'),
        precinct: get(voter, 'PRECINCT_CODE'),
        pollingPlace: null,
      });
      const missing = await run('lookup', [
        '--data',
        dir,
        ...database,
        '--last',
        'Nobody',
        '--first',
        'Nobody',
        '--dob',
        '1950',
        '--county',
        'Adams',
      ]);
      expect(JSON.parse(missing.out)).toEqual({ status: 'not-found' });
      const ring = await loadKeyRing({ dir: dataDir(dir).keys });
      const entries = await logEntries(dir);
      expect(entries).toEqual([
        expect.objectContaining({
          type: 'lookup',
          channel: 'cli',
          result: 'found',
          subjects: [ring.subjectTag(get(voter, 'SOS_VOTERID'))],
        }),
        expect.objectContaining({ type: 'lookup', result: 'not-found', subjects: [] }),
      ]);
      const logText = JSON.stringify(entries);
      expect(logText).not.toContain(get(voter, 'LAST_NAME'));
      expect(logText).not.toContain(get(voter, 'DATE_OF_BIRTH'));
    });

    it('refuses a lookup without ZIP or county', async () => {
      await expect(
        run('lookup', ['--data', dir, '--last', 'A', '--first', 'B', '--dob', '1950']),
      ).rejects.toBeInstanceOf(UsageError);
    });

    it('verifies the store, exiting 1 once a row was edited', async () => {
      const clean = await run('store verify', ['--data', dir, ...database]);
      expect(clean.code).toBe(0);
      expect(JSON.parse(clean.out)).toMatchObject({ ok: true, checked: voters.length });
      const handle = await openDatabase<VotersTables>(
        dialect === 'sqlite' ? join(dataDir(dir).root, 'votervault.db') : testDb.location,
      );
      try {
        await handle.db
          .updateTable('voter')
          .set({ jurisdiction: '1' })
          .where('voter_id', '=', get(voters[1]!, 'SOS_VOTERID'))
          .execute();
      } finally {
        await handle.close();
      }
      const tampered = await run('store verify', ['--data', dir, ...database]);
      expect(tampered.code).toBe(1);
      expect(JSON.parse(tampered.out)).toMatchObject({
        ok: false,
        problems: [{ voterId: get(voters[1]!, 'SOS_VOTERID'), reason: 'ciphertext-invalid' }],
      });
      expect(await logEntries(dir)).toEqual([
        expect.objectContaining({ type: 'store-verify', problems: 0, checked: voters.length }),
        expect.objectContaining({ type: 'store-verify', problems: 1 }),
      ]);
    });

    it('rotates the keys with a progress line on a terminal and logs the rotation', async () => {
      const result = await run('keys rotate', ['--data', dir, ...database], true);
      expect(result.code).toBe(0);
      expect(JSON.parse(result.out)).toMatchObject({
        type: 'key-rotation',
        fromVersions: [1],
        toVersion: 2,
        rowsRewrapped: voters.length,
        retiredVersions: [1],
      });
      expect(result.err).toContain(`Re-wrapped ${voters.length} keys under version 2, 0 left`);
      expect(await logEntries(dir)).toEqual([
        expect.objectContaining({ type: 'key-rotation', channel: 'cli', toVersion: 2 }),
      ]);
      const verify = await run('store verify', ['--data', dir, ...database]);
      expect(JSON.parse(verify.out)).toMatchObject({ ok: true });
    });
  });
}

describe('a data directory without a voter store', () => {
  it('is refused with a hint to run init', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'votervault-cli-voters-'));
    try {
      await initDataDir(dir, 'votervault.test/log');

      await expect(run('store verify', ['--data', dir])).rejects.toMatchObject({
        code: 'STORE_NOT_READY',
      });
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
