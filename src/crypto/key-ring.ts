// The key ring: root key versions, the stable secret sealed under each of them, and the purpose
// keys derived from both with HKDF-SHA256. See docs/design/key-ring.md for the hierarchy and for
// what rotation does. The manifest and the key files are read from disk or from the environment;
// their contents are checked (format, sizes, that every root key opens the sealed secret) before
// any key derived from them is used.
import { createHmac, createSecretKey, hkdfSync, randomBytes } from 'node:crypto';
import type { KeyObject } from 'node:crypto';
import { join } from 'node:path';
import { z } from 'zod';
import { assert } from '../basics/index.ts';
import { blindIndexInput } from './blind-index.ts';
import type { BlindIndex, BlindIndexValues } from './blind-index.ts';
import { u32 } from './encoding.ts';
import { decrypt, encrypt, open, seal, unwrapDataKey, wrapDataKey } from './envelope.ts';
import type { KeyVersion, RecordBinding, SealedRecord, WrappedKey } from './envelope.ts';
import { CryptoError } from './errors.ts';
import {
  checkKeyDirectory,
  createKeyFile,
  ensureKeyDirectory,
  listKeyDirectory,
  readKeyFile,
  removeKeyFile,
  replaceKeyFile,
  syncDirectory,
} from './key-file.ts';
import { computeSubjectTag } from './subject-tag.ts';
import type { SubjectTag } from './subject-tag.ts';

/** Name of the ring manifest in the keys directory (the log's keys are `log-*.key`). */
export const KEY_RING_MANIFEST_FILE = 'key-ring.json';
/** Format tag of the manifest, raised when its layout changes. */
const MANIFEST_FORMAT = 'votervault-key-ring-1';
/** Bytes of a root key and of the stable secret: 256 bits from the CSPRNG. */
const SECRET_SIZE = 32;
/** Bytes of the ring id, the public HKDF salt that keeps two rings' keys apart. */
const RING_ID_SIZE = 16;
/** A manifest grows by about 150 bytes per version; anything near this is not a manifest. */
const MAX_MANIFEST_BYTES = 1024 * 1024;
/** A root key source holds one line of 48 bytes per version. */
const MAX_ROOT_KEY_FILE_BYTES = 64 * 1024;

// HKDF-SHA256 info labels, one per purpose, so that no two purposes ever share a key. The
// record-key wrap and stable-secret seal keys come from a root key version; the others come from
// the stable secret. A blind index key's label ends with the groups it covers.
const INFO_RECORD_KEY_WRAP = 'votervault record-key-wrap';
const INFO_STABLE_SECRET_SEAL = 'votervault stable-secret-seal';
const INFO_SUBJECT_TAG = 'votervault subject-tag';
const INFO_WATERMARK = 'votervault watermark';
const INFO_BLIND_INDEX = 'votervault blind-index ';
const STABLE_SECRET_AD_LABEL = Buffer.from('votervault stable secret 1\0', 'utf8');

const BASE64_KEY = /^[A-Za-z0-9+/]{43}=$/;
const VERSIONED_KEY = /^v([1-9]\d{0,8}):(.*)$/;
const ROOT_KEY_FILE = /^root-v([1-9]\d*)\.key$/;

/** Where the root key versions come from when they are not files in the keys directory. */
export type RootKeySource =
  /** A file of mode 0600 holding the root key versions (see {@link loadKeyRing}). */
  | { readonly file: string }
  /** An environment variable holding the root key versions. */
  | { readonly env: string };

/**
 * Where a key ring lives. The manifest (ring id, versions, sealed stable secret) is always in
 * `dir`; the root keys are files `root-v<N>.key` in `dir` unless `rootKey` names another source.
 */
export interface KeyRingSource {
  readonly dir: string;
  readonly rootKey?: RootKeySource;
}

/** A root key version and whether records may still be wrapped under it. */
export interface KeyVersionInfo {
  readonly version: KeyVersion;
  /** `retired`: the root key is destroyed; keys still wrapped under it cannot be opened. */
  readonly status: 'active' | 'retired';
}

