// Per-record envelope encryption. Each record is sealed with AES-256-GCM under its own random data
// key; the data key is wrapped (AES-256-GCM again) under the wrap key of a root key version. The
// associated data of the record binds it to its row, and that of the wrapped key binds it to its
// voter and key version, so a blob edited, moved to another row or given another key version in
// the database fails to open. Everything opened here comes from the database, which the threat
// model treats as attacker-controlled: lengths and format bytes are checked before use and every
// failure is one ENVELOPE_INVALID that names no field value.
import {
  createCipheriv,
  createDecipheriv,
  createHash,
  createSecretKey,
  randomFillSync,
} from 'node:crypto';
import type { KeyObject } from 'node:crypto';
import type { Brand } from '../basics/index.ts';
import { LONE_SURROGATE, lengthPrefixed, u32 } from './encoding.ts';
import { CryptoError } from './errors.ts';

/**
 * Version of a root key (and of the wrap key derived from it), or of the stable secret: a
 * positive integer, 1 for the first. Stored beside each wrapped key.
 */
export type KeyVersion = Brand<number, 'KeyVersion'>;

/** What a record's ciphertext is bound to: opening it with any other binding fails. */
export interface RecordBinding {
  /** The voter's id, unique across every jurisdiction of the deployment. */
  readonly voterId: string;
  readonly jurisdiction: string;
  /** Version of the row, a non-negative safe integer, raised on every change. */
  readonly rowVersion: number;
  /** {@link hashPublicFields} of the row's public fields (32 bytes). */
  readonly publicFieldsHash: Uint8Array;
}

/** A record's data key wrapped under root key version `keyVersion`. */
export interface WrappedKey {
  readonly keyVersion: KeyVersion;
  /** Format byte, 12-byte nonce, the 32-byte key encrypted, 16-byte tag: 61 bytes. */
  readonly bytes: Uint8Array;
}

/** A sealed record: what the database stores in place of its confidential fields. */
export interface SealedRecord {
  /** Format byte, 12-byte nonce, ciphertext, 16-byte tag. */
  readonly ciphertext: Uint8Array;
  /** Deleting this crypto-shreds the record: without it the ciphertext cannot be opened. */
  readonly wrappedKey: WrappedKey;
}

/** Format byte of a record ciphertext and of a wrapped key: AES-256-GCM, 96-bit nonce, 128-bit tag. */
export const ENVELOPE_FORMAT_AES_256_GCM = 0x01;
/** Bytes of a data key (AES-256). */
export const DATA_KEY_SIZE = 32;
/** Bytes of a GCM nonce; random per message, under a key used for one record only. */
const NONCE_SIZE = 12;
/** Bytes of a GCM tag; never truncated. */
const TAG_SIZE = 16;
/** Bytes of {@link hashPublicFields}. */
export const PUBLIC_FIELDS_HASH_SIZE = 32;
/** Bytes of a wrapped key. */
export const WRAPPED_KEY_SIZE = 1 + NONCE_SIZE + DATA_KEY_SIZE + TAG_SIZE;

// Labels that start each encoding, so that the associated data of a record, of a wrapped key and
// the public-fields hash input can never be mistaken for one another.
const RECORD_AD_LABEL = Buffer.from('votervault record 1\0', 'utf8');
const WRAP_AD_LABEL = Buffer.from('votervault wrapped key 1\0', 'utf8');
const PUBLIC_FIELDS_LABEL = Buffer.from('votervault public fields 1\0', 'utf8');

// Random bytes are drawn from a pool filled by the CSPRNG in large blocks: one randomFillSync call
// per 1,170 records instead of two or three per record. Every byte is handed out once; callers
// copy it (createSecretKey, createCipheriv and Buffer.concat all copy) before the pool is refilled.
const RANDOM_POOL_SIZE = 64 * 1024;
const randomPool = Buffer.alloc(RANDOM_POOL_SIZE);
let randomOffset = RANDOM_POOL_SIZE;

/** `size` bytes from the CSPRNG, valid until the next call. */
function randomSlice(size: number): Buffer {
  if (randomOffset + size > RANDOM_POOL_SIZE) {
    randomFillSync(randomPool);
    randomOffset = 0;
  }
  const slice = randomPool.subarray(randomOffset, randomOffset + size);
  randomOffset += size;
  return slice;
}

