import { createReadStream } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { createInterface } from 'node:readline';
import { z } from 'zod';
import {
  consistencyProof,
  createFsTileReader,
  createLogKeys,
  inclusionProof,
  loadLogKeys,
  openLogAppender,
  parseVerifierKey,
  readCheckpointFile,
  serveLog,
  signCheckpointAsync,
  verifyLog,
  directorySource,
  httpSource,
  MAX_ENTRY_BYTES,
  TlogError,
} from '../../tlog/index.ts';
import type { LogAppender } from '../../tlog/index.ts';
import type { CliIo, Command } from '../command.ts';
import { parseFlags, UsageError } from '../command.ts';
import { dataDir } from '../data-dir.ts';

/** Default origin line for a new log: replace it with the URL prefix the log is served at. */
export const DEFAULT_ORIGIN = 'votervault.localhost/log';
/** Entries handed to the appender at once by `log append`. */
const APPEND_CHUNK = 4096;

const dataFlag = z.string().min(1, 'a data directory is required');
const decimal = z
  .string()
  .regex(/^(?:0|[1-9]\d{0,15})$/, 'expected a non-negative decimal integer')
  .transform(Number);

/**
 * Creates a data directory with the log's signing keys and an empty log, or refuses when it
 * already holds keys.
 * @throws TlogError KEY_FILE_EXISTS, CHECKPOINT_MALFORMED (bad origin), IO_FAILED
 */
export async function initDataDir(dir: string, origin: string): Promise<readonly string[]> {
  const paths = dataDir(dir);
  await mkdir(paths.root, { recursive: true, mode: 0o700 });
  await mkdir(paths.log, { recursive: true, mode: 0o755 });
  const { verifierKeys } = await createLogKeys(paths.keys, origin);
  const appender = await openDataLog(dir);
  await appender.close();
  return verifierKeys;
}

/**
 * Opens the log of a data directory for appending, signing with its keys; a server passes
 * `writeThread` so that its busy event loop does not slow the log's writes down.
 * @throws TlogError KEY_FILE_INSECURE, LOG_LOCKED, ROOT_MISMATCH, NOT_FOUND
 */
export async function openDataLog(
  dir: string,
  options: { readonly writeThread?: boolean } = {},
): Promise<LogAppender> {
  const paths = dataDir(dir);
  const keys = await loadLogKeys(paths.keys);
  return openLogAppender({
    logDir: paths.log,
    origin: keys.origin,
    sign: (checkpoint) => signCheckpointAsync(checkpoint, keys.signers),
    ...(options.writeThread === undefined ? {} : { writeThread: options.writeThread }),
  });
}

async function currentSize(logDir: string): Promise<number> {
  const text = await readCheckpointFile(logDir);
  if (text === undefined)
    throw new UsageError(`No checkpoint in "${logDir}": run "votervault init" first`);
  return Number(text.split('\n')[1]);
}

async function* linesOf(input: NodeJS.ReadableStream): AsyncGenerator<string> {
  // Attacker-controlled only in the sense of operator input; each line becomes one entry and
  // the appender refuses lines over the entry limit with a coded error.
  const rl = createInterface({ input, crlfDelay: Number.POSITIVE_INFINITY });
  for await (const line of rl) yield line;
}

const vkey: Command = {
  path: ['log', 'vkey'],
  usage: 'votervault log vkey --data DIR',
  summary: "Print the log's verifier keys (Ed25519 first, then ML-DSA-44)",
  async run(args, io) {
    const { flags } = parseFlags(args, { data: { type: 'string' } }, z.object({ data: dataFlag }));
    const keys = await loadLogKeys(dataDir(flags.data).keys);
    for (const k of keys.verifierKeys) io.out(`${k}\n`);
    return 0;
  },
};

const append: Command = {
  path: ['log', 'append'],
  usage: 'votervault log append --data DIR [FILE...]',
  summary:
    'Append each line of each file (or standard input) as one entry; print the first and last index',
  async run(args, io) {
    const { flags, positionals } = parseFlags(
      args,
      { data: { type: 'string' } },
      z.object({ data: dataFlag }),
    );
    const appender = await openDataLog(flags.data);
    let first: number | undefined;
    let last: number | undefined;
    try {
      const sources: { name: string; stream: NodeJS.ReadableStream }[] =
        positionals.length === 0
          ? [{ name: 'standard input', stream: io.stdin }]
          : positionals.map((f) => ({ name: f, stream: createReadStream(f) }));
      let chunk: Uint8Array[] = [];
      const flush = async (): Promise<void> => {
        if (chunk.length === 0) return;
        const start = await appender.appendMany(chunk);
        first ??= start;
        last = start + chunk.length - 1;
        chunk = [];
      };
      for (const source of sources) {
        let lineNumber = 0;
        for await (const line of linesOf(source.stream)) {
          lineNumber++;
          const bytes = Buffer.from(line, 'utf8');
          if (bytes.length > MAX_ENTRY_BYTES) {
            await flush();
            const done =
              first === undefined
                ? 'nothing was appended'
                : `entries ${first} to ${last} were appended`;
            throw new TlogError(
              'ENTRY_TOO_LARGE',
              `Cannot append line ${lineNumber} of "${source.name}": ${bytes.length} bytes, the limit is ${MAX_ENTRY_BYTES}; ${done}`,
            );
          }
          chunk.push(bytes);
          if (chunk.length >= APPEND_CHUNK) await flush();
        }
      }
      await flush();
    } finally {
      await appender.close();
    }
    if (first === undefined || last === undefined) {
      io.err('No entries to append\n');
      return 1;
    }
    io.out(`first ${first}\nlast ${last}\n`);
    return 0;
  },
};