/** The keys of one deployment. Every method but `rotate` and `retire` is synchronous. */
export interface KeyRing {
  /** Public id of the ring (32 hex digits), the salt of every key derivation. */
  readonly id: string;
  /** The root key version new records are wrapped under. */
  readonly currentVersion: KeyVersion;
  /**
   * Version of the stable secret that blind indexes, subject tags and watermarks derive from. It
   * does not change at rotation; it is 1 until a re-indexing procedure exists.
   */
  readonly stableVersion: KeyVersion;
  /** Every root key version, oldest first. */
  versions(): readonly KeyVersionInfo[];
  /**
   * Seals `plaintext` (the record's confidential and protected fields) under a new random data
   * key, wrapped under the current root key version.
   * @throws CryptoError BINDING_INVALID when the binding cannot be encoded
   */
  sealRecord(plaintext: Uint8Array, binding: RecordBinding): SealedRecord;
  /**
   * Opens a sealed record read from the database.
   * @throws CryptoError ENVELOPE_INVALID when the ciphertext or wrapped key was altered, is
   *   malformed or does not match `binding`
   * @throws CryptoError KEY_VERSION_UNKNOWN, KEY_VERSION_RETIRED for the wrapped key's version
   * @throws CryptoError BINDING_INVALID when the binding cannot be encoded
   */
  openRecord(sealed: SealedRecord, binding: RecordBinding): Uint8Array;
  /**
   * Re-wraps a record's data key under the current root key version without touching the record
   * ciphertext, for rotation. A key already under the current version is re-wrapped too.
   * @throws CryptoError ENVELOPE_INVALID when the wrapped key was altered or belongs to another
   *   voter
   * @throws CryptoError KEY_VERSION_UNKNOWN, KEY_VERSION_RETIRED for the wrapped key's version
   * @throws CryptoError BINDING_INVALID when the voter id is empty or not well-formed
   */
  rewrapKey(wrapped: WrappedKey, voterId: string): WrappedKey;
  /**
   * HMAC-SHA256 of the normalised values under the key of exactly that set of groups. Stable
   * across rotation.
   * @throws AssertionError when no group is present or a value is empty (it was not normalised)
   */
  blindIndex(values: BlindIndexValues): BlindIndex;
  /**
   * The voter's subject tag for the public log. Stable across rotation.
   * @throws CryptoError VALUE_INVALID when the voter id is empty or not well-formed
   */
  subjectTag(voterId: string): SubjectTag;
  /** HMAC-SHA256 of `message` under the watermark key (export fingerprints). Stable across rotation. */
  watermarkMac(message: string | Uint8Array): Uint8Array;
  /**
   * Adds root key version `current + 1` and makes it current: a new random key file in the keys
   * directory, or the next version from the external root key source. The stable secret is
   * sealed under it; records are not touched (re-wrap their keys with `rewrapKey`, then `retire`
   * the old version).
   * @throws CryptoError KEY_RING_CHANGED when the manifest changed since the ring was loaded
   * @throws CryptoError KEY_NOT_FOUND when the external source has no next version
   * @throws CryptoError KEY_MALFORMED when the external source is malformed
   * @throws CryptoError KEY_FILE_EXISTS when a key file of the next version already exists
   * @throws CryptoError KEY_FILE_INSECURE, IO_FAILED
   */
  rotate(): Promise<KeyVersion>;
  /**
   * Marks `version` retired and deletes its root key file, so that keys still wrapped under it
   * (in the database or in any backup) can never be opened again. Call it only once no row holds
   * a key of that version and every process has loaded the new version. Retiring a retired
   * version again deletes a key file an interrupted retirement left behind.
   * @throws CryptoError KEY_VERSION_UNKNOWN when the ring has no such version
   * @throws CryptoError KEY_VERSION_CURRENT when `version` is the current version
   * @throws CryptoError KEY_RING_CHANGED when the manifest changed since the ring was loaded
   * @throws CryptoError KEY_FILE_INSECURE, IO_FAILED
   */
  retire(version: KeyVersion): Promise<void>;
}

interface ActiveVersionEntry {
  readonly version: number;
  readonly status: 'active';
  /** Base64 of the stable secret sealed under this version's seal key. */
  readonly sealedStableSecret: string;
}

interface RetiredVersionEntry {
  readonly version: number;
  readonly status: 'retired';
}

type VersionEntry = ActiveVersionEntry | RetiredVersionEntry;

/** The ring manifest, `key-ring.json`. */
interface Manifest {
  readonly format: typeof MANIFEST_FORMAT;
  readonly ringId: string;
  readonly current: number;
  readonly stableVersion: number;
  /** Ascending by version, never empty. */
  readonly versions: readonly VersionEntry[];
}

