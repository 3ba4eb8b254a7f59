// C2SP signed notes (https://c2sp.org/signed-note): text, a blank line, then one signature line
// per key. Keys are Ed25519 (type 0x01, the form golang.org/x/mod/sumdb/note reads and writes)
// and ML-DSA-44 checkpoint cosignatures (type 0x06, https://c2sp.org/tlog-cosignature), so a
// log's checkpoints carry a post-quantum signature beside the classic one.
import {
  createHash,
  createPrivateKey,
  createPublicKey,
  randomBytes,
  sign,
  verify,
} from 'node:crypto';
import type { KeyObject } from 'node:crypto';
import { assert } from '../basics/index.ts';
import { TlogError } from './errors.ts';

/** Signature algorithms a note key can use. */
export const NOTE_KEY_TYPES = ['ed25519', 'ml-dsa-44-cosignature'] as const;

/** One of {@link NOTE_KEY_TYPES}. */
export type NoteKeyType = (typeof NOTE_KEY_TYPES)[number];

/**
 * Largest note {@link openNote} reads, in bytes. Notes come from servers and files we do not
 * trust; the limit bounds the work before any signature is looked at.
 * SPEC: https://c2sp.org/signed-note "Verifiers SHOULD apply a maximum limit to the number of
 * signatures in a note (or, equivalently, to the overall size of a note), but MUST accept at
 * least up to 16 signatures. Remember that post-quantum signatures can be up to nearly 5kB in
 * size." 100 lines of the largest post-quantum signatures (about 6.6 kB of base64 each) fit.
 */
export const MAX_NOTE_BYTES = 1_000_000;

/** Most signature lines {@link openNote} reads (x/mod's limit; the spec asks for at least 16). */
export const MAX_NOTE_SIGNATURES = 100;

/** Signs note text with one key. */
export interface NoteSigner {
  /** Key name, written on the signature line. */
  readonly name: string;
  /** uint32 key id: the first 4 bytes of SHA-256(name || 0x0A || type byte || public key). */
  readonly keyId: number;
  readonly type: NoteKeyType;
  /**
   * Returns the signature bytes for the note line, without the 4-byte key id.
   * @throws TlogError NOTE_MALFORMED when the text cannot be signed with this key type
   */
  sign(text: string): Uint8Array;
  /**
   * As {@link sign}, off the main thread where the key type allows (node:crypto's thread pool),
   * so that a busy writer keeps hashing while a checkpoint is signed. Optional: without it,
   * {@link signNoteAsync} calls {@link sign}.
   * @throws TlogError NOTE_MALFORMED when the text cannot be signed with this key type
   */
  signAsync?(text: string): Promise<Uint8Array>;
}

/** Checks signatures made by one key. */
export interface NoteVerifier {
  readonly name: string;
  /** uint32 key id, as in {@link NoteSigner.keyId}. */
  readonly keyId: number;
  readonly type: NoteKeyType;
  /** True when `signature` (without the 4-byte key id) is this key's signature of `text`. */
  verify(text: string, signature: Uint8Array): boolean;
}

/** A note whose signatures were checked. */
export interface OpenedNote {
  /** The signed text, ending in a newline, without the blank line and signatures. */
  readonly text: string;
  /** The given verifiers whose signature is on the note and verifies, each listed once. */
  readonly verifiedBy: readonly NoteVerifier[];
}

/** A signer read from a private key string, with the verifier key that checks it. */
export interface ParsedSignerKey {
  readonly signer: NoteSigner;
  readonly verifierKey: string;
}

/** A new key: the private signer key string (a secret) and the public verifier key string. */
export interface GeneratedKey {
  readonly signerKey: string;
  readonly verifierKey: string;
}

/** Options of {@link parseSignerKey}. */
export interface SignerKeyOptions {
  /** Clock of ML-DSA-44 cosignature timestamps, in milliseconds since the epoch like `Date.now`. */
  readonly now?: () => number;
}

/** Options of {@link openNote}. */
export interface OpenNoteOptions {
  /** Names the file the note was read from, in errors. */
  readonly file?: string;
}

