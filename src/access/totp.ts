// Time-based one-time passwords (RFC 6238 over RFC 4226 HOTP) with HMAC-SHA1, 30-second steps
// and 6 digits: the parameters every authenticator app implements. The secret is shown once as
// an otpauth:// URI (the Key Uri Format the apps scan as a QR code).
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';

/**
 * Seconds per step.
 * SPEC: https://www.rfc-editor.org/rfc/rfc6238#section-5.2 "We RECOMMEND a default time-step
 * size of 30 seconds."
 */
export const TOTP_STEP_SECONDS = 30;

/** Digits of a code: what the apps show by default. */
export const TOTP_DIGITS = 6;

/**
 * Steps accepted on each side of the current one, for clock drift and typing time.
 * SPEC: https://www.rfc-editor.org/rfc/rfc6238#section-5.2 "We RECOMMEND that at most one time
 * step is allowed as the network delay."
 */
export const TOTP_WINDOW = 1;

/**
 * Bytes of a secret.
 * SPEC: https://www.rfc-editor.org/rfc/rfc4226#section-4 "R6 - The algorithm MUST use a strong
 * shared secret. The length of the shared secret MUST be at least 128 bits. This document
 * RECOMMENDs a shared secret length of 160 bits."
 */
export const TOTP_SECRET_BYTES = 20;

/** The issuer an authenticator app shows next to the account name. */
export const TOTP_ISSUER = 'votervault';

const RFC4648_BASE32 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';

/** A new random TOTP secret. */
export function generateTotpSecret(): Uint8Array {
  return randomBytes(TOTP_SECRET_BYTES);
}

/**
 * HOTP value of `counter` (RFC 4226 §5.3): HMAC-SHA1(secret, 8-byte big-endian counter), dynamic
 * truncation to 31 bits, the last `digits` decimal digits, zero-padded.
 */
export function hotp(secret: Uint8Array, counter: number, digits: number = TOTP_DIGITS): string {
  const message = Buffer.alloc(8);
  message.writeBigUInt64BE(BigInt(counter));
  const mac = createHmac('sha1', secret).update(message).digest();
  // SPEC: https://www.rfc-editor.org/rfc/rfc4226#section-5.3 "Let OffsetBits be the low-order 4
  // bits of String[19]" … "Return the Last 31 bits of P".
  const offset = (mac[mac.length - 1] ?? 0) & 0x0f;
  const binary = mac.readUInt32BE(offset) & 0x7fffffff;
  return String(binary % 10 ** digits).padStart(digits, '0');
}

/**
 * The step of `time`: T = floor(Unix seconds / 30).
 * SPEC: https://www.rfc-editor.org/rfc/rfc6238#section-4.2 "T = (Current Unix time - T0) / X,
 * where the default floor function is used in the computation."
 */
export function totpStep(time: Date): number {
  return Math.floor(time.getTime() / 1000 / TOTP_STEP_SECONDS);
}

/** The code an authenticator shows at `time`. */
export function totpCode(secret: Uint8Array, time: Date, digits: number = TOTP_DIGITS): string {
  return hotp(secret, totpStep(time), digits);
}

/**
 * The step whose code `code` is, among the current step and {@link TOTP_WINDOW} steps either
 * side of it, or undefined. Every candidate is computed and compared in constant time, so the
 * time taken does not say which step matched or how many digits were right. Attacker-controlled:
 * `code` must be exactly six ASCII digits (spaces are dropped, as apps show "123 456").
 */
export function matchTotp(secret: Uint8Array, code: string, time: Date): number | undefined {
  const typed = code.length <= 16 ? code.replace(/\s/g, '') : '';
  const valid = typed.length === TOTP_DIGITS && /^\d+$/.test(typed);
  const given = Buffer.from(valid ? typed : '0'.repeat(TOTP_DIGITS), 'ascii');
  const now = totpStep(time);
  let matched: number | undefined;
  for (let step = now - TOTP_WINDOW; step <= now + TOTP_WINDOW; step++) {
    const expected = Buffer.from(hotp(secret, step), 'ascii');
    if (timingSafeEqual(expected, given) && valid) matched ??= step;
  }
  return matched;
}

/**
 * The otpauth:// URI an authenticator app takes for `secret` (Key Uri Format): label
 * "issuer:account", the secret in base32 without padding, and the algorithm, digits and period
 * spelled out although they are the defaults.
 */
export function totpUri(secret: Uint8Array, account: string): string {
  const issuer = encodeURIComponent(TOTP_ISSUER);
  const label = `${issuer}:${encodeURIComponent(account)}`;
  const query = [
    `secret=${encodeBase32(secret)}`,
    `issuer=${issuer}`,
    'algorithm=SHA1',
    `digits=${TOTP_DIGITS}`,
    `period=${TOTP_STEP_SECONDS}`,
  ].join('&');
  return `otpauth://totp/${label}?${query}`;
}

/** RFC 4648 base32 of `bytes`, upper case, without padding. */
export function encodeBase32(bytes: Uint8Array): string {
  let out = '';
  let buffer = 0;
  let bits = 0;
  for (const byte of bytes) {
    buffer = (buffer << 8) | byte;
    bits += 8;
    while (bits >= 5) {
      out += RFC4648_BASE32[(buffer >>> (bits - 5)) & 31];
      bits -= 5;
    }
    buffer &= (1 << bits) - 1;
  }
  if (bits > 0) out += RFC4648_BASE32[(buffer << (5 - bits)) & 31];
  return out;
}

/**
 * Bytes of RFC 4648 base32 text (any case, padding optional), or undefined when it is not
 * base32.
 */
export function decodeBase32(text: string): Uint8Array | undefined {
  const clean = text.replace(/=+$/, '').toUpperCase();
  const out: number[] = [];
  let buffer = 0;
  let bits = 0;
  for (const char of clean) {
    const value = RFC4648_BASE32.indexOf(char);
    if (value < 0) return undefined;
    buffer = (buffer << 5) | value;
    bits += 5;
    if (bits >= 8) {
      out.push((buffer >>> (bits - 8)) & 0xff);
      bits -= 8;
    }
    buffer &= (1 << bits) - 1;
  }
  return Uint8Array.from(out);
}
