import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { main } from '../src/cli/main.ts';
import {
  leafHash,
  nodeHash,
  parseCheckpoint,
  verifyConsistency,
  verifyInclusion,
} from '../src/tlog/index.ts';

const BIN = resolve(import.meta.dirname, '..', 'bin', 'votervault.js');

interface Run {
  code: number;
  out: string;
  err: string;
}

async function run(args: string[], stdin = ''): Promise<Run> {
  let out = '';
  let err = '';
  const code = await main(args, {
    out: (t) => (out += t),
    err: (t) => (err += t),
    stdin: Readable.from([stdin]),
    isTty: false,
  });
  return { code, out, err };
}

/** Starts the real command line in a child process and resolves once `marker` is printed. */
function startChild(
  args: string[],
  marker: RegExp,
): Promise<{ child: ChildProcess; output: string }> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(process.execPath, [BIN, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    const timer = setTimeout(
      () => reject(new Error(`Timed out waiting for ${marker}: ${output}`)),
      60_000,
    );
    child.stdout.on('data', (d: Buffer) => {
      output += d.toString();
      if (marker.test(output)) {
        clearTimeout(timer);
        resolvePromise({ child, output });
      }
    });
    child.stderr.on('data', (d: Buffer) => (output += d.toString()));
    child.on('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`Exited with ${code}: ${output}`));
    });
  });
}

function stop(child: ChildProcess): Promise<void> {
  return new Promise((r) => {
    child.removeAllListeners('exit');
    child.once('exit', () => r());
    child.kill('SIGTERM');
  });
}

const b64 = (lines: string): Buffer[] =>
  lines
    .trim()
    .split('\n')
    .filter((l) => l.length > 0)
    .map((l) => Buffer.from(l, 'base64'));

let root: string;
let data: string;

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'vv-cli-'));
  data = join(root, 'data');
});

afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

describe('votervault init and log commands', () => {
  it('prints help listing every command', async () => {
    const r = await run(['--help']);
    expect(r.code).toBe(0);
    for (const c of [
      'demo',
      'init',
      'log append',
      'log proof inclusion',
      'log verify',
      'log serve',
    ]) {
      expect(r.out).toContain(`votervault ${c}`);
    }
  });

  it('init creates private keys outside the served log and refuses to run twice', async () => {
    const r = await run(['init', '--data', data, '--origin', 'cli.test/log']);
    expect(r.code).toBe(0);
    expect((await stat(join(data, 'keys', 'log-ed25519.key'))).mode & 0o777).toBe(0o600);
    expect((await stat(join(data, 'keys'))).mode & 0o777).toBe(0o700);
    // The voter store too: the key ring beside the log keys, the database private.
    expect((await stat(join(data, 'keys', 'root-v1.key'))).mode & 0o777).toBe(0o600);
    expect((await stat(join(data, 'votervault.db'))).mode & 0o777).toBe(0o600);
    const again = await run(['init', '--data', data]);
    expect(again.code).toBe(1);
    expect(again.err).toContain('KEY_FILE_EXISTS');
  });

  it('appends each line of files and standard input without its terminator', async () => {
    const file = join(root, 'lines.txt');
    await writeFile(file, 'alpha\r\nbeta\ngamma');
    const fromFile = await run(['log', 'append', '--data', data, file]);
    expect(fromFile).toMatchObject({ code: 0, out: 'first 0\nlast 2\n' });
    const fromStdin = await run(['log', 'append', '--data', data], 'delta\nepsilon\n');
    expect(fromStdin).toMatchObject({ code: 0, out: 'first 3\nlast 4\n' });
    const bundle = await readFile(join(data, 'log', 'tile/entries/000.p/5'));
    expect(bundle.subarray(0, 7)).toEqual(Buffer.from([0, 5, ...Buffer.from('alpha')]));
  });

  it('refuses a line over 64 KiB and names it', async () => {
    const file = join(root, 'big.txt');
    await writeFile(file, `ok\n${'x'.repeat(70_000)}\n`);
    const r = await run(['log', 'append', '--data', data, file]);
    expect(r.code).toBe(1);
    expect(r.err).toContain('ENTRY_TOO_LARGE');
    expect(r.err).toContain('line 2');
  });

  it('prints proofs that verify against the checkpoint', async () => {
    await run(
      ['log', 'append', '--data', data],
      Array.from({ length: 600 }, (_, i) => `e${i}`).join('\n'),
    );
    const note = (await run(['log', 'checkpoint', '--data', data])).out;
    const checkpoint = parseCheckpoint(note.slice(0, note.indexOf('\n\n') + 1));
    expect(checkpoint.size).toBe(606);

    const inclusion = await run(['log', 'proof', 'inclusion', '--data', data, '--index', '1']);
    expect(inclusion.code).toBe(0);
    verifyInclusion(leafHash(Buffer.from('beta')), 1, 606, b64(inclusion.out), checkpoint.rootHash);

    const old = await run([
      'log',
      'proof',
      'inclusion',
      '--data',
      data,
      '--index',
      '1',
      '--size',
      '3',
    ]);
    const oldRoot = verifyInclusionRoot(b64(old.out));
    const consistency = await run(['log', 'proof', 'consistency', '--data', data, '--old', '3']);
    verifyConsistency(3, 606, b64(consistency.out), oldRoot, checkpoint.rootHash);
  });

  it('verifies the log with the printed key and fails with a coded error when tampered', async () => {
    const vkeys = (await run(['log', 'vkey', '--data', data])).out.trim().split('\n');
    expect(vkeys).toHaveLength(2);
    const ok = await run(['log', 'verify', '--data', data, '--vkey', vkeys[0]!]);
    expect(ok.code).toBe(0);
    expect(ok.out).toMatch(/^OK cli\.test\/log size 606 /);

    const path = join(data, 'log', 'tile/entries/001');
    const bytes = await readFile(path);
    bytes[3] = 0x21;
    await writeFile(path, bytes);
    const bad = await run(['log', 'verify', '--data', data, '--vkey', vkeys[1]!]);
    expect(bad.code).toBe(1);
    expect(bad.err).toContain('BUNDLE_MISMATCH');
    expect(bad.err).toContain('tile/entries/001');
  });

  it('answers wrong usage with exit code 2', async () => {
    expect((await run(['log', 'verify', '--vkey', 'k'])).code).toBe(2);
    expect((await run(['log', 'proof', 'inclusion', '--data', data, '--index', '-1'])).code).toBe(
      2,
    );
    expect((await run(['log', 'nonsense'])).code).toBe(2);
  });

  it('serves the log over HTTP for a remote verifier', async () => {
    const fresh = join(root, 'served');
    await run(['init', '--data', fresh, '--origin', 'served.test/log']);
    await run(['log', 'append', '--data', fresh], 'one\ntwo\nthree\n');
    const vkey = (await run(['log', 'vkey', '--data', fresh])).out.split('\n')[0]!;
    const { child, output } = await startChild(
      ['log', 'serve', '--data', fresh, '--port', '0'],
      /Serving the log at (\S+)/,
    );
    try {
      const url = /Serving the log at (\S+)/.exec(output)![1]!;
      const r = await run(['log', 'verify', '--url', url, '--vkey', vkey]);
      expect(r.code).toBe(0);
      expect(r.out).toContain('size 3');
    } finally {
      await stop(child);
    }
  });
});