interface KeyTypeSpec {
  /** Signature type identifier byte. */
  readonly byte: number;
  /** Key type name in node:crypto. */
  readonly nodeType: 'ed25519' | 'ml-dsa-44';
  /** How node:crypto imports the 32-byte seed. */
  readonly seedFormat: 'raw-private' | 'raw-seed';
  readonly publicKeySize: number;
  /** Bytes after the key id on a signature line. */
  readonly signatureSize: number;
  readonly signer: (
    name: string,
    privateKey: KeyObject,
    keyId: number,
    now: () => number,
  ) => NoteSigner;
  readonly verifier: (name: string, publicKey: KeyObject, keyId: number) => NoteVerifier;
}

// SPEC: https://c2sp.org/signed-note "0x01 — Ed25519 signatures as specified by this document."
// SPEC: https://c2sp.org/tlog-checkpoint "In client configuration, the public key MAY be encoded
// as a [vkey][] with signature type 0x06 and the 1312-byte ML-DSA-44 cosigner public key as the
// public key material."
const KEY_TYPES: Readonly<Record<NoteKeyType, KeyTypeSpec>> = {
  ed25519: {
    byte: 0x01,
    nodeType: 'ed25519',
    seedFormat: 'raw-private',
    publicKeySize: 32,
    signatureSize: 64,
    signer: ed25519Signer,
    verifier: ed25519Verifier,
  },
  'ml-dsa-44-cosignature': {
    byte: 0x06,
    nodeType: 'ml-dsa-44',
    seedFormat: 'raw-seed',
    publicKeySize: 1312,
    // 8-byte timestamp || 2420-byte ML-DSA-44 signature (the timestamped_signature below).
    signatureSize: 8 + 2420,
    signer: mlDsa44Signer,
    verifier: mlDsa44Verifier,
  },
};

/** Both key types are stored as a 32-byte seed (Ed25519 RFC 8032 seed, ML-DSA-44 FIPS 204 ξ). */
const SEED_SIZE = 32;
const SIGNATURE_PREFIX = '— ';
const PRIVATE_KEY_PREFIX = 'PRIVATE+KEY+';
// SPEC: https://c2sp.org/tlog-cosignature "uint8 label[12] = "subtree/v1\n\0";"
const COSIGNED_MESSAGE_LABEL = Buffer.from('subtree/v1\n\0', 'latin1');
// SPEC: https://c2sp.org/tlog-cosignature "It MUST NOT exceed 2^63 - 1".
const MAX_TIMESTAMP = 2n ** 63n - 1n;
const MAX_UINT64 = 2n ** 64n - 1n;
// SPEC: https://c2sp.org/signed-note "Signed notes MUST be valid UTF-8 and MUST NOT contain any
// ASCII control characters (those below U+0020) other than newline."
const CONTROL_CHARACTER = /[\u0000-\u0009\u000b-\u001f]/u;
// In a `u` regex a well-formed surrogate pair is one code point, so this finds lone halves:
// strings that have no UTF-8 encoding.
const LONE_SURROGATE = /\p{Cs}/u;
const STRICT_UTF8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/**
 * Whether `name` can name a note key (and so a checkpoint origin).
 * SPEC: https://c2sp.org/signed-note "Key names MUST be non-empty and MUST NOT contain any
 * Unicode spaces or plus (U+002B) characters." White_Space is the set Go's unicode.IsSpace uses.
 */
export function isValidKeyName(name: string): boolean {
  return (
    name.length > 0 &&
    !/[\p{White_Space}+]/u.test(name) &&
    !CONTROL_CHARACTER.test(name) &&
    !LONE_SURROGATE.test(name)
  );
}

/**
 * The uint32 key id of a public key.
 * SPEC: https://c2sp.org/signed-note "key ID = SHA-256(key name || 0x0A || signature type ||
 * public key)[:4]", read big-endian.
 */
