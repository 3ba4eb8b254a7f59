import { createHash, createPublicKey, verify } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { AssertionError } from '../basics/index.ts';
import { TlogError } from './errors.ts';
import {
  MAX_NOTE_BYTES,
  MAX_NOTE_SIGNATURES,
  formatVerifierKey,
  generateSignerKey,
  isValidKeyName,
  noteKeyId,
  openNote,
  parseSignerKey,
  parseVerifierKey,
  signNote,
  signNoteAsync,
} from './note.ts';
import type { NoteSigner, NoteVerifier } from './note.ts';

// The example key and note from the golang.org/x/mod/sumdb/note package documentation.
const GO_SKEY = 'PRIVATE+KEY+PeterNeumann+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz';
const GO_VKEY = 'PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW';
const GO_TEXT =
  "If you think cryptography is the answer to your problem,\nthen you don't know what your problem is.\n";
const GO_NOTE = `${GO_TEXT}\n— PeterNeumann x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=\n`;

const ORIGIN = 'example.com/log';
const ROOT = Buffer.alloc(32, 7).toString('base64');
const CHECKPOINT_TEXT = `${ORIGIN}\n42\n${ROOT}\n`;
// Fixed time for cosignatures: 2024-03-09T16:00:00Z.
const NOW_MS = 1_710_000_000_000;

const ed = generateSignerKey(ORIGIN, 'ed25519');
const ml = generateSignerKey(ORIGIN, 'ml-dsa-44-cosignature');
const edSigner = parseSignerKey(ed.signerKey).signer;
const mlSigner = parseSignerKey(ml.signerKey, { now: () => NOW_MS }).signer;
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

/** Replaces the base64 of signature line `index` with the base64 of `bytes`. */
function withSignature(note: string, index: number, bytes: Uint8Array): string {
  const lines = note.split('\n');
  const at = lines.indexOf('') + 1 + index;
  const line = lines[at]!;
  lines[at] = `${line.slice(0, line.lastIndexOf(' '))} ${Buffer.from(bytes).toString('base64')}`;
  return lines.join('\n');
}

/** The base64 key data of a verifier key (which may itself contain plus signs). */
function keyData(vkey: string): Buffer {
  return Buffer.from(vkey.split('+').slice(2).join('+'), 'base64');
}

function signatureBytes(note: string, index: number): Buffer {
  const line = note.split('\n')[note.split('\n').indexOf('') + 1 + index]!;
  return Buffer.from(line.slice(line.lastIndexOf(' ') + 1), 'base64');
}

describe('key names', () => {
  it('accepts names without spaces, plus or control characters', () => {
    expect(isValidKeyName('example.com/log')).toBe(true);
    expect(isValidKeyName('urna.example/élection')).toBe(true);
  });

  it.each([
    ['empty', ''],
    ['a space', 'a b'],
    ['a no-break space', 'a\u00a0b'],
    ['a next-line character', 'a\u0085b'],
    ['a plus', 'a+b'],
    ['a control character', 'a\u0001b'],
    ['a lone surrogate', 'a\ud800b'],
  ])('refuses a name that is %s', (_why, name) => {
    expect(isValidKeyName(name)).toBe(false);
  });
});

describe('Go reference vector', () => {
  it('parses the x/mod signer key and derives its verifier key', () => {
    const { signer, verifierKey } = parseSignerKey(GO_SKEY);
    expect(verifierKey).toBe(GO_VKEY);
    expect(signer).toMatchObject({ name: 'PeterNeumann', keyId: 0xc74f20a3, type: 'ed25519' });
  });

  it('signs the x/mod example note byte for byte', () => {
    expect(signNote(GO_TEXT, [parseSignerKey(GO_SKEY).signer])).toBe(GO_NOTE);
  });

  it('signs the x/mod example note byte for byte off the main thread too', async () => {
    expect(await signNoteAsync(GO_TEXT, [parseSignerKey(GO_SKEY).signer])).toBe(GO_NOTE);
  });

  it('opens the x/mod example note', () => {
    const verifier = parseVerifierKey(GO_VKEY);
    const opened = openNote(GO_NOTE, [verifier]);
    expect(opened.text).toBe(GO_TEXT);
    expect(opened.verifiedBy).toEqual([verifier]);
  });

  it('computes key ids as SHA-256(name || 0x0A || type || public key)[:4]', () => {
    const publicKey = keyData(GO_VKEY).subarray(1);
    expect(noteKeyId('PeterNeumann', 'ed25519', publicKey)).toBe(0xc74f20a3);
    const digest = createHash('sha256')
      .update(Buffer.concat([Buffer.from('PeterNeumann\n'), Buffer.from([0x01]), publicKey]))
      .digest();
    expect(digest.readUInt32BE(0)).toBe(0xc74f20a3);
  });
});