/**
 * SHA-256 of a canonical encoding of the public fields, for {@link RecordBinding}. Equal maps give
 * equal hashes whatever the key order; a field set to `null` differs from a field left out, and
 * `""` from `null`. Encoding (u32 = 4-byte big-endian length in bytes, strings UTF-8):
 * `"votervault public fields 1\0" || u32(count) || for each name in UTF-16 code-unit order:
 * u32(len) || name || (0x00 for null | 0x01 || u32(len) || value)`.
 * @throws CryptoError VALUE_INVALID when a name or value holds a lone surrogate (two different
 *   strings would encode to the same UTF-8)
 */
export function hashPublicFields(fields: Readonly<Record<string, string | null>>): Uint8Array {
  const names = Object.keys(fields).sort();
  // ASCII only (voter files nearly always are): each character is one byte whatever the
  // encoding, so the message is built as a string and hashed as latin1, with no buffer. A
  // length of 128 or more puts a non-ASCII character in its prefix and takes the general path.
  let ascii = PUBLIC_FIELDS_LABEL_TEXT + u32Chars(names.length);
  for (const name of names) {
    const value = fields[name] ?? null;
    ascii += u32Chars(name.length) + name;
    ascii += value === null ? '\x00' : '\x01' + u32Chars(value.length) + value;
  }
  if (!NON_ASCII.test(ascii)) return createHash('sha256').update(ascii, 'latin1').digest();
  // Otherwise the encoding is written into one scratch buffer and hashed at once. Names and
  // values are checked for lone surrogates in one pass over them joined by NUL (which keeps a
  // surrogate at the end of one from pairing with one at the start of the next); only when
  // that finds one are they checked one by one, to name the first at fault.
  let bound = PUBLIC_FIELDS_LABEL.length + 4;
  const texts: string[] = [];
  for (const name of names) {
    const value = fields[name] ?? null;
    texts.push(name);
    bound += 9 + 3 * name.length;
    if (value !== null) {
      texts.push(value);
      bound += 4 + 3 * value.length;
    }
  }
  const joined = texts.join('\0');
  if (LONE_SURROGATE.test(joined)) {
    for (const name of names) {
      const value = fields[name] ?? null;
      checkText(name, 'a public field name');
      if (value !== null) checkText(value, 'a public field value');
    }
  }
  // UTF-8 takes at most 3 bytes per UTF-16 code unit, so `bound` always fits.
  if (hashScratch.length < bound)
    hashScratch = Buffer.allocUnsafe(Math.max(bound, 2 * hashScratch.length));
  const message = hashScratch;
  let at = PUBLIC_FIELDS_LABEL.copy(message, 0);
  at = message.writeUInt32BE(names.length, at);
  const writeText = (text: string): void => {
    const length = message.write(text, at + 4, 'utf8');
    message.writeUInt32BE(length, at);
    at += 4 + length;
  };
  for (const name of names) {
    const value = fields[name] ?? null;
    writeText(name);
    if (value === null) {
      at = message.writeUInt8(0x00, at);
    } else {
      at = message.writeUInt8(0x01, at);
      writeText(value);
    }
  }
  return createHash('sha256').update(message.subarray(0, at)).digest();
}

/** Any character outside ASCII. */
const NON_ASCII = /[^\x00-\x7f]/;

/** {@link PUBLIC_FIELDS_LABEL} as a string of its (ASCII) bytes. */
const PUBLIC_FIELDS_LABEL_TEXT = PUBLIC_FIELDS_LABEL.toString('latin1');

/** `u32(n)` as a string of four characters U+0000..U+00FF, to be encoded as latin1. */
function u32Chars(n: number): string {
  return String.fromCharCode((n >>> 24) & 0xff, (n >>> 16) & 0xff, (n >>> 8) & 0xff, n & 0xff);
}

/**
 * Reused by {@link hashPublicFields} (synchronous, so never shared between two calls). It holds
 * public field values only, never secrets.
 */
let hashScratch = Buffer.allocUnsafe(16_384);

