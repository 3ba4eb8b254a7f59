import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { emptyRoot, equalBytes, leafHash, nodeHash } from './hash.ts';

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');
const sha256 = (...parts: Uint8Array[]): string => {
  const h = createHash('sha256');
  for (const p of parts) h.update(p);
  return h.digest('hex');
};

describe('RFC 6962 hashing', () => {
  it('prefixes leaves with 0x00 and nodes with 0x01', () => {
    const entry = Buffer.from('hello');
    expect(hex(leafHash(entry))).toBe(sha256(Buffer.from([0]), entry));
    const l = leafHash(Buffer.from('a'));
    const r = leafHash(Buffer.from('b'));
    expect(hex(nodeHash(l, r))).toBe(sha256(Buffer.from([1]), l, r));
    expect(hex(nodeHash(l, r))).not.toBe(hex(nodeHash(r, l)));
  });

  it('hashes the empty leaf to the RFC 6962 test vector', () => {
    // RFC 6962 test vectors (certificate-transparency-go): leaf hash of the empty string.
    expect(hex(leafHash(new Uint8Array()))).toBe(
      '6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d',
    );
  });

  it('defines the empty tree root as SHA-256 of the empty string', () => {
    expect(hex(emptyRoot())).toBe(
      'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855',
    );
  });

  it('compares bytes by value and length', () => {
    expect(equalBytes(Buffer.from('ab'), Buffer.from('ab'))).toBe(true);
    expect(equalBytes(Buffer.from('ab'), Buffer.from('ac'))).toBe(false);
    expect(equalBytes(Buffer.from('ab'), Buffer.from('abc'))).toBe(false);
  });
});