describe('signNote and openNote', () => {
  it('round-trips a note signed by both key types, in signer order', () => {
    const note = signNote(CHECKPOINT_TEXT, [edSigner, mlSigner]);
    const lines = note.split('\n');
    expect(lines.slice(0, 4).join('\n')).toBe(CHECKPOINT_TEXT + '');
    expect(lines[4]).toMatch(/^— example\.com\/log [A-Za-z0-9+/]+=*$/u);
    expect(signatureBytes(note, 0)).toHaveLength(4 + 64);
    expect(signatureBytes(note, 1)).toHaveLength(4 + 8 + 2420);
    const opened = openNote(note, [edVerifier, mlVerifier]);
    expect(opened.text).toBe(CHECKPOINT_TEXT);
    expect(opened.verifiedBy).toEqual([edVerifier, mlVerifier]);
    expect(Object.isFrozen(opened)).toBe(true);
  });

  it('signs asynchronously with both key types, verifiable by the same keys', async () => {
    const note = await signNoteAsync(CHECKPOINT_TEXT, [edSigner, mlSigner]);
    expect(signatureBytes(note, 1)).toHaveLength(4 + 8 + 2420);
    expect(openNote(note, [edVerifier, mlVerifier]).verifiedBy).toEqual([edVerifier, mlVerifier]);
    await expect(signNoteAsync('no newline', [edSigner])).rejects.toMatchObject({
      code: 'NOTE_MALFORMED',
    });
  });

  it('checks whichever keys it is given and ignores the others', () => {
    const note = signNote(CHECKPOINT_TEXT, [edSigner, mlSigner]);
    expect(openNote(note, [edVerifier]).verifiedBy).toEqual([edVerifier]);
    expect(openNote(note, [mlVerifier]).verifiedBy).toEqual([mlVerifier]);
  });

  it('reads a note given as bytes', () => {
    const note = signNote('bonjour, élection\n', [edSigner]);
    expect(openNote(new TextEncoder().encode(note), [edVerifier]).text).toBe('bonjour, élection\n');
  });

  it('keeps empty lines of the text and a leading byte order mark', () => {
    const text = '\ufeffa\n\nb\n\n';
    expect(openNote(new TextEncoder().encode(signNote(text, [edSigner])), [edVerifier]).text).toBe(
      text,
    );
  });

  it('ignores lines of unknown keys, even with a known name or a known key id', () => {
    const other = parseSignerKey(generateSignerKey('other.example', 'ed25519').signerKey).signer;
    const sameName = parseSignerKey(generateSignerKey(ORIGIN, 'ed25519').signerKey).signer;
    const sameId: NoteSigner = {
      name: 'impostor.example',
      keyId: edSigner.keyId,
      type: 'ed25519',
      sign: () => new Uint8Array(64),
    };
    const note = signNote(CHECKPOINT_TEXT, [other, sameName, sameId, edSigner]);
    expect(openNote(note, [edVerifier]).verifiedBy).toEqual([edVerifier]);
  });

  it('verifies every line of a known key and lists the key once', () => {
    const note = signNote(CHECKPOINT_TEXT, [edSigner]);
    const line = note.split('\n')[4]!;
    const twice = `${note}${line}\n`;
    expect(openNote(twice, [edVerifier]).verifiedBy).toEqual([edVerifier]);
    const bad = Buffer.from(signatureBytes(note, 0));
    bad[10]! ^= 1;
    const withBad = `${note}— ${ORIGIN} ${bad.toString('base64')}\n`;
    expect(thrown(() => openNote(withBad, [edVerifier])).code).toBe('SIGNATURE_INVALID');
  });

  it('round-trips any text (property)', () => {
    const line = fc
      .string({ unit: 'grapheme', maxLength: 40 })
      .filter((s) => !/[\u0000-\u001f]/u.test(s));
    fc.assert(
      fc.property(fc.array(line, { minLength: 1, maxLength: 6 }), (lines) => {
        const text = `${lines.join('\n')}\n`;
        const opened = openNote(signNote(text, [edSigner]), [edVerifier]);
        expect(opened.text).toBe(text);
      }),
      { numRuns: 200 },
    );
  });

  it('rejects any change to one byte of the text (property)', () => {
    const note = signNote(CHECKPOINT_TEXT, [edSigner, mlSigner]);
    fc.assert(
      fc.property(
        fc.nat(CHECKPOINT_TEXT.length - 2),
        fc.integer({ min: 0x20, max: 0x7e }),
        (at, code) => {
          fc.pre(CHECKPOINT_TEXT.charCodeAt(at) !== code && CHECKPOINT_TEXT[at] !== '\n');
          const tampered = note.slice(0, at) + String.fromCharCode(code) + note.slice(at + 1);
          for (const verifier of [edVerifier, mlVerifier]) {
            expect(() => openNote(tampered, [verifier])).toThrow(TlogError);
          }
        },
      ),
      { numRuns: 60 },
    );
  });
});