export function noteKeyId(name: string, type: NoteKeyType, publicKey: Uint8Array): number {
  return createHash('sha256')
    .update(name, 'utf8')
    .update(new Uint8Array([0x0a, KEY_TYPES[type].byte]))
    .update(publicKey)
    .digest()
    .readUInt32BE(0);
}

/**
 * Signs `text` with each signer, in order, and returns the signed note.
 * @throws TlogError NOTE_MALFORMED when the text does not end in a newline, is not valid UTF-8,
 *   has a control character, or the note would exceed the limits {@link openNote} applies
 * @throws TlogError KEY_MALFORMED when a signer's name is invalid, two signers share a name and
 *   key id, or no signer is given
 */
export function signNote(text: string, signers: readonly NoteSigner[]): string {
  checkSignable(text, signers);
  return assembleNote(
    text,
    signers,
    signers.map((signer) => signer.sign(text)),
  );
}

/**
 * As {@link signNote}, with every key signing at once and, where it can, off the main thread.
 * @throws TlogError as {@link signNote}
 */
export async function signNoteAsync(text: string, signers: readonly NoteSigner[]): Promise<string> {
  checkSignable(text, signers);
  const signatures = await Promise.all(
    signers.map(async (signer) =>
      signer.signAsync === undefined ? signer.sign(text) : signer.signAsync(text),
    ),
  );
  return assembleNote(text, signers, signatures);
}

/** Refuses text that is not a note's text and key lists that cannot sign it. */
function checkSignable(text: string, signers: readonly NoteSigner[]): void {
  // SPEC: https://c2sp.org/signed-note "A signed note consists of a text ending in newline".
  if (!text.endsWith('\n')) throw noteSigningError('the text does not end with a newline');
  const problem = textProblem(text);
  if (problem !== undefined) throw noteSigningError(problem);
  if (signers.length === 0 || signers.length > MAX_NOTE_SIGNATURES) {
    throw new TlogError(
      'KEY_MALFORMED',
      `Cannot sign note with ${signers.length} keys: use 1 to ${MAX_NOTE_SIGNATURES}`,
    );
  }
  const seen = new Set<string>();
  for (const signer of signers) {
    const label = keyLabel(signer);
    if (!isValidKeyName(signer.name)) {
      throw new TlogError(
        'KEY_MALFORMED',
        `Cannot sign note with key "${label}": the name is empty or has a space, plus or control character`,
      );
    }
    if (seen.has(label))
      throw new TlogError('KEY_MALFORMED', `Cannot sign note twice with key "${label}"`);
    seen.add(label);
  }
}

function noteSigningError(why: string): TlogError {
  return new TlogError('NOTE_MALFORMED', `Cannot sign note: ${why}`);
}

/** The signed note: text, a blank line, one line per signature. */
function assembleNote(
  text: string,
  signers: readonly NoteSigner[],
  signatures: readonly Uint8Array[],
): string {
  const lines = signers.map((signer, i) => {
    const id = Buffer.alloc(4);
    id.writeUInt32BE(signer.keyId);
    const signature = Buffer.concat([id, signatures[i] as Uint8Array]).toString('base64');
    return `${SIGNATURE_PREFIX}${signer.name} ${signature}\n`;
  });
  // SPEC: https://c2sp.org/signed-note "followed by a blank line (only a newline), followed by
  // one or more signature lines".
  const note = `${text}\n${lines.join('')}`;
  const size = Buffer.byteLength(note, 'utf8');
  if (size > MAX_NOTE_BYTES)
    throw noteSigningError(`the note would be ${size} bytes, more than ${MAX_NOTE_BYTES}`);
  return note;
}

