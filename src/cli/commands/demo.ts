import { createReadStream, existsSync } from 'node:fs';
import { chmod } from 'node:fs/promises';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { z } from 'zod';
import { canonicalJsonBytes, loadLogKeys, serveLog } from '../../tlog/index.ts';
import {
  generateVoterFile,
  importVoterFile,
  layoutDialect,
  loadLayout,
  parseDelimitedLine,
  roleIndex,
  setPollingPlaces,
} from '../../voters/index.ts';
import type { FieldRole } from '../../voters/index.ts';
import type { CliIo, Command } from '../command.ts';
import { parseFlags } from '../command.ts';
import { dataDir } from '../data-dir.ts';
import { initDataStore, openDataStore } from '../data-store.ts';
import type { DataStore } from '../data-store.ts';
import { DEFAULT_ORIGIN, initDataDir, openDataLog } from './log.ts';

/** Where the demo keeps its data unless told otherwise (ignored by git). */
export const DEMO_DATA_DIR = 'votervault-demo';
/** Sample entries appended on each demo start. */
const DEMO_ENTRIES = 1000;
/** Voters in the demo roll: a large county. */
export const DEMO_VOTERS = 100_000;
/** Seed of the demo roll, so every demo has the same synthetic voters. */
const DEMO_SEED = 'votervault-demo';
/** Preferred port of the demo; a free one is used when it is taken. */
const DEMO_PORT = 8080;

const ACTIONS = ['search', 'view', 'update', 'export', 'lookup'] as const;

/** Sample log entries shaped like access events, with synthetic subject tags and no personal data. */
function sampleEntries(start: number, count: number): Uint8Array[] {
  const out: Uint8Array[] = [];
  for (let i = start; i < start + count; i++) {
    out.push(
      canonicalJsonBytes({
        type: 'demo.sample',
        seq: i,
        action: ACTIONS[i % ACTIONS.length],
        channel: i % 3 === 0 ? 'public' : 'officials',
        subjects: [`demo-subject-${(i * 7919) % 100_000}`],
        time: new Date(Date.UTC(2026, 10, 3, 7) + i * 1000).toISOString(),
      }),
    );
  }
  return out;
}

/** What a voter types into the lookup: one voter of the demo roll. */
export interface DemoVoter {
  readonly last: string;
  readonly first: string;
  /** The birth year, as the North Carolina file publishes it. */
  readonly birthYear: string;
  readonly zip: string;
}

/**
 * Generates the demo roll (North Carolina layout, synthetic voters) and imports it, unless the
 * database already holds voters. Returns one voter of the roll, to show the lookup with.
 * @throws whatever generating, opening the store or importing throws
 */
export async function loadDemoRoll(
  dir: string,
  options: {
    readonly voters: number;
    readonly io: CliIo;
    /** Seed of the generated roll; the demo's by default. */
    readonly seed?: string;
    /** Database location; the data directory's SQLite file by default. */
    readonly database?: string;
  },
): Promise<DemoVoter | undefined> {
  const { voters, io } = options;
  const paths = dataDir(dir);
  const file = join(paths.root, 'demo-roll-ncvoter.txt');
  if (!existsSync(file)) {
    io.out(`Generating a synthetic roll of ${voters} voters in "${file}"\n`);
    await generateVoterFile({
      layout: 'nc',
      count: voters,
      seed: options.seed ?? DEMO_SEED,
      out: file,
    });
    // Synthetic, but shaped like a real roll: kept private like one.
    await chmod(file, 0o600);
  }
  const store = await openDataStore(dir, options.database);
  try {
    const { count } = await store.handle.db
      .selectFrom('voter')
      .select((eb) => eb.fn.countAll<number>().as('count'))
      .executeTakeFirstOrThrow();
    if (Number(count) === 0) {
      const log = await openDataLog(dir);
      try {
        const started = performance.now();
        const report = await importVoterFile({
          db: store.handle,
          file,
          layout: 'nc',
          keys: { dir: paths.keys },
          quarantineDir: join(paths.root, 'quarantine'),
          appendLog: async (entry) => {
            await log.append(entry);
          },
          operator: 'demo',
        });
        const seconds = (performance.now() - started) / 1000;
        await setDemoPollingPlaces(store);
        io.out(
          `Imported ${report.counts.added} voters in ${seconds.toFixed(1)} s (${report.counts.quarantined} quarantined), sealed per record\n`,
        );
      } finally {
        await log.close();
      }
    }
  } finally {
    await store.handle.close();
  }
  return exampleVoter(file);
}

/**
 * Gives every precinct of the demo roll a synthetic polling place, as an office would load its
 * precinct table, so that the lookup answers where to vote.
 */
