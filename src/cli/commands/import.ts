import { userInfo } from 'node:os';
import { basename, join } from 'node:path';
import { z } from 'zod';
import {
  createProgressBar,
  formatCount,
  generateVoterFile,
  IMPORT_LAYOUT_IDS,
  importVoterFileInThread,
  MAX_GENERATED_ROWS,
  SHIPPED_LAYOUT_IDS,
} from '../../voters/index.ts';
import type { ImportProgress, ImportReport, ProgressBar } from '../../voters/index.ts';
import type { CliIo, Command } from '../command.ts';
import { parseFlags, UsageError } from '../command.ts';
import { dataDir } from '../data-dir.ts';
import { databaseLocation, openDataStore } from '../data-store.ts';
import { openDataLog } from './log.ts';

/** Directory of the quarantine files inside a data directory (mode 0700, files 0600). */
export const QUARANTINE_DIR = 'quarantine';

/** Longest operator name recorded in a log entry. */
const MAX_OPERATOR_LENGTH = 64;

const dataFlag = z.string().min(1, 'a data directory is required');
const count = (min: number, max: number): z.ZodType<number, string> =>
  z
    .string()
    .regex(/^[1-9]\d{0,9}$/, 'expected a positive decimal integer')
    .transform(Number)
    .refine((n) => n >= min && n <= max, `expected ${min} to ${formatCount(max)}`);
const operatorFlag = z
  .string()
  .min(1)
  .max(MAX_OPERATOR_LENGTH)
  // Recorded in the public log: printable text only, no line breaks or control characters.
  .regex(/^[^\p{Cc}\p{Cf}]+$/u, 'expected printable text');

/** The quarantine directory of a data directory. */
export function quarantineDir(dir: string): string {
  return join(dataDir(dir).root, QUARANTINE_DIR);
}

/** Who runs a command, for the log: the OS user name, or `unknown` when it has none. */
export function osOperator(): string {
  try {
    const name = userInfo().username;
    return operatorFlag.safeParse(name).success ? name : 'unknown';
  } catch {
    return 'unknown';
  }
}

/** The summary printed after each file. */
export function importSummary(file: string, report: ImportReport): string {
  const c = report.counts;
  const lines = [
    `Imported "${file}" with layout ${report.layout} (import ${report.importId}): ${formatCount(report.rows)} rows; ` +
      `${formatCount(c.added)} added, ${formatCount(c.changed)} changed, ${formatCount(c.unchanged)} unchanged, ` +
      `${formatCount(c.removed)} removed, ${formatCount(c.quarantined)} quarantined`,
  ];
  if (report.resumedAfterLine > 0) {
    lines.push(`Resumed an interrupted run of this file after line ${report.resumedAfterLine}`);
  }
  if (report.quarantineFile !== undefined) {
    lines.push(
      `Quarantined rows (line, field, code, reason, raw line) are in "${report.quarantineFile}"`,
    );
  }
  return `${lines.join('\n')}\n`;
}

/** Progress of one file's import: a hashing bar, then an importing bar (see progress.ts). */
function importProgress(
  io: CliIo,
  file: string,
  everyRows: number | undefined,
): { readonly onProgress: (p: ImportProgress) => void; finish(): void } {
  let phase: ImportProgress['phase'] | undefined;
  let bar: ProgressBar | undefined;
  const name = basename(file);
  return {
    onProgress(p) {
      if (p.phase !== phase) {
        bar?.finish();
        phase = p.phase;
        bar = createProgressBar({
          write: io.err,
          isTty: io.isTty,
          label: `${p.phase === 'hashing' ? 'Hashing' : 'Importing'} ${name}`,
          total: p.bytesTotal,
          showRows: p.phase === 'importing',
          ...(everyRows === undefined || p.phase === 'hashing' ? {} : { everyRows }),
        });
      }
      bar?.update(p.bytesDone, p.rows);
    },
    finish() {
      bar?.finish();
    },
  };
}

