// Benchmark of election-night results: ingest rate of New Mexico's 2020 precinct file, publish
// latency (import to visible on the site), then requests per second for a contest page and its
// JSON served by votervault and by nginx serving the static export, in the same run.
//
//   npm run bench:results [-- --seconds S] [-- --connections C] [-- --dir DIR] [-- --file CSV]
//
// nginx is Debian's (`/usr/sbin/nginx`), started here on loopback with its own configuration
// in the run's directory; without it, the nginx rows say so. Each server runs alone while it is
// measured; this process is the load generator.
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { chmod, mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { availableParallelism } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { createInterface } from 'node:readline';
import { load } from './support/load.ts';
import type { LoadResult } from './support/load.ts';

const { values } = parseArgs({
  options: {
    seconds: { type: 'string', default: '8' },
    warmup: { type: 'string', default: '2' },
    connections: { type: 'string', default: '64' },
    dir: { type: 'string', default: '.bench' },
    file: {
      type: 'string',
      default: resolve(
        import.meta.dirname,
        '../../shared/data/results/openelections-nm/20201103__nm__general__precinct.csv',
      ),
    },
    serve: { type: 'string' },
    data: { type: 'string' },
  },
});
const NGINX = '/usr/sbin/nginx';
const ELECTION = 'nm-2020-general';
const fmt = (n: number): string => Math.round(n).toLocaleString('en-US');

/** Child mode: the public listener over a data directory, as `votervault serve` runs it. */
async function serveOurs(dir: string): Promise<void> {
  const { openWebSystem } = await import('../src/cli/web-system.ts');
  const { createPublicApp, listen } = await import('../src/web/index.ts');
  const system = await openWebSystem(dir);
  const unlimited = { limit: Number.MAX_SAFE_INTEGER, windowSeconds: 60 };
  const app = createPublicApp(system.context, { lookupLimit: unlimited, requestLimit: unlimited });
  app.server.keepAliveTimeout = 60_000;
  const url = await listen(app, { host: '127.0.0.1', port: 0 }, false);
  process.stdout.write(`${JSON.stringify({ url })}\n`);
}

function startChild(args: readonly string[]): Promise<{ child: ChildProcess; url: string }> {
  const child = spawn(process.execPath, [import.meta.filename, ...args], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const lines = createInterface({ input: child.stdout })[Symbol.asyncIterator]();
  return lines.next().then((first) => {
    if (first.done === true) throw new Error('The server process exited before listening');
    return { child, url: (JSON.parse(first.value) as { url: string }).url };
  });
}

/** nginx serving `root` on a free port, with every file in the run's directory. */
async function startNginx(
  work: string,
  root: string,
): Promise<{ child: ChildProcess; url: string }> {
  const port = 20_000 + Math.floor(Math.random() * 20_000);
  const conf = join(work, 'nginx.conf');
  await writeFile(
    conf,
    [
      'worker_processes 1;',
      'daemon off;',
      `pid ${join(work, 'nginx.pid')};`,
      `error_log ${join(work, 'nginx-error.log')};`,
      'events { worker_connections 1024; }',
      'http {',
      '  include /etc/nginx/mime.types;',
      '  access_log off;',
      `  client_body_temp_path ${join(work, 'nginx-body')};`,
      `  proxy_temp_path ${join(work, 'nginx-proxy')};`,
      `  fastcgi_temp_path ${join(work, 'nginx-fastcgi')};`,
      `  uwsgi_temp_path ${join(work, 'nginx-uwsgi')};`,
      `  scgi_temp_path ${join(work, 'nginx-scgi')};`,
      '  keepalive_requests 1000000;',
      `  server { listen 127.0.0.1:${port}; root ${root}; index index.html; }`,
      '}',
    ].join('\n'),
  );
  const child = spawn(NGINX, ['-c', conf, '-p', work], { stdio: 'inherit' });
  for (let i = 0; i < 50; i++) {
    try {
      await fetch(`http://127.0.0.1:${port}/`);
      return { child, url: `http://127.0.0.1:${port}` };
    } catch {
      await new Promise((done) => setTimeout(done, 100));
    }
  }
  child.kill();
  throw new Error('nginx did not start');
}

/** Makes a directory tree world-readable (directories 0755, files 0644). */
async function chmodTree(dir: string): Promise<void> {
  await chmod(dir, 0o755);
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) await chmodTree(path);
    else await chmod(path, 0o644);
  }
}

