import { createSecretKey, randomBytes } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  WRAPPED_KEY_SIZE,
  decrypt,
  encodeRecordBinding,
  encrypt,
  hashPublicFields,
  open,
  seal,
  unwrapDataKey,
  wrapDataKey,
} from './envelope.ts';
import type { KeyVersion, RecordBinding, SealedRecord } from './envelope.ts';
import { lengthPrefixed, u32 } from './encoding.ts';

const wrap = { key: createSecretKey(randomBytes(32)), version: 1 as KeyVersion };
const otherWrap = { key: createSecretKey(randomBytes(32)), version: 1 as KeyVersion };

function binding(overrides: Partial<RecordBinding> = {}): RecordBinding {
  return {
    voterId: 'TEST-000001',
    jurisdiction: 'Example County',
    rowVersion: 7,
    publicFieldsHash: hashPublicFields({ last_name: 'DOE', first_name: 'JANE', zip: '00000' }),
    ...overrides,
  };
}

const PLAINTEXT = new TextEncoder().encode('{"dob":"1970-01-01","phone":"555-0100"}');

function flip(bytes: Uint8Array, index: number): Uint8Array {
  const copy = Uint8Array.from(bytes);
  copy[index] = (copy[index] ?? 0) ^ 0x01;
  return copy;
}

describe('hashPublicFields', () => {
  it('is independent of key order and 32 bytes long', () => {
    const a = hashPublicFields({ a: '1', b: '2', c: null });
    const b = hashPublicFields({ c: null, b: '2', a: '1' });
    expect(Buffer.from(a).equals(b)).toBe(true);
    expect(a.length).toBe(32);
  });

  it('tells null, the empty string and a missing field apart', () => {
    const hashes = [{ a: null }, { a: '' }, {}, { a: 'x' }, { b: 'x' }].map((fields) =>
      Buffer.from(hashPublicFields(fields)).toString('hex'),
    );
    expect(new Set(hashes).size).toBe(hashes.length);
  });

  it('treats an undefined value as null', () => {
    const fields = { a: undefined } as unknown as Record<string, string | null>;
    expect(Buffer.from(hashPublicFields(fields)).equals(hashPublicFields({ a: null }))).toBe(true);
  });

  it('cannot be fooled by moving bytes between names and values', () => {
    expect(Buffer.from(hashPublicFields({ ab: 'c' })).equals(hashPublicFields({ a: 'bc' }))).toBe(
      false,
    );
  });

  it('matches the documented encoding', () => {
    const expected = Buffer.concat([
      Buffer.from('votervault public fields 1\0'),
      u32(2),
      lengthPrefixed('a'),
      Buffer.from([1]),
      lengthPrefixed('x'),
      lengthPrefixed('b'),
      Buffer.from([0]),
    ]);
    const { createHash } = process.getBuiltinModule('node:crypto');
    expect(Buffer.from(hashPublicFields({ b: null, a: 'x' })).toString('hex')).toBe(
      createHash('sha256').update(expected).digest('hex'),
    );
  });

  it('refuses lone surrogates in names and values', () => {
    expect(() => hashPublicFields({ '\ud800': 'x' })).toThrow(
      expect.objectContaining({ code: 'VALUE_INVALID' }),
    );
    expect(() => hashPublicFields({ a: 'x\udc00' })).toThrow(
      expect.objectContaining({ code: 'VALUE_INVALID' }),
    );
  });

  it('is order-independent for any map (property)', () => {
    fc.assert(
      fc.property(fc.dictionary(fc.string(), fc.option(fc.string())), (fields) => {
        const reversed = Object.fromEntries(Object.entries(fields).reverse());
        expect(Buffer.from(hashPublicFields(fields)).equals(hashPublicFields(reversed))).toBe(true);
      }),
    );
  });
});