describe('votervault demo', () => {
  it('creates the data directory, appends samples, serves the log and prints a verify command that works', async () => {
    const demoDir = join(root, 'demo');
    let lookupWords: string[] = [];
    const { child, output } = await startChild(
      ['demo', '--data', demoDir, '--port', '0'],
      /Press Ctrl-C/,
    );
    try {
      expect(output).toContain('Created demo data directory');
      expect(output).toMatch(/Imported \d+ voters/);
      // The voters' site finds the voter the demo names, and the answer is logged.
      const site = /Voters' site: (\S+)/.exec(output)![1]!;
      const lookup = /npx votervault (lookup .+)$/m.exec(output)![1]!;
      const words = [...lookup.matchAll(/'([^']*)'|(\S+)/g)].map((m) => m[1] ?? m[2]!);
      const flag = (name: string) => words[words.indexOf(`--${name}`) + 1]!;
      const form = await fetch(site);
      const cookie = form.headers.get('set-cookie')!.split(';')[0]!;
      const token = /name="_csrf" value="([^"]+)"/.exec(await form.text())![1]!;
      const answer = await fetch(new URL('lookup', site), {
        method: 'POST',
        headers: { cookie, 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({
          last: flag('last'),
          first: flag('first'),
          dob: `${flag('dob')}-05-05`,
          zip: flag('zip'),
          county: '',
          _csrf: token,
        }),
      });
      expect(answer.status).toBe(200);
      expect(await answer.text()).toContain('You are registered to vote');
      // The officials' site is up and closed without a login.
      const officials = /Officials' site: (\S+)/.exec(output)![1]!;
      const closed = await fetch(new URL('search', officials), { redirect: 'manual' });
      expect(closed.status).toBe(303);
      expect(output).toMatch(/password: +\S{12,}/);
      expect(output).toMatch(/TOTP secret: +[A-Z2-7]{16,}/);
      lookupWords = words;
      const command = /npx votervault (log verify --url \S+ --vkey '[^']+')/.exec(output)![1]!;
      const url = /--url (\S+)/.exec(command)![1]!;
      const vkey = /--vkey '([^']+)'/.exec(command)![1]!;
      const r = await run(['log', 'verify', '--url', url, '--vkey', vkey]);
      expect(r.code).toBe(0);
      expect(r.out).toMatch(/size 10\d\d /);
    } finally {
      await stop(child);
    }
    // Once the demo is stopped, the printed command-line lookup finds the same voter.
    const found = await run(lookupWords);
    expect(found.code).toBe(0);
    expect(JSON.parse(found.out)).toMatchObject({
      status: 'found',
      pollingPlace: { name: expect.stringContaining('Precinct') },
    });
    // A second start reuses the directory and adds to the same log.
    const again = await startChild(
      ['demo', '--data', demoDir, '--port', '0', '--voters', '300'],
      /Press Ctrl-C/,
    );
    try {
      expect(again.output).not.toContain('Created demo data directory');
      expect(again.output).not.toMatch(/Imported \d+ voters/);
      // 1,000 samples more, the lookups and the official's credentials reset.
      expect(again.output).toMatch(/the log holds 20\d\d/);
    } finally {
      await stop(again.child);
    }
  });
});

/** Root of the size-3 tree, rebuilt from the inclusion proof of entry 1 ("beta"): [l0, l2]. */
function verifyInclusionRoot(proof: Buffer[]): Uint8Array {
  const [l0, l2] = proof;
  const l1 = leafHash(Buffer.from('beta'));
  const root = nodeHash(nodeHash(l0!, l1), l2!);
  verifyInclusion(l1, 1, 3, proof, root);
  return root;
}