async function main(): Promise<void> {
  if (values.serve === 'ours') return serveOurs(values.data ?? '');
  const { readResultsFile, importResults, publishResults } =
    await import('../src/results/index.ts');
  const { initDataDir, DEFAULT_ORIGIN } = await import('../src/cli/commands/log.ts');
  const { initDataStore } = await import('../src/cli/data-store.ts');
  const { openWebSystem } = await import('../src/cli/web-system.ts');
  const { createPublicApp, createResultsSite, readResultsAssets, writeStaticSite } =
    await import('../src/web/index.ts');
  const connections = Number(values.connections);
  const seconds = Number(values.seconds);
  const warmup = Number(values.warmup);
  const root = resolve(values.dir);
  await mkdir(root, { recursive: true });
  const work = await mkdtemp(join(root, 'results-'));
  console.log(
    `votervault results benchmark: ${values.file.split('/').at(-1)}, ${connections} connections, ${seconds} s each after ${warmup} s warm-up`,
  );
  console.log(`node ${process.version}, ${availableParallelism()} cores\n`);

  const dataDir = join(work, 'data');
  await initDataDir(dataDir, DEFAULT_ORIGIN);
  await initDataStore(dataDir);
  const system = await openWebSystem(dataDir);
  // Ingest: read, check and store the file; the rate counts its data rows.
  let started = performance.now();
  const { document } = await readResultsFile(values.file, { electionId: ELECTION });
  await importResults(system.context.handle, document, { fileName: 'precinct.csv' });
  const ingestSeconds = (performance.now() - started) / 1000;
  const rows = document.counts.filter((c) => !c.computed).length;
  // Publish to visible: publication (snapshot, hash, durable log entry) until a server over the
  // same store answers the contest page with it.
  const app = createPublicApp(system.context, {});
  started = performance.now();
  const report = await publishResults(system.context.handle, ELECTION, {
    appendLog: (entry) => system.context.log.append(entry),
  });
  const index = await app.inject({ method: 'GET', url: '/results/' });
  const contestPath = /href="(\/results\/[^"]+\/[^"]*president[^"]*\/)"/i.exec(index.body)?.[1];
  if (contestPath === undefined) throw new Error('The published index has no President contest');
  const page = await app.inject({ method: 'GET', url: contestPath });
  const visibleSeconds = (performance.now() - started) / 1000;
  if (!page.body.includes(`Log entry ${report.logIndex}`)) {
    throw new Error('The contest page does not show the new publication');
  }
  // The static export nginx serves.
  const out = join(work, 'site');
  await writeStaticSite(
    out,
    await createResultsSite(system.context).staticViews(),
    await readResultsAssets(),
  );
  await app.close();
  await system.close();
  // nginx's workers run as another user: let them read the export (public data).
  await chmod(work, 0o755);
  await chmodTree(out);

  const targets = [
    { name: 'contest page', path: contestPath },
    { name: 'contest JSON', path: `${contestPath}results.json` },
  ];
  const results: { name: string; server: string; result: LoadResult }[] = [];
  const ours = await startChild(['--serve', 'ours', '--data', dataDir]);
  for (const target of targets) {
    const shots = [{ method: 'GET' as const, path: target.path, headers: {} }];
    results.push({
      name: target.name,
      server: 'votervault',
      result: await load(ours.url, shots, connections, seconds, warmup),
    });
  }
  ours.child.kill('SIGKILL');
  if (existsSync(NGINX)) {
    const nginx = await startNginx(work, out);
    for (const target of targets) {
      const shots = [{ method: 'GET' as const, path: target.path, headers: {} }];
      results.push({
        name: target.name,
        server: 'nginx (static export)',
        result: await load(nginx.url, shots, connections, seconds, warmup),
      });
    }
    nginx.child.kill('SIGTERM');
  }

  console.log(
    `ingest: ${fmt(rows)} counts in ${ingestSeconds.toFixed(2)} s = ${fmt(rows / ingestSeconds)} rows/s`,
  );
  console.log(`publish to visible: ${(visibleSeconds * 1000).toFixed(0)} ms\n`);
  console.log(['what', 'server', 'req/s', 'p50 ms', 'p99 ms', 'errors', 'statuses'].join('\t'));
  for (const { name, server, result } of results) {
    console.log(
      [
        name,
        server,
        fmt(result.requests / result.seconds),
        result.p50.toFixed(2),
        result.p99.toFixed(2),
        String(result.errors),
        [...result.statuses].map(([s, n]) => `${s}:${n}`).join(' '),
      ].join('\t'),
    );
  }
  console.log('\ntargets (2 cores)');
  for (const target of targets) {
    const rate = (server: string): number => {
      const r = results.find((x) => x.name === target.name && x.server.startsWith(server))?.result;
      return r === undefined ? Number.NaN : r.requests / r.seconds;
    };
    const ratio = rate('votervault') / rate('nginx');
    console.log(
      `${target.name}: dynamic >= 50% of nginx: ${(100 * ratio).toFixed(1)}% ${ratio >= 0.5 ? 'met' : 'NOT met'}`,
    );
  }
  console.log(
    `publish to visible < 1 s: ${(visibleSeconds * 1000).toFixed(0)} ms ${visibleSeconds < 1 ? 'met' : 'NOT met'}`,
  );
  await rm(work, { recursive: true, force: true });
}

await main();
