import { z } from 'zod';
import {
  ACCESS_POLICY,
  AccessError,
  createPrincipal,
  DEFAULT_TOKEN_LIFETIME_DAYS,
  disablePrincipal,
  findPrincipal,
  issueToken,
  MAX_TOKEN_LIFETIME_DAYS,
  parseScope,
  resetCredentials,
  revokeTokensOf,
  ROLES,
  scopeWords,
} from '../../access/index.ts';
import type {
  AccessStore,
  Action,
  ChangeContext,
  IssuedToken,
  PrincipalRecord,
  Role,
  Scope,
} from '../../access/index.ts';
import type { LogAppender } from '../../tlog/index.ts';
import type { CliIo, Command } from '../command.ts';
import { parseFlags, UsageError } from '../command.ts';
import { openDataLog } from './log.ts';
import { openDataStore } from '../data-store.ts';

const DAY_MS = 86_400_000;
const API_CLIENT_ACTIONS = Object.keys(ACCESS_POLICY['api-client'].actions);

const dataFlag = z.string().min(1, 'a data directory is required');
const databaseFlag = z.string().min(1).optional();
const nameFlag = z.string().min(1, 'a name is required');
const actionsFlag = z.array(z.string()).optional();
const expiresFlag = z
  .string()
  .regex(/^[1-9]\d{0,2}$/, `expected a number of days from 1 to ${MAX_TOKEN_LIFETIME_DAYS}`)
  .transform(Number)
  .refine((days) => days <= MAX_TOKEN_LIFETIME_DAYS, {
    message: `at most ${MAX_TOKEN_LIFETIME_DAYS} days`,
  })
  .optional();

/** The access tables of a data directory, its key ring and its log, for one command. */
interface AccessCli {
  readonly store: AccessStore;
  readonly by: ChangeContext;
}

/**
 * Runs `fn` with the data directory's key ring, database (migrated for the access tables) and
 * log, and closes them after.
 */
async function withAccessCli<T>(
  dir: string,
  database: string | undefined,
  fn: (cli: AccessCli) => Promise<T>,
): Promise<T> {
  const { handle, ring } = await openDataStore(dir, database);
  try {
    const log: LogAppender = await openDataLog(dir);
    try {
      return await fn({
        store: { q: handle, ring },
        by: { appendLog: (entry) => log.append(entry), channel: 'cli', actor: null },
      });
    } finally {
      await log.close();
    }
  } finally {
    await handle.close();
  }
}

function scopeFrom(words: readonly string[] | undefined, role: Role): Scope {
  if (words === undefined || words.length === 0) {
    if (role === 'state-admin') return { kind: 'state' };
    throw new UsageError(`Invalid flag "--scope": role "${role}" needs --scope state or counties`);
  }
  try {
    return parseScope(words);
  } catch (error) {
    if (error instanceof AccessError) throw new UsageError(error.message);
    throw error;
  }
}

function actionsFrom(words: readonly string[] | undefined): Action[] {
  if (words === undefined || words.length === 0) {
    throw new UsageError(
      `Invalid flag "--action": an API client's token needs one or more of ${API_CLIENT_ACTIONS.join(', ')}`,
    );
  }
  for (const word of words) {
    if (!API_CLIENT_ACTIONS.includes(word)) {
      throw new UsageError(
        `Invalid flag "--action": "${word}" is not one of ${API_CLIENT_ACTIONS.join(', ')}`,
      );
    }
  }
  return words as Action[];
}

function summarise(principal: PrincipalRecord): string {
  return `${principal.role} "${principal.name}" (id ${principal.id}), scope ${scopeWords(principal.scope).join(' ')}`;
}

function printToken(io: CliIo, issued: IssuedToken): void {
  io.out(
    `API token (shown once, stored only hashed; id ${issued.tokenId}, actions ${issued.actions.join(' ')}, expires ${issued.expiresAt}):\n` +
      `${issued.token}\n`,
  );
}

