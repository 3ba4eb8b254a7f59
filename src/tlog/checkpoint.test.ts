import { describe, expect, it } from 'vitest';
import { TlogError } from './errors.ts';
import {
  formatCheckpoint,
  isValidOrigin,
  parseCheckpoint,
  signCheckpoint,
  verifyCheckpoint,
} from './checkpoint.ts';
import type { Checkpoint } from './checkpoint.ts';
import { generateSignerKey, parseSignerKey, parseVerifierKey, signNote } from './note.ts';

const ORIGIN = 'votes.example/log';
const ROOT = new Uint8Array(32).map((_, i) => i);
const CHECKPOINT: Checkpoint = { origin: ORIGIN, size: 1234, rootHash: ROOT, extensions: [] };

const ed = generateSignerKey(ORIGIN, 'ed25519');
const ml = generateSignerKey(ORIGIN, 'ml-dsa-44-cosignature');
const signers = [parseSignerKey(ed.signerKey).signer, parseSignerKey(ml.signerKey).signer];
const edVerifier = parseVerifierKey(ed.verifierKey);
const mlVerifier = parseVerifierKey(ml.verifierKey);

function thrown(run: () => unknown): TlogError {
  try {
    run();
  } catch (error: unknown) {
    if (error instanceof TlogError) return error;
    throw error;
  }
  throw new Error('Expected a TlogError, nothing was thrown');
}

describe('formatCheckpoint and parseCheckpoint', () => {
  it('format origin, decimal size and base64 root, one per line', () => {
    const body = formatCheckpoint({ ...CHECKPOINT, extensions: ['ext one'] });
    expect(body).toBe(`${ORIGIN}\n1234\n${Buffer.from(ROOT).toString('base64')}\next one\n`);
    expect(parseCheckpoint(body)).toEqual({ ...CHECKPOINT, extensions: ['ext one'] });
  });

  it.each([
    ['an origin with a space', { ...CHECKPOINT, origin: 'a b' }],
    ['a negative size', { ...CHECKPOINT, size: -1 }],
    ['a size beyond 2^53', { ...CHECKPOINT, size: 2 ** 53 }],
    ['a short root', { ...CHECKPOINT, rootHash: new Uint8Array(31) }],
    ['an empty extension line', { ...CHECKPOINT, extensions: [''] }],
    ['an extension line with a newline', { ...CHECKPOINT, extensions: ['a\nb'] }],
  ])('refuse to format %s', (_what, checkpoint) => {
    expect(thrown(() => formatCheckpoint(checkpoint)).code).toBe('CHECKPOINT_MALFORMED');
  });

  const root = Buffer.from(ROOT).toString('base64');
  it.each([
    ['no final newline', `${ORIGIN}\n1\n${root}`],
    ['two lines', `${ORIGIN}\n1\n`],
    ['an origin with a plus', `a+b\n1\n${root}\n`],
    ['a size with a leading zero', `${ORIGIN}\n01\n${root}\n`],
    ['a size beyond 2^53', `${ORIGIN}\n9007199254740993\n${root}\n`],
    ['a root of 31 bytes', `${ORIGIN}\n1\n${Buffer.alloc(31).toString('base64')}\n`],
    ['an empty extension line', `${ORIGIN}\n1\n${root}\n\n`],
  ])('refuse to parse %s', (_what, body) => {
    const error = thrown(() => parseCheckpoint(body, 'checkpoint'));
    expect(error.code).toBe('CHECKPOINT_MALFORMED');
    expect(error.file).toBe('checkpoint');
  });

  it('name no file when none is given', () => {
    expect(thrown(() => parseCheckpoint('x')).file).toBeUndefined();
  });

  it('report the origin rule', () => {
    expect(isValidOrigin(ORIGIN)).toBe(true);
    expect(isValidOrigin('')).toBe(false);
  });
});

