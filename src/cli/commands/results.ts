import { createHash } from 'node:crypto';
import { basename } from 'node:path';
import { z } from 'zod';
import {
  ELECTION_ID_PATTERN,
  RESULTS_FORMATS,
  importResults,
  loadNameMappings,
  publicationHistory,
  publishResults,
  readResultsFile,
  verifyPublication,
} from '../../results/index.ts';
import type { Anomaly, ImportReport } from '../../results/index.ts';
import { readFile } from 'node:fs/promises';
import { loadLogKeys, parseVerifierKey } from '../../tlog/index.ts';
import type { Command } from '../command.ts';
import { parseFlags, UsageError } from '../command.ts';
import { openDataStore } from '../data-store.ts';
import type { DataStore } from '../data-store.ts';
import { dataDir } from '../data-dir.ts';
import { openDataLog } from './log.ts';

const dataFlag = z.string().min(1, 'a data directory is required');
const databaseFlag = z.string().min(1).optional();
const electionFlag = z
  .string()
  .regex(ELECTION_ID_PATTERN, 'expected letters, digits, "-" and "_" (at most 64)');

/** The flags every results command takes: where the data is and which election. */
const electionOptions = {
  data: { type: 'string' },
  database: { type: 'string' },
  election: { type: 'string' },
} as const;
const electionSchema = { data: dataFlag, database: databaseFlag, election: electionFlag };

/** Parses the flags of a command that takes only {@link electionOptions}. */
function parseElectionFlags(args: readonly string[]): {
  readonly data: string;
  readonly database?: string | undefined;
  readonly election: string;
} {
  return parseFlags(args, electionOptions, z.object(electionSchema)).flags;
}

/** Runs `work` on the data directory's database, and closes it whatever happens. */
async function withResultsStore<T>(
  flags: { readonly data: string; readonly database?: string | undefined },
  work: (handle: DataStore['handle']) => Promise<T>,
): Promise<T> {
  const store = await openDataStore(flags.data, flags.database);
  try {
    return await work(store.handle);
  } finally {
    await store.handle.close();
  }
}

const importCommand: Command = {
  path: ['results', 'import'],
  usage:
    'votervault results import --data DIR --election ID [--format F] [--name N --date YYYY-MM-DD] [--database URL] FILE...',
  summary:
    "Read results files (format guessed unless given), apply the office's name mappings and store them in the election; re-importing a file replaces it",
  async run(args, io) {
    const { flags, positionals } = parseFlags(
      args,
      {
        ...electionOptions,
        format: { type: 'string' },
        name: { type: 'string' },
        date: { type: 'string' },
      },
      z.object({
        ...electionSchema,
        format: z.enum(RESULTS_FORMATS).optional(),
        name: z.string().min(1).max(200).optional(),
        date: z
          .string()
          .regex(/^\d{4}-\d{2}-\d{2}$/, 'expected YYYY-MM-DD')
          .optional(),
      }),
    );
    if (positionals.length === 0) throw new UsageError('Give at least one results file');
    const mappings = await loadNameMappings(dataDir(flags.data).root);
    // The same name and date go to the reader (for a file that states none) and to the store.
    const naming = {
      ...(flags.name === undefined ? {} : { electionName: flags.name }),
      ...(flags.date === undefined ? {} : { electionDate: flags.date }),
    };
    await withResultsStore(flags, async (handle) => {
      for (const file of positionals) {
        const { format, document } = await readResultsFile(file, {
          electionId: flags.election,
          mappings,
          ...(flags.format === undefined ? {} : { format: flags.format }),
          ...naming,
        });
        io.out(
          `${basename(file)}: ${flags.format === undefined ? 'guessed' : 'given'} format ${format}\n`,
        );
        const sha256 = createHash('sha256')
          .update(await readFile(file))
          .digest('hex');
        const report = await importResults(handle, document, {
          fileName: basename(file),
          sha256,
          ...naming,
        });
        io.out(importSummary(report, document.anomalies));
      }
    });
    return 0;
  },
};

