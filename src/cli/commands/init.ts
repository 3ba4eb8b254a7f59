import { z } from 'zod';
import type { Command } from '../command.ts';
import { parseFlags } from '../command.ts';
import { dataDir } from '../data-dir.ts';
import { databaseLocation, initDataStore } from '../data-store.ts';
import { DEFAULT_ORIGIN, initDataDir } from './log.ts';

const init: Command = {
  path: ['init'],
  usage: 'votervault init --data DIR [--origin ORIGIN] [--database URL]',
  summary:
    'Create a data directory: log signing keys and the key ring (mode 0600), an empty log, and the migrated database',
  async run(args, io) {
    const { flags } = parseFlags(
      args,
      { data: { type: 'string' }, origin: { type: 'string' }, database: { type: 'string' } },
      z.object({
        data: z.string().min(1, 'a data directory is required'),
        origin: z.string().default(DEFAULT_ORIGIN),
        database: z.string().min(1).optional(),
      }),
    );
    const vkeys = await initDataDir(flags.data, flags.origin);
    await initDataStore(flags.data, flags.database);
    io.out(
      `Created "${dataDir(flags.data).root}" for log "${flags.origin}"\n` +
        `Database: ${flags.database === undefined ? databaseLocation(flags.data) : 'the PostgreSQL database given'}\n` +
        'Verifier keys:\n',
    );
    for (const k of vkeys) io.out(`${k}\n`);
    return 0;
  },
};

/** The `init` command. */
export const INIT_COMMANDS: readonly Command[] = [init];
