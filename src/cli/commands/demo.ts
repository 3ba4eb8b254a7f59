import { existsSync } from 'node:fs';
import { z } from 'zod';
import { canonicalJsonBytes, loadLogKeys, serveLog } from '../../tlog/index.ts';
import type { Command } from '../command.ts';
import { parseFlags } from '../command.ts';
import { dataDir } from '../data-dir.ts';
import { DEFAULT_ORIGIN, initDataDir, openDataLog } from './log.ts';

/** Where the demo keeps its data unless told otherwise (ignored by git). */
export const DEMO_DATA_DIR = 'votervault-demo';
/** Sample entries appended on each demo start. */
const DEMO_ENTRIES = 1000;
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
  usage: 'votervault demo [--data DIR] [--port P]',
  summary:
    'Create a demo data directory if missing, append sample entries, serve the log on 127.0.0.1',
  async run(args, io) {
    const { flags } = parseFlags(
      args,
      { data: { type: 'string' }, port: { type: 'string' } },
      z.object({
        data: z.string().min(1).default(DEMO_DATA_DIR),
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
