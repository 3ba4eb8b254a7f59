import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { decodeEntryBundle, encodeEntryBundle, MAX_ENTRY_BYTES } from './entry-bundle.ts';

const hex = (bytes: Uint8Array): string => Buffer.from(bytes).toString('hex');

describe('entry bundles', () => {
  it('prefixes each entry with its big-endian uint16 length', () => {
    const bundle = encodeEntryBundle([Buffer.from('ab'), new Uint8Array(0), Buffer.from('c')]);
    expect(hex(bundle)).toBe('00026162' + '0000' + '000163');
    expect(decodeEntryBundle(bundle).map(hex)).toEqual(['6162', '', '63']);
  });

  it('round-trips 0-byte and 65,535-byte entries', () => {
    const big = new Uint8Array(MAX_ENTRY_BYTES).fill(0xab);
    const bundle = encodeEntryBundle([new Uint8Array(0), big, new Uint8Array(0)]);
    expect(bundle.length).toBe(6 + MAX_ENTRY_BYTES);
    expect(hex(bundle.subarray(2, 4))).toBe('ffff');
    const [a, b, c] = decodeEntryBundle(bundle);
    expect([a!.length, b!.length, c!.length]).toEqual([0, MAX_ENTRY_BYTES, 0]);
    expect(b!.every((x) => x === 0xab)).toBe(true);
    expect(decodeEntryBundle(new Uint8Array(0))).toEqual([]);
  });

  it('refuses an entry over 65,535 bytes naming its size and the limit', () => {
    expect(() => encodeEntryBundle([new Uint8Array(65_536)])).toThrow(
      expect.objectContaining({
        code: 'ENTRY_TOO_LARGE',
        message: expect.stringMatching(/"65536".*65535/),
      }),
    );
  });

  it('refuses to encode more than 256 entries', () => {
    const entries = Array.from({ length: 257 }, () => new Uint8Array(1));
    expect(() => encodeEntryBundle(entries)).toThrow(
      expect.objectContaining({ code: 'BUNDLE_MALFORMED' }),
    );
  });

  it('refuses truncated input naming the file', () => {
    const bundle = encodeEntryBundle([Buffer.from('hello'), Buffer.from('world')]);
    // Cut inside the second entry's bytes, then inside its length prefix.
    expect(() =>
      decodeEntryBundle(bundle.subarray(0, bundle.length - 1), 'tile/entries/000.p/2'),
    ).toThrow(
      expect.objectContaining({
        code: 'BUNDLE_MALFORMED',
        file: 'tile/entries/000.p/2',
        message: expect.stringMatching(/entry 1 claims "5" bytes but only 4 remain/),
      }),
    );
    expect(() => decodeEntryBundle(bundle.subarray(0, 8))).toThrow(
      expect.objectContaining({
        code: 'BUNDLE_MALFORMED',
        message: expect.stringContaining('inside the length of entry 1'),
      }),
    );
    // A length prefix that claims more than the whole input.
    expect(() => decodeEntryBundle(Uint8Array.of(0xff, 0xff, 1, 2))).toThrow(
      expect.objectContaining({ code: 'BUNDLE_MALFORMED', file: undefined }),
    );
  });

  it('refuses input holding more than 256 entries', () => {
    const oversized = new Uint8Array(2 * 257); // 257 empty entries
    expect(() => decodeEntryBundle(oversized, 'b')).toThrow(
      expect.objectContaining({
        code: 'BUNDLE_MALFORMED',
        message: expect.stringContaining('more than 256'),
      }),
    );
    expect(decodeEntryBundle(oversized.subarray(0, 2 * 256))).toHaveLength(256);
  });

  it('decodes a view into the input, wherever it sits in its buffer', () => {
    const backing = new Uint8Array(10);
    backing.set([0, 2, 7, 8], 3);
    expect(decodeEntryBundle(backing.subarray(3, 7)).map(hex)).toEqual(['0708']);
  });

  it('round-trips any list of entries (property)', () => {
    fc.assert(
      fc.property(fc.array(fc.uint8Array({ maxLength: 300 }), { maxLength: 256 }), (entries) => {
        const decoded = decodeEntryBundle(encodeEntryBundle(entries));
        expect(decoded.map(hex)).toEqual(entries.map(hex));
      }),
      { numRuns: 200 },
    );
  });

  it('never reads out of bounds on arbitrary bytes (property)', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 600 }), (bytes) => {
        try {
          const entries = decodeEntryBundle(bytes);
          // Whatever decodes re-encodes to exactly the input.
          expect(hex(encodeEntryBundle(entries))).toBe(hex(bytes));
        } catch (error) {
          expect(error).toMatchObject({ code: 'BUNDLE_MALFORMED' });
        }
      }),
      { numRuns: 500 },
    );
  });
});
