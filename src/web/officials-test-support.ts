// Tests of the officials' listener only: a migrated database on one dialect, a real key ring, a
// real log on disk, a small generated North Carolina roll imported through the real importer,
// one principal per role, and helpers that sign in through the real pages.
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createTestDatabase } from '../../test/setup/databases.ts';
import type { TestDialect } from '../../test/setup/databases.ts';
import { ACCESS_MIGRATIONS, createPrincipal, issueToken, totpCode } from '../access/index.ts';
import type { AccessStore, ChangeContext, Role, Scope } from '../access/index.ts';
import { createKeyRing } from '../crypto/index.ts';
import type { KeyRing } from '../crypto/index.ts';
import { migrate, openDatabase } from '../store/index.ts';
import type { DatabaseHandle } from '../store/index.ts';
import {
  createLogKeys,
  loadLogKeys,
  openLogAppender,
  readEntryBundle,
  signCheckpoint,
  TILE_WIDTH,
} from '../tlog/index.ts';
import type { LogAppender } from '../tlog/index.ts';
import {
  EXPORT_MIGRATIONS,
  generateVoterFile,
  IMPORT_MIGRATIONS,
  importVoterFile,
  layoutDialect,
  loadLayout,
  parseDelimitedLine,
  VOTERS_MIGRATIONS,
} from '../voters/index.ts';
import type { ImportTables } from '../voters/index.ts';
import type { WebContext, WebTables } from './context.ts';
import { createOfficialsApp } from './officials-app.ts';
import type { FastifyInstance } from 'fastify';

/** The tests' scrypt cost: about a millisecond a hash. */
const TEST_COST = { log2N: 10, r: 8, p: 1 } as const;
/** Voters in the generated roll. */
export const ROLL_SIZE = 300;

/** A voter of the roll, as the file has it. */
export interface RollVoter {
  readonly id: string;
  readonly county: string;
  readonly countyName: string;
  readonly last: string;
  readonly first: string;
  readonly birthYear: string;
  readonly zip: string;
}

/** A principal made for the tests. */
export interface TestPrincipal {
  readonly name: string;
  readonly role: Role;
  readonly scope: Scope;
  /** Officials: their TOTP secret and password. */
  readonly password?: string;
  readonly totpSecret?: Uint8Array;
  /** API clients: their token. */
  readonly token?: string;
}

/** Everything one dialect's tests share. */
export interface OfficialsFixture {
  readonly context: WebContext;
  readonly app: FastifyInstance;
  readonly handle: DatabaseHandle<WebTables & ImportTables>;
  readonly ring: KeyRing;
  readonly log: LogAppender;
  readonly logDir: string;
  readonly keysDir: string;
  /** The clock of the app and of access; moves only when told. */
  readonly clock: { now: Date; advance(ms: number): void };
  /** A voter in `home` (the county principals' scope) and one in another county. */
  readonly inside: RollVoter;
  readonly outside: RollVoter;
  /** The county code the county principals hold. */
  readonly home: string;
  readonly principals: Readonly<Record<Role, TestPrincipal>>;
  /** Log entries from index `from` on, parsed. */
  entriesSince(from: number): Promise<Record<string, unknown>[]>;
  /** A new app on the same context (fresh rate limits). */
  newApp(): FastifyInstance;
  close(): Promise<void>;
}

/** Builds the fixture on `dialect`. */
export async function openOfficialsFixture(dialect: TestDialect): Promise<OfficialsFixture> {
  const root = await mkdtemp(join(tmpdir(), 'votervault-officials-'));
  const database = await createTestDatabase(dialect);
  const handle = await openDatabase<WebTables & ImportTables>(database.location);
  await migrate(handle, [
    ...VOTERS_MIGRATIONS,
    ...IMPORT_MIGRATIONS,
    ...EXPORT_MIGRATIONS,
    ...ACCESS_MIGRATIONS,
  ]);
  const keysDir = join(root, 'keys');
  const ring = await createKeyRing({ dir: keysDir });
  const logKeysDir = join(root, 'log-keys');
  const logDir = join(root, 'log');
  const { verifierKeys } = await createLogKeys(logKeysDir, 'votervault.test/officials');
  const logKeys = await loadLogKeys(logKeysDir);
  const log = await openLogAppender({
    logDir,
    origin: logKeys.origin,
    sign: (checkpoint) => signCheckpoint(checkpoint, logKeys.signers),
    maxBatchDelayMs: 0,
  });
  const clock = {
    now: new Date('2026-03-02T09:00:00Z'),
    advance(ms: number) {
      clock.now = new Date(clock.now.getTime() + ms);
    },
  };
  const now = (): Date => clock.now;

  const file = join(root, 'nc.txt');
  await generateVoterFile({ layout: 'nc', count: ROLL_SIZE, seed: 'officials', out: file });
  await importVoterFile({
    db: handle,
    file,
    layout: 'nc',
    keys: { dir: keysDir },
    quarantineDir: join(root, 'quarantine'),
    appendLog: async (entry) => {
      await log.append(entry);
    },
    operator: 'test',
    workers: 0,
    now,
  });
  const voters = await rollVoters(file);
  const inside = voters[0]!;
  const outside = voters.find((v) => v.county !== inside.county)!;
  const home = inside.county;

  const context: WebContext = { handle, ring, log, logDir, verifierKeys, now };
  const store: AccessStore = { q: handle, ring, now, passwordCost: TEST_COST };
  const by: ChangeContext = {
    appendLog: (entry) => log.append(entry),
    channel: 'cli',
    actor: null,
  };
  const county: Scope = { kind: 'counties', counties: [home] };
  const principals = {} as Record<Role, TestPrincipal>;
  for (const [role, scope] of [
    ['state-admin', { kind: 'state' }],
    ['county-clerk', county],
    ['county-staff', county],
    ['auditor', county],
    ['api-client', county],
  ] as const) {
    const name = `${role}-1`;
    const created = await createPrincipal(store, { name, role, scope, by });
    if (created.credentials === undefined) {
      const issued = await issueToken(store, {
        name,
        actions: ['search', 'view', 'export'],
        by,
      });
      principals[role] = { name, role, scope, token: issued.token };
    } else {
      principals[role] = {
        name,
        role,
        scope,
        password: created.credentials.password,
        totpSecret: created.credentials.totpSecret,
      };
    }
  }

  const newApp = (): FastifyInstance => createOfficialsApp(context, {});
  const app = newApp();
  await app.ready();
  return {
    context,
    app,
    handle,
    ring,
    log,
    logDir,
    keysDir,
    clock,
    inside,
    outside,
    home,
    principals,
    async entriesSince(from) {
      const size = log.size;
      const out: Record<string, unknown>[] = [];
      for (let bundle = Math.floor(from / TILE_WIDTH); bundle * TILE_WIDTH < size; bundle++) {
        const width = Math.min(TILE_WIDTH, size - bundle * TILE_WIDTH);
        const entries = await readEntryBundle(logDir, bundle, width);
        entries.forEach((bytes, i) => {
          if (bundle * TILE_WIDTH + i >= from) {
            out.push(JSON.parse(Buffer.from(bytes).toString('utf8')) as Record<string, unknown>);
          }
        });
      }
      return out;
    },
    newApp,
    async close() {
      await app.close();
      await log.close();
      await handle.close();
      await database.drop();
      await rm(root, { recursive: true, force: true });
    },
  };
}