/**
 * Parses a signed note and checks its signatures against `verifiers`.
 *
 * Attacker-controlled: the note comes from files and servers we do not trust. The size is
 * checked before anything else, the grammar is checked in full before any signature is
 * verified, signature lines are counted, base64 must be canonical, and only lines whose name
 * and key id both match a given verifier cost a signature check.
 * SPEC: https://c2sp.org/signed-note "Verifiers MUST ignore signatures from unknown keys, even if
 * they share a name or ID (but not both) with a known key. If the key name and ID match a known
 * key, verifiers MUST verify the signature. If a signature from a known key fails to verify,
 * clients MAY reject the whole note. If no signature from a known key verifies successfully,
 * clients MUST reject the note." We reject the whole note when any known key's line fails.
 * @throws TlogError NOTE_MALFORMED when the note breaks the signed-note grammar or limits
 * @throws TlogError SIGNATURE_INVALID when no given key signed the note, or a line of a given
 *   key does not verify; the message names the key and says why
 * @throws TlogError KEY_MALFORMED when two verifiers share a name and key id
 */
export function openNote(
  note: string | Uint8Array,
  verifiers: readonly NoteVerifier[],
  options: OpenNoteOptions = {},
): OpenedNote {
  const where = options.file === undefined ? {} : { file: options.file };
  const fail = (code: 'NOTE_MALFORMED' | 'SIGNATURE_INVALID', why: string): TlogError =>
    new TlogError(
      code,
      `Cannot open note${options.file === undefined ? '' : ` "${options.file}"`}: ${why}`,
      where,
    );

  const known = new Map<string, NoteVerifier>();
  for (const verifier of verifiers) {
    const label = keyLabel(verifier);
    if (known.has(label))
      throw new TlogError('KEY_MALFORMED', `Cannot use key "${label}" twice`, where);
    known.set(label, verifier);
  }

  const message = decodeNote(note, (why) => fail('NOTE_MALFORMED', why));
  // SPEC: https://c2sp.org/signed-note "the text is separated from the signatures by the last
  // empty line in the note."
  const split = message.lastIndexOf('\n\n');
  if (split < 0) throw fail('NOTE_MALFORMED', 'there is no blank line before the signatures');
  const text = message.slice(0, split + 1);
  const block = message.slice(split + 2);
  if (!block.endsWith('\n'))
    throw fail('NOTE_MALFORMED', 'the signature block is empty or does not end with a newline');
  const lines = block.slice(0, -1).split('\n');
  if (lines.length > MAX_NOTE_SIGNATURES) {
    throw fail(
      'NOTE_MALFORMED',
      `it has ${lines.length} signature lines, more than ${MAX_NOTE_SIGNATURES}`,
    );
  }
  const signatures = lines.map((line, index) => {
    const parsed = parseSignatureLine(line);
    if (typeof parsed === 'string')
      throw fail('NOTE_MALFORMED', `signature line ${index + 1} ${parsed}`);
    return parsed;
  });

  const verifiedBy = new Set<NoteVerifier>();
  const unknown: string[] = [];
  for (const { label, signature } of signatures) {
    const verifier = known.get(label);
    if (verifier === undefined) {
      unknown.push(label);
      continue;
    }
    if (!verifier.verify(text, signature)) {
      throw fail(
        'SIGNATURE_INVALID',
        `the signature by key "${label}" does not verify: ${whyInvalid(verifier, text, signature)}`,
      );
    }
    verifiedBy.add(verifier);
  }
  if (verifiedBy.size === 0) {
    const expected = [...known.keys()].map((label) => `"${label}"`).join(', ') || 'none';
    // The other keys' names are attacker-controlled: show a few, enough to diagnose.
    const found = unknown
      .slice(0, 5)
      .map((label) => `"${label}"`)
      .join(', ');
    throw fail(
      'SIGNATURE_INVALID',
      `no signature by a known key (known keys: ${expected}; other signature lines: ${unknown.length}, by ${found})`,
    );
  }
  return Object.freeze({ text, verifiedBy: Object.freeze([...verifiedBy]) });
}

/**
 * Parses a verifier key `<name>+<8 hex digits key id>+<base64(type byte || public key)>`.
 * Verifier keys are configuration, but they are still checked in full: the key id must be the
 * one the name and public key give.
 * @throws TlogError KEY_MALFORMED naming what is wrong
 */
