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
import { readFile } from 'node:fs/promises';
import { loadLogKeys, parseVerifierKey } from '../../tlog/index.ts';
import type { Command } from '../command.ts';
import { parseFlags, UsageError } from '../command.ts';
import { openDataStore } from '../data-store.ts';
import { dataDir } from '../data-dir.ts';
import { openDataLog } from './log.ts';

const dataFlag = z.string().min(1, 'a data directory is required');
const databaseFlag = z.string().min(1).optional();
const electionFlag = z
  .string()
  .regex(ELECTION_ID_PATTERN, 'expected letters, digits, "-" and "_" (at most 64)');

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
        data: { type: 'string' },
        database: { type: 'string' },
        election: { type: 'string' },
        format: { type: 'string' },
        name: { type: 'string' },
        date: { type: 'string' },
      },
      z.object({
        data: dataFlag,
        database: databaseFlag,
        election: electionFlag,
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
    const store = await openDataStore(flags.data, flags.database);
    try {
      for (const file of positionals) {
        const { format, document } = await readResultsFile(file, {
          electionId: flags.election,
          mappings,
          ...(flags.format === undefined ? {} : { format: flags.format }),
          ...(flags.name === undefined ? {} : { electionName: flags.name }),
          ...(flags.date === undefined ? {} : { electionDate: flags.date }),
        });
        io.out(
          `${basename(file)}: ${flags.format === undefined ? 'guessed' : 'given'} format ${format}\n`,
        );
        const sha256 = createHash('sha256')
          .update(await readFile(file))
          .digest('hex');
        const report = await importResults(store.handle, document, {
          fileName: basename(file),
          sha256,
          ...(flags.name === undefined ? {} : { electionName: flags.name }),
          ...(flags.date === undefined ? {} : { electionDate: flags.date }),
        });
        const byCode = Object.entries(report.anomaliesByCode)
          .map(([code, n]) => `${code} ${n}`)
          .join(', ');
        io.out(
          `  ${report.replaced ? 'replaced' : 'imported'} into "${report.electionId}": ${report.units} units, ${report.contests} contests, ${report.choices} choices, ${report.counts} counts, ${report.anomalies} anomalies${byCode === '' ? '' : ` (${byCode})`}\n`,
        );
        for (const a of document.anomalies.slice(0, 5)) {
          io.out(`  ${a.source.file}:${a.source.line} ${a.code} ${a.detail}\n`);
        }
        if (document.anomalies.length > 5) {
          io.out(`  … ${document.anomalies.length - 5} more anomalies\n`);
        }
      }
    } finally {
      await store.handle.close();
    }
    return 0;
  },
};

const publish: Command = {
  path: ['results', 'publish'],
  usage: 'votervault results publish --data DIR --election ID [--database URL]',
  summary:
    'Freeze the public view of an election as a canonical JSON snapshot, store it and announce its hash in the log',
  async run(args, io) {
    const { flags } = parseFlags(
      args,
      { data: { type: 'string' }, database: { type: 'string' }, election: { type: 'string' } },
      z.object({ data: dataFlag, database: databaseFlag, election: electionFlag }),
    );
    const store = await openDataStore(flags.data, flags.database);
    try {
      const log = await openDataLog(flags.data);
      try {
        const report = await publishResults(store.handle, flags.election, {
          appendLog: (entry) => log.append(entry),
        });
        io.out(
          `Published "${report.electionId}" sequence ${report.sequence}: sha256 ${report.sha256}, ${report.bytes} bytes, log index ${report.logIndex ?? 'none'}; ${report.changes.length} contests changed\n`,
        );
      } finally {
        await log.close();
      }
    } finally {
      await store.handle.close();
    }
    return 0;
  },
};

const history: Command = {
  path: ['results', 'history'],
  usage: 'votervault results history --data DIR --election ID [--database URL]',
  summary: "List an election's publications and what changed in each, as JSON",
  async run(args, io) {
    const { flags } = parseFlags(
      args,
      { data: { type: 'string' }, database: { type: 'string' }, election: { type: 'string' } },
      z.object({ data: dataFlag, database: databaseFlag, election: electionFlag }),
    );
    const store = await openDataStore(flags.data, flags.database);
    try {
      io.out(
        `${JSON.stringify(await publicationHistory(store.handle, flags.election), null, 2)}\n`,
      );
    } finally {
      await store.handle.close();
    }
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
      {
        data: { type: 'string' },
        database: { type: 'string' },
        election: { type: 'string' },
        sequence: { type: 'string' },
      },
      z.object({
        data: dataFlag,
        database: databaseFlag,
        election: electionFlag,
        sequence: decimal.optional(),
      }),
    );
    const paths = dataDir(flags.data);
    const keys = await loadLogKeys(paths.keys);
    const store = await openDataStore(flags.data, flags.database);
    try {
      const report = await verifyPublication(store.handle, flags.election, {
        logDir: paths.log,
        verifiers: keys.verifierKeys.map((k) => parseVerifierKey(k)),
        ...(flags.sequence === undefined ? {} : { sequence: flags.sequence }),
      });
      io.out(
        `OK "${report.electionId}" sequence ${report.sequence} sha256 ${report.sha256} is entry ${report.logIndex} of the signed tree of size ${report.treeSize}` +
          (report.matchesCurrentData
            ? '; the stored results still give this snapshot\n'
            : '; the stored results have changed since (publish a correction)\n'),
      );
    } finally {
      await store.handle.close();
    }
    return 0;
  },
};

/** The `results …` commands. */
export const RESULTS_COMMANDS: readonly Command[] = [importCommand, publish, history, verify];