describe('signNote refusals', () => {
  it('refuses text that does not end with a newline', () => {
    const error = thrown(() => signNote('no newline', [edSigner]));
    expect(error.code).toBe('NOTE_MALFORMED');
    expect(error.message).toBe('Cannot sign note: the text does not end with a newline');
  });

  it('refuses control characters and lone surrogates', () => {
    expect(thrown(() => signNote('a\nb\tc\n', [edSigner])).message).toBe(
      'Cannot sign note: line 2 has the control character U+0009',
    );
    expect(thrown(() => signNote('a\ud800\n', [edSigner])).code).toBe('NOTE_MALFORMED');
  });

  it('refuses no signers, too many, duplicates and invalid names', () => {
    expect(thrown(() => signNote('a\n', [])).code).toBe('KEY_MALFORMED');
    expect(
      thrown(() =>
        signNote(
          'a\n',
          Array.from({ length: MAX_NOTE_SIGNATURES + 1 }, () => edSigner),
        ),
      ).code,
    ).toBe('KEY_MALFORMED');
    expect(thrown(() => signNote('a\n', [edSigner, edSigner])).message).toBe(
      `Cannot sign note twice with key "${ORIGIN}+${edSigner.keyId.toString(16).padStart(8, '0')}"`,
    );
    const badName: NoteSigner = {
      ...edSigner,
      name: 'has space',
      sign: (text) => edSigner.sign(text),
    };
    expect(thrown(() => signNote('a\n', [badName])).code).toBe('KEY_MALFORMED');
  });

  it('refuses a note larger than openNote accepts', () => {
    const text = `${'x'.repeat(MAX_NOTE_BYTES)}\n`;
    expect(thrown(() => signNote(text, [edSigner])).message).toMatch(
      /^Cannot sign note: the note would be \d+ bytes/u,
    );
  });

  it('refuses to cosign text that is not a checkpoint with ML-DSA-44', () => {
    const error = thrown(() => signNote('not a checkpoint\n', [mlSigner]));
    expect(error.code).toBe('NOTE_MALFORMED');
    expect(error.message).toMatch(/ML-DSA-44/u);
  });

  it('treats a broken clock as a bug', () => {
    const broken = parseSignerKey(ml.signerKey, { now: () => -1 }).signer;
    expect(() => broken.sign(CHECKPOINT_TEXT)).toThrow(AssertionError);
  });
});

