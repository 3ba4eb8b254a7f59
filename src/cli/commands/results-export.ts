import { cp, mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { z } from 'zod';
import { createResultsSite, readResultsAssets, writeStaticSite } from '../../web/index.ts';
import type { Command } from '../command.ts';
import { parseFlags } from '../command.ts';
import { openWebSystem } from '../web-system.ts';

const exportSite: Command = {
  path: ['results', 'export'],
  usage: 'votervault results export --data DIR --out DIR [--database URL]',
  summary:
    'Write the published results site (HTML, SVG, JSON, CSV, NIST SP 1500-100, content-hashed assets) and the log tiles as static files for any web server, object store or CDN',
  async run(args, io) {
    const { flags } = parseFlags(
      args,
      { data: { type: 'string' }, out: { type: 'string' }, database: { type: 'string' } },
      z.object({
        data: z.string().min(1, 'a data directory is required'),
        out: z.string().min(1, 'an output directory is required'),
        database: z.string().min(1).optional(),
      }),
    );
    const system = await openWebSystem(flags.data, flags.database);
    try {
      const views = await createResultsSite(system.context).staticViews();
      await mkdir(flags.out, { recursive: true });
      const report = await writeStaticSite(flags.out, views, await readResultsAssets());
      // The log goes beside the results so that "verify this result" works from the same host;
      // its files are immutable apart from the checkpoint.
      await cp(system.context.logDir, join(flags.out, 'log'), {
        recursive: true,
        filter: (source) => !source.endsWith('.lock') && !source.endsWith('.tmp'),
      });
      io.out(
        `Wrote ${report.files.length} files of ${views.contests.length} contests and the log to "${flags.out}"\n`,
      );
    } finally {
      await system.close();
    }
    return 0;
  },
};

/** The `results export` command. */
export const RESULTS_EXPORT_COMMANDS: readonly Command[] = [exportSite];
