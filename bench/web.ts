// Benchmark of the public lookup under load, next to a bare node:http server answering a fixed
// JSON body, measured the same way in the same run.
//
//   npm run bench:web [-- --voters N] [-- --seconds S] [-- --connections C] [-- --dir DIR]
//
// Each server runs in its own child process; this process is the load generator: C keep-alive
// connections, each sending its next request as soon as the previous answer arrived (closed
// loop), for S seconds after a warm-up. Every lookup goes through the whole path: CSRF check,
// validation, blind-index query on SQLite, the access-log append made durable (fsync, group
// commit) before the answer, and the rendered page. Lookups alternate between voters of the
// roll and names that match nobody.
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { createServer } from 'node:http';
import { load } from './support/load.ts';
import type { LoadResult, Shot } from './support/load.ts';
import { mkdir } from 'node:fs/promises';
import { availableParallelism } from 'node:os';
import { join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { parseArgs } from 'node:util';

const { values } = parseArgs({
  options: {
    voters: { type: 'string', default: '20000' },
    seconds: { type: 'string', default: '10' },
    warmup: { type: 'string', default: '2' },
    connections: { type: 'string', default: '64' },
    dir: { type: 'string', default: '.bench' },
    serve: { type: 'string' },
    data: { type: 'string' },
  },
});
const fmt = (n: number): string => Math.round(n).toLocaleString('en-US');

// --- child modes ------------------------------------------------------------------------

/** The bare floor: node:http answering one fixed JSON body. */
async function serveBare(): Promise<void> {
  const body = Buffer.from(JSON.stringify({ status: 'found', precinct: '01' }));
  const server = createServer((_req, res) => {
    res.writeHead(200, { 'content-type': 'application/json', 'content-length': body.length });
    res.end(body);
  });
  server.keepAliveTimeout = 60_000;
  await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
  const address = server.address();
  process.stdout.write(
    `${JSON.stringify({ url: `http://127.0.0.1:${typeof address === 'object' && address !== null ? address.port : 0}` })}\n`,
  );
}

/** Ours: the public listener as `votervault serve` runs it, rate limits lifted for the load. */
async function serveOurs(dir: string): Promise<void> {
  const { openWebSystem } = await import('../src/cli/web-system.ts');
  const { createPublicApp, listen } = await import('../src/web/index.ts');
  const system = await openWebSystem(dir);
  const unlimited = { limit: Number.MAX_SAFE_INTEGER, windowSeconds: 60 };
  const app = createPublicApp(system.context, { lookupLimit: unlimited, requestLimit: unlimited });
  app.server.keepAliveTimeout = 60_000;
  const url = await listen(app, { host: '127.0.0.1', port: 0 }, false);
  process.stdout.write(`${JSON.stringify({ url, logSize: system.context.log.size })}\n`);
  process.on('SIGTERM', () => {
    void app.close().then(async () => {
      process.stdout.write(`${JSON.stringify({ logSize: system.context.log.size })}\n`);
      await system.close();
      process.exit(0);
    });
  });
}

function startChild(
  args: readonly string[],
): Promise<{ child: ChildProcess; info: Record<string, unknown>; lines: AsyncIterator<string> }> {
  const flags = (process.env['BENCH_SERVER_FLAGS'] ?? '').split(' ').filter(Boolean);
  const child = spawn(process.execPath, [...flags, import.meta.filename, ...args], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const lines = createInterface({ input: child.stdout })[Symbol.asyncIterator]();
  return lines.next().then((first) => {
    if (first.done === true) throw new Error('The server process exited before listening');
    return { child, info: JSON.parse(first.value) as Record<string, unknown>, lines };
  });
}

/** A CSRF cookie and token from the lookup form, as a browser would hold them. */
async function formSession(url: string): Promise<{ cookie: string; token: string }> {
  const response = await fetch(`${url}/`);
  const cookie = (response.headers.get('set-cookie') ?? '').split(';')[0] ?? '';
  const token = /name="_csrf" value="([^"]+)"/.exec(await response.text())?.[1];
  if (token === undefined || cookie === '') throw new Error('The lookup form has no CSRF token');
  return { cookie, token };
}