async function setDemoPollingPlaces(store: DataStore): Promise<void> {
  const precincts = await store.handle.db
    .selectFrom('voter')
    .select(['jurisdiction', 'precinct'])
    .where('precinct', '!=', '')
    .distinct()
    .execute();
  await setPollingPlaces(
    store.handle,
    precincts.map(({ jurisdiction, precinct }) => ({
      jurisdiction,
      precinct,
      name: `Precinct ${precinct} Community Center`,
      address: `${100 + (Number.parseInt(precinct, 36) % 900)} Main St (county ${jurisdiction})`,
    })),
  );
}

/** The first voter of the generated file with a name and a ZIP code. */
async function exampleVoter(file: string): Promise<DemoVoter | undefined> {
  const layout = loadLayout('nc');
  const roles = roleIndex(layout);
  const lines = createInterface({ input: createReadStream(file, { encoding: 'latin1' }) });
  let header = true;
  for await (const line of lines) {
    if (header) {
      header = false;
      continue;
    }
    const parsed = parseDelimitedLine(line, layoutDialect(layout));
    if (!parsed.ok) continue;
    const field = (role: FieldRole): string => parsed.fields[roles.get(role)?.[0] ?? -1] ?? '';
    if (field('lastName') === '' || field('zip') === '') continue;
    lines.close();
    return {
      last: field('lastName'),
      first: field('firstName'),
      birthYear: field('birthYear'),
      zip: field('zip'),
    };
  }
  return undefined;
}

function lookupFlags(voter: DemoVoter | undefined): string {
  if (voter === undefined) return '--last NAME --first NAME --dob YYYY --zip ZIP';
  return `--last '${voter.last}' --first '${voter.first}' --dob ${voter.birthYear} --zip ${voter.zip}`;
}

async function listen(logDir: string, port: number): Promise<string> {
  try {
    return (await serveLog({ logDir, host: '127.0.0.1', port })).url;
  } catch (error: unknown) {
    if ((error as NodeJS.ErrnoException).code !== 'EADDRINUSE' || port === 0) throw error;
    return (await serveLog({ logDir, host: '127.0.0.1', port: 0 })).url;
  }
}

const demo: Command = {
  path: ['demo'],
  usage: 'votervault demo [--data DIR] [--port P] [--voters N]',
  summary:
    'Create a demo data directory if missing, generate and import a synthetic county roll (100,000 voters), append sample entries, serve the log on 127.0.0.1',
  async run(args, io) {
    const { flags } = parseFlags(
      args,
      { data: { type: 'string' }, port: { type: 'string' }, voters: { type: 'string' } },
      z.object({
        data: z.string().min(1).default(DEMO_DATA_DIR),
        voters: z
          .string()
          .regex(/^[1-9]\d{0,8}$/, 'expected a positive number of voters')
          .transform(Number)
          .default(DEMO_VOTERS),
        port: z
          .string()
          .regex(/^\d{1,5}$/, 'expected a port number')
          .transform(Number)
          .default(DEMO_PORT),
      }),
    );
    const paths = dataDir(flags.data);
    if (!existsSync(paths.keys)) {
      await initDataDir(flags.data, DEFAULT_ORIGIN);
      io.out(`Created demo data directory "${paths.root}"\n`);
    }
    await initDataStore(flags.data);
    const example = await loadDemoRoll(flags.data, { voters: flags.voters, io });
    const appender = await openDataLog(flags.data);
    try {
      const first = await appender.appendMany(sampleEntries(appender.size, DEMO_ENTRIES));
      io.out(
        `Appended ${DEMO_ENTRIES} sample entries (indices ${first} to ${first + DEMO_ENTRIES - 1}); the log holds ${appender.size}\n`,
      );
    } finally {
      await appender.close();
    }
    const keys = await loadLogKeys(paths.keys);
    const url = await listen(paths.log, flags.port);
    const [ed25519] = keys.verifierKeys;
    io.out(
      [
        '',
        `The public log is served at ${url}`,
        `  checkpoint: ${url}checkpoint`,
        '',
        'Verify it from another terminal (checks the signature and recomputes every tile):',
        `  npx votervault log verify --url ${url} --vkey '${ed25519 ?? ''}'`,
        '',
        'Look a voter of the demo roll up (synthetic data; the lookup is logged):',
        `  npx votervault lookup --data ${paths.root} ${lookupFlags(example)}`,
        '',
        'Press Ctrl-C to stop.',
        '',
      ].join('\n'),
    );
    await new Promise(() => undefined);
    return 0;
  },
};

/** The `demo` command. */
export const DEMO_COMMANDS: readonly Command[] = [demo];
