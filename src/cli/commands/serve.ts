import { readFile } from 'node:fs/promises';
import type { FastifyInstance } from 'fastify';
import { pino } from 'pino';
import type { Logger } from 'pino';
import { z } from 'zod';
import { createOfficialsApp, createPublicApp, listen } from '../../web/index.ts';
import type { ListenAddress, TlsOptions, WebContext } from '../../web/index.ts';
import type { Command } from '../command.ts';
import { parseFlags, UsageError } from '../command.ts';
import { openWebSystem } from '../web-system.ts';

/** Where the voters' site listens by default. */
export const DEFAULT_PUBLIC_ADDRESS: ListenAddress = { host: '127.0.0.1', port: 8080 };
/** Where the officials' site listens by default: another port, for the office network only. */
export const DEFAULT_OFFICIALS_ADDRESS: ListenAddress = { host: '127.0.0.1', port: 8443 };

/** Options of {@link startWebServers}. */
export interface StartWebOptions {
  readonly publicAddress: ListenAddress;
  readonly officialsAddress: ListenAddress;
  readonly tls?: TlsOptions;
  readonly logger?: Logger;
  /** Falls back to a free port when the asked one is taken (the demo). */
  readonly anyPortWhenTaken?: boolean;
  /** Rate-limit overrides, for load tests on loopback. */
  readonly lookupLimit?: { readonly limit: number; readonly windowSeconds: number };
  readonly requestLimit?: { readonly limit: number; readonly windowSeconds: number };
}

/** Both listeners, running. */
export interface RunningWeb {
  readonly publicUrl: string;
  readonly officialsUrl: string;
  close(): Promise<void>;
}

/**
 * Starts the public and the officials' listeners on their own addresses.
 * @throws WebError LISTEN_INSECURE; errors of listen
 */
export async function startWebServers(
  context: WebContext,
  options: StartWebOptions,
): Promise<RunningWeb> {
  const tls = options.tls !== undefined;
  const shared = {
    ...(options.tls === undefined ? {} : { tls: options.tls }),
    ...(options.logger === undefined ? {} : { logger: options.logger }),
    ...(options.lookupLimit === undefined ? {} : { lookupLimit: options.lookupLimit }),
    ...(options.requestLimit === undefined ? {} : { requestLimit: options.requestLimit }),
  };
  const publicApp = createPublicApp(context, shared);
  const officialsApp = createOfficialsApp(context, shared);
  const apps: FastifyInstance[] = [];
  try {
    const publicUrl = await listenOrAnyPort(publicApp, options.publicAddress, tls, options);
    apps.push(publicApp);
    const officialsUrl = await listenOrAnyPort(
      officialsApp,
      options.officialsAddress,
      tls,
      options,
    );
    apps.push(officialsApp);
    return {
      publicUrl,
      officialsUrl,
      async close() {
        await Promise.all(apps.map((app) => app.close()));
      },
    };
  } catch (error) {
    await Promise.all([publicApp.close(), officialsApp.close()]);
    throw error;
  }
}

async function listenOrAnyPort(
  app: FastifyInstance,
  address: ListenAddress,
  tls: boolean,
  options: StartWebOptions,
): Promise<string> {
  try {
    return await listen(app, address, tls);
  } catch (error) {
    const code: unknown = (error as { code?: unknown }).code;
    if (options.anyPortWhenTaken !== true || code !== 'EADDRINUSE') throw error;
    return listen(app, { ...address, port: 0 }, tls);
  }
}

/** Parses `HOST:PORT` (IPv6 in brackets). */
const addressFlag = z
  .string()
  .regex(/^(?:\[[0-9a-fA-F:]+\]|[A-Za-z0-9.-]+):\d{1,5}$/, 'expected HOST:PORT')
  .transform((text): ListenAddress => {
    const at = text.lastIndexOf(':');
    const host = text.slice(0, at).replace(/^\[|\]$/g, '');
    return { host, port: Number(text.slice(at + 1)) };
  });

const serve: Command = {
  path: ['serve'],
  usage:
    'votervault serve --data DIR [--public HOST:PORT] [--officials HOST:PORT] [--tls-cert FILE --tls-key FILE] [--database URL]',
  summary:
    "Serve the voters' site and the log (public listener) and the officials' site and API (second listener); JSON server log on standard output",
  async run(args, io) {
    const { flags } = parseFlags(
      args,
      {
        data: { type: 'string' },
        database: { type: 'string' },
        public: { type: 'string' },
        officials: { type: 'string' },
        'tls-cert': { type: 'string' },
        'tls-key': { type: 'string' },
      },
      z.object({
        data: z.string().min(1, 'a data directory is required'),
        database: z.string().min(1).optional(),
        public: addressFlag.optional(),
        officials: addressFlag.optional(),
        'tls-cert': z.string().min(1).optional(),
        'tls-key': z.string().min(1).optional(),
      }),
    );
    if ((flags['tls-cert'] === undefined) !== (flags['tls-key'] === undefined)) {
      throw new UsageError('Invalid flags: give both --tls-cert and --tls-key, or neither');
    }
    const tls =
      flags['tls-cert'] === undefined || flags['tls-key'] === undefined
        ? undefined
        : { cert: await readFile(flags['tls-cert']), key: await readFile(flags['tls-key']) };
    const system = await openWebSystem(flags.data, flags.database);
    const running = await startWebServers(system.context, {
      publicAddress: flags.public ?? DEFAULT_PUBLIC_ADDRESS,
      officialsAddress: flags.officials ?? DEFAULT_OFFICIALS_ADDRESS,
      ...(tls === undefined ? {} : { tls }),
      logger: pino(),
    }).catch(async (error: unknown) => {
      await system.close();
      throw error;
    });
    io.err(
      `Voters' site and log: ${running.publicUrl}/\nOfficials' site: ${running.officialsUrl}/\n`,
    );
    await waitForSignal();
    await running.close();
    await system.close();
    return 0;
  },
};

/** Resolves on SIGINT or SIGTERM, so that the log and database close cleanly. */
export function waitForSignal(): Promise<void> {
  return new Promise((resolve) => {
    const done = (): void => {
      process.off('SIGINT', done);
      process.off('SIGTERM', done);
      resolve();
    };
    process.on('SIGINT', done);
    process.on('SIGTERM', done);
  });
}

/** The `serve` command. */
export const SERVE_COMMANDS: readonly Command[] = [serve];