export function parseVerifierKey(vkey: string): NoteVerifier {
  const shown = vkey.length > 60 ? `${vkey.slice(0, 60)}…` : vkey;
  const fail = (why: string): TlogError =>
    new TlogError('KEY_MALFORMED', `Cannot parse verifier key "${shown}": ${why}`);
  const [name = '', idText = '', ...rest] = vkey.split('+');
  const { type, keyId, key } = parseKeyParts(name, idText, rest.join('+'), fail);
  const spec = KEY_TYPES[type];
  if (key.length !== spec.publicKeySize) {
    throw fail(`a ${type} public key is ${spec.publicKeySize} bytes, not ${key.length}`);
  }
  if (noteKeyId(name, type, key) !== keyId)
    throw fail('the key id does not match the name and public key');
  const publicKey = createPublicKey({
    key,
    format: 'raw-public',
    asymmetricKeyType: spec.nodeType,
  });
  return spec.verifier(name, publicKey, keyId);
}

/**
 * Formats a verifier key `<name>+<8 hex digits key id>+<base64(type byte || public key)>`.
 * @throws TlogError KEY_MALFORMED when the name is invalid or the key has the wrong size
 */
export function formatVerifierKey(
  name: string,
  key: { readonly type: NoteKeyType; readonly publicKey: Uint8Array },
): string {
  const fail = (why: string): TlogError =>
    new TlogError('KEY_MALFORMED', `Cannot format verifier key "${name}": ${why}`);
  checkName(name, key.type, fail);
  const size = KEY_TYPES[key.type].publicKeySize;
  if (key.publicKey.length !== size)
    throw fail(`a ${key.type} public key is ${size} bytes, not ${key.publicKey.length}`);
  return formatKey(name, key.type, key.publicKey);
}

/**
 * Parses a private signer key `PRIVATE+KEY+<name>+<hex key id>+<base64(type byte || seed)>`,
 * the form golang.org/x/mod/sumdb/note uses for Ed25519, used here for ML-DSA-44 too (type 0x06
 * and the 32-byte FIPS 204 seed). Error messages never include the key.
 * @throws TlogError KEY_MALFORMED naming what is wrong
 */
export function parseSignerKey(skey: string, options: SignerKeyOptions = {}): ParsedSignerKey {
  const fail = (why: string): TlogError =>
    new TlogError('KEY_MALFORMED', `Cannot parse signer key: ${why}`);
  if (!skey.startsWith(PRIVATE_KEY_PREFIX))
    throw fail(`it does not start with "${PRIVATE_KEY_PREFIX}"`);
  const [name = '', idText = '', ...rest] = skey.slice(PRIVATE_KEY_PREFIX.length).split('+');
  const { type, keyId, key } = parseKeyParts(name, idText, rest.join('+'), fail);
  if (key.length !== SEED_SIZE)
    throw fail(`a ${type} seed is ${SEED_SIZE} bytes, not ${key.length}`);
  const parsed = signerFromSeed(name, type, key, options.now ?? Date.now);
  // The key id names the public key, so it can only be checked once the seed is expanded.
  if (parsed.signer.keyId !== keyId)
    throw fail('the key id does not match the name and public key');
  return parsed;
}

/**
 * Generates a key for `name` from a random 32-byte seed.
 * @throws TlogError KEY_MALFORMED when the name is invalid for the key type
 */
export function generateSignerKey(name: string, type: NoteKeyType): GeneratedKey {
  const fail = (why: string): TlogError =>
    new TlogError('KEY_MALFORMED', `Cannot generate a key named "${name}": ${why}`);
  checkName(name, type, fail);
  const seed = randomBytes(SEED_SIZE);
  const { signer, verifierKey } = signerFromSeed(name, type, seed, Date.now);
  const data = Buffer.concat([Buffer.from([KEY_TYPES[type].byte]), seed]).toString('base64');
  return { signerKey: `${PRIVATE_KEY_PREFIX}${name}+${hex8(signer.keyId)}+${data}`, verifierKey };
}

// ---------------------------------------------------------------------------------------------

