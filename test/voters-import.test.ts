// End-to-end tests of the voter-file importer on every dialect: generated files of each shipped
// layout, quarantine of crafted bad rows, re-import with changes and removals, resumption after
// the importing process is killed at random moments, and the content of the log entry.
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createKeyRing } from '../src/crypto/index.ts';
import type { KeyRing } from '../src/crypto/index.ts';
import { migrate, openDatabase } from '../src/store/index.ts';
import type { DatabaseHandle } from '../src/store/index.ts';
import { formatDelimitedRow, parseDelimitedLine } from '../src/voters/delimited.ts';
import { generateVoterFile } from '../src/voters/generate.ts';
import { importVoterFile } from '../src/voters/import/pipeline.ts';
import type { ImportDatabase, ImportReport } from '../src/voters/import/pipeline.ts';
import { readQuarantine } from '../src/voters/import/quarantine.ts';
import { IMPORT_MIGRATIONS } from '../src/voters/import/schema.ts';
import { layoutDialect, loadLayout } from '../src/voters/layout.ts';
import { readVoter } from '../src/voters/record.ts';
import { VOTERS_MIGRATIONS } from '../src/voters/schema.ts';
import { verifyStore } from '../src/voters/verify.ts';
import { createTestDatabase, DIALECTS } from './setup/databases.ts';
import type { TestDatabase } from './setup/databases.ts';

const CHILD = resolve(import.meta.dirname, '../src/voters/import/testdata/import-process.ts');
/** Rows of each generated file: enough for several batches, small enough to stay fast. */
const ROWS = 2000;
/** A fixed clock far from any generated date, so no date of the file can match the entry's. */
const NOW = (): Date => new Date('2031-02-03T04:05:06.000Z');

let root: string;
let keys: string;
let ring: KeyRing;
const files = new Map<string, string>();

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'votervault-import-'));
  keys = join(root, 'keys');
  ring = await createKeyRing({ dir: keys });
  for (const layout of ['nc', 'nc-legacy', 'oh', 'fl', 'wa']) {
    const file = join(root, `${layout}.txt`);
    await generateVoterFile({ layout, count: ROWS, seed: `import-${layout}`, out: file });
    files.set(layout, file);
  }
});

afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

function fileOf(layout: string): string {
  const file = files.get(layout);
  if (file === undefined) throw new Error(`No generated file for "${layout}"`);
  return file;
}

interface Store {
  readonly testDb: TestDatabase;
  readonly handle: DatabaseHandle<ImportDatabase>;
  readonly quarantineDir: string;
  close(): Promise<void>;
}

async function openStore(dialect: (typeof DIALECTS)[number]): Promise<Store> {
  const testDb = await createTestDatabase(dialect);
  const handle = await openDatabase<ImportDatabase>(testDb.location);
  await migrate(handle, [...VOTERS_MIGRATIONS, ...IMPORT_MIGRATIONS]);
  const quarantineDir = await mkdtemp(join(root, 'quarantine-'));
  return {
    testDb,
    handle,
    quarantineDir,
    async close() {
      await handle.close();
      await testDb.drop();
    },
  };
}

async function runImport(
  store: Store,
  file: string,
  layout: string,
  entries: Uint8Array[] = [],
): Promise<ImportReport> {
  return importVoterFile({
    db: store.handle,
    file,
    layout,
    keys: { dir: keys },
    quarantineDir: store.quarantineDir,
    appendLog: async (entry) => {
      entries.push(entry);
      await Promise.resolve();
    },
    operator: 'clerk',
    workers: 1,
    batchSize: 500,
    now: NOW,
  });
}

async function count(
  store: Store,
  table: 'voter' | 'voter_version' | 'voter_lookup' | 'voter_import',
): Promise<number> {
  const { rows } = await sql<{
    n: number | string;
  }>`select count(*) as n from ${sql.table(table)}`.execute(store.handle.db);
  return Number(rows[0]?.n);
}

/** Lines of a generated file, split into fields in its layout's format. */
async function parsedLines(file: string, layoutId: string): Promise<string[][]> {
  const layout = loadLayout(layoutId);
  const text = new TextDecoder(layout.format.encoding).decode(await readFile(file));
  return text
    .split('\n')
    .filter((line) => line !== '')
    .map((line) => {
      const parsed = parseDelimitedLine(line.replace(/\r$/, ''), layoutDialect(layout));
      if (!parsed.ok) throw new Error(parsed.message);
      return parsed.fields;
    });
}