/** Versions are encoded as u32 in associated data. */
const MAX_KEY_VERSION = 0xffffffff;
const VERSION_SCHEMA = z.number().int().min(1).max(MAX_KEY_VERSION);
const MANIFEST_SCHEMA: z.ZodType<Manifest> = z.strictObject({
  format: z.literal(MANIFEST_FORMAT),
  ringId: z.string().regex(/^[0-9a-f]{32}$/),
  current: VERSION_SCHEMA,
  stableVersion: VERSION_SCHEMA,
  versions: z
    .array(
      z.discriminatedUnion('status', [
        z.strictObject({
          version: VERSION_SCHEMA,
          status: z.literal('active'),
          sealedStableSecret: z.base64(),
        }),
        z.strictObject({ version: VERSION_SCHEMA, status: z.literal('retired') }),
      ]),
    )
    .min(1),
});

/** The state behind one {@link KeyRing}; `rotate` and `retire` replace its mutable parts. */
interface RingState {
  readonly source: KeyRingSource;
  readonly ringId: Buffer;
  readonly stableSecret: Buffer;
  manifest: Manifest;
  /** The manifest exactly as read or last written, to notice another process changing it. */
  manifestText: string;
  /** Wrap keys of the active versions. */
  readonly wrapKeys: Map<number, KeyObject>;
  current: { readonly key: KeyObject; readonly version: KeyVersion };
}

/**
 * Checks that `value` (a key version read from a database column or a command line) is a
 * positive integer that fits a key version.
 * @throws CryptoError KEY_VERSION_UNKNOWN when it is not
 */
export function parseKeyVersion(value: number): KeyVersion {
  if (!Number.isInteger(value) || value < 1 || value > MAX_KEY_VERSION) {
    throw new CryptoError(
      'KEY_VERSION_UNKNOWN',
      `Cannot use key version "${value}": expected a positive integer`,
    );
  }
  return value as KeyVersion;
}

/**
 * A new random root key in base64, for a deployment that keeps its root key outside the keys
 * directory (`rootKey: { file }` or `{ env }`). Write it as `v<N>:<key>` to add version N.
 */
export function generateRootKey(): string {
  return randomBytes(SECRET_SIZE).toString('base64');
}

/**
 * Creates a new key ring in `source.dir` (created with mode 0700 if missing): a random ring id and
 * stable secret, root key version 1 (a new random file `root-v1.key` of mode 0600, or version 1
 * of `source.rootKey`), and the manifest `key-ring.json`. Every file is written durably and none
 * is ever overwritten.
 * @throws CryptoError KEY_FILE_EXISTS when the directory already holds a manifest or a root key
 * @throws CryptoError KEY_FILE_INSECURE when the directory or the external key file may be used
 *   by others
 * @throws CryptoError KEY_NOT_FOUND, KEY_MALFORMED when the external source has no valid version 1
 * @throws CryptoError IO_FAILED when the file system fails
 */
export async function createKeyRing(source: KeyRingSource): Promise<KeyRing> {
  const { dir, rootKey } = source;
  await ensureKeyDirectory(dir);
  // Refuse before writing anything, so a refusal leaves the directory as it was.
  for (const name of await listKeyDirectory(dir)) {
    if (name === KEY_RING_MANIFEST_FILE || ROOT_KEY_FILE.test(name)) {
      throw new CryptoError(
        'KEY_FILE_EXISTS',
        `Cannot create key ring in "${dir}": "${name}" already exists (keys are never overwritten; move the old ones away first)`,
        { file: join(dir, name) },
      );
    }
  }
  const root =
    rootKey === undefined ? await createRootKeyFile(dir, 1) : await readExternalRootKey(rootKey, 1);
  const ringId = randomBytes(RING_ID_SIZE);
  const stableVersion = 1;
  const manifest: Manifest = {
    format: MANIFEST_FORMAT,
    ringId: ringId.toString('hex'),
    current: 1,
    stableVersion,
    versions: [
      {
        version: 1,
        status: 'active',
        sealedStableSecret: sealStableSecret(root, ringId, 1, {
          stableVersion,
          secret: randomBytes(SECRET_SIZE),
        }),
      },
    ],
  };
  const manifestText = formatManifest(manifest);
  await createKeyFile(join(dir, KEY_RING_MANIFEST_FILE), manifestText);
  await syncDirectory(dir);
  return openRing(source, { manifest, manifestText }, new Map([[1, root]]));
}