function signerFromSeed(
  name: string,
  type: NoteKeyType,
  seed: Uint8Array,
  now: () => number,
): ParsedSignerKey {
  const spec = KEY_TYPES[type];
  const privateKey = createPrivateKey({
    key: Buffer.from(seed),
    format: spec.seedFormat,
    asymmetricKeyType: spec.nodeType,
  });
  const publicKey = createPublicKey(privateKey).export({ format: 'raw-public' });
  return {
    signer: spec.signer(name, privateKey, noteKeyId(name, type, publicKey), now),
    verifierKey: formatKey(name, type, publicKey),
  };
}

function formatKey(name: string, type: NoteKeyType, publicKey: Uint8Array): string {
  const data = Buffer.concat([Buffer.from([KEY_TYPES[type].byte]), publicKey]).toString('base64');
  return `${name}+${hex8(noteKeyId(name, type, publicKey))}+${data}`;
}

function parseKeyParts(
  name: string,
  idText: string,
  data: string,
  fail: (why: string) => TlogError,
): { type: NoteKeyType; keyId: number; key: Buffer } {
  if (!/^[0-9a-f]{8}$/iu.test(idText)) throw fail(`the key id "${idText}" is not 8 hex digits`);
  const bytes = decodeBase64(data);
  if (bytes === undefined || bytes.length === 0)
    throw fail('the key data is not canonical base64 of at least one byte');
  const byte = bytes.readUInt8(0);
  const type = NOTE_KEY_TYPES.find((t) => KEY_TYPES[t].byte === byte);
  if (type === undefined)
    throw fail(`signature type 0x${byte.toString(16).padStart(2, '0')} is not supported`);
  checkName(name, type, fail);
  return { type, keyId: Number.parseInt(idText, 16), key: bytes.subarray(1) };
}

function checkName(name: string, type: NoteKeyType, fail: (why: string) => TlogError): void {
  if (!isValidKeyName(name))
    throw fail('the name is empty or has a space, plus or control character');
  // SPEC: https://c2sp.org/tlog-cosignature "opaque cosigner_name<1..2^8-1>;"
  if (type === 'ml-dsa-44-cosignature' && Buffer.byteLength(name, 'utf8') > 255) {
    throw fail('an ML-DSA-44 cosigner name is at most 255 bytes');
  }
}

function ed25519Signer(name: string, privateKey: KeyObject, keyId: number): NoteSigner {
  // SPEC: https://c2sp.org/signed-note "Ed25519 signatures are generated according to
  // [RFC 8032][] over the note text."
  return Object.freeze({
    name,
    keyId,
    type: 'ed25519',
    sign: (text: string): Uint8Array =>
      new Uint8Array(sign(null, Buffer.from(text, 'utf8'), privateKey)),
    signAsync: (text: string): Promise<Uint8Array> =>
      signInPool(Buffer.from(text, 'utf8'), privateKey),
  });
}

/** node:crypto's callback form of sign(), which runs in the libuv thread pool. */
function signInPool(message: Uint8Array, privateKey: KeyObject): Promise<Uint8Array> {
  return new Promise((resolve, reject) => {
    sign(null, message, privateKey, (error, signature) => {
      if (error === null) resolve(new Uint8Array(signature));
      else reject(error);
    });
  });
}

function ed25519Verifier(name: string, publicKey: KeyObject, keyId: number): NoteVerifier {
  return Object.freeze({
    name,
    keyId,
    type: 'ed25519',
    verify: (text: string, signature: Uint8Array): boolean =>
      signature.length === KEY_TYPES.ed25519.signatureSize &&
      verify(null, Buffer.from(text, 'utf8'), publicKey, signature),
  });
}

