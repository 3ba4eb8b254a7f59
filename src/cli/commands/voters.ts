import { z } from 'zod';
import { canonicalJsonBytes } from '../../tlog/index.ts';
import { lookupVoter, rotateKeys, verifyStore } from '../../voters/index.ts';
import type { CliIo, Command } from '../command.ts';
import { parseFlags } from '../command.ts';
import { openDataStore } from '../data-store.ts';
import { openDataLog } from './log.ts';

const dataFlag = z.string().min(1, 'a data directory is required');
const databaseFlag = z.string().min(1).optional();

const lookup: Command = {
  path: ['lookup'],
  usage:
    'votervault lookup --data DIR --last L --first F --dob YYYY[-MM-DD] (--zip Z | --county C) [--database URL]',
  summary:
    'Look a voter up by name, date of birth and ZIP or county; print status, precinct and polling place as JSON (logged)',
  async run(args, io) {
    const { flags } = parseFlags(
      args,
      {
        data: { type: 'string' },
        database: { type: 'string' },
        last: { type: 'string' },
        first: { type: 'string' },
        dob: { type: 'string' },
        zip: { type: 'string' },
        county: { type: 'string' },
      },
      z
        .object({
          data: dataFlag,
          database: databaseFlag,
          last: z.string().min(1, 'a last name is required'),
          first: z.string().min(1, 'a first name is required'),
          dob: z.string().regex(/^\d{4}(?:-\d{2}-\d{2})?$/, 'expected YYYY or YYYY-MM-DD'),
          zip: z.string().min(1).optional(),
          county: z.string().min(1).optional(),
        })
        .refine((f) => f.zip !== undefined || f.county !== undefined, {
          message: 'give --zip or --county',
          path: ['zip'],
        }),
    );
    const store = await openDataStore(flags.data, flags.database);
    try {
      const log = await openDataLog(flags.data);
      try {
        const { answer } = await lookupVoter(
          store.handle,
          store.ring,
          {
            last: flags.last,
            first: flags.first,
            dob: flags.dob,
            ...(flags.zip === undefined ? {} : { zip: flags.zip }),
            ...(flags.county === undefined ? {} : { county: flags.county }),
          },
          {
            channel: 'cli',
            appendLog: async (entry) => {
              await log.append(canonicalJsonBytes(entry));
            },
          },
        );
        io.out(`${JSON.stringify(answer)}\n`);
      } finally {
        await log.close();
      }
    } finally {
      await store.handle.close();
    }
    return 0;
  },
};

const verify: Command = {
  path: ['store', 'verify'],
  usage: 'votervault store verify --data DIR [--database URL]',
  summary:
    'Open every stored record version and report altered, swapped or shredded rows by voter id (exit 1 on tampering)',
  async run(args, io) {
    const { flags } = parseFlags(
      args,
      { data: { type: 'string' }, database: { type: 'string' } },
      z.object({ data: dataFlag, database: databaseFlag }),
    );
    const store = await openDataStore(flags.data, flags.database);
    let ok: boolean;
    try {
      const report = await verifyStore(store.handle, store.ring, {
        onProgress: progressLine(io, (checked) => `Checked ${checked} record versions`),
      });
      if (io.isTty) io.err('\n');
      ok = report.ok;
      // Every record was opened: the log says so, with counts only (no voter id).
      const log = await openDataLog(flags.data);
      try {
        await log.append(
          canonicalJsonBytes({
            type: 'store-verify',
            channel: 'cli',
            checked: report.checked,
            problems: report.problems.length - report.shredded,
            shredded: report.shredded,
            time: new Date().toISOString(),
          }),
        );
      } finally {
        await log.close();
      }
      io.out(`${JSON.stringify(report, null, 2)}\n`);
    } finally {
      await store.handle.close();
    }
    return ok ? 0 : 1;
  },
};

const rotate: Command = {
  path: ['keys', 'rotate'],
  usage: 'votervault keys rotate --data DIR [--database URL]',
  summary:
    'Add a root key version, re-wrap every record key under it, retire the old version (resumable; logged)',
  async run(args, io) {
    const { flags } = parseFlags(
      args,
      { data: { type: 'string' }, database: { type: 'string' } },
      z.object({ data: dataFlag, database: databaseFlag }),
    );
    const store = await openDataStore(flags.data, flags.database);
    try {
      const log = await openDataLog(flags.data);
      try {
        const summary = await rotateKeys(store.handle, store.ring, {
          onProgress: progressLine(
            io,
            (p) =>
              `Re-wrapped ${p.rewrapped} keys under version ${p.toVersion}, ${p.remaining} left`,
          ),
          appendLog: async (entry) => {
            await log.append(canonicalJsonBytes({ ...entry, channel: 'cli' }));
          },
        });
        if (io.isTty) io.err('\n');
        io.out(`${JSON.stringify(summary)}\n`);
      } finally {
        await log.close();
      }
    } finally {
      await store.handle.close();
    }
    return 0;
  },
};

/** A progress callback that rewrites one line on a terminal and stays silent otherwise. */
function progressLine<T>(io: CliIo, format: (value: T) => string): (value: T) => void {
  return (value) => {
    if (io.isTty) io.err(`\r${format(value)}\x1b[K`);
  };
}

/** The voter store's commands: lookup, store verify, keys rotate. */
export const VOTERS_COMMANDS: readonly Command[] = [lookup, verify, rotate];
