import { TlogError } from './errors.ts';

/** A value that has exactly one RFC 8785 serialisation. */
export type JsonValue =
  null | boolean | number | string | readonly JsonValue[] | { readonly [key: string]: JsonValue };

const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

function serialiseString(value: string, path: string): string {
  // SPEC: RFC 8785 §3.2.2.2 strings follow ECMAScript JSON.stringify; RFC 8785 §3.1 "data MUST
  // be I-JSON", and I-JSON (RFC 7493 §2.1) forbids lone surrogates, so we refuse them rather
  // than escape them.
  if (LONE_SURROGATE.test(value)) {
    throw new TlogError(
      'ENTRY_INVALID',
      `Cannot canonicalise ${path}: string has a lone surrogate`,
    );
  }
  return JSON.stringify(value);
}

function serialise(value: unknown, path: string, depth: number): string {
  if (depth > 64)
    throw new TlogError('ENTRY_INVALID', `Cannot canonicalise ${path}: nested too deep`);
  if (value === null) return 'null';
  switch (typeof value) {
    case 'boolean':
      return value ? 'true' : 'false';
    case 'number':
      // SPEC: RFC 8785 §3.2.2.3 numbers use the ECMAScript Number-to-String algorithm, which
      // JSON.stringify implements; NaN and Infinity have no JSON form.
      if (!Number.isFinite(value)) {
        throw new TlogError(
          'ENTRY_INVALID',
          `Cannot canonicalise ${path}: number "${value}" is not finite`,
        );
      }
      return JSON.stringify(value);
    case 'string':
      return serialiseString(value, path);
    case 'object': {
      if (Array.isArray(value)) {
        return `[${value.map((v: unknown, i) => serialise(v, `${path}[${i}]`, depth + 1)).join(',')}]`;
      }
      const proto: unknown = Object.getPrototypeOf(value);
      if (proto !== Object.prototype && proto !== null) {
        throw new TlogError('ENTRY_INVALID', `Cannot canonicalise ${path}: not a plain object`);
      }
      // SPEC: RFC 8785 §3.2.3 "JSON object properties MUST be sorted ... by their names ...
      // formatted as arrays of UTF-16 code units", which is what the default sort compares.
      const keys = Object.keys(value).sort();
      const record = value as Record<string, unknown>;
      const members: string[] = [];
      for (const key of keys) {
        const member = record[key];
        if (member === undefined) continue;
        members.push(
          `${serialiseString(key, path)}:${serialise(member, `${path}.${key}`, depth + 1)}`,
        );
      }
      return `{${members.join(',')}}`;
    }
    default:
      throw new TlogError(
        'ENTRY_INVALID',
        `Cannot canonicalise ${path}: ${typeof value} has no JSON form`,
      );
  }
}

/**
 * Serialises a value as RFC 8785 canonical JSON (JCS): sorted keys, no whitespace, ECMAScript
 * number formatting. Object members whose value is `undefined` are left out, as JSON.stringify
 * does. Log entries of every module go through here so that equal content is equal bytes.
 * @throws TlogError ENTRY_INVALID when the value has no canonical form (non-finite number,
 *   lone surrogate, class instance, bigint, nesting over 64 levels)
 */
export function canonicalJson(value: unknown): string {
  return serialise(value, '$', 0);
}

/** {@link canonicalJson} as UTF-8 bytes, ready to append. */
export function canonicalJsonBytes(value: unknown): Uint8Array {
  return new TextEncoder().encode(canonicalJson(value));
}
