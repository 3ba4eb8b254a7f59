import { createHmac, createSecretKey, randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { computeSubjectTag, parseSubjectTag } from './subject-tag.ts';

const key = createSecretKey(randomBytes(32));

describe('computeSubjectTag', () => {
  it('is HMAC-SHA256 of the UTF-8 voter id in lower-case hex', () => {
    const tag = computeSubjectTag(key, 'TEST-000001');
    expect(tag).toBe(createHmac('sha256', key).update('TEST-000001').digest('hex'));
    expect(parseSubjectTag(tag)).toBe(tag);
  });

  it('refuses an empty or ill-formed voter id without naming it', () => {
    for (const voterId of ['', 'TEST\ud800']) {
      expect(() => computeSubjectTag(key, voterId)).toThrow(
        expect.objectContaining({
          code: 'VALUE_INVALID',
          message: expect.not.stringContaining('TEST') as string,
        }),
      );
    }
  });
});

describe('parseSubjectTag', () => {
  it.each(['', 'ab', 'A'.repeat(64), `${'a'.repeat(64)}\n`, 'g'.repeat(64), 'a'.repeat(65)])(
    'refuses %j',
    (text) => {
      expect(() => parseSubjectTag(text)).toThrow(
        expect.objectContaining({ code: 'VALUE_INVALID' }),
      );
    },
  );
});
