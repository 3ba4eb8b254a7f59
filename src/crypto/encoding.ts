// The length-prefixed encodings every associated data, HMAC message and hash input is built from,
// so that no two different inputs encode to the same bytes.

/** 4-byte big-endian `n`. */
export function u32(n: number): Buffer {
  const bytes = Buffer.allocUnsafe(4);
  bytes.writeUInt32BE(n, 0);
  return bytes;
}

/** `u32(byte length) || UTF-8 bytes` of `text`. */
export function lengthPrefixed(text: string): Buffer {
  // One buffer written in place (this runs several times for every imported row); byteLength
  // and write agree on the bytes, lone surrogates included (both count U+FFFD).
  const length = Buffer.byteLength(text, 'utf8');
  const bytes = Buffer.allocUnsafe(4 + length);
  bytes.writeUInt32BE(length, 0);
  bytes.write(text, 4, 'utf8');
  return bytes;
}

/** Lone UTF-16 surrogates, which UTF-8 encoding would silently replace with U+FFFD. */
export const LONE_SURROGATE = /\p{Cs}/u;
