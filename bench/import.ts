// Benchmark of the voter-file importer, next to the floors measured in the same run on the same
// file: the sqlite3 shell's `.import` into a plain table (C speed, no parsing rules, no
// encryption) and PostgreSQL's `COPY` through psql's `\copy`.
//
//   npm run bench:import [-- --rows N] [-- --dir DIR] [-- --skip-postgres]
//
// It generates a North Carolina file of N rows (default 1,000,000; the file is kept in DIR and
// reused), then measures (a) `sqlite3 .import`, (b) our import into SQLite, (c) our import into
// PostgreSQL (TEST_DATABASE_URL or postgres://postgres@127.0.0.1:5432/postgres, in a bench
// database created and dropped here) and `\copy` of the same file into a plain table, and
// (d) in-process lookups on the imported SQLite store. Our imports run in child processes so
// that their peak RSS is their own.
import { execFile, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { availableParallelism } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs, promisify } from 'node:util';
import pg from 'pg';
import { createKeyRing, loadKeyRing } from '../src/crypto/index.ts';
import { migrate, openDatabase } from '../src/store/index.ts';
import { generateVoterFile } from '../src/voters/generate.ts';
import { importVoterFileInThread } from '../src/voters/import/import-thread.ts';
import type { ImportDatabase, ImportReport } from '../src/voters/import/pipeline.ts';
import { IMPORT_MIGRATIONS } from '../src/voters/import/schema.ts';
import { layoutDialect, loadLayout } from '../src/voters/layout.ts';
import { findVoter } from '../src/voters/lookup.ts';
import { VOTERS_MIGRATIONS } from '../src/voters/schema.ts';

const run = promisify(execFile);
const SQLITE3 = '/usr/bin/sqlite3';
const DEFAULT_PG = 'postgres://postgres@127.0.0.1:5432/postgres';
/** Seed of the generated file: a fixed one, so that the file is reused across runs. */
const SEED = 'bench-import';
/** Lookups timed (or until LOOKUP_SECONDS pass). */
const LOOKUPS = 50_000;
const LOOKUP_SECONDS = 5;

const fmt = (n: number): string => Math.round(n).toLocaleString('en-US');

interface ChildResult {
  readonly seconds: number;
  readonly maxRssMiB: number;
  readonly report: ImportReport;
}

/**
 * Child mode: one import, as `votervault import` runs it (on a thread with a bounded heap, the
 * default number of workers), timed, reporting the process's peak RSS.
 */
async function child(argsJson: string): Promise<void> {
  const args = JSON.parse(argsJson) as {
    location: string;
    file: string;
    keys: string;
    dir: string;
  };
  const handle = await openDatabase<ImportDatabase>(args.location);
  await migrate(handle, [...VOTERS_MIGRATIONS, ...IMPORT_MIGRATIONS]);
  await handle.close();
  const start = performance.now();
  const report = await importVoterFileInThread({
    database: args.location,
    file: args.file,
    layout: 'nc',
    keys: { dir: args.keys },
    quarantineDir: join(args.dir, 'quarantine'),
    appendLog: () => Promise.resolve(),
    operator: 'bench',
  });
  const seconds = (performance.now() - start) / 1000;
  const result: ChildResult = {
    seconds,
    maxRssMiB: Math.round(process.resourceUsage().maxRSS / 1024),
    report,
  };
  process.stdout.write(`${JSON.stringify(result)}\n`);
}

function runChild(args: object): Promise<ChildResult> {
  return new Promise((resolvePromise, reject) => {
    const proc = spawn(process.execPath, [import.meta.filename, '--child', JSON.stringify(args)], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let out = '';
    proc.stdout.on('data', (d: Buffer) => (out += d.toString('utf8')));
    proc.on('error', reject);
    proc.on('exit', (code) => {
      if (code !== 0) reject(new Error(`Import child exited with ${code}`));
      else resolvePromise(JSON.parse(out.trim().split('\n').pop() ?? '{}') as ChildResult);
    });
  });
}

async function timed(fn: () => Promise<unknown>): Promise<number> {
  const start = performance.now();
  await fn();
  return (performance.now() - start) / 1000;
}

async function adminQuery(url: string, text: string): Promise<void> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    await client.query(text);
  } finally {
    await client.end();
  }
}

