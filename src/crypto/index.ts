// The crypto module's public surface: the key ring, per-record envelopes, blind indexes and
// subject tags. Other modules import only this file.
export { CryptoError, CRYPTO_ERROR_CODES } from './errors.ts';
export type { CryptoErrorCode } from './errors.ts';
export {
  KEY_RING_MANIFEST_FILE,
  createKeyRing,
  generateRootKey,
  loadKeyRing,
  parseKeyVersion,
} from './key-ring.ts';
export type { KeyRing, KeyRingSource, KeyVersionInfo, RootKeySource } from './key-ring.ts';
export { hashPublicFields, PUBLIC_FIELDS_HASH_SIZE, WRAPPED_KEY_SIZE } from './envelope.ts';
export type { KeyVersion, RecordBinding, SealedRecord, WrappedKey } from './envelope.ts';
export {
  BLIND_INDEX_GROUPS,
  MAX_NORMALISE_INPUT,
  normaliseBirthYear,
  normaliseCounty,
  normaliseDate,
  normaliseName,
  normaliseZip,
} from './blind-index.ts';
export type {
  BlindIndex,
  BlindIndexGroup,
  BlindIndexValues,
  NormalisedBirthYear,
  NormalisedCounty,
  NormalisedDate,
  NormalisedName,
  NormalisedZip,
} from './blind-index.ts';
export { parseSubjectTag } from './subject-tag.ts';
export type { SubjectTag } from './subject-tag.ts';