const importCommand: Command = {
  path: ['import'],
  usage: `votervault import --data DIR --layout ${IMPORT_LAYOUT_IDS.join('|')}|POLICY.json FILE... [--database URL] [--operator NAME] [--workers N] [--batch-size N] [--progress-every N]`,
  summary:
    'Import voter files (resumable; bad rows quarantined in DIR/quarantine); report added, changed, unchanged, removed and quarantined rows; log each import',
  async run(args, io) {
    const { flags, positionals } = parseFlags(
      args,
      {
        data: { type: 'string' },
        layout: { type: 'string' },
        database: { type: 'string' },
        operator: { type: 'string' },
        workers: { type: 'string' },
        'batch-size': { type: 'string' },
        'progress-every': { type: 'string' },
      },
      z.object({
        data: dataFlag,
        layout: z
          .string()
          .min(1)
          .refine(
            (v) => (IMPORT_LAYOUT_IDS as readonly string[]).includes(v) || /[/\\.]/.test(v),
            `expected ${IMPORT_LAYOUT_IDS.join(', ')} or the path of a policy file`,
          ),
        database: z.string().min(1).optional(),
        operator: operatorFlag.optional(),
        workers: z
          .string()
          .regex(/^\d{1,3}$/, 'expected a number of threads')
          .transform(Number)
          .optional(),
        'batch-size': count(1, 100_000).optional(),
        'progress-every': count(1, MAX_GENERATED_ROWS).optional(),
      }),
    );
    if (positionals.length === 0) throw new UsageError('Give at least one voter file to import');
    const paths = dataDir(flags.data);
    const database = databaseLocation(flags.data, flags.database);
    // Checks the key ring and applies the project's migrations; the import opens its own
    // connection on its thread.
    const store = await openDataStore(flags.data, flags.database);
    await store.handle.close();
    const log = await openDataLog(flags.data);
    try {
      for (const file of positionals) {
        const progress = importProgress(io, file, flags['progress-every']);
        let report: ImportReport;
        try {
          // On a thread of its own with a bounded heap: see importVoterFileInThread.
          report = await importVoterFileInThread({
            database,
            file,
            layout: flags.layout,
            keys: { dir: paths.keys },
            quarantineDir: quarantineDir(flags.data),
            appendLog: async (entry) => {
              await log.append(entry);
            },
            operator: flags.operator ?? osOperator(),
            ...(flags.workers === undefined ? {} : { workers: flags.workers }),
            ...(flags['batch-size'] === undefined ? {} : { batchSize: flags['batch-size'] }),
            onProgress: progress.onProgress,
          });
        } finally {
          progress.finish();
        }
        io.out(importSummary(file, report));
      }
    } finally {
      await log.close();
    }
    return 0;
  },
};

const generateCommand: Command = {
  path: ['generate'],
  usage: `votervault generate --layout ${SHIPPED_LAYOUT_IDS.join('|')} --count N --seed S --out FILE [--as-of YYYY-MM-DD]`,
  summary:
    'Write a synthetic voter file in a state layout (the same seed gives the same bytes; no real person in it)',
  async run(args, io) {
    const { flags } = parseFlags(
      args,
      {
        layout: { type: 'string' },
        count: { type: 'string' },
        seed: { type: 'string' },
        out: { type: 'string' },
        'as-of': { type: 'string' },
      },
      z.object({
        layout: z.enum(SHIPPED_LAYOUT_IDS),
        count: count(1, MAX_GENERATED_ROWS),
        seed: z.string().min(1, 'a seed is required'),
        out: z.string().min(1, 'an output file is required'),
        'as-of': z
          .string()
          .regex(/^\d{4}-\d{2}-\d{2}$/, 'expected YYYY-MM-DD')
          .optional(),
      }),
    );
    const bar = createProgressBar({
      write: io.err,
      isTty: io.isTty,
      label: `Generating ${basename(flags.out)}`,
      total: flags.count,
    });
    let written;
    try {
      written = await generateVoterFile({
        layout: flags.layout,
        count: flags.count,
        seed: flags.seed,
        out: flags.out,
        ...(flags['as-of'] === undefined ? {} : { asOf: flags['as-of'] }),
        onProgress: (p) => bar.update(p.rows, p.rows),
      });
    } finally {
      bar.finish();
    }
    io.out(
      `Wrote ${formatCount(written.rows)} rows (${formatCount(written.bytes)} bytes) in layout ${flags.layout} to "${flags.out}"\n`,
    );
    return 0;
  },
};

/** The `import` and `generate` commands. */
export const IMPORT_COMMANDS: readonly Command[] = [importCommand, generateCommand];
