import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { canonicalJson, canonicalJsonBytes } from './canonical-json.ts';
import { TlogError } from './errors.ts';

describe('canonicalJson', () => {
  it('sorts keys by UTF-16 code units and drops whitespace (RFC 8785 §3.2.3 example)', () => {
    // The property names of the RFC 8785 sorting example, in scrambled order.
    const input = {
      '\u20ac': 'Euro Sign',
      '\r': 'Carriage Return',
      '\ufb33': 'Hebrew Letter Dalet With Dagesh',
      '1': 'One',
      '\ud83d\ude00': 'Emoji: Grinning Face',
      '\u0080': 'Control',
      '\u00f6': 'Latin Small Letter O With Diaeresis',
    };
    // Read the member order off the text: Object.keys would put "1" first whatever the text.
    const order = [...canonicalJson(input).matchAll(/"([^"]*)":"/g)].map(
      (m) => JSON.parse(`"${m[1]}"`) as string,
    );
    expect(order).toEqual(['\r', '1', '\u0080', '\u00f6', '\u20ac', '\ud83d\ude00', '\ufb33']);
  });

  it('formats numbers as ECMAScript does (RFC 8785 §3.2.2.3 samples)', () => {
    expect(canonicalJson([333333333.33333329, 1e30, 4.5, 0.002, 1e-27, -0, 9007199254740991])).toBe(
      '[333333333.3333333,1e+30,4.5,0.002,1e-27,0,9007199254740991]',
    );
  });

  it('escapes strings minimally', () => {
    expect(canonicalJson({ s: '\u0000\b\t\n\f\r"\\/\u007f\u00e9' })).toBe(
      '{"s":"\\u0000\\b\\t\\n\\f\\r\\"\\\\/\u007f\u00e9"}',
    );
  });

  it('leaves out undefined members and encodes nested values', () => {
    expect(canonicalJson({ b: [true, false, null], a: { y: 1, x: undefined } })).toBe(
      '{"a":{"y":1},"b":[true,false,null]}',
    );
    expect(new TextDecoder().decode(canonicalJsonBytes({ z: 'é' }))).toBe('{"z":"é"}');
  });

  it.each([
    ['NaN', { n: Number.NaN }],
    ['Infinity', [Number.POSITIVE_INFINITY]],
    ['a lone surrogate', { s: '\ud800' }],
    ['a lone surrogate in a key', { ['\udc00']: 1 }],
    ['a bigint', { n: 1n }],
    ['a class instance', { d: new Date(0) }],
    ['a function', { f: () => 1 }],
    ['deep nesting', JSON.parse('['.repeat(70) + ']'.repeat(70)) as unknown],
  ])('refuses %s with ENTRY_INVALID', (_name, value) => {
    let caught: unknown;
    try {
      canonicalJson(value);
    } catch (error: unknown) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(TlogError);
    expect((caught as TlogError).code).toBe('ENTRY_INVALID');
  });

  it('is stable: parsing and re-serialising gives the same bytes, whatever the key order', () => {
    fc.assert(
      fc.property(fc.jsonValue(), (value) => {
        const once = canonicalJson(value);
        expect(canonicalJson(JSON.parse(once))).toBe(once);
        expect(JSON.parse(once)).toEqual(JSON.parse(JSON.stringify(value)));
      }),
      { numRuns: 300 },
    );
  });

  it('accepts objects without a prototype', () => {
    const bare = Object.create(null) as Record<string, number>;
    bare['b'] = 2;
    bare['a'] = 1;
    expect(canonicalJson(bare)).toBe('{"a":1,"b":2}');
  });
});