/**
 * Loads the key ring in `source.dir`, checking that the directory is 0700, the manifest and key
 * files 0600 and regular files (not symbolic links), and that every active root key opens the
 * sealed stable secret. Root keys come from `root-v<N>.key` in the directory, or from
 * `source.rootKey`: a file (mode 0600) or an environment variable holding either one base64 key
 * (version 1) or entries `v<N>:<base64 key>` separated by commas or white space; versions the
 * manifest does not list are ignored until `rotate` adopts the next one. A root key file of a
 * retired version left behind by an interrupted retirement is deleted.
 * @throws CryptoError KEY_NOT_FOUND when the directory, the manifest, the environment variable or
 *   an active root key version is missing
 * @throws CryptoError KEY_FILE_INSECURE when the directory or a key file may be used by others, or
 *   is a symbolic link
 * @throws CryptoError KEY_MALFORMED when the manifest or a root key is malformed
 * @throws CryptoError KEY_MISMATCH when a root key does not open the sealed stable secret
 * @throws CryptoError IO_FAILED when the file system fails
 */
export async function loadKeyRing(source: KeyRingSource): Promise<KeyRing> {
  const { dir, rootKey } = source;
  await checkKeyDirectory(dir);
  const manifestText = await readManifestText(dir);
  const manifest = parseManifest(manifestText, dir);
  const roots = new Map<number, Buffer>();
  const external = rootKey === undefined ? undefined : await readExternalRootKeys(rootKey);
  for (const entry of manifest.versions) {
    if (entry.status === 'retired') continue;
    roots.set(
      entry.version,
      external === undefined
        ? await readRootKeyFile(rootKeyPath(dir, entry.version))
        : pickVersion(external, entry.version),
    );
  }
  const ring = openRing(source, { manifest, manifestText }, roots);
  if (rootKey === undefined) {
    for (const name of await listKeyDirectory(dir)) {
      const version = Number(ROOT_KEY_FILE.exec(name)?.[1]);
      if (manifest.versions.some((v) => v.version === version && v.status === 'retired')) {
        await removeKeyFile(join(dir, name));
      }
    }
  }
  return ring;
}

/** Builds the ring from a checked manifest text and the root keys of its active versions. */
function openRing(
  source: KeyRingSource,
  { manifest, manifestText }: { readonly manifest: Manifest; readonly manifestText: string },
  roots: ReadonlyMap<number, Buffer>,
): KeyRing {
  const ringId = Buffer.from(manifest.ringId, 'hex');
  const wrapKeys = new Map<number, KeyObject>();
  let stableSecret: Buffer | undefined;
  for (const entry of manifest.versions) {
    if (entry.status === 'retired') continue;
    const root = roots.get(entry.version);
    assert(root !== undefined, 'The caller passes the root key of every active version');
    const secret = openStableSecret(root, ringId, entry, manifest.stableVersion);
    // Every active version must seal the same secret, or indexes would depend on the version.
    if (secret === null || (stableSecret !== undefined && !secret.equals(stableSecret))) {
      throw new CryptoError(
        'KEY_MISMATCH',
        `Cannot open key ring in "${source.dir}": root key version ${entry.version} does not open the ring's sealed stable secret (the key belongs to another ring, or the manifest was altered)`,
      );
    }
    stableSecret = secret;
    wrapKeys.set(entry.version, deriveKey(root, ringId, INFO_RECORD_KEY_WRAP));
    root.fill(0);
  }
  const currentKey = wrapKeys.get(manifest.current);
  assert(stableSecret !== undefined && currentKey !== undefined, 'The current version is active');
  const state: RingState = {
    source,
    ringId,
    stableSecret,
    manifest,
    manifestText,
    wrapKeys,
    current: { key: currentKey, version: manifest.current as KeyVersion },
  };
  return makeKeyRing(state);
}

