import { describe, expect, it } from 'vitest';
import {
  decodeBase32,
  encodeBase32,
  generateTotpSecret,
  hotp,
  matchTotp,
  TOTP_SECRET_BYTES,
  totpCode,
  totpStep,
  totpUri,
} from './totp.ts';

// RFC 6238 Appendix B, SHA-1 rows: the seed is the ASCII string "12345678901234567890".
const RFC6238_SECRET = Buffer.from('12345678901234567890', 'ascii');
const RFC6238_SHA1 = [
  { time: 59, step: 1, totp8: '94287082' },
  { time: 1111111109, step: 0x23523ec, totp8: '07081804' },
  { time: 1111111111, step: 0x23523ed, totp8: '14050471' },
  { time: 1234567890, step: 0x273ef07, totp8: '89005924' },
  { time: 2000000000, step: 0x3f940aa, totp8: '69279037' },
  { time: 20000000000, step: 0x27bc86aa, totp8: '65353130' },
];

// RFC 4226 Appendix D: HOTP values of counters 0 to 9 for the same secret.
const RFC4226_HOTP = [
  '755224',
  '287082',
  '359152',
  '969429',
  '338314',
  '254676',
  '287922',
  '162583',
  '399871',
  '520489',
];

const at = (seconds: number): Date => new Date(seconds * 1000);

describe('TOTP (RFC 6238)', () => {
  it('computes the RFC 6238 SHA-1 test vectors, 8 digits and their 6-digit truncation', () => {
    for (const { time, step, totp8 } of RFC6238_SHA1) {
      expect(totpStep(at(time))).toBe(step);
      expect(totpCode(RFC6238_SECRET, at(time), 8)).toBe(totp8);
      expect(totpCode(RFC6238_SECRET, at(time))).toBe(totp8.slice(2));
    }
  });

  it('computes the RFC 4226 HOTP test vectors', () => {
    RFC4226_HOTP.forEach((value, counter) => {
      expect(hotp(RFC6238_SECRET, counter)).toBe(value);
    });
  });

  it('accepts the current step and one step either side, and says which', () => {
    const now = at(1111111111);
    const step = totpStep(now);
    for (const offset of [-1, 0, 1]) {
      expect(matchTotp(RFC6238_SECRET, hotp(RFC6238_SECRET, step + offset), now)).toBe(
        step + offset,
      );
    }
    for (const offset of [-3, -2, 2, 3]) {
      expect(matchTotp(RFC6238_SECRET, hotp(RFC6238_SECRET, step + offset), now)).toBeUndefined();
    }
  });

  it('accepts a code typed with a space, refuses anything that is not six digits', () => {
    const now = at(59);
    expect(matchTotp(RFC6238_SECRET, '287 082', now)).toBe(1);
    expect(matchTotp(RFC6238_SECRET, ' 287082 ', now)).toBe(1);
    for (const bad of ['', '28708', '2870820', '94287082', 'abcdef', '28708x', '２８７０８２']) {
      expect(matchTotp(RFC6238_SECRET, bad, now)).toBeUndefined();
    }
    expect(matchTotp(RFC6238_SECRET, `287082${' '.repeat(100)}`, now)).toBeUndefined();
  });

  it('refuses malformed input even at a step whose code is 000000', () => {
    // Malformed input is compared as "000000" to keep the timing flat; it must still fail. Counter
    // 349495 is the first whose HOTP value for the RFC secret is 000000.
    const now = at(349495 * 30);
    expect(hotp(RFC6238_SECRET, 349495)).toBe('000000');
    expect(matchTotp(RFC6238_SECRET, '000000', now)).toBe(349495);
    for (const bad of ['', 'x', '00000', 'zzzzzz']) {
      expect(matchTotp(RFC6238_SECRET, bad, now)).toBeUndefined();
    }
  });

  it('makes 160-bit secrets and an otpauth URI that authenticator apps read', () => {
    const secret = generateTotpSecret();
    expect(secret).toHaveLength(TOTP_SECRET_BYTES);
    expect(Buffer.from(generateTotpSecret()).equals(Buffer.from(secret))).toBe(false);
    const uri = new URL(totpUri(RFC6238_SECRET, 'clerk@county.example'));
    expect(uri.protocol).toBe('otpauth:');
    expect(uri.host).toBe('totp');
    expect(decodeURIComponent(uri.pathname)).toBe('/votervault:clerk@county.example');
    expect(uri.searchParams.get('secret')).toBe('GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ');
    expect(uri.searchParams.get('issuer')).toBe('votervault');
    expect(uri.searchParams.get('algorithm')).toBe('SHA1');
    expect(uri.searchParams.get('digits')).toBe('6');
    expect(uri.searchParams.get('period')).toBe('30');
  });
});

describe('base32 (RFC 4648)', () => {
  // RFC 4648 §10 test vectors, without padding.
  const vectors: [string, string][] = [
    ['', ''],
    ['f', 'MY'],
    ['fo', 'MZXQ'],
    ['foo', 'MZXW6'],
    ['foob', 'MZXW6YQ'],
    ['fooba', 'MZXW6YTB'],
    ['foobar', 'MZXW6YTBOI'],
  ];

  it('encodes and decodes the RFC 4648 vectors', () => {
    for (const [plain, encoded] of vectors) {
      expect(encodeBase32(Buffer.from(plain))).toBe(encoded);
      expect(Buffer.from(decodeBase32(encoded) ?? []).toString()).toBe(plain);
    }
    expect(Buffer.from(decodeBase32('mzxw6ytboi======') ?? []).toString()).toBe('foobar');
  });

  it('refuses text that is not base32', () => {
    expect(decodeBase32('MZXW1')).toBeUndefined();
    expect(decodeBase32('MZ XW')).toBeUndefined();
  });
});
