// Interoperability with golang.org/x/mod/sumdb/note, the reference signed-note implementation:
// a small Go program (testdata/go-note) signs and opens notes, and both sides must agree byte
// for byte. Go and x/mod are required: CI installs golang-go and golang-golang-x-mod-dev.
import { execFileSync } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signCheckpoint, verifyCheckpoint } from './checkpoint.ts';
import type { Checkpoint } from './checkpoint.ts';
import { generateSignerKey, openNote, parseSignerKey, parseVerifierKey, signNote } from './note.ts';

/** Where Debian's golang-golang-x-mod-dev installs x/mod for GOPATH builds. */
const GOPATH = '/usr/share/gocode';
const PROGRAM_DIR = join(import.meta.dirname, 'testdata', 'go-note');

let buildDir: string;
let goNote: string;

beforeAll(async () => {
  buildDir = await mkdtemp(join(tmpdir(), 'votervault-go-note-'));
  goNote = join(buildDir, 'go-note');
  try {
    execFileSync('go', ['build', '-o', goNote, '.'], {
      cwd: PROGRAM_DIR,
      env: {
        ...process.env,
        GOPATH,
        GO111MODULE: 'off',
        GOFLAGS: '',
        GOCACHE: join(buildDir, 'cache'),
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
  } catch (error: unknown) {
    const { code, stderr } = error as NodeJS.ErrnoException & { stderr?: Buffer };
    if (code === 'ENOENT') {
      throw new Error(
        'The Go interop test needs the "go" binary on PATH and golang.org/x/mod in GOPATH ' +
          `"${GOPATH}" (on Debian: apt-get install golang-go golang-golang-x-mod-dev)`,
        { cause: error },
      );
    }
    throw new Error(`Cannot build the Go note program: ${stderr?.toString() ?? String(error)}`, {
      cause: error,
    });
  }
});

afterAll(async () => {
  await rm(buildDir, { recursive: true, force: true });
});

function go(args: readonly string[], input = ''): string {
  return execFileSync(goNote, args, { input, encoding: 'utf8', stdio: ['pipe', 'pipe', 'pipe'] });
}

function goFails(args: readonly string[], input: string): string {
  try {
    go(args, input);
  } catch (error: unknown) {
    return String((error as { stderr?: string }).stderr);
  }
  throw new Error('Expected the Go program to fail');
}

const ORIGIN = 'votes.example/interop-log';
const CHECKPOINTS: readonly Checkpoint[] = [
  { origin: ORIGIN, size: 0, rootHash: new Uint8Array(32), extensions: [] },
  { origin: ORIGIN, size: 1, rootHash: new Uint8Array(32).fill(0xab), extensions: [] },
  {
    origin: ORIGIN,
    size: 65_536,
    rootHash: new Uint8Array(32).map((_, i) => i * 7),
    extensions: [],
  },
  {
    origin: ORIGIN,
    size: 2 ** 53 - 1,
    rootHash: new Uint8Array(32).fill(0xff),
    extensions: ['extension line'],
  },
];

describe('golang.org/x/mod/sumdb/note interop', () => {
  const ours = generateSignerKey(ORIGIN, 'ed25519');
  const ourSigner = parseSignerKey(ours.signerKey).signer;
  const ourVerifier = parseVerifierKey(ours.verifierKey);

  it.each(CHECKPOINTS.map((c) => [c.size, c] as const))(
    'agrees byte for byte on a checkpoint of size %d signed with our key',
    (_size, checkpoint) => {
      const note = signCheckpoint(checkpoint, [ourSigner]);
      const text = note.slice(0, note.lastIndexOf('\n\n') + 1);
      // Go opens our note with our verifier key and returns the same text.
      expect(go(['open', ours.verifierKey], note)).toBe(text);
      // Go signs the same text with our private key: Ed25519 is deterministic.
      const theirs = go(['sign', ours.signerKey], text);
      expect(theirs).toBe(note);
      expect(verifyCheckpoint(theirs, [ourVerifier], { origin: ORIGIN })).toEqual(checkpoint);
    },
  );

  it('reads a Go-generated key and agrees on its verifier key and signatures', () => {
    const [skey = '', vkey = ''] = go(['generate', ORIGIN]).split('\n');
    const { signer, verifierKey } = parseSignerKey(skey);
    expect(verifierKey).toBe(vkey);
    const note = signCheckpoint(CHECKPOINTS[2]!, [signer]);
    const theirs = go(['sign', skey], note.slice(0, note.lastIndexOf('\n\n') + 1));
    expect(theirs).toBe(note);
    expect(verifyCheckpoint(theirs, [parseVerifierKey(vkey)])).toEqual(CHECKPOINTS[2]);
  });

  it('lets Go open a checkpoint that also carries our ML-DSA-44 cosignature', () => {
    const ml = parseSignerKey(generateSignerKey(ORIGIN, 'ml-dsa-44-cosignature').signerKey).signer;
    const note = signCheckpoint(CHECKPOINTS[1]!, [ourSigner, ml]);
    expect(go(['open', ours.verifierKey], note)).toBe(note.slice(0, note.lastIndexOf('\n\n') + 1));
  });

  it('ignores the same lines as Go: unknown keys, and opens a note with many of them', () => {
    const strangers = Array.from(
      { length: 20 },
      (_, i) => parseSignerKey(generateSignerKey(`w${i}.example`, 'ed25519').signerKey).signer,
    );
    const note = signNote('a note with many signatures\n', [...strangers, ourSigner]);
    expect(go(['open', ours.verifierKey], note)).toBe('a note with many signatures\n');
    expect(openNote(note, [ourVerifier]).text).toBe('a note with many signatures\n');
  });

  it('rejects the same tampered note as Go', () => {
    const note = signCheckpoint(CHECKPOINTS[1]!, [ourSigner]).replace('\n1\n', '\n2\n');
    expect(goFails(['open', ours.verifierKey], note)).toContain('invalid signature');
    expect(() => verifyCheckpoint(note, [ourVerifier])).toThrow(/does not verify/u);
  });
});