/** Most anomalies an import lists one by one; the rest are counted. */
const LISTED_ANOMALIES = 5;

/** What the import of one file prints: its figures, then its first anomalies. */
function importSummary(report: ImportReport, anomalies: readonly Anomaly[]): string {
  const byCode = Object.entries(report.anomaliesByCode)
    .map(([code, n]) => `${code} ${n}`)
    .join(', ');
  const lines = [
    `  ${report.replaced ? 'replaced' : 'imported'} into "${report.electionId}": ${report.units} units, ${report.contests} contests, ${report.choices} choices, ${report.counts} counts, ${report.anomalies} anomalies${byCode === '' ? '' : ` (${byCode})`}\n`,
    ...anomalies
      .slice(0, LISTED_ANOMALIES)
      .map((a) => `  ${a.source.file}:${a.source.line} ${a.code} ${a.detail}\n`),
  ];
  if (anomalies.length > LISTED_ANOMALIES) {
    lines.push(`  … ${anomalies.length - LISTED_ANOMALIES} more anomalies\n`);
  }
  return lines.join('');
}

const publish: Command = {
  path: ['results', 'publish'],
  usage: 'votervault results publish --data DIR --election ID [--database URL]',
  summary:
    'Freeze the public view of an election as a canonical JSON snapshot, store it and announce its hash in the log',
  async run(args, io) {
    const flags = parseElectionFlags(args);
    await withResultsStore(flags, async (handle) => {
      const log = await openDataLog(flags.data);
      try {
        const report = await publishResults(handle, flags.election, {
          appendLog: (entry) => log.append(entry),
        });
        io.out(
          `Published "${report.electionId}" sequence ${report.sequence}: sha256 ${report.sha256}, ${report.bytes} bytes, log index ${report.logIndex ?? 'none'}; ${report.changes.length} contests changed\n`,
        );
      } finally {
        await log.close();
      }
    });
    return 0;
  },
};

const history: Command = {
  path: ['results', 'history'],
  usage: 'votervault results history --data DIR --election ID [--database URL]',
  summary: "List an election's publications and what changed in each, as JSON",
  async run(args, io) {
    const flags = parseElectionFlags(args);
    const publications = await withResultsStore(flags, (handle) =>
      publicationHistory(handle, flags.election),
    );
    io.out(`${JSON.stringify(publications, null, 2)}\n`);
    return 0;
  },
};

const decimal = z
  .string()
  .regex(/^[1-9]\d{0,8}$/, 'expected a positive integer')
  .transform(Number);

const verify: Command = {
  path: ['results', 'verify'],
  usage: 'votervault results verify --data DIR --election ID [--sequence N] [--database URL]',
  summary:
    "Check a publication (default: the latest) against its hash, its log entry and the log's signed checkpoint (exit 1 when it fails)",
  async run(args, io) {
    const { flags } = parseFlags(
      args,
      { ...electionOptions, sequence: { type: 'string' } },
      z.object({
        ...electionSchema,
        sequence: decimal.optional(),
      }),
    );
    const paths = dataDir(flags.data);
    const keys = await loadLogKeys(paths.keys);
    const report = await withResultsStore(flags, (handle) =>
      verifyPublication(handle, flags.election, {
        logDir: paths.log,
        verifiers: keys.verifierKeys.map((k) => parseVerifierKey(k)),
        ...(flags.sequence === undefined ? {} : { sequence: flags.sequence }),
      }),
    );
    io.out(
      `OK "${report.electionId}" sequence ${report.sequence} sha256 ${report.sha256} is entry ${report.logIndex} of the signed tree of size ${report.treeSize}` +
        (report.matchesCurrentData
          ? '; the stored results still give this snapshot\n'
          : '; the stored results have changed since (publish a correction)\n'),
    );
    return 0;
  },
};

/** The `results …` commands. */
export const RESULTS_COMMANDS: readonly Command[] = [importCommand, publish, history, verify];