function mlDsa44Signer(
  name: string,
  privateKey: KeyObject,
  keyId: number,
  now: () => number,
): NoteSigner {
  /** The timestamp and the message it is signed into. */
  const prepare = (text: string): { timestamp: Buffer; message: Uint8Array } => {
    const millis = now();
    assert(Number.isSafeInteger(millis) && millis >= 0, `Clock returned "${millis}"`);
    // SPEC: https://c2sp.org/tlog-cosignature "`timestamp` is the time at which the
    // cosignature was generated, as a POSIX timestamp." A log signing its own checkpoint
    // states that it is the largest tree as of that time, so the timestamp is never zero.
    const timestamp = BigInt(Math.floor(millis / 1000));
    const message = cosignedMessage(name, timestamp, text);
    if (message === undefined) {
      throw new TlogError(
        'NOTE_MALFORMED',
        'Cannot cosign note with ML-DSA-44: the text is not a checkpoint with an origin of 1 to 255 bytes',
      );
    }
    return { timestamp: uint64(timestamp), message };
  };
  // SPEC: https://c2sp.org/tlog-cosignature "The signature MUST be a
  // `timestamped_signature` structure. struct { u64 timestamp; ... opaque
  // ml_dsa_44_signature[2420]; ... } ... serialized in sequence, with the timestamp encoded
  // in big-endian order." node:crypto signs pure ML-DSA (FIPS 204) with the empty context.
  return Object.freeze({
    name,
    keyId,
    type: 'ml-dsa-44-cosignature',
    sign: (text: string): Uint8Array => {
      const { timestamp, message } = prepare(text);
      return new Uint8Array(Buffer.concat([timestamp, sign(null, message, privateKey)]));
    },
    signAsync: async (text: string): Promise<Uint8Array> => {
      const { timestamp, message } = prepare(text);
      return new Uint8Array(Buffer.concat([timestamp, await signInPool(message, privateKey)]));
    },
  });
}

function mlDsa44Verifier(name: string, publicKey: KeyObject, keyId: number): NoteVerifier {
  return Object.freeze({
    name,
    keyId,
    type: 'ml-dsa-44-cosignature',
    verify: (text: string, signature: Uint8Array): boolean => {
      if (signature.length !== KEY_TYPES['ml-dsa-44-cosignature'].signatureSize) return false;
      const timestamp = Buffer.from(signature).readBigUInt64BE(0);
      // SPEC: https://c2sp.org/tlog-cosignature "It MUST NOT exceed 2^63 - 1, and verifiers MAY
      // reject cosignatures with timestamps in the future." We do not reject future times: the
      // log's clock and the verifier's can disagree, and the timestamp is signed either way.
      if (timestamp > MAX_TIMESTAMP) return false;
      const message = cosignedMessage(name, timestamp, text);
      return message !== undefined && verify(null, message, publicKey, signature.subarray(8));
    },
  });
}

/**
 * The message an ML-DSA-44 checkpoint cosignature signs, or undefined when `text` does not start
 * with checkpoint lines it can be built from. Attacker-controlled `text` when verifying: the
 * lines are matched against the exact grammar and lengths checked before encoding.
 * SPEC: https://c2sp.org/tlog-cosignature "struct { uint8 label[12] = "subtree/v1\n\0"; opaque
 * cosigner_name<1..2^8-1>; uint64 timestamp; opaque log_origin<1..2^8-1>; uint64 start; uint64
 * end; uint8 hash[32]; } cosigned_message;" with "`start` ... If signing a [checkpoint][], it
 * MUST be zero." and "`end` ... If signing a [checkpoint][], it is the size of the tree."
 * SPEC: https://c2sp.org/tlog-checkpoint "The signature inputs come from the first three lines of
 * the checkpoint. Extension lines are ignored and not covered by the signature."
 */
function cosignedMessage(
  cosignerName: string,
  timestamp: bigint,
  text: string,
): Buffer | undefined {
  const match = /^([^\n]+)\n(0|[1-9][0-9]{0,19})\n([A-Za-z0-9+/]{43}=)\n/u.exec(text);
  if (match === null) return undefined;
  const [, originText = '', sizeText = '', rootText = ''] = match;
  const origin = Buffer.from(originText, 'utf8');
  const size = BigInt(sizeText);
  const root = decodeBase64(rootText);
  if (origin.length > 255 || size > MAX_UINT64 || root === undefined) return undefined;
  const name = Buffer.from(cosignerName, 'utf8');
  return Buffer.concat([
    COSIGNED_MESSAGE_LABEL,
    Buffer.from([name.length]),
    name,
    uint64(timestamp),
    Buffer.from([origin.length]),
    origin,
    uint64(0n),
    uint64(size),
    root,
  ]);
}