/** Up to `count` lookup queries taken from the file's rows (name, birth year, ZIP). */
async function lookupQueries(
  file: string,
  count: number,
): Promise<{ last: string; first: string; dob: string; zip: string }[]> {
  const layout = loadLayout('nc');
  const col = (name: string): number => layout.columns.findIndex((c) => c.name === name);
  const handle = await import('node:fs/promises').then((fs) => fs.open(file, 'r'));
  const buffer = Buffer.alloc(8 << 20);
  const { bytesRead } = await handle.read(buffer, 0, buffer.length, 0);
  await handle.close();
  const lines = buffer.subarray(0, bytesRead).toString('latin1').split('\n').slice(1, -1);
  const { parseDelimitedLine } = await import('../src/voters/delimited.ts');
  const out: { last: string; first: string; dob: string; zip: string }[] = [];
  const step = Math.max(1, Math.floor(lines.length / count));
  for (let i = 0; i < lines.length && out.length < count; i += step) {
    const parsed = parseDelimitedLine(lines[i] ?? '', layoutDialect(layout));
    if (!parsed.ok) continue;
    const f = parsed.fields;
    // Address-confidential voters have no ZIP in the file: the lookup needs one.
    if ((f[col('zip_code')] ?? '') === '' || (f[col('birth_year')] ?? '') === '') continue;
    out.push({
      last: f[col('last_name')] ?? '',
      first: f[col('first_name')] ?? '',
      dob: f[col('birth_year')] ?? '',
      zip: f[col('zip_code')] ?? '',
    });
  }
  return out;
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      rows: { type: 'string', default: '1000000' },
      dir: { type: 'string', default: '.bench' },
      'skip-postgres': { type: 'boolean', default: false },
      child: { type: 'string' },
    },
  });
  if (values.child !== undefined) {
    await child(values.child);
    return;
  }
  const rows = Number(values.rows);
  const root = resolve(values.dir, 'import');
  await mkdir(root, { recursive: true });
  const file = join(root, `nc-${rows}.txt`);
  const work = await mkdtemp(join(root, 'run-'));
  const cores = availableParallelism();
  console.log(`votervault import benchmark: ${fmt(rows)} NC rows, in ${work}`);
  console.log(`node ${process.version}, ${cores} cores\n`);
  try {
    if (!existsSync(file)) {
      const seconds = await timed(() =>
        generateVoterFile({ layout: 'nc', count: rows, seed: SEED, out: file }),
      );
      console.log(`generated ${file} in ${seconds.toFixed(1)} s`);
    }
    const bytes = (await stat(file)).size;
    console.log(`file: ${fmt(bytes)} bytes, ${fmt(bytes / rows)} bytes a row\n`);

    // (a) the sqlite3 shell's .import into a plain table.
    const plainDb = join(work, 'plain.sqlite3');
    const floorSqlite = await timed(() =>
      run(SQLITE3, [plainDb, '.mode tabs', `.import ${file} voters`]),
    );
    const aRate = rows / floorSqlite;
    console.log(
      `(a) sqlite3 .import:            ${fmt(aRate)} rows/s (${floorSqlite.toFixed(1)} s)`,
    );

    // (b) our import into SQLite.
    const keys = join(work, 'keys');
    await createKeyRing({ dir: keys });
    const sqliteLocation = join(work, 'votervault.db');
    const b = await runChild({ location: sqliteLocation, file, keys, dir: work });
    const bRate = rows / b.seconds;
    console.log(
      `(b) votervault import, SQLite:  ${fmt(bRate)} rows/s (${b.seconds.toFixed(1)} s), peak RSS ${b.maxRssMiB} MiB, added ${fmt(b.report.counts.added)}, quarantined ${fmt(b.report.counts.quarantined)}`,
    );

    // (c) our import into PostgreSQL and COPY of the same file.
    let cRate: number | undefined;
    let copyRate: number | undefined;
    let cRss: number | undefined;
    if (!values['skip-postgres']) {
      const server = process.env['TEST_DATABASE_URL'] || DEFAULT_PG;
      const name = `votervault_bench_${process.pid}`;
      await adminQuery(server, `create database "${name}"`);
      const url = new URL(server);
      url.pathname = `/${name}`;
      try {
        const c = await runChild({ location: url.toString(), file, keys, dir: join(work, 'pg') });
        cRate = rows / c.seconds;
        cRss = c.maxRssMiB;
        console.log(
          `(c) votervault import, PostgreSQL: ${fmt(cRate)} rows/s (${c.seconds.toFixed(1)} s), peak RSS ${c.maxRssMiB} MiB`,
        );
        const header = (await readFile(file, 'latin1')).slice(0, 10_000).split('\n')[0] ?? '';
        const columns = header
          .split('\t')
          .map((h) => `"${h.replaceAll('"', '')}" text`)
          .join(', ');
        await adminQuery(url.toString(), `create table plain_voters (${columns})`);
        const copySeconds = await timed(() =>
          run('psql', [
            url.toString(),
            '-v',
            'ON_ERROR_STOP=1',
            '-c',
            `\\copy plain_voters from '${file}' with (format csv, delimiter E'\\t', header true, encoding 'WIN1252')`,
          ]),
        );
        copyRate = rows / copySeconds;
        console.log(
          `    psql \\copy, plain table:     ${fmt(copyRate)} rows/s (${copySeconds.toFixed(1)} s)`,
        );
      } finally {
        await adminQuery(server, `drop database if exists "${name}" with (force)`);
      }
    }

    // (d) in-process lookups on the SQLite store.
    const ring = await loadKeyRing({ dir: keys });
    const handle = await openDatabase<ImportDatabase>(sqliteLocation);
    const queries = await lookupQueries(file, 1000);
    let done = 0;
    let found = 0;
    const start = performance.now();
    while (done < LOOKUPS && performance.now() - start < LOOKUP_SECONDS * 1000) {
      const result = await findVoter(
        handle,
        ring,
        queries[done % queries.length] ?? { last: '', first: '', dob: '', zip: '' },
      );
      if (result.answer.status === 'found') found++;
      done++;
    }
    const lookupRate = done / ((performance.now() - start) / 1000);
    await handle.close();
    console.log(
      `(d) lookups in process, SQLite: ${fmt(lookupRate)}/s (${fmt(done)} lookups, ${((100 * found) / done).toFixed(0)}% found)`,
    );

    console.log(`\ntargets (2 cores; this machine has ${cores})`);
    const ratio = bRate / aRate;
    console.log(`b/a >= 0.5: ${ratio.toFixed(3)} ${ratio >= 0.5 ? 'met' : 'NOT met'}`);
    if (cRate !== undefined && copyRate !== undefined) {
      const pgRatio = cRate / copyRate;
      console.log(`c/COPY >= 0.3: ${pgRatio.toFixed(3)} ${pgRatio >= 0.3 ? 'met' : 'NOT met'}`);
    } else {
      console.log('c/COPY >= 0.3: not measured (--skip-postgres)');
    }
    console.log(
      `lookups >= 20,000/s: ${fmt(lookupRate)}/s ${lookupRate >= 20_000 ? 'met' : 'NOT met'}`,
    );
    const rssLimit = 400;
    console.log(
      `peak RSS of our import < ${rssLimit} MiB: SQLite ${b.maxRssMiB} MiB${cRss === undefined ? '' : `, PostgreSQL ${cRss} MiB`} ${Math.max(b.maxRssMiB, cRss ?? 0) < rssLimit ? 'met' : 'NOT met'} (the budget is for 10,000,000 rows: run with --rows 10000000)`,
    );
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}

await main();
