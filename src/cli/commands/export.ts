import { z } from 'zod';
import { canonicalJsonBytes } from '../../tlog/index.ts';
import { exportVoters, loadLayout, SHIPPED_LAYOUT_IDS, traceFile } from '../../voters/index.ts';
import type { TraceCandidate, TraceReport } from '../../voters/index.ts';
import type { Command } from '../command.ts';
import { parseFlags, UsageError } from '../command.ts';
import { openDataLog } from './log.ts';
import { openDataStore } from '../data-store.ts';

const dataFlag = z.string().min(1, 'a data directory is required');
const databaseFlag = z.string().min(1).optional();
const layoutFlag = z.string().min(1, 'a layout id or policy file is required');

const exportCommand: Command = {
  path: ['export'],
  usage: `votervault export --data DIR --layout ${SHIPPED_LAYOUT_IDS.join('|')}|FILE --recipient NAME --purpose TEXT --out FILE [--county C]... [--column NAME]... [--database URL]`,
  summary:
    'Write the public columns of the roll for a named recipient and a stated purpose, watermarked per recipient and logged',
  async run(args, io) {
    const { flags, positionals } = parseFlags(
      args,
      {
        data: { type: 'string' },
        database: { type: 'string' },
        layout: { type: 'string' },
        recipient: { type: 'string' },
        purpose: { type: 'string' },
        out: { type: 'string' },
        county: { type: 'string', multiple: true },
        column: { type: 'string', multiple: true },
      },
      z.object({
        data: dataFlag,
        database: databaseFlag,
        layout: layoutFlag,
        recipient: z.string().trim().min(1, 'name the organisation receiving the file'),
        purpose: z.string().trim().min(1, 'state the purpose the recipient gave'),
        out: z.string().min(1, 'an output file is required'),
        county: z.array(z.string().min(1)).optional(),
        column: z.array(z.string().min(1)).optional(),
      }),
    );
    if (positionals.length > 0) {
      throw new UsageError(`Unexpected argument "${String(positionals[0])}"`);
    }
    const layout = loadLayout(flags.layout);
    const store = await openDataStore(flags.data, flags.database);
    try {
      const log = await openDataLog(flags.data);
      try {
        const report = await exportVoters(store.handle, store.ring, {
          layout,
          recipient: flags.recipient,
          purpose: flags.purpose,
          out: flags.out,
          ...(flags.county === undefined ? {} : { jurisdictions: flags.county }),
          ...(flags.column === undefined ? {} : { columns: flags.column }),
          appendLog: async (entry) => {
            await log.append(canonicalJsonBytes({ ...entry, channel: 'cli' }));
          },
        });
        // The number of canary records stays out of what the official may pass on.
        io.out(
          `Exported ${report.records} voters (${report.columns.length} public columns, layout "${report.layout}") to "${flags.out}"\n` +
            `Export ${report.exportId} for ${JSON.stringify(report.recipient)}, logged at ${report.time}\n`,
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

/** One candidate's evidence as a line of text. */
function evidence(candidate: TraceCandidate): string {
  const { canaries, fingerprint } = candidate;
  // Below the smallest double the p-value rounds to 0; the score still orders candidates.
  const chance = fingerprint.pValue > 0 ? fingerprint.pValue.toExponential(1) : 'below 1e-300';
  return (
    `${canaries.confirmed} of ${canaries.issued} canary records; ` +
    `${fingerprint.agreeing} of ${fingerprint.compared} address marks agree ` +
    `(chance for a file not from this export: ${chance})`
  );
}

function describeTrace(file: string, report: TraceReport): string {
  const match = report.match;
  if (match === undefined) {
    const best = report.candidates[0];
    return (
      `No recorded export matched "${file}" (${report.rows} rows read)\n` +
      (best === undefined ? '' : `Closest: export ${best.exportId}: ${evidence(best)}\n`)
    );
  }
  return (
    `Matched export ${match.exportId}\n` +
    `  recipient: ${match.recipient}\n` +
    `  time: ${match.time}\n` +
    `  purpose: ${match.purpose}\n` +
    `  records: ${match.records} (layout "${match.layout}")\n` +
    `  evidence: ${evidence(match)}\n`
  );
}

const traceCommand: Command = {
  path: ['trace'],
  usage: 'votervault trace FILE --data DIR [--layout ID|FILE] [--database URL] [--json]',
  summary:
    'Name the export a leaked file (or any excerpt of it) came from: recipient, time and purpose, with the evidence (exit 1 when none matches)',
  async run(args, io) {
    const { flags, positionals } = parseFlags(
      args,
      {
        data: { type: 'string' },
        database: { type: 'string' },
        layout: { type: 'string' },
        json: { type: 'boolean' },
      },
      z.object({
        data: dataFlag,
        database: databaseFlag,
        layout: layoutFlag.optional(),
        json: z.boolean().optional(),
      }),
    );
    const [file, ...rest] = positionals;
    if (file === undefined || rest.length > 0) {
      throw new UsageError('Give exactly one file to trace');
    }
    const layout = flags.layout === undefined ? undefined : loadLayout(flags.layout);
    const store = await openDataStore(flags.data, flags.database);
    let report: TraceReport;
    try {
      report = await traceFile(
        store.handle,
        store.ring,
        file,
        layout === undefined ? {} : { layout },
      );
    } finally {
      await store.handle.close();
    }
    if (flags.json === true) {
      io.out(`${JSON.stringify(report, null, 2)}\n`);
    } else if (report.candidates.length === 0) {
      io.out(`No export is recorded in this data directory's database\n`);
    } else {
      io.out(describeTrace(file, report));
    }
    return report.match === undefined ? 1 : 0;
  },
};

/** The export commands: export, trace. */
export const EXPORT_COMMANDS: readonly Command[] = [exportCommand, traceCommand];
