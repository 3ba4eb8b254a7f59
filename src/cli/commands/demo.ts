import { createReadStream, existsSync } from 'node:fs';
import { chmod } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createInterface } from 'node:readline';
import { z } from 'zod';
import {
  createPrincipal,
  encodeBase32,
  findPrincipal,
  MAX_SCOPE_COUNTIES,
  parseScope,
  resetCredentials,
  scopeWords,
} from '../../access/index.ts';
import type { OfficialCredentials } from '../../access/index.ts';
import { assert } from '../../basics/index.ts';
import {
  importResults,
  latestPublication,
  publishResults,
  readResultsFile,
} from '../../results/index.ts';
import { canonicalJsonBytes } from '../../tlog/index.ts';
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
import { openWebSystem } from '../web-system.ts';
import type { WebSystem } from '../web-system.ts';
import { DEFAULT_ORIGIN, initDataDir, openDataLog } from './log.ts';
import { startWebServers, waitForSignal } from './serve.ts';
import type { RunningWeb } from './serve.ts';

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

/** The demo's election results: New Mexico's 2020 general election by precinct (OpenElections). */
export const DEMO_RESULTS_FILE = fileURLToPath(
  new URL(
    '../../../../shared/data/results/openelections-nm/20201103__nm__general__precinct.csv',
    import.meta.url,
  ),
);
/** The demo election's id. */
const DEMO_ELECTION = 'nm-2020-general';

/**
 * Imports and publishes the demo's results unless already published; says what it did. A
 * missing file is not an error: the rest of the demo runs without results.
 */
async function loadDemoResults(system: WebSystem, file: string): Promise<string> {
  const { handle, log } = system.context;
  const published = await latestPublication(handle, DEMO_ELECTION);
  if (published !== undefined)
    return `publication ${published.sequence}, log entry ${published.logIndex ?? '?'}`;
  if (!existsSync(file)) return `no results loaded: "${file}" is missing (give --results FILE)`;
  const { document } = await readResultsFile(file, { electionId: DEMO_ELECTION });
  await importResults(handle, document, { fileName: basename(file) });
  const report = await publishResults(handle, DEMO_ELECTION, {
    appendLog: (entry) => log.append(entry),
  });
  return `New Mexico 2020 by precinct, publication ${report.sequence}, log entry ${report.logIndex ?? '?'}`;
}

/** Name of the demo's official. */
const DEMO_OFFICIAL = 'demo-clerk';

/** A one-time login of the demo's official. */
interface DemoLogin {
  readonly name: string;
  readonly role: string;
  readonly scope: string;
  readonly password: string;
  /** Base32 TOTP secret. */
  readonly totpSecret: string;
  readonly totpUri: string;
}

/**
 * Creates the demo's county clerk, scoped to the counties of the demo roll, or gives it new
 * credentials when it exists: either way the login printed is good once and is new.
 */
async function demoOfficial(system: WebSystem): Promise<DemoLogin> {
  const { handle, ring, log } = system.context;
  const store = { q: handle, ring };
  const by = {
    appendLog: (entry: Uint8Array) => log.append(entry),
    channel: 'cli',
    actor: null,
  } as const;
  const rows = await handle.db.selectFrom('voter').select('jurisdiction').distinct().execute();
  const counties = rows
    .map((row) => row.jurisdiction)
    .sort()
    .slice(0, MAX_SCOPE_COUNTIES);
  const existing = await findPrincipal(store, DEMO_OFFICIAL);
  let credentials: OfficialCredentials;
  let scope: readonly string[];
  if (existing === undefined) {
    const created = await createPrincipal(store, {
      name: DEMO_OFFICIAL,
      role: 'county-clerk',
      scope: parseScope(counties),
      by,
    });
    assert(created.credentials !== undefined, 'A county clerk gets a password and TOTP secret');
    credentials = created.credentials;
    scope = scopeWords(created.principal.scope);
  } else {
    credentials = await resetCredentials(store, { name: DEMO_OFFICIAL, by });
    scope = scopeWords(existing.scope);
  }
  return {
    name: DEMO_OFFICIAL,
    role: 'county-clerk',
    scope:
      scope.length <= 3
        ? `county ${scope.join(', ')}`
        : `the ${scope.length} counties of the demo roll`,
    password: credentials.password,
    totpSecret: encodeBase32(credentials.totpSecret),
    totpUri: credentials.totpUri,
  };
}

const demo: Command = {
  path: ['demo'],
  usage: 'votervault demo [--data DIR] [--port P] [--voters N] [--results FILE]',
  summary:
    "Create a demo data directory if missing, import a synthetic county roll (100,000 voters), start the voters' site with the log (--port) and the officials' site (--port + 1) on 127.0.0.1, print a one-time official login",
  async run(args, io) {
    const { flags } = parseFlags(
      args,
      {
        data: { type: 'string' },
        port: { type: 'string' },
        voters: { type: 'string' },
        results: { type: 'string' },
      },
      z.object({
        data: z.string().min(1).default(DEMO_DATA_DIR),
        results: z.string().min(1).default(DEMO_RESULTS_FILE),
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
    const system = await openWebSystem(flags.data);
    let running: RunningWeb;
    let login: DemoLogin;
    let results: string;
    try {
      login = await demoOfficial(system);
      results = await loadDemoResults(system, flags.results);
      running = await startWebServers(system.context, {
        publicAddress: { host: '127.0.0.1', port: flags.port },
        // --port 0 asks for free ports for both.
        officialsAddress: { host: '127.0.0.1', port: flags.port === 0 ? 0 : flags.port + 1 },
        anyPortWhenTaken: true,
      });
    } catch (error) {
      await system.close();
      throw error;
    }
    const [ed25519] = system.context.verifierKeys;
    io.out(
      [
        '',
        `Voters' site: ${running.publicUrl}/`,
        '  "Am I registered? Where do I vote?" and "Who accessed my record". A voter of the demo roll',
        `  (synthetic): last name ${example?.last ?? '?'}, first name ${example?.first ?? '?'}, born in ${example?.birthYear ?? '?'} (any date of that year), ZIP code ${example?.zip ?? '?'}.`,
        '',
        `Officials' site: ${running.officialsUrl}/`,
        `  One-time login for "${login.name}" (${login.role}, ${login.scope}), shown once and stored only hashed:`,
        `  password:    ${login.password}`,
        `  TOTP secret: ${login.totpSecret}  (add it to an authenticator app, or compute a code with any TOTP tool)`,
        `  ${login.totpUri}`,
        '',
        `Election results: ${running.publicUrl}/results/  (${results})`,
        '',
        `The public log: ${running.publicUrl}/log/checkpoint`,
        'Verify it from another terminal (checks the signature and recomputes every tile):',
        `  npx votervault log verify --url ${running.publicUrl}/log/ --vkey '${ed25519 ?? ''}'`,
        '',
        'Look the same voter up from the command line (logged too, channel "cli"), once the demo is stopped:',
        `  npx votervault lookup --data ${paths.root} ${lookupFlags(example)}`,
        '',
        'Press Ctrl-C to stop.',
        '',
      ].join('\n'),
    );
    await waitForSignal();
    await running.close();
    await system.close();
    return 0;
  },
};

/** The `demo` command. */
export const DEMO_COMMANDS: readonly Command[] = [demo];
