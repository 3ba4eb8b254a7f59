import { VotervaultError } from '../basics/index.ts';

/** Stable codes of every failure the key ring and the envelopes can report. */
export const CRYPTO_ERROR_CODES = [
  /** A key file or the keys directory may be used by someone other than its owner. */
  'KEY_FILE_INSECURE',
  /** Creating a key file or a ring would replace an existing one. */
  'KEY_FILE_EXISTS',
  /** A key file, the ring manifest, the environment variable or a root key version is missing. */
  'KEY_NOT_FOUND',
  /** A key file, the ring manifest or a root key is not in the expected format. */
  'KEY_MALFORMED',
  /** A root key does not open the ring's sealed stable secret: it belongs to another ring. */
  'KEY_MISMATCH',
  /** A wrapped key or a retirement names a root key version the ring never had. */
  'KEY_VERSION_UNKNOWN',
  /** A wrapped key names a root key version that was retired and destroyed. */
  'KEY_VERSION_RETIRED',
  /** Retiring the current root key version, which new records are wrapped under. */
  'KEY_VERSION_CURRENT',
  /** The ring manifest changed on disk since the ring was loaded (another rotation). */
  'KEY_RING_CHANGED',
  /** A sealed record or wrapped key is malformed, altered, or does not match its binding. */
  'ENVELOPE_INVALID',
  /** A record binding cannot be encoded (bad row version, hash length or text). */
  'BINDING_INVALID',
  /** A value to normalise, index or tag is empty, too long or not a valid value of its kind. */
  'VALUE_INVALID',
  /** The file system failed. */
  'IO_FAILED',
] as const;

/** One of {@link CRYPTO_ERROR_CODES}. */
export type CryptoErrorCode = (typeof CRYPTO_ERROR_CODES)[number];

/**
 * A failure of the key ring, an envelope or a normaliser. Messages never carry key material,
 * plaintext or field values; `file` names the key file at fault when there is one.
 */
export class CryptoError extends VotervaultError<CryptoErrorCode> {
  readonly file: string | undefined;

  constructor(code: CryptoErrorCode, message: string, options?: ErrorOptions & { file?: string }) {
    super(code, message, options);
    this.file = options?.file;
  }
}