function makeKeyRing(state: RingState): KeyRing {
  const { ringId, stableSecret } = state;
  const subjectKey = deriveKey(stableSecret, ringId, INFO_SUBJECT_TAG);
  const watermarkKey = deriveKey(stableSecret, ringId, INFO_WATERMARK);
  // At most one key per set of groups (2^7 sets), derived on first use and kept.
  const blindIndexKeys = new Map<string, KeyObject>();
  // rotate() and retire() read, change and write the manifest: one at a time.
  let queue: Promise<unknown> = Promise.resolve();
  function serially<T>(task: () => Promise<T>): Promise<T> {
    const result = queue.then(task);
    queue = result.catch(() => undefined);
    return result;
  }

  function wrapKeyFor(version: KeyVersion, action: string): KeyObject {
    const key = state.wrapKeys.get(version);
    if (key !== undefined) return key;
    // `version` comes from a database column: it is only compared, and quoted in the message.
    if (state.manifest.versions.some((entry) => entry.version === version)) {
      throw new CryptoError(
        'KEY_VERSION_RETIRED',
        `Cannot ${action}: root key version ${version} was retired and its key destroyed`,
      );
    }
    throw new CryptoError(
      'KEY_VERSION_UNKNOWN',
      `Cannot ${action}: the key ring has no root key version "${version}"`,
    );
  }

  return {
    id: state.manifest.ringId,
    get currentVersion() {
      return state.current.version;
    },
    stableVersion: state.manifest.stableVersion as KeyVersion,
    versions() {
      return Object.freeze(
        state.manifest.versions.map((entry) =>
          Object.freeze({ version: entry.version as KeyVersion, status: entry.status }),
        ),
      );
    },
    sealRecord(plaintext, binding) {
      return seal(plaintext, binding, state.current);
    },
    openRecord(sealed, binding) {
      return open(sealed, binding, wrapKeyFor(sealed.wrappedKey.keyVersion, 'open record'));
    },
    rewrapKey(wrapped, voterId) {
      const wrapKey = wrapKeyFor(wrapped.keyVersion, 'rewrap key');
      const dataKey = unwrapDataKey(wrapped, voterId, wrapKey);
      const rewrapped = wrapDataKey(dataKey, voterId, state.current);
      dataKey.fill(0);
      return rewrapped;
    },
    blindIndex(values) {
      const { label, message } = blindIndexInput(values);
      let key = blindIndexKeys.get(label);
      if (key === undefined) {
        key = deriveKey(stableSecret, ringId, INFO_BLIND_INDEX + label);
        blindIndexKeys.set(label, key);
      }
      return createHmac('sha256', key).update(message).digest('hex') as BlindIndex;
    },
    subjectTag(voterId) {
      return computeSubjectTag(subjectKey, voterId);
    },
    watermarkMac(message) {
      return createHmac('sha256', watermarkKey).update(message).digest();
    },
    rotate() {
      return serially(() => rotate(state));
    },
    retire(version) {
      return serially(() => retire(state, version));
    },
  };
}

async function rotate(state: RingState): Promise<KeyVersion> {
  const { source, ringId } = state;
  await checkUnchanged(state);
  const next = Math.max(...state.manifest.versions.map((entry) => entry.version)) + 1;
  const root =
    source.rootKey === undefined
      ? await createRootKeyFile(source.dir, next)
      : await readExternalRootKey(source.rootKey, next);
  const entry: ActiveVersionEntry = {
    version: next,
    status: 'active',
    sealedStableSecret: sealStableSecret(root, ringId, next, {
      stableVersion: state.manifest.stableVersion,
      secret: state.stableSecret,
    }),
  };
  const wrapKey = deriveKey(root, ringId, INFO_RECORD_KEY_WRAP);
  root.fill(0);
  await writeManifest(state, {
    ...state.manifest,
    current: next,
    versions: [...state.manifest.versions, entry],
  });
  state.wrapKeys.set(next, wrapKey);
  state.current = { key: wrapKey, version: next as KeyVersion };
  return next as KeyVersion;
}

async function retire(state: RingState, version: KeyVersion): Promise<void> {
  const { source } = state;
  const entry = state.manifest.versions.find((v) => v.version === version);
  if (entry === undefined) {
    throw new CryptoError(
      'KEY_VERSION_UNKNOWN',
      `Cannot retire root key version "${version}": the key ring has no such version`,
    );
  }
  if (version === state.current.version) {
    throw new CryptoError(
      'KEY_VERSION_CURRENT',
      `Cannot retire root key version ${version}: it is the current version (rotate first)`,
    );
  }
  if (entry.status === 'active') {
    await checkUnchanged(state);
    // The manifest first: once it says retired, nothing will use the key, and a crash before
    // the file is deleted leaves a file that the next load or retire deletes.
    await writeManifest(state, {
      ...state.manifest,
      versions: state.manifest.versions.map((v) =>
        v.version === version ? { version, status: 'retired' } : v,
      ),
    });
    state.wrapKeys.delete(version);
  }
  if (source.rootKey === undefined) await removeKeyFile(rootKeyPath(source.dir, version));
}