const checkpoint: Command = {
  path: ['log', 'checkpoint'],
  usage: 'votervault log checkpoint --data DIR',
  summary: 'Print the current signed checkpoint',
  async run(args, io) {
    const { flags } = parseFlags(args, { data: { type: 'string' } }, z.object({ data: dataFlag }));
    const logDir = dataDir(flags.data).log;
    const text = await readCheckpointFile(logDir);
    if (text === undefined)
      throw new UsageError(`No checkpoint in "${logDir}": run "votervault init" first`);
    io.out(text);
    return 0;
  },
};

function printHashes(io: CliIo, hashes: readonly Uint8Array[]): void {
  for (const h of hashes) io.out(`${Buffer.from(h).toString('base64')}\n`);
}

const proofInclusion: Command = {
  path: ['log', 'proof', 'inclusion'],
  usage: 'votervault log proof inclusion --data DIR --index I [--size N]',
  summary:
    'Print the inclusion proof of entry I in the tree of size N (default: the checkpoint), one base64 hash a line',
  async run(args, io) {
    const { flags } = parseFlags(
      args,
      { data: { type: 'string' }, index: { type: 'string' }, size: { type: 'string' } },
      z.object({ data: dataFlag, index: decimal, size: decimal.optional() }),
    );
    const logDir = dataDir(flags.data).log;
    const size = flags.size ?? (await currentSize(logDir));
    printHashes(io, await inclusionProof(flags.index, size, createFsTileReader(logDir)));
    return 0;
  },
};

const proofConsistency: Command = {
  path: ['log', 'proof', 'consistency'],
  usage: 'votervault log proof consistency --data DIR --old M [--size N]',
  summary:
    'Print the consistency proof from size M to size N (default: the checkpoint), one base64 hash a line',
  async run(args, io) {
    const { flags } = parseFlags(
      args,
      { data: { type: 'string' }, old: { type: 'string' }, size: { type: 'string' } },
      z.object({ data: dataFlag, old: decimal, size: decimal.optional() }),
    );
    const logDir = dataDir(flags.data).log;
    const size = flags.size ?? (await currentSize(logDir));
    printHashes(io, await consistencyProof(flags.old, size, createFsTileReader(logDir)));
    return 0;
  },
};

const verify: Command = {
  path: ['log', 'verify'],
  usage: 'votervault log verify (--data DIR | --url URL) --vkey KEY [--vkey KEY] [--state FILE]',
  summary:
    'Check the checkpoint signature, recompute every tile and the root from the entries, and (with --state) that the log only grew',
  async run(args, io) {
    const { flags } = parseFlags(
      args,
      {
        data: { type: 'string' },
        url: { type: 'string' },
        vkey: { type: 'string', multiple: true },
        state: { type: 'string' },
      },
      z
        .object({
          data: z.string().min(1).optional(),
          url: z.url({ protocol: /^https?$/ }).optional(),
          vkey: z.array(z.string()).min(1, 'at least one verifier key is required'),
          state: z.string().min(1).optional(),
        })
        .refine((f) => (f.data === undefined) !== (f.url === undefined), {
          message: 'give exactly one of --data or --url',
          path: ['data'],
        }),
    );
    const verifiers = flags.vkey.map((k) => parseVerifierKey(k));
    const source =
      flags.url !== undefined
        ? httpSource(flags.url)
        : directorySource(dataDir(flags.data ?? '').log);
    const report = await verifyLog(source, {
      verifiers,
      ...(flags.state !== undefined ? { stateFile: flags.state } : {}),
      ...(io.isTty
        ? {
            onProgress: (done: number, total: number) =>
              io.err(`\rVerified ${done}/${total} entries`),
          }
        : {}),
    });
    if (io.isTty) io.err('\n');
    io.out(
      `OK ${report.checkpoint.origin} size ${report.checkpoint.size} root ${Buffer.from(report.checkpoint.rootHash).toString('base64')}\n` +
        `signed by ${report.verifiedBy.join(', ')}; ${report.tilesChecked} tiles and ${report.entriesChecked} entries recomputed` +
        (report.previousSize !== undefined ? `; consistent with size ${report.previousSize}` : '') +
        '\n',
    );
    return 0;
  },
};

const serve: Command = {
  path: ['log', 'serve'],
  usage: 'votervault log serve --data DIR [--host 127.0.0.1] [--port 8080]',
  summary: 'Serve the log read-only over HTTP as C2SP tlog-tiles static files',
  async run(args, io) {
    const { flags } = parseFlags(
      args,
      { data: { type: 'string' }, host: { type: 'string' }, port: { type: 'string' } },
      z.object({
        data: dataFlag,
        host: z.string().default('127.0.0.1'),
        port: decimal.default(8080),
      }),
    );
    const { url } = await serveLog({
      logDir: dataDir(flags.data).log,
      host: flags.host,
      port: flags.port,
    });
    io.out(`Serving the log at ${url} (Ctrl-C to stop)\n`);
    await new Promise(() => undefined);
    return 0;
  },
};

/** The `log …` commands. */
export const LOG_COMMANDS: readonly Command[] = [
  vkey,
  append,
  checkpoint,
  proofInclusion,
  proofConsistency,
  verify,
  serve,
];