async function prepareData(
  root: string,
  voters: number,
): Promise<{
  dir: string;
  identities: { last: string; first: string; dob: string; zip: string }[];
}> {
  const { initDataDir, DEFAULT_ORIGIN } = await import('../src/cli/commands/log.ts');
  const { initDataStore } = await import('../src/cli/data-store.ts');
  const { loadDemoRoll } = await import('../src/cli/commands/demo.ts');
  const { loadLayout, roleIndex, layoutDialect, parseDelimitedLine } =
    await import('../src/voters/index.ts');
  const { readFile } = await import('node:fs/promises');
  const dir = join(root, `web-${voters}`);
  const quiet = {
    out: (t: string) => process.stderr.write(t),
    err: (t: string) => process.stderr.write(t),
    stdin: process.stdin,
    isTty: false,
  };
  try {
    await initDataDir(dir, DEFAULT_ORIGIN);
  } catch {
    // Reused from an earlier run: keys and log exist.
  }
  await initDataStore(dir);
  await loadDemoRoll(dir, { voters, io: quiet, seed: 'bench-web' });
  // Identities of voters of the roll, as voters would type them.
  const layout = loadLayout('nc');
  const roles = roleIndex(layout);
  const text = await readFile(join(dir, 'demo-roll-ncvoter.txt'), 'latin1');
  const identities: { last: string; first: string; dob: string; zip: string }[] = [];
  for (const line of text.split('\n').slice(1, 2001)) {
    const parsed = parseDelimitedLine(line.replace(/\r$/, ''), layoutDialect(layout));
    if (!parsed.ok) continue;
    const field = (role: 'lastName' | 'firstName' | 'birthYear' | 'zip'): string =>
      parsed.fields[roles.get(role)?.[0] ?? -1] ?? '';
    if (field('lastName') === '' || field('zip') === '' || field('birthYear') === '') continue;
    identities.push({
      last: field('lastName'),
      first: field('firstName'),
      dob: `${field('birthYear')}-07-01`,
      zip: field('zip'),
    });
  }
  return { dir, identities };
}

async function main(): Promise<void> {
  if (values.serve === 'bare') return serveBare();
  if (values.serve === 'ours') return serveOurs(values.data ?? '');
  const connections = Number(values.connections);
  const seconds = Number(values.seconds);
  const warmup = Number(values.warmup);
  const voters = Number(values.voters);
  const root = resolve(values.dir);
  await mkdir(root, { recursive: true });
  console.log(
    `votervault web benchmark: public lookup vs bare node:http, ${connections} connections, ${seconds} s each after ${warmup} s warm-up`,
  );
  console.log(
    `node ${process.version}, ${availableParallelism()} cores, roll of ${fmt(voters)} synthetic voters on SQLite\n`,
  );
  const { dir, identities } = await prepareData(root, voters);

  const bare = await startChild(['--serve', 'bare']);
  const bareResult = await load(
    String(bare.info['url']),
    [{ method: 'GET', path: '/', headers: {} }],
    connections,
    seconds,
    warmup,
  );
  bare.child.kill('SIGTERM');

  const ours = await startChild(['--serve', 'ours', '--data', dir]);
  const url = String(ours.info['url']);
  const { cookie, token } = await formSession(url);
  const shots: Shot[] = identities.flatMap((who, i) => {
    const form = (fields: Record<string, string>): Shot => ({
      method: 'POST',
      path: '/lookup',
      headers: { cookie, 'content-type': 'application/x-www-form-urlencoded' },
      body: Buffer.from(new URLSearchParams({ ...fields, county: '', _csrf: token }).toString()),
    });
    return [form(who), form({ ...who, last: `Nomatch${i}` })];
  });
  const oursResult = await load(url, shots, connections, seconds, warmup);
  ours.child.kill('SIGTERM');
  const after = await ours.lines.next();
  const logged =
    after.done === true
      ? Number.NaN
      : Number((JSON.parse(after.value) as { logSize: number }).logSize) -
        Number(ours.info['logSize']);

  const row = (name: string, r: LoadResult): string =>
    [
      name,
      fmt(r.requests / r.seconds),
      r.p50.toFixed(2),
      r.p99.toFixed(2),
      fmt(r.requests),
      String(r.errors),
      [...r.statuses].map(([s, n]) => `${s}:${n}`).join(' '),
    ].join('\t');
  console.log(['server', 'req/s', 'p50 ms', 'p99 ms', 'requests', 'errors', 'statuses'].join('\t'));
  console.log(row('bare node:http (fixed JSON)', bareResult));
  console.log(row('public lookup (logged)', oursResult));
  const ratio =
    oursResult.requests / oursResult.seconds / (bareResult.requests / bareResult.seconds);
  console.log(`\nratio lookup / bare: ${(100 * ratio).toFixed(1)}%`);
  console.log(`log entries appended during the lookup run (warm-up included): ${fmt(logged)}`);
  console.log('\ntargets (2 cores, 64 connections)');
  console.log(
    `lookup req/s >= 30% of bare: ${(100 * ratio).toFixed(1)}% ${ratio >= 0.3 ? 'met' : 'NOT met'}`,
  );
  console.log(
    `lookup p99 < 25 ms: ${oursResult.p99.toFixed(2)} ms ${oursResult.p99 < 25 ? 'met' : 'NOT met'}`,
  );
}

await main();