describe('openNote grammar (attacker-controlled input)', () => {
  const good = signNote(CHECKPOINT_TEXT, [edSigner]);

  it.each([
    ['no blank line', 'a\nb\n', 'there is no blank line before the signatures'],
    [
      'an empty signature block',
      'a\n\n',
      'the signature block is empty or does not end with a newline',
    ],
    [
      'a block without a final newline',
      good.slice(0, -1),
      'the signature block is empty or does not end with a newline',
    ],
    [
      'a line without the em dash',
      good.replace('— ', '- '),
      'signature line 1 does not start with an em dash and a space',
    ],
    [
      'a line without a name',
      good.replace(`— ${ORIGIN} `, '—  '),
      'signature line 1 has an empty or invalid key name',
    ],
    [
      'a line without a space',
      `${CHECKPOINT_TEXT}\n— ${ORIGIN}\n`,
      'signature line 1 has no canonical base64',
    ],
    [
      'a name with a plus',
      good.replace(`— ${ORIGIN} `, '— a+b '),
      'signature line 1 has an empty or invalid key name',
    ],
    [
      'base64 with a bad character',
      good.replace(/ (\S+)\n$/u, ' $1!\n'),
      'signature line 1 has no canonical base64',
    ],
    [
      'non-canonical base64',
      `a\n\n— ${ORIGIN} AAAAAAB=\n`,
      'signature line 1 has no canonical base64',
    ],
    ['unpadded base64', `a\n\n— ${ORIGIN} AAAAAAA\n`, 'signature line 1 has no canonical base64'],
    [
      'a signature of 4 bytes',
      `a\n\n— ${ORIGIN} AAAAAA==\n`,
      'signature line 1 has no canonical base64',
    ],
    ['a control character', good.replace('42', '4\r2'), 'line 2 has the control character U+000D'],
    ['a NUL', `${good}\u0000`, 'line 6 has the control character U+0000'],
    [
      'a lone surrogate',
      good.replace('42', '4\udc002'),
      'it is not valid UTF-8 (a lone surrogate)',
    ],
  ])('refuses %s', (_what, note, why) => {
    const error = thrown(() => openNote(note, [edVerifier]));
    expect(error.code).toBe('NOTE_MALFORMED');
    expect(error.message).toContain(why);
  });

  it('refuses bytes that are not UTF-8', () => {
    const bytes = Buffer.concat([Buffer.from('a\xff', 'latin1'), Buffer.from(good)]);
    const error = thrown(() => openNote(bytes, [edVerifier]));
    expect(error.code).toBe('NOTE_MALFORMED');
    expect(error.message).toBe('Cannot open note: it is not valid UTF-8');
    expect(error.cause).toBeInstanceOf(TypeError);
  });

  it('refuses notes over the size limit before decoding them', () => {
    const big = Buffer.alloc(MAX_NOTE_BYTES + 1, 0xff);
    expect(thrown(() => openNote(big, [edVerifier])).message).toBe(
      `Cannot open note: it is ${MAX_NOTE_BYTES + 1} bytes, more than ${MAX_NOTE_BYTES}`,
    );
    expect(thrown(() => openNote(`${'é'.repeat(MAX_NOTE_BYTES / 2)}\n`, [edVerifier])).code).toBe(
      'NOTE_MALFORMED',
    );
  });

  it('accepts 100 signature lines and refuses 101', () => {
    const line = good.split('\n')[4]!;
    const hundred = `${CHECKPOINT_TEXT}\n${`${line}\n`.repeat(MAX_NOTE_SIGNATURES)}`;
    expect(openNote(hundred, [edVerifier]).text).toBe(CHECKPOINT_TEXT);
    const error = thrown(() => openNote(`${hundred}${line}\n`, [edVerifier]));
    expect(error.message).toBe(
      `Cannot open note: it has ${MAX_NOTE_SIGNATURES + 1} signature lines, more than ${MAX_NOTE_SIGNATURES}`,
    );
  });

  it('names the file in the error', () => {
    const error = thrown(() => openNote('a\n', [edVerifier], { file: 'log/checkpoint' }));
    expect(error.file).toBe('log/checkpoint');
    expect(error.message).toBe(
      'Cannot open note "log/checkpoint": there is no blank line before the signatures',
    );
  });
});