function formatLines(rows: readonly (readonly string[])[], layoutId: string): string {
  const layout = loadLayout(layoutId);
  const options = { ...layoutDialect(layout), quoteAll: layout.format.quoteAll };
  return rows.map((fields) => `${formatDelimitedRow(fields, options)}\n`).join('');
}

for (const dialect of DIALECTS) {
  describe(dialect, () => {
    it.each([
      ['nc', 'nc', 'nc'],
      ['nc-legacy', 'nc', 'nc-legacy'],
      ['oh', 'oh', 'oh'],
      ['fl', 'fl', 'fl'],
      ['wa', 'wa', 'wa'],
    ])('imports a generated %s file (--layout %s)', async (generated, spec, expected) => {
      const store = await openStore(dialect);
      try {
        const entries: Uint8Array[] = [];
        const report = await runImport(store, fileOf(generated), spec, entries);
        expect(report.layout).toBe(expected);
        expect(report.rows).toBe(ROWS);
        expect(report.counts).toEqual({
          added: ROWS,
          changed: 0,
          unchanged: 0,
          removed: 0,
          quarantined: 0,
        });
        expect(report.quarantineFile).toBeUndefined();
        expect(await count(store, 'voter')).toBe(ROWS);
        expect(await count(store, 'voter_version')).toBe(0);
        expect(entries).toHaveLength(1);
        const lines = await parsedLines(fileOf(generated), expected);
        const layout = loadLayout(expected);
        const idColumn = layout.columns.findIndex((c) => c.role === 'voterId');
        const sample = lines[lines.length - 1]?.[idColumn]?.trim() ?? '';
        const voter = await readVoter(store.handle, ring, sample, {
          fieldClasses: ['public', 'confidential', 'protected'],
        });
        expect(voter.voterId).toBe(sample);
        expect(voter.rowVersion).toBe(1);
        const verified = await verifyStore(store.handle, ring);
        expect(verified).toMatchObject({ ok: true, checked: ROWS });
      } finally {
        await store.close();
      }
    });

    it('quarantines bad rows with their line numbers and stores the rest', async () => {
      const store = await openStore(dialect);
      try {
        const [header = [], ...rows] = await parsedLines(fileOf('nc'), 'nc');
        const good = rows.slice(0, 40);
        const text = (fields: readonly string[]): Buffer =>
          Buffer.from(formatLines([fields], 'nc'), 'latin1');
        const withField = (index: number, value: string): string[] => {
          const copy = [...(rows[45] ?? [])];
          copy[index] = value;
          return copy;
        };
        const regDate = loadLayout('nc').columns.findIndex((c) => c.name === 'registr_dt');
        // Line 1 is the header; bad lines land at 6, 12, 18, 24, 30 and 36.
        const undefinedByte = text(rows[41] ?? []);
        undefinedByte[undefinedByte.indexOf('\t"') + 3] = 0x81;
        const utf8Name = Buffer.concat([
          text(rows[42] ?? []).subarray(0, 20),
          Buffer.from('PEÑA', 'utf8'),
          text(rows[42] ?? []).subarray(20),
        ]);
        const strayQuote = Buffer.from(
          text(rows[43] ?? [])
            .toString('latin1')
            .replace('"\t"', '"x"\t"'),
          'latin1',
        );
        const shortRow = text((rows[44] ?? []).slice(0, 10));
        const impossibleDate = text(withField(regDate, '02/30/2019'));
        const duplicate = text(good[3] ?? []);
        const bad = [undefinedByte, utf8Name, strayQuote, shortRow, impossibleDate, duplicate];
        const parts: Buffer[] = [text(header)];
        let goodIndex = 0;
        for (let line = 2; goodIndex < good.length || bad.length > 0; line++) {
          if (line % 6 === 0 && bad.length > 0) parts.push(bad.shift() ?? Buffer.alloc(0));
          else parts.push(text(good[goodIndex++] ?? []));
        }
        const file = join(root, `crafted-${dialect}.txt`);
        await writeFile(file, Buffer.concat(parts));

        const report = await runImport(store, file, 'nc');
        expect(report.counts).toMatchObject({ added: 40, quarantined: 6 });
        expect(await count(store, 'voter')).toBe(40);
        const path = report.quarantineFile ?? '';
        expect((await stat(path)).mode & 0o777).toBe(0o600);
        expect((await stat(store.quarantineDir)).mode & 0o777).toBe(0o700);
        const entries = await readQuarantine(path);
        expect(entries.map((e) => [e.line, e.code, e.field])).toEqual([
          [6, 'ENCODING_INVALID', null],
          [12, 'ENCODING_INVALID', null],
          [18, 'STRAY_QUOTE', null],
          [24, 'FIELD_COUNT', null],
          [30, 'DATE_INVALID', 'registr_dt'],
          [36, 'DUPLICATE_VOTER_ID', 'ncid'],
        ]);
        expect(Buffer.from(entries[0]?.rawBase64 ?? '', 'base64')).toEqual(
          undefinedByte.subarray(0, -1),
        );
        expect(entries[2]?.raw).toBe(strayQuote.toString('latin1').trimEnd());
        expect(entries[3]?.raw).toBe(shortRow.toString('latin1').trimEnd());
        expect(entries[4]?.raw).toBe(impossibleDate.toString('latin1').trimEnd());
        expect(entries[4]?.reason).toContain('02/30/2019');
      } finally {
        await store.close();
      }
    });

    it('re-imports a newer extract: only changes are new versions, removals reported', async () => {
      const store = await openStore(dialect);
      try {
        const [header = [], ...rows] = await parsedLines(fileOf('nc'), 'nc');
        const layout = loadLayout('nc');
        const col = (name: string): number => layout.columns.findIndex((c) => c.name === name);
        const first = rows.slice(0, 400);
        const older = join(root, `older-${dialect}.txt`);
        await writeFile(older, Buffer.from(formatLines([header, ...first], 'nc'), 'latin1'));
        const entries: Uint8Array[] = [];
        await runImport(store, older, 'nc', entries);

        const dropped = first.slice(0, 20);
        const changed = first.slice(20, 50).map((fields) => {
          const copy = [...fields];
          copy[col('middle_name')] = 'CHANGED';
          return copy;
        });
        const kept = first.slice(50);
        const added = first.slice(0, 10).map((fields, i) => {
          const copy = [...fields];
          copy[col('ncid')] = `ZZ${String(i).padStart(6, '0')}`;
          return copy;
        });
        const newer = join(root, `newer-${dialect}.txt`);
        await writeFile(
          newer,
          Buffer.from(formatLines([header, ...changed, ...kept, ...added], 'nc'), 'latin1'),
        );
        const covered = new Set([...changed, ...kept, ...added].map((f) => f[col('county_id')]));
        const expectRemoved = dropped.filter((f) => covered.has(f[col('county_id')]));
        expect(expectRemoved.length).toBeGreaterThan(0);

        const report = await runImport(store, newer, 'nc', entries);
        expect(report.counts).toEqual({
          added: 10,
          changed: 30,
          unchanged: 350,
          removed: expectRemoved.length,
          quarantined: 0,
        });
        expect(await count(store, 'voter')).toBe(410);
        expect(await count(store, 'voter_version')).toBe(30 + expectRemoved.length);
        const removedId = expectRemoved[0]?.[col('ncid')] ?? '';
        const removed = await readVoter(store.handle, ring, removedId, {
          fieldClasses: ['public'],
        });
        expect(removed).toMatchObject({ removed: true, rowVersion: 2 });
        const changedId = changed[0]?.[col('ncid')] ?? '';
        const updated = await readVoter(store.handle, ring, changedId, {
          fieldClasses: ['public'],
        });
        expect(updated.rowVersion).toBe(2);
        expect(updated.fields.public['middle_name']).toBe('CHANGED');
        expect(entries).toHaveLength(2);

        // The same bytes again: nothing changes, nothing more is removed.
        const again = await runImport(store, newer, 'nc', entries);
        expect(again.counts).toEqual({
          added: 0,
          changed: 0,
          unchanged: 390,
          removed: 0,
          quarantined: 0,
        });
        expect(await count(store, 'voter_version')).toBe(30 + expectRemoved.length);
      } finally {
        await store.close();
      }
    });

    it('logs each import once, with counts and no personal data', async () => {
      const store = await openStore(dialect);
      try {
        const entries: Uint8Array[] = [];
        const file = fileOf('oh');
        const report = await runImport(store, file, 'oh', entries);
        expect(entries).toHaveLength(1);
        const bytes = entries[0] ?? new Uint8Array();
        const text = Buffer.from(bytes).toString('utf8');
        const entry = JSON.parse(text) as Record<string, unknown>;
        expect(entry).toEqual({
          type: 'import',
          import: report.importId,
          file: {
            sha256: createHash('sha256')
              .update(await readFile(file))
              .digest('hex'),
            bytes: (await stat(file)).size,
          },
          layout: 'oh',
          rows: ROWS,
          counts: { added: ROWS, changed: 0, unchanged: 0, removed: 0, quarantined: 0 },
          operator: 'clerk',
          started: NOW().toISOString(),
          time: NOW().toISOString(),
        });
        // Canonical JSON: keys sorted, no white space.
        expect(text.startsWith('{"counts":{"added":')).toBe(true);
        const layout = loadLayout('oh');
        const personal = layout.columns.flatMap((c, i) =>
          ['lastName', 'firstName', 'middleName', 'birthDate', 'registrationDate'].includes(c.role)
            ? [i]
            : [],
        );
        const [, ...rows] = await parsedLines(file, 'oh');
        const values = new Set(
          rows.flatMap((fields) => personal.map((i) => fields[i]?.trim() ?? '')),
        );
        for (const value of values) if (value.length < 2) values.delete(value);
        expect(values.size).toBeGreaterThan(1000);
        for (const value of values) expect(text).not.toContain(value);
      } finally {
        await store.close();
      }
    });

    it('resumes after the importing process is killed at random moments', async () => {
      const store = await openStore(dialect);
      const clean = await openStore(dialect);
      try {
        const file = fileOf('nc');
        const quarantineDir = store.quarantineDir;
        const args = [store.testDb.location, file, 'nc', keys, quarantineDir, '100'];
        const logs: string[] = [];
        let lastCommitted = 0;
        for (let kill = 0; kill < 3; kill++) {
          const run = await runChild(args, {
            afterCommits: 1 + Math.floor(Math.random() * 2),
            delayMs: Math.floor(Math.random() * 40),
          });
          logs.push(...run.logs);
          expect(run.killed).toBe(true);
          // Each run commits at least one batch more than the run before it resumed from.
          expect(run.committed).toBeGreaterThan(lastCommitted);
          lastCommitted = run.committed;
        }
        const final = await runChild(args, undefined);
        logs.push(...final.logs);
        expect(final.killed).toBe(false);
        const report = final.report ?? ({} as ImportReport);
        expect(report.resumedAfterLine).toBeGreaterThan(0);

        const reference = await runImport(clean, file, 'nc');
        expect(report.counts).toEqual(reference.counts);
        expect(report.rows).toBe(reference.rows);
        for (const table of ['voter', 'voter_version', 'voter_lookup', 'voter_import'] as const) {
          expect(await count(store, table)).toBe(await count(clean, table));
        }
        expect(logs).toHaveLength(1);
        const verified = await verifyStore(store.handle, ring);
        expect(verified).toMatchObject({ ok: true, checked: ROWS });
      } finally {
        await store.close();
        await clean.close();
      }
    });
  });
}