function whyInvalid(verifier: NoteVerifier, text: string, signature: Uint8Array): string {
  const expected = KEY_TYPES[verifier.type].signatureSize;
  if (signature.length !== expected) return `it is ${signature.length} bytes, expected ${expected}`;
  if (verifier.type === 'ml-dsa-44-cosignature') {
    const timestamp = Buffer.from(signature).readBigUInt64BE(0);
    if (timestamp > MAX_TIMESTAMP) return `its timestamp ${timestamp} is above 2^63 - 1`;
    if (cosignedMessage(verifier.name, timestamp, text) === undefined) {
      return 'the text is not a checkpoint, which an ML-DSA-44 cosignature signs';
    }
  }
  return 'it does not match the text (the text was changed or another key signed it)';
}

function decodeNote(note: string | Uint8Array, fail: (why: string) => TlogError): string {
  const size = typeof note === 'string' ? Buffer.byteLength(note, 'utf8') : note.length;
  if (size > MAX_NOTE_BYTES) throw fail(`it is ${size} bytes, more than ${MAX_NOTE_BYTES}`);
  let text: string;
  if (typeof note === 'string') {
    text = note;
  } else {
    try {
      text = STRICT_UTF8.decode(note);
    } catch (error: unknown) {
      throw Object.assign(fail('it is not valid UTF-8'), { cause: error });
    }
  }
  const problem = textProblem(text);
  if (problem !== undefined) throw fail(problem);
  return text;
}

function textProblem(text: string): string | undefined {
  if (LONE_SURROGATE.test(text)) return 'it is not valid UTF-8 (a lone surrogate)';
  const control = CONTROL_CHARACTER.exec(text);
  if (control !== null) {
    const line = text.slice(0, control.index).split('\n').length;
    const code = control[0].charCodeAt(0).toString(16).toUpperCase().padStart(4, '0');
    return `line ${line} has the control character U+${code}`;
  }
  return undefined;
}

/** Parses one signature line, or says what is wrong with it. */
function parseSignatureLine(line: string): { label: string; signature: Uint8Array } | string {
  // SPEC: https://c2sp.org/signed-note "em dash (U+2014), space (U+0020), key name, space,
  // base64-encoded signature, newline."
  if (!line.startsWith(SIGNATURE_PREFIX)) return 'does not start with an em dash and a space';
  const rest = line.slice(SIGNATURE_PREFIX.length);
  const space = rest.indexOf(' ');
  const name = space < 0 ? rest : rest.slice(0, space);
  if (!isValidKeyName(name)) return 'has an empty or invalid key name';
  const bytes = decodeBase64(space < 0 ? '' : rest.slice(space + 1));
  // SPEC: https://c2sp.org/signed-note "Signatures are the base64 encoding of 4+n bytes."
  if (bytes === undefined || bytes.length < 5)
    return 'has no canonical base64 of a key id and a signature';
  return { label: `${name}+${hex8(bytes.readUInt32BE(0))}`, signature: bytes.subarray(4) };
}

/** Decodes standard, padded, canonical base64 (Node's decoder alone skips bad characters). */
function decodeBase64(text: string): Buffer | undefined {
  if (!/^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/u.test(text))
    return undefined;
  const bytes = Buffer.from(text, 'base64');
  return bytes.toString('base64') === text ? bytes : undefined;
}

function uint64(value: bigint): Buffer {
  const bytes = Buffer.alloc(8);
  bytes.writeBigUInt64BE(value);
  return bytes;
}

function hex8(value: number): string {
  return value.toString(16).padStart(8, '0');
}

function keyLabel(key: { readonly name: string; readonly keyId: number }): string {
  return `${key.name}+${hex8(key.keyId)}`;
}