describe('openNote signature failures', () => {
  const both = signNote(CHECKPOINT_TEXT, [edSigner, mlSigner]);
  const edLabel = `${ORIGIN}+${edSigner.keyId.toString(16).padStart(8, '0')}`;
  const mlLabel = `${ORIGIN}+${mlSigner.keyId.toString(16).padStart(8, '0')}`;

  it('rejects tampered text, naming the key and why', () => {
    const tampered = both.replace('\n42\n', '\n43\n');
    for (const [verifier, label] of [
      [edVerifier, edLabel],
      [mlVerifier, mlLabel],
    ] as const) {
      const error = thrown(() => openNote(tampered, [verifier], { file: 'checkpoint' }));
      expect(error.code).toBe('SIGNATURE_INVALID');
      expect(error.file).toBe('checkpoint');
      expect(error.message).toBe(
        `Cannot open note "checkpoint": the signature by key "${label}" does not verify: it does not match the text (the text was changed or another key signed it)`,
      );
    }
  });

  it('rejects a note signed by a different key only', () => {
    const stranger = parseSignerKey(
      generateSignerKey('stranger.example', 'ed25519').signerKey,
    ).signer;
    const note = signNote(CHECKPOINT_TEXT, [stranger]);
    const error = thrown(() => openNote(note, [edVerifier, mlVerifier]));
    expect(error.code).toBe('SIGNATURE_INVALID');
    expect(error.message).toBe(
      `Cannot open note: no signature by a known key (known keys: "${edLabel}", "${mlLabel}"; other signature lines: 1, by "stranger.example+${stranger.keyId.toString(16).padStart(8, '0')}")`,
    );
    expect(thrown(() => openNote(note, [])).message).toContain('(known keys: none;');
  });

  it('rejects truncated and garbled signatures', () => {
    const edSig = signatureBytes(both, 0);
    const truncated = withSignature(both, 0, edSig.subarray(0, 40));
    expect(thrown(() => openNote(truncated, [edVerifier])).message).toContain(
      'does not verify: it is 36 bytes, expected 64',
    );
    const mlSig = signatureBytes(both, 1);
    const mlTruncated = withSignature(both, 1, mlSig.subarray(0, 100));
    expect(thrown(() => openNote(mlTruncated, [mlVerifier])).message).toContain(
      'it is 96 bytes, expected 2428',
    );
    const garbled = Buffer.from(mlSig);
    garbled[2000]! ^= 0x40;
    expect(thrown(() => openNote(withSignature(both, 1, garbled), [mlVerifier])).message).toContain(
      'it does not match the text',
    );
  });

  it('rejects a cosignature whose timestamp exceeds 2^63 - 1', () => {
    const mlSig = Buffer.from(signatureBytes(both, 1));
    mlSig[4]! |= 0x80;
    const error = thrown(() => openNote(withSignature(both, 1, mlSig), [mlVerifier]));
    expect(error.message).toMatch(/its timestamp \d+ is above 2\^63 - 1$/u);
  });

  it('rejects an ML-DSA-44 line on text that is not a checkpoint', () => {
    const mlSig = signatureBytes(both, 1);
    const note = `not a checkpoint\n\n— ${ORIGIN} ${mlSig.toString('base64')}\n`;
    expect(thrown(() => openNote(note, [mlVerifier])).message).toContain(
      'the text is not a checkpoint, which an ML-DSA-44 cosignature signs',
    );
  });

  it('refuses two verifiers with the same name and key id', () => {
    expect(thrown(() => openNote(both, [edVerifier, parseVerifierKey(ed.verifierKey)])).code).toBe(
      'KEY_MALFORMED',
    );
  });
});