describe('encodeRecordBinding', () => {
  it('encodes the documented layout', () => {
    const b = binding({ rowVersion: 2 ** 40 + 5 });
    const version = Buffer.from([0, 0, 1, 0, 0, 0, 0, 5]);
    expect(
      encodeRecordBinding(b).equals(
        Buffer.concat([
          Buffer.from('votervault record 1\0'),
          Buffer.from([1]),
          lengthPrefixed(b.voterId),
          lengthPrefixed(b.jurisdiction),
          version,
          u32(32),
          b.publicFieldsHash,
        ]),
      ),
    ).toBe(true);
  });

  it.each([
    ['an empty voter id', { voterId: '' }],
    ['a voter id with a lone surrogate', { voterId: 'A\ud800' }],
    ['an empty jurisdiction', { jurisdiction: '' }],
    ['a negative row version', { rowVersion: -1 }],
    ['a fractional row version', { rowVersion: 1.5 }],
    ['an unsafe row version', { rowVersion: 2 ** 53 }],
    ['a short public fields hash', { publicFieldsHash: new Uint8Array(31) }],
  ])('refuses %s', (_name, overrides: Partial<RecordBinding>) => {
    expect(() => encodeRecordBinding(binding(overrides))).toThrow(
      expect.objectContaining({ code: 'BINDING_INVALID' }),
    );
  });

  it('never names the voter id in its messages', () => {
    expect(() => encodeRecordBinding(binding({ voterId: 'SECRET\ud800' }))).toThrow(
      expect.objectContaining({ message: expect.not.stringContaining('SECRET') as string }),
    );
  });
});

describe('seal and open', () => {
  it('round-trips any plaintext (property)', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 2048 }), (plaintext) => {
        const sealed = seal(plaintext, binding(), wrap);
        expect(Buffer.from(open(sealed, binding(), wrap.key)).equals(plaintext)).toBe(true);
      }),
    );
  });

  it('uses a fresh data key and nonce for every record', () => {
    const a = seal(PLAINTEXT, binding(), wrap);
    const b = seal(PLAINTEXT, binding(), wrap);
    expect(Buffer.from(a.ciphertext).equals(b.ciphertext)).toBe(false);
    expect(Buffer.from(a.wrappedKey.bytes).equals(b.wrappedKey.bytes)).toBe(false);
    // Each data key opens only its own record: shredding one wrapped key loses that record.
    expect(() => open({ ...a, wrappedKey: b.wrappedKey }, binding(), wrap.key)).toThrow(
      expect.objectContaining({ code: 'ENVELOPE_INVALID' }),
    );
  });

  it('lays out the ciphertext and wrapped key as documented', () => {
    const sealed = seal(PLAINTEXT, binding(), wrap);
    expect(sealed.ciphertext[0]).toBe(1);
    expect(sealed.ciphertext.length).toBe(1 + 12 + PLAINTEXT.length + 16);
    expect(sealed.wrappedKey.bytes.length).toBe(WRAPPED_KEY_SIZE);
    expect(sealed.wrappedKey.bytes[0]).toBe(1);
    expect(Buffer.from(sealed.ciphertext).includes(Buffer.from(PLAINTEXT))).toBe(false);
  });

  it('keeps sealing correctly across refills of the random pool', () => {
    // 64 KiB pool, 56 random bytes per record: 3,000 records cross several refills, and a refill
    // between drawing the data key and wrapping it must not change the key that is wrapped.
    // Extra 12-byte draws shift where each refill falls relative to a record's draws.
    for (let i = 0; i < 3000; i++) {
      for (let j = 0; j < i % 3; j++) encrypt(wrap.key, new Uint8Array(0), new Uint8Array(0));
      const sealed = seal(PLAINTEXT, binding(), wrap);
      expect(Buffer.from(open(sealed, binding(), wrap.key)).equals(PLAINTEXT)).toBe(true);
    }
  });

  it('fails on any flipped bit of the ciphertext', () => {
    const sealed = seal(PLAINTEXT, binding(), wrap);
    for (let i = 0; i < sealed.ciphertext.length; i++) {
      const tampered: SealedRecord = { ...sealed, ciphertext: flip(sealed.ciphertext, i) };
      expect(() => open(tampered, binding(), wrap.key)).toThrow(
        expect.objectContaining({ code: 'ENVELOPE_INVALID' }),
      );
    }
  });

  it('fails on any flipped bit of the wrapped key, or a wrapped key of another length', () => {
    const sealed = seal(PLAINTEXT, binding(), wrap);
    const { bytes } = sealed.wrappedKey;
    const variants = [
      ...Array.from(bytes, (_byte, i) => flip(bytes, i)),
      bytes.subarray(0, bytes.length - 1),
      Buffer.concat([bytes, Buffer.from([0])]),
      new Uint8Array(0),
    ];
    for (const variant of variants) {
      const tampered = { ...sealed, wrappedKey: { ...sealed.wrappedKey, bytes: variant } };
      expect(() => open(tampered, binding(), wrap.key)).toThrow(
        expect.objectContaining({ code: 'ENVELOPE_INVALID' }),
      );
    }
  });

  it('fails for a ciphertext too short to hold a nonce and tag', () => {
    const sealed = seal(PLAINTEXT, binding(), wrap);
    const tampered = { ...sealed, ciphertext: sealed.ciphertext.subarray(0, 28) };
    expect(() => open(tampered, binding(), wrap.key)).toThrow(
      expect.objectContaining({ code: 'ENVELOPE_INVALID' }),
    );
  });

  it.each([
    ['voter id', { voterId: 'TEST-000002' }],
    ['jurisdiction', { jurisdiction: 'Other County' }],
    ['row version', { rowVersion: 8 }],
    ['public fields hash', { publicFieldsHash: hashPublicFields({ last_name: 'ROE' }) }],
  ])('fails when the %s of the binding differs', (_name, overrides: Partial<RecordBinding>) => {
    const sealed = seal(PLAINTEXT, binding(), wrap);
    expect(() => open(sealed, binding(overrides), wrap.key)).toThrow(
      expect.objectContaining({ code: 'ENVELOPE_INVALID' }),
    );
  });

  it('fails under another wrap key or a wrapped key claiming another version', () => {
    const sealed = seal(PLAINTEXT, binding(), wrap);
    expect(() => open(sealed, binding(), otherWrap.key)).toThrow(
      expect.objectContaining({ code: 'ENVELOPE_INVALID' }),
    );
    const claimed = {
      ...sealed,
      wrappedKey: { ...sealed.wrappedKey, keyVersion: 2 as KeyVersion },
    };
    expect(() => open(claimed, binding(), wrap.key)).toThrow(
      expect.objectContaining({ code: 'ENVELOPE_INVALID' }),
    );
  });
});