interface ChildRun {
  readonly killed: boolean;
  readonly committed: number;
  readonly logs: readonly string[];
  readonly report: ImportReport | undefined;
}

/**
 * Runs the import in a child process; with `kill`, sends SIGKILL `delayMs` after the child's
 * `afterCommits`-th committed batch of this run.
 */
function runChild(
  args: readonly string[],
  kill: { readonly afterCommits: number; readonly delayMs: number } | undefined,
): Promise<ChildRun> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(process.execPath, [CHILD, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    let errors = '';
    let commits = 0;
    let committed = 0;
    let killed = false;
    const logs: string[] = [];
    let report: ImportReport | undefined;
    let pending = '';
    child.stdout.on('data', (data: Buffer) => {
      pending += data.toString('utf8');
      const lines = pending.split('\n');
      pending = lines.pop() ?? '';
      for (const line of lines) {
        output += `${line}\n`;
        if (line.startsWith('committed ')) {
          commits++;
          committed = Number(line.slice('committed '.length));
          if (kill !== undefined && commits === kill.afterCommits) {
            setTimeout(() => {
              killed = child.kill('SIGKILL');
            }, kill.delayMs);
          }
        } else if (line.startsWith('log ')) {
          logs.push(line.slice(4));
        } else if (line.startsWith('done ')) {
          report = JSON.parse(line.slice(5)) as ImportReport;
        }
      }
    });
    child.stderr.on('data', (data: Buffer) => (errors += data.toString('utf8')));
    child.on('error', reject);
    child.on('exit', (code, signal) => {
      if (signal === 'SIGKILL' || code === 0) {
        resolvePromise({ killed: signal === 'SIGKILL' && killed, committed, logs, report });
      } else {
        reject(new Error(`Import process exited with ${code}: ${errors}${output}`));
      }
    });
  });
}