describe('signCheckpoint and verifyCheckpoint', () => {
  const note = signCheckpoint(CHECKPOINT, signers);

  it('round-trip with both keys, either key alone, and bytes', () => {
    expect(verifyCheckpoint(note, [edVerifier, mlVerifier])).toEqual(CHECKPOINT);
    expect(verifyCheckpoint(note, [edVerifier])).toEqual(CHECKPOINT);
    expect(verifyCheckpoint(note, [mlVerifier])).toEqual(CHECKPOINT);
    expect(
      verifyCheckpoint(new TextEncoder().encode(note), [mlVerifier], { origin: ORIGIN }),
    ).toEqual(CHECKPOINT);
  });

  it.each([0, 1, 255, 256, 2 ** 53 - 1])('round-trips tree size %d', (size) => {
    const checkpoint = { ...CHECKPOINT, size };
    expect(verifyCheckpoint(signCheckpoint(checkpoint, signers), [edVerifier, mlVerifier])).toEqual(
      checkpoint,
    );
  });

  it('rejects a tampered root or size for each key', () => {
    const otherRoot = Buffer.from(ROOT.map((b) => b ^ 1)).toString('base64');
    const tampered = [
      note.replace('\n1234\n', '\n1235\n'),
      note.replace(Buffer.from(ROOT).toString('base64'), otherRoot),
    ];
    for (const bad of tampered) {
      for (const verifier of [edVerifier, mlVerifier]) {
        expect(thrown(() => verifyCheckpoint(bad, [verifier], { file: 'checkpoint' })).code).toBe(
          'SIGNATURE_INVALID',
        );
      }
    }
  });

  it('rejects a checkpoint signed only by another key', () => {
    const other = generateSignerKey(ORIGIN, 'ed25519');
    const error = thrown(() => verifyCheckpoint(note, [parseVerifierKey(other.verifierKey)]));
    expect(error.code).toBe('SIGNATURE_INVALID');
  });

  it('rejects an origin other than the expected one', () => {
    const error = thrown(() =>
      verifyCheckpoint(note, [edVerifier], { origin: 'other.example/log', file: 'cp' }),
    );
    expect(error.code).toBe('SIGNATURE_INVALID');
    expect(error.file).toBe('cp');
    expect(error.message).toBe(
      `Cannot verify checkpoint "cp": its origin "${ORIGIN}" is not the expected "other.example/log"`,
    );
  });

  it('rejects a checkpoint whose only verified key is not named after its origin', () => {
    const witness = generateSignerKey('witness.example', 'ed25519');
    const cosigned = signCheckpoint(CHECKPOINT, [parseSignerKey(witness.signerKey).signer]);
    const error = thrown(() => verifyCheckpoint(cosigned, [parseVerifierKey(witness.verifierKey)]));
    expect(error.code).toBe('SIGNATURE_INVALID');
    expect(error.message).toBe(
      `Cannot verify checkpoint: no key named after its origin "${ORIGIN}" signed it (verified keys: "witness.example")`,
    );
  });

  it('accepts extension lines only under an Ed25519 signature, which covers them', () => {
    const extended = signCheckpoint({ ...CHECKPOINT, extensions: ['note: extension'] }, signers);
    expect(verifyCheckpoint(extended, [edVerifier]).extensions).toEqual(['note: extension']);
    expect(verifyCheckpoint(extended, [edVerifier, mlVerifier]).extensions).toEqual([
      'note: extension',
    ]);
    const error = thrown(() => verifyCheckpoint(extended, [mlVerifier]));
    expect(error.code).toBe('SIGNATURE_INVALID');
    expect(error.message).toContain('extension lines are not covered by a verified signature');
  });

  it('rejects a signed note whose text is not a checkpoint', () => {
    const signed = signNote('hello\n', [signers[0]!]);
    const error = thrown(() => verifyCheckpoint(signed, [edVerifier], { file: 'checkpoint' }));
    expect(error.code).toBe('CHECKPOINT_MALFORMED');
    expect(error.file).toBe('checkpoint');
  });

  it('passes note grammar errors through', () => {
    expect(thrown(() => verifyCheckpoint('garbage', [edVerifier])).code).toBe('NOTE_MALFORMED');
  });
});