describe('wrapDataKey and unwrapDataKey', () => {
  it('re-wrap under another key keeps the record readable without touching it', () => {
    const sealed = seal(PLAINTEXT, binding(), wrap);
    const dataKey = unwrapDataKey(sealed.wrappedKey, 'TEST-000001', wrap.key);
    const next = { key: createSecretKey(randomBytes(32)), version: 2 as KeyVersion };
    const rewrapped = wrapDataKey(dataKey, 'TEST-000001', next);
    expect(rewrapped.keyVersion).toBe(2);
    const opened = open(
      { ciphertext: sealed.ciphertext, wrappedKey: rewrapped },
      binding(),
      next.key,
    );
    expect(Buffer.from(opened).equals(PLAINTEXT)).toBe(true);
  });

  it('binds the wrapped key to the voter id', () => {
    const sealed = seal(PLAINTEXT, binding(), wrap);
    expect(() => unwrapDataKey(sealed.wrappedKey, 'TEST-000002', wrap.key)).toThrow(
      expect.objectContaining({ code: 'ENVELOPE_INVALID' }),
    );
    expect(() => unwrapDataKey(sealed.wrappedKey, '', wrap.key)).toThrow(
      expect.objectContaining({ code: 'BINDING_INVALID' }),
    );
    expect(() => wrapDataKey(randomBytes(32), '', wrap)).toThrow(
      expect.objectContaining({ code: 'BINDING_INVALID' }),
    );
  });
});

describe('encrypt and decrypt', () => {
  it('return null for another format byte, a short input or a wrong tag', () => {
    const key = createSecretKey(randomBytes(32));
    const ad = Buffer.from('ad');
    const sealed = encrypt(key, ad, Buffer.from('secret'));
    expect(decrypt(key, ad, sealed)?.toString()).toBe('secret');
    expect(decrypt(key, ad, Buffer.concat([Buffer.from([2]), sealed.subarray(1)]))).toBeNull();
    expect(decrypt(key, ad, sealed.subarray(0, 28))).toBeNull();
    expect(decrypt(key, Buffer.from('other'), sealed)).toBeNull();
  });
});
