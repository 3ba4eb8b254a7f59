// A closed-loop HTTP load generator for the benchmarks: C keep-alive connections, each sending
// its next request as soon as the previous answer arrived, latencies kept for percentiles.
import { Agent, request } from 'node:http';

export interface LoadResult {
  readonly requests: number;
  readonly errors: number;
  readonly seconds: number;
  readonly p50: number;
  readonly p99: number;
  readonly statuses: ReadonlyMap<number, number>;
}

export interface Shot {
  readonly method: 'GET' | 'POST';
  readonly path: string;
  readonly headers: Record<string, string>;
  readonly body?: Buffer;
}

function send(agent: Agent, base: URL, shot: Shot): Promise<number> {
  return new Promise((ok, fail) => {
    const req = request(
      {
        agent,
        host: base.hostname,
        port: base.port,
        method: shot.method,
        path: shot.path,
        headers:
          shot.body === undefined
            ? shot.headers
            : { ...shot.headers, 'content-length': shot.body.length },
      },
      (res) => {
        res.on('data', () => undefined);
        res.on('end', () => ok(res.statusCode ?? 0));
        res.on('error', fail);
      },
    );
    req.on('error', fail);
    req.end(shot.body);
  });
}

export async function load(
  url: string,
  shots: readonly Shot[],
  connections: number,
  seconds: number,
  warmup: number,
): Promise<LoadResult> {
  const base = new URL(url);
  const agent = new Agent({ keepAlive: true, maxSockets: connections });
  const latencies: number[] = [];
  const statuses = new Map<number, number>();
  let errors = 0;
  let next = 0;
  const warmEnd = performance.now() + warmup * 1000;
  const end = warmEnd + seconds * 1000;
  async function loop(): Promise<void> {
    for (;;) {
      const started = performance.now();
      if (started >= end) return;
      const shot = shots[next++ % shots.length] as Shot;
      try {
        const status = await send(agent, base, shot);
        const done = performance.now();
        if (started >= warmEnd && done <= end) {
          latencies.push(done - started);
          statuses.set(status, (statuses.get(status) ?? 0) + 1);
        }
      } catch {
        if (started >= warmEnd) errors += 1;
      }
    }
  }
  await Promise.all(Array.from({ length: connections }, loop));
  agent.destroy();
  const sorted = Float64Array.from(latencies).sort();
  const at = (q: number): number =>
    sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? 0;
  return { requests: latencies.length, errors, seconds, p50: at(0.5), p99: at(0.99), statuses };
}