/**
 * Seals the stable secret under root key `root` of `version`:
 * `AES-256-GCM(HKDF(root, ringId, "votervault stable-secret-seal"), secret, ad =
 * "votervault stable secret 1\0" || ringId || u32(version) || u32(stableVersion))` in base64.
 * Exported for tests that build manifests by hand.
 */
export function sealStableSecret(
  root: Buffer,
  ringId: Buffer,
  version: number,
  stable: { readonly stableVersion: number; readonly secret: Buffer },
): string {
  const key = deriveKey(root, ringId, INFO_STABLE_SECRET_SEAL);
  const ad = stableSecretAd(ringId, version, stable.stableVersion);
  return encrypt(key, ad, stable.secret).toString('base64');
}

function openStableSecret(
  root: Buffer,
  ringId: Buffer,
  entry: ActiveVersionEntry,
  stableVersion: number,
): Buffer | null {
  const key = deriveKey(root, ringId, INFO_STABLE_SECRET_SEAL);
  const ad = stableSecretAd(ringId, entry.version, stableVersion);
  const secret = decrypt(key, ad, Buffer.from(entry.sealedStableSecret, 'base64'));
  return secret?.length === SECRET_SIZE ? secret : null;
}

function stableSecretAd(ringId: Buffer, version: number, stableVersion: number): Buffer {
  return Buffer.concat([STABLE_SECRET_AD_LABEL, ringId, u32(version), u32(stableVersion)]);
}

/** HKDF-SHA256(ikm, salt = ring id, info) as a 32-byte AES or HMAC key, derived once and kept. */
function deriveKey(ikm: Buffer, ringId: Buffer, info: string): KeyObject {
  return createSecretKey(new Uint8Array(hkdfSync('sha256', ikm, ringId, info, SECRET_SIZE)));
}

async function readManifestText(dir: string): Promise<string> {
  return await readKeyFile(join(dir, KEY_RING_MANIFEST_FILE), MAX_MANIFEST_BYTES);
}

/**
 * Parses and checks a manifest read from the keys directory.
 * @throws CryptoError KEY_MALFORMED when it is not a well-formed manifest
 */
function parseManifest(text: string, dir: string): Manifest {
  const path = join(dir, KEY_RING_MANIFEST_FILE);
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error: unknown) {
    throw new CryptoError(
      'KEY_MALFORMED',
      `Cannot use key ring manifest "${path}": it is not JSON`,
      {
        file: path,
        cause: error,
      },
    );
  }
  const parsed = MANIFEST_SCHEMA.safeParse(json);
  if (!parsed.success) {
    const detail = parsed.error.issues
      .map(
        (issue) =>
          `${issue.path.length > 0 ? issue.path.join('.') : 'the manifest'}: ${issue.message}`,
      )
      .join('; ');
    throw new CryptoError('KEY_MALFORMED', `Cannot use key ring manifest "${path}": ${detail}`, {
      file: path,
      cause: parsed.error,
    });
  }
  const manifest = parsed.data;
  const versions = manifest.versions.map((entry) => entry.version);
  const reason = versions.some((v, i) => i > 0 && v <= Number(versions[i - 1]))
    ? 'versions are not in ascending order'
    : manifest.versions.some((v) => v.version === manifest.current && v.status === 'active')
      ? undefined
      : `the current version ${manifest.current} is not an active version`;
  if (reason !== undefined) {
    throw new CryptoError('KEY_MALFORMED', `Cannot use key ring manifest "${path}": ${reason}`, {
      file: path,
    });
  }
  return manifest;
}

function formatManifest(manifest: Manifest): string {
  return `${JSON.stringify(manifest, null, 2)}\n`;
}

/** Replaces the manifest durably and makes `manifest` the ring's state. */
async function writeManifest(state: RingState, manifest: Manifest): Promise<void> {
  const text = formatManifest(manifest);
  await replaceKeyFile(join(state.source.dir, KEY_RING_MANIFEST_FILE), text);
  state.manifest = manifest;
  state.manifestText = text;
}

/**
 * Refuses to change a ring whose manifest another process changed since this one read it.
 * @throws CryptoError KEY_RING_CHANGED
 */