describe('ML-DSA-44 cosignatures', () => {
  const note = signNote(CHECKPOINT_TEXT, [mlSigner]);
  const signature = signatureBytes(note, 0);

  it('sign the cosigned_message of tlog-cosignature, with the timestamp first', () => {
    expect(signature.readUInt32BE(0)).toBe(mlSigner.keyId);
    expect(signature.readBigUInt64BE(4)).toBe(BigInt(NOW_MS / 1000));
    // Assembled by hand from the spec's struct, independently of note.ts.
    const name = Buffer.from(ORIGIN);
    const u64 = (value: bigint): Buffer => {
      const bytes = Buffer.alloc(8);
      bytes.writeBigUInt64BE(value);
      return bytes;
    };
    const message = Buffer.concat([
      Buffer.from([0x73, 0x75, 0x62, 0x74, 0x72, 0x65, 0x65, 0x2f, 0x76, 0x31, 0x0a, 0x00]),
      Buffer.from([name.length]),
      name,
      u64(BigInt(NOW_MS / 1000)),
      Buffer.from([name.length]),
      name,
      u64(0n),
      u64(42n),
      Buffer.alloc(32, 7),
    ]);
    const publicKey = createPublicKey({
      key: keyData(ml.verifierKey).subarray(1),
      format: 'raw-public',
      asymmetricKeyType: 'ml-dsa-44',
    });
    expect(verify(null, message, publicKey, signature.subarray(12))).toBe(true);
    message[message.length - 1]! ^= 1;
    expect(verify(null, message, publicKey, signature.subarray(12))).toBe(false);
  });

  it('use key ids over 0x06 and the 1312-byte public key', () => {
    const [name, id] = ml.verifierKey.split('+') as [string, string];
    const raw = keyData(ml.verifierKey);
    expect(raw[0]).toBe(0x06);
    expect(raw).toHaveLength(1 + 1312);
    const digest = createHash('sha256').update(`${name}\n`).update(raw).digest();
    expect(digest.readUInt32BE(0).toString(16).padStart(8, '0')).toBe(id);
  });

  it('do not cover extension lines, as the spec says', () => {
    const withExtension = signNote(`${CHECKPOINT_TEXT}extension\n`, [mlSigner]);
    const changed = withExtension.replace('extension\n', 'changed\n');
    expect(openNote(changed, [mlVerifier]).text).toBe(`${CHECKPOINT_TEXT}changed\n`);
  });

  it.each([
    ['a size with a leading zero', `${ORIGIN}\n042\n${ROOT}\n`],
    ['a size above 2^64 - 1', `${ORIGIN}\n18446744073709551616\n${ROOT}\n`],
    ['a root that is not canonical base64', `${ORIGIN}\n42\n${ROOT.slice(0, 42)}B=\n`],
    ['an origin over 255 bytes', `${'o'.repeat(256)}\n42\n${ROOT}\n`],
  ])('refuse text with %s', (_what, text) => {
    expect(thrown(() => mlSigner.sign(text)).code).toBe('NOTE_MALFORMED');
    expect(mlVerifier.verify(text, signature.subarray(4))).toBe(false);
  });

  it('accept the largest tree size', () => {
    const text = `${ORIGIN}\n18446744073709551615\n${ROOT}\n`;
    expect(mlVerifier.verify(text, mlSigner.sign(text))).toBe(true);
  });

  it('commit to the cosigner name: the same public key under another name does not verify', () => {
    const publicKey = keyData(ml.verifierKey).subarray(1);
    const renamed = parseVerifierKey(
      formatVerifierKey('witness.example', { type: 'ml-dsa-44-cosignature', publicKey }),
    );
    expect(mlVerifier.verify(CHECKPOINT_TEXT, signature.subarray(4))).toBe(true);
    expect(renamed.verify(CHECKPOINT_TEXT, signature.subarray(4))).toBe(false);
  });
});