/**
 * The associated data of a record:
 * `"votervault record 1\0" || format || u32(len) || voterId || u32(len) || jurisdiction ||
 * u64(rowVersion) || u32(32) || publicFieldsHash`, big-endian, strings UTF-8.
 * @throws CryptoError BINDING_INVALID when the binding cannot be encoded
 */
export function encodeRecordBinding(binding: RecordBinding): Buffer {
  const { voterId, jurisdiction, rowVersion, publicFieldsHash } = binding;
  checkBindingText(voterId, 'voter id');
  checkBindingText(jurisdiction, 'jurisdiction');
  if (!Number.isSafeInteger(rowVersion) || rowVersion < 0) {
    throw new CryptoError(
      'BINDING_INVALID',
      'Cannot bind record: the row version is not a non-negative safe integer',
    );
  }
  if (publicFieldsHash.length !== PUBLIC_FIELDS_HASH_SIZE) {
    throw new CryptoError(
      'BINDING_INVALID',
      `Cannot bind record: the public fields hash is ${publicFieldsHash.length} bytes, expected ${PUBLIC_FIELDS_HASH_SIZE}`,
    );
  }
  // One buffer written in place: this runs for every record sealed or opened.
  const voterIdBytes = Buffer.byteLength(voterId, 'utf8');
  const jurisdictionBytes = Buffer.byteLength(jurisdiction, 'utf8');
  const ad = Buffer.allocUnsafe(
    RECORD_AD_LABEL.length + 1 + 4 + voterIdBytes + 4 + jurisdictionBytes + 8 + 4 + 32,
  );
  let at = RECORD_AD_LABEL.copy(ad, 0);
  at = ad.writeUInt8(ENVELOPE_FORMAT_AES_256_GCM, at);
  at = ad.writeUInt32BE(voterIdBytes, at);
  at += ad.write(voterId, at, 'utf8');
  at = ad.writeUInt32BE(jurisdictionBytes, at);
  at += ad.write(jurisdiction, at, 'utf8');
  at = ad.writeUInt32BE(Math.floor(rowVersion / 2 ** 32), at);
  at = ad.writeUInt32BE(rowVersion >>> 0, at);
  at = ad.writeUInt32BE(PUBLIC_FIELDS_HASH_SIZE, at);
  ad.set(publicFieldsHash, at);
  return ad;
}

const FORMAT_BYTE = Buffer.from([ENVELOPE_FORMAT_AES_256_GCM]);

/**
 * The associated data of a wrapped key:
 * `"votervault wrapped key 1\0" || format || u32(keyVersion) || u32(len) || voterId`.
 */
function encodeWrapBinding(voterId: string, keyVersion: KeyVersion): Buffer {
  return Buffer.concat([WRAP_AD_LABEL, FORMAT_BYTE, u32(keyVersion), lengthPrefixed(voterId)]);
}

/**
 * Seals `plaintext` under a new random data key wrapped with `wrapKey` (root key version
 * `keyVersion`).
 * @throws CryptoError BINDING_INVALID when the binding cannot be encoded
 */
export function seal(
  plaintext: Uint8Array,
  binding: RecordBinding,
  wrap: { readonly key: KeyObject; readonly version: KeyVersion },
): SealedRecord {
  const recordAd = encodeRecordBinding(binding);
  // A copy: the pool may be refilled while the key is wrapped.
  const dataKeyBytes = Buffer.from(randomSlice(DATA_KEY_SIZE));
  const dataKey = createSecretKey(dataKeyBytes);
  const wrappedKey = wrapDataKey(dataKeyBytes, binding.voterId, wrap);
  dataKeyBytes.fill(0);
  return { ciphertext: encrypt(dataKey, recordAd, plaintext), wrappedKey };
}

/**
 * Opens a record sealed by {@link seal}; `wrapKey` is the wrap key of `sealed.wrappedKey.keyVersion`.
 * @throws CryptoError ENVELOPE_INVALID when the wrapped key or the ciphertext is malformed, was
 *   altered, or does not match `binding`
 * @throws CryptoError BINDING_INVALID when the binding cannot be encoded
 */