const add: Command = {
  path: ['user', 'add'],
  usage:
    'votervault user add --data DIR --name NAME --role ROLE [--scope COUNTY... | --scope state] [--action ACTION...] [--expires-days N] [--database URL]',
  summary:
    'Create an official (prints a generated password and TOTP secret once) or an API client (prints a token once); logged',
  async run(args, io) {
    const { flags } = parseFlags(
      args,
      {
        data: { type: 'string' },
        database: { type: 'string' },
        name: { type: 'string' },
        role: { type: 'string' },
        scope: { type: 'string', multiple: true },
        action: { type: 'string', multiple: true },
        'expires-days': { type: 'string' },
      },
      z.object({
        data: dataFlag,
        database: databaseFlag,
        name: nameFlag,
        role: z.enum(ROLES, { error: `expected one of ${ROLES.join(', ')}` }),
        scope: z.array(z.string()).optional(),
        action: actionsFlag,
        'expires-days': expiresFlag,
      }),
    );
    const scope = scopeFrom(flags.scope, flags.role);
    const isClient = flags.role === 'api-client';
    const actions = isClient ? actionsFrom(flags.action) : undefined;
    if (!isClient && (flags.action !== undefined || flags['expires-days'] !== undefined)) {
      throw new UsageError('Invalid flag "--action": only an API client gets a token');
    }
    await withAccessCli(flags.data, flags.database, async ({ store, by }) => {
      const { principal, credentials } = await createPrincipal(store, {
        name: flags.name,
        role: flags.role,
        scope,
        by,
      });
      io.out(`Created ${summarise(principal)}\n`);
      if (credentials !== undefined) {
        io.out(
          `Password (shown once, stored only hashed): ${credentials.password}\n` +
            `TOTP secret (shown once; add it to an authenticator app, which asks for a code at each sign-in):\n` +
            `${credentials.totpUri}\n`,
        );
      }
      if (actions !== undefined) {
        printToken(io, await issueClientToken(store, by, principal.name, actions, flags));
      }
    });
    return 0;
  },
};

const disable: Command = {
  path: ['user', 'disable'],
  usage: 'votervault user disable --data DIR --name NAME [--database URL]',
  summary: 'Disable a principal for good, ending its sessions and tokens; logged',
  async run(args, io) {
    const { flags } = parseFlags(
      args,
      { data: { type: 'string' }, database: { type: 'string' }, name: { type: 'string' } },
      z.object({ data: dataFlag, database: databaseFlag, name: nameFlag }),
    );
    await withAccessCli(flags.data, flags.database, async ({ store, by }) => {
      const principal = await disablePrincipal(store, { name: flags.name, by });
      io.out(`Disabled ${summarise(principal)}\n`);
    });
    return 0;
  },
};

const reset: Command = {
  path: ['user', 'reset'],
  usage:
    'votervault user reset --data DIR --name NAME [--action ACTION...] [--expires-days N] [--database URL]',
  summary:
    "Give an official a new password and TOTP secret (printed once), or replace an API client's tokens; ends sessions; logged",
  async run(args, io) {
    const { flags } = parseFlags(
      args,
      {
        data: { type: 'string' },
        database: { type: 'string' },
        name: { type: 'string' },
        action: { type: 'string', multiple: true },
        'expires-days': { type: 'string' },
      },
      z.object({
        data: dataFlag,
        database: databaseFlag,
        name: nameFlag,
        action: actionsFlag,
        'expires-days': expiresFlag,
      }),
    );
    await withAccessCli(flags.data, flags.database, async ({ store, by }) => {
      const principal = await findPrincipal(store, flags.name);
      if (principal?.role === 'api-client') {
        const actions = actionsFrom(flags.action);
        if (principal.disabled) {
          throw new AccessError(
            'PRINCIPAL_DISABLED',
            `Cannot reset "${principal.name}": the principal is disabled`,
          );
        }
        const revoked = await revokeTokensOf(store, { name: principal.name, by });
        io.out(`Revoked ${revoked} token(s) of ${summarise(principal)}\n`);
        printToken(io, await issueClientToken(store, by, principal.name, actions, flags));
        return;
      }
      if (flags.action !== undefined || flags['expires-days'] !== undefined) {
        throw new UsageError('Invalid flag "--action": only an API client gets a token');
      }
      const credentials = await resetCredentials(store, { name: flags.name, by });
      io.out(
        `Reset "${principal?.name ?? flags.name}": its sessions are ended\n` +
          `Password (shown once, stored only hashed): ${credentials.password}\n` +
          `TOTP secret (shown once; add it to an authenticator app, replacing the old one):\n` +
          `${credentials.totpUri}\n`,
      );
    });
    return 0;
  },
};

function issueClientToken(
  store: AccessStore,
  by: ChangeContext,
  name: string,
  actions: readonly Action[],
  flags: { readonly 'expires-days'?: number | undefined },
): Promise<IssuedToken> {
  const days = flags['expires-days'] ?? DEFAULT_TOKEN_LIFETIME_DAYS;
  return issueToken(store, {
    name,
    actions,
    expiresAt: new Date(Date.now() + days * DAY_MS),
    by,
  });
}

/** The `user …` commands: add, disable, reset. */
export const USER_COMMANDS: readonly Command[] = [add, disable, reset];