/** The active, non-confidential voters of a generated NC file that have a ZIP code. */
async function rollVoters(file: string): Promise<RollVoter[]> {
  const layout = loadLayout('nc');
  const dialect = layoutDialect(layout);
  const text = new TextDecoder(layout.format.encoding).decode(await readFile(file));
  const lines = text.split(/\r?\n/).filter((line) => line !== '');
  const header = parseDelimitedLine(lines[0]!, dialect);
  if (!header.ok) throw new Error('Generated file has no header');
  const at = (fields: readonly string[], name: string): string =>
    fields[header.fields.indexOf(name)] ?? '';
  const out: RollVoter[] = [];
  for (const line of lines.slice(1)) {
    const parsed = parseDelimitedLine(line, dialect);
    if (!parsed.ok) continue;
    const f = parsed.fields;
    if (
      at(f, 'confidential_ind') !== 'N' ||
      at(f, 'status_cd') !== 'A' ||
      at(f, 'zip_code') === ''
    ) {
      continue;
    }
    out.push({
      id: at(f, 'ncid'),
      county: at(f, 'county_id'),
      countyName: at(f, 'county_desc'),
      last: at(f, 'last_name'),
      first: at(f, 'first_name'),
      birthYear: at(f, 'birth_year'),
      zip: at(f, 'zip_code'),
    });
  }
  return out;
}

/** Cookies a reply sets, as `name=value` pairs for the next request's Cookie header. */
export function cookiesOf(headers: Record<string, unknown>): Map<string, string> {
  const raw = headers['set-cookie'];
  const list = typeof raw === 'string' ? [raw] : Array.isArray(raw) ? raw.map(String) : [];
  const out = new Map<string, string>();
  for (const cookie of list) {
    const pair = cookie.split(';')[0] ?? '';
    const at = pair.indexOf('=');
    out.set(pair.slice(0, at), pair.slice(at + 1));
  }
  return out;
}

/** A Cookie header from name/value pairs. */
export function cookieHeader(cookies: ReadonlyMap<string, string>): string {
  return [...cookies].map(([k, v]) => `${k}=${v}`).join('; ');
}

/** The CSRF token in a page's forms. */
export function formToken(body: string): string {
  const match = /name="_csrf" value="([^"]+)"/.exec(body);
  if (match?.[1] === undefined) throw new Error('Page has no CSRF token');
  return match[1];
}

/** A signed-in browser: its cookies and its CSRF token. */
export interface Browser {
  readonly cookies: Map<string, string>;
  readonly token: string;
  readonly address: string;
}

let nextAddress = 1;

/**
 * Signs an official in through the real pages: GET /login for the CSRF cookie and token, then
 * POST /login with the password and the current TOTP code. Each sign-in comes from its own
 * address and a later TOTP step (a code is accepted once).
 */
export async function signIn(
  fixture: OfficialsFixture,
  principal: TestPrincipal,
  app: FastifyInstance = fixture.app,
): Promise<Browser> {
  const address = `10.0.0.${nextAddress++}`;
  fixture.clock.advance(30_000);
  const form = await app.inject({ method: 'GET', url: '/login', remoteAddress: address });
  const cookies = cookiesOf(form.headers);
  const response = await app.inject({
    method: 'POST',
    url: '/login',
    remoteAddress: address,
    headers: {
      cookie: cookieHeader(cookies),
      'content-type': 'application/x-www-form-urlencoded',
    },
    payload: new URLSearchParams({
      _csrf: formToken(form.body),
      name: principal.name,
      password: principal.password ?? '',
      code: totpCode(principal.totpSecret ?? new Uint8Array(20), fixture.clock.now),
    }).toString(),
  });
  if (response.statusCode !== 303) {
    throw new Error(`Sign-in of "${principal.name}" failed: ${response.statusCode}`);
  }
  for (const [k, v] of cookiesOf(response.headers)) cookies.set(k, v);
  return { cookies, token: formToken(form.body), address };
}