export function open(sealed: SealedRecord, binding: RecordBinding, wrapKey: KeyObject): Uint8Array {
  const recordAd = encodeRecordBinding(binding);
  const dataKeyBytes = unwrapDataKey(sealed.wrappedKey, binding.voterId, wrapKey);
  const dataKey = createSecretKey(dataKeyBytes);
  dataKeyBytes.fill(0);
  const plaintext = decrypt(dataKey, recordAd, sealed.ciphertext);
  if (plaintext === null) {
    throw new CryptoError(
      'ENVELOPE_INVALID',
      'Cannot open record: the ciphertext is malformed, was altered or belongs to another row',
    );
  }
  return plaintext;
}

/**
 * Wraps a 32-byte data key under `wrap.key` for `voterId`.
 * @throws CryptoError BINDING_INVALID when the voter id cannot be encoded
 */
export function wrapDataKey(
  dataKey: Uint8Array,
  voterId: string,
  wrap: { readonly key: KeyObject; readonly version: KeyVersion },
): WrappedKey {
  checkBindingText(voterId, 'voter id');
  const bytes = encrypt(wrap.key, encodeWrapBinding(voterId, wrap.version), dataKey);
  return { keyVersion: wrap.version, bytes };
}

/**
 * Unwraps a data key wrapped by {@link wrapDataKey}; `wrapKey` is the wrap key of
 * `wrapped.keyVersion`. The caller should zero the result once it has used it.
 * @throws CryptoError ENVELOPE_INVALID when the wrapped key is malformed, was altered, or belongs
 *   to another voter or key version
 * @throws CryptoError BINDING_INVALID when the voter id cannot be encoded
 */
export function unwrapDataKey(wrapped: WrappedKey, voterId: string, wrapKey: KeyObject): Buffer {
  checkBindingText(voterId, 'voter id');
  const dataKey =
    wrapped.bytes.length === WRAPPED_KEY_SIZE
      ? decrypt(wrapKey, encodeWrapBinding(voterId, wrapped.keyVersion), wrapped.bytes)
      : null;
  if (dataKey === null) {
    throw new CryptoError(
      'ENVELOPE_INVALID',
      'Cannot open record: the wrapped key is malformed, was altered or belongs to another voter or key version',
    );
  }
  return dataKey;
}

/** `format || nonce || AES-256-GCM(key, nonce, plaintext, ad = ad) || tag`. */
export function encrypt(key: KeyObject, ad: Uint8Array, plaintext: Uint8Array): Buffer {
  const nonce = randomSlice(NONCE_SIZE);
  const cipher = createCipheriv('aes-256-gcm', key, nonce, { authTagLength: TAG_SIZE });
  cipher.setAAD(ad);
  const body = cipher.update(plaintext);
  const last = cipher.final();
  return Buffer.concat([FORMAT_BYTE, nonce, body, last, cipher.getAuthTag()]);
}

/**
 * Opens what {@link encrypt} produced. Returns null when `sealed` (attacker-controlled) is too
 * short, has another format byte, or fails authentication.
 */
export function decrypt(key: KeyObject, ad: Uint8Array, sealed: Uint8Array): Buffer | null {
  if (sealed.length < 1 + NONCE_SIZE + TAG_SIZE || sealed[0] !== ENVELOPE_FORMAT_AES_256_GCM) {
    return null;
  }
  const nonce = sealed.subarray(1, 1 + NONCE_SIZE);
  const body = sealed.subarray(1 + NONCE_SIZE, sealed.length - TAG_SIZE);
  const decipher = createDecipheriv('aes-256-gcm', key, nonce, { authTagLength: TAG_SIZE });
  decipher.setAAD(ad);
  decipher.setAuthTag(sealed.subarray(sealed.length - TAG_SIZE));
  const plaintext = decipher.update(body);
  try {
    // GCM checks the tag in final(): nothing is returned unless it matches.
    decipher.final();
  } catch {
    plaintext.fill(0);
    return null;
  }
  return plaintext;
}

function checkBindingText(value: string, what: string): void {
  if (value.length === 0 || LONE_SURROGATE.test(value)) {
    throw new CryptoError(
      'BINDING_INVALID',
      `Cannot bind record: the ${what} is empty or not well-formed text`,
    );
  }
}

function checkText(value: string, what: string): void {
  if (LONE_SURROGATE.test(value)) {
    throw new CryptoError('VALUE_INVALID', `Cannot hash ${what}: it is not well-formed text`);
  }
}