describe('verifier keys', () => {
  it('round-trip through formatVerifierKey and parseVerifierKey', () => {
    for (const key of [ed, ml]) {
      const verifier: NoteVerifier = parseVerifierKey(key.verifierKey);
      const publicKey = keyData(key.verifierKey).subarray(1);
      expect(formatVerifierKey(verifier.name, { type: verifier.type, publicKey })).toBe(
        key.verifierKey,
      );
    }
  });

  it('accept an upper-case key id like Go does', () => {
    const [name, id, data] = GO_VKEY.split('+');
    expect(parseVerifierKey(`${name}+${id!.toUpperCase()}+${data}`).keyId).toBe(0xc74f20a3);
  });

  const edData = keyData(GO_VKEY).toString('base64');
  it.each([
    [
      'an invalid name',
      `a b+c74f20a3+${edData}`,
      'the name is empty or has a space, plus or control character',
    ],
    ['no key id', 'PeterNeumann', 'the key id "" is not 8 hex digits'],
    [
      'a short key id',
      `PeterNeumann+c74f20a+${edData}`,
      'the key id "c74f20a" is not 8 hex digits',
    ],
    [
      'no key data',
      'PeterNeumann+c74f20a3+',
      'the key data is not canonical base64 of at least one byte',
    ],
    ['bad base64', 'PeterNeumann+c74f20a3+A*==', 'the key data is not canonical base64'],
    [
      'an unsupported type',
      `PeterNeumann+c74f20a3+${Buffer.from([0x04, ...Buffer.alloc(32)]).toString('base64')}`,
      'signature type 0x04 is not supported',
    ],
    [
      'a short public key',
      `PeterNeumann+c74f20a3+${Buffer.from([0x01, ...Buffer.alloc(31)]).toString('base64')}`,
      'a ed25519 public key is 32 bytes, not 31',
    ],
    [
      'a wrong key id',
      `PeterNeumann+c74f20a4+${edData}`,
      'the key id does not match the name and public key',
    ],
    [
      'a renamed key',
      `PeterNeumanm+c74f20a3+${edData}`,
      'the key id does not match the name and public key',
    ],
  ])('refuse %s', (_what, vkey, why) => {
    const error = thrown(() => parseVerifierKey(vkey));
    expect(error.code).toBe('KEY_MALFORMED');
    expect(error.message).toContain(why);
  });

  it('shorten long keys in messages', () => {
    const error = thrown(() =>
      parseVerifierKey(ml.verifierKey.replace(/\+[0-9a-f]{8}\+/u, '+00000000+')),
    );
    expect(error.message).toMatch(
      /^Cannot parse verifier key "[^"]{60}…": the key id does not match/u,
    );
  });

  it('refuse ML-DSA-44 names over 255 bytes', () => {
    const name = 'n'.repeat(256);
    const data = Buffer.concat([Buffer.from([0x06]), Buffer.alloc(1312)]).toString('base64');
    expect(thrown(() => parseVerifierKey(`${name}+00000000+${data}`)).message).toContain(
      'an ML-DSA-44 cosigner name is at most 255 bytes',
    );
    expect(thrown(() => generateSignerKey(name, 'ml-dsa-44-cosignature')).code).toBe(
      'KEY_MALFORMED',
    );
    expect(generateSignerKey(name, 'ed25519').verifierKey.startsWith(`${name}+`)).toBe(true);
  });

  it('refuse to format a bad name or a public key of the wrong size', () => {
    expect(
      thrown(() => formatVerifierKey('a+b', { type: 'ed25519', publicKey: new Uint8Array(32) }))
        .code,
    ).toBe('KEY_MALFORMED');
    expect(
      thrown(() =>
        formatVerifierKey('a', { type: 'ml-dsa-44-cosignature', publicKey: new Uint8Array(32) }),
      ).message,
    ).toBe(
      'Cannot format verifier key "a": a ml-dsa-44-cosignature public key is 1312 bytes, not 32',
    );
  });
});

describe('signer keys', () => {
  it('generate keys that parse back to the same verifier key', () => {
    for (const key of [ed, ml]) {
      expect(key.signerKey.startsWith(`PRIVATE+KEY+${ORIGIN}+`)).toBe(true);
      expect(parseSignerKey(key.signerKey).verifierKey).toBe(key.verifierKey);
    }
  });

  it('stamp cosignatures with the current time by default', () => {
    const before = Math.floor(Date.now() / 1000);
    const signature = Buffer.from(parseSignerKey(ml.signerKey).signer.sign(CHECKPOINT_TEXT));
    const stamped = Number(signature.readBigUInt64BE(0));
    expect(stamped).toBeGreaterThanOrEqual(before);
    expect(stamped).toBeLessThanOrEqual(Math.floor(Date.now() / 1000));
  });

  it('refuse an invalid name when generating', () => {
    expect(thrown(() => generateSignerKey('', 'ed25519')).message).toBe(
      'Cannot generate a key named "": the name is empty or has a space, plus or control character',
    );
  });

  const seed = GO_SKEY.split('+').slice(4).join('+');
  it.each([
    ['no PRIVATE+KEY prefix', GO_VKEY, 'it does not start with "PRIVATE+KEY+"'],
    ['a bad key id', 'PRIVATE+KEY+PeterNeumann+zz4f20a3+' + seed, 'is not 8 hex digits'],
    [
      'a short seed',
      `PRIVATE+KEY+PeterNeumann+c74f20a3+${Buffer.from([0x01, 1, 2, 3]).toString('base64')}`,
      'a ed25519 seed is 32 bytes, not 3',
    ],
    [
      'a wrong key id',
      `PRIVATE+KEY+PeterNeumann+c74f20a4+${seed}`,
      'the key id does not match the name and public key',
    ],
  ])('refuse %s without showing the key', (_what, skey, why) => {
    const error = thrown(() => parseSignerKey(skey));
    expect(error.code).toBe('KEY_MALFORMED');
    expect(error.message).toContain(why);
    expect(error.message).not.toContain(seed);
  });
});