async function checkUnchanged(state: RingState): Promise<void> {
  if ((await readManifestText(state.source.dir)) !== state.manifestText) {
    throw new CryptoError(
      'KEY_RING_CHANGED',
      `Cannot change key ring in "${state.source.dir}": its manifest changed since it was loaded (another process rotated or retired a key); load it again`,
    );
  }
}

function rootKeyPath(dir: string, version: number): string {
  return join(dir, `root-v${version}.key`);
}

/**
 * Creates a random root key of `version` in the keys directory, durably: the base64 of 32 bytes
 * and a newline in `root-v<N>.key`, mode 0600. link(2) refuses to replace a key file, such as one
 * left by an interrupted rotation: records may be wrapped under it if the manifest was restored
 * from an older copy.
 * @throws CryptoError KEY_FILE_EXISTS, IO_FAILED
 */
async function createRootKeyFile(dir: string, version: number): Promise<Buffer> {
  const root = randomBytes(SECRET_SIZE);
  await createKeyFile(rootKeyPath(dir, version), `${root.toString('base64')}\n`);
  await syncDirectory(dir);
  return root;
}

/**
 * Reads a root key file of the keys directory: the base64 of 32 bytes and a newline.
 * @throws CryptoError KEY_NOT_FOUND, KEY_FILE_INSECURE, KEY_MALFORMED, IO_FAILED
 */
async function readRootKeyFile(path: string): Promise<Buffer> {
  const text = (await readKeyFile(path, MAX_ROOT_KEY_FILE_BYTES)).trim();
  if (!BASE64_KEY.test(text)) {
    throw new CryptoError(
      'KEY_MALFORMED',
      `Cannot use key file "${path}": expected the base64 encoding of ${SECRET_SIZE} bytes`,
      { file: path },
    );
  }
  return Buffer.from(text, 'base64');
}

/** The root keys of an external source, and how to name the source in messages. */
interface ExternalRootKeys {
  readonly keys: ReadonlyMap<number, Buffer>;
  readonly where: string;
}

/** Version `version` of an external root key source. */
async function readExternalRootKey(source: RootKeySource, version: number): Promise<Buffer> {
  return pickVersion(await readExternalRootKeys(source), version);
}

/** @throws CryptoError KEY_NOT_FOUND when the source has no such version */
function pickVersion({ keys, where }: ExternalRootKeys, version: number): Buffer {
  const key = keys.get(version);
  if (key === undefined) {
    throw new CryptoError(
      'KEY_NOT_FOUND',
      `Cannot find root key version ${version} in ${where}: add an entry "v${version}:<base64 key>"`,
    );
  }
  return Buffer.from(key);
}

/**
 * Reads and parses an external root key source. Its text is a secret: error messages name the
 * source and the position of a bad entry, never its content.
 * @throws CryptoError KEY_NOT_FOUND when the file or the environment variable is missing
 * @throws CryptoError KEY_MALFORMED when an entry is malformed or a version repeats
 * @throws CryptoError KEY_FILE_INSECURE, IO_FAILED for the file
 */
async function readExternalRootKeys(source: RootKeySource): Promise<ExternalRootKeys> {
  let text: string;
  let where: string;
  if ('file' in source) {
    where = `root key file "${source.file}"`;
    text = await readKeyFile(source.file, MAX_ROOT_KEY_FILE_BYTES);
  } else {
    where = `environment variable "${source.env}"`;
    const value = process.env[source.env];
    if (value === undefined || value.trim() === '') {
      throw new CryptoError('KEY_NOT_FOUND', `Cannot read root key from ${where}: it is not set`);
    }
    text = value;
  }
  const entries = text.trim().split(/[\s,]+/u);
  const keys = new Map<number, Buffer>();
  for (const [index, entry] of entries.entries()) {
    const match = VERSIONED_KEY.exec(entry);
    // A lone key without a version is version 1, the common case of a ring never rotated.
    const [version, key] =
      match === null ? [entries.length === 1 ? 1 : 0, entry] : [Number(match[1]), String(match[2])];
    if (version === 0 || !BASE64_KEY.test(key) || keys.has(version)) {
      throw new CryptoError(
        'KEY_MALFORMED',
        `Cannot read root key from ${where}: entry ${index + 1} is not "v<N>:<base64 of ${SECRET_SIZE} bytes>" with a version not seen before`,
      );
    }
    keys.set(version, Buffer.from(key, 'base64'));
  }
  return { keys, where };
}
