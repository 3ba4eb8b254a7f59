import { randomBytes } from 'node:crypto';
import { chmod, mkdtemp, readFile, readdir, rm, stat, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  KEY_RING_MANIFEST_FILE,
  createKeyRing,
  generateRootKey,
  hashPublicFields,
  loadKeyRing,
  normaliseDate,
  normaliseName,
  normaliseZip,
  parseKeyVersion,
  parseSubjectTag,
} from './index.ts';
import type { KeyRing, KeyVersion, RecordBinding, SealedRecord } from './index.ts';
import { sealStableSecret } from './key-ring.ts';

let base: string;
let dir: string;
const ENV = 'VOTERVAULT_TEST_ROOT_KEY';

beforeEach(async () => {
  base = await mkdtemp(join(tmpdir(), 'crypto-key-ring-'));
  dir = join(base, 'keys');
});

afterEach(async () => {
  delete process.env[ENV];
  await rm(base, { recursive: true, force: true });
});

function code(value: string): unknown {
  return expect.objectContaining({ code: value });
}

function binding(voterId = 'TEST-000001', overrides: Partial<RecordBinding> = {}): RecordBinding {
  return {
    voterId,
    jurisdiction: 'Example County',
    rowVersion: 1,
    publicFieldsHash: hashPublicFields({ last_name: 'DOE', voter_id: voterId }),
    ...overrides,
  };
}

const PLAINTEXT = new TextEncoder().encode('{"dob":"1970-01-02","race":"X"}');

function opens(ring: KeyRing, sealed: SealedRecord, b = binding()): boolean {
  return Buffer.from(ring.openRecord(sealed, b)).equals(PLAINTEXT);
}

function version(n: number): KeyVersion {
  return parseKeyVersion(n);
}

async function manifest(): Promise<Record<string, unknown>> {
  return JSON.parse(await readFile(join(dir, KEY_RING_MANIFEST_FILE), 'utf8')) as Record<
    string,
    unknown
  >;
}

async function writeManifest(value: unknown): Promise<void> {
  await writeFile(join(dir, KEY_RING_MANIFEST_FILE), JSON.stringify(value), { mode: 0o600 });
}

describe('createKeyRing', () => {
  it('writes a 0700 directory with a 0600 root key and manifest, and loads back', async () => {
    const ring = await createKeyRing({ dir });
    expect((await stat(dir)).mode & 0o777).toBe(0o700);
    expect((await readdir(dir)).sort()).toEqual([KEY_RING_MANIFEST_FILE, 'root-v1.key']);
    for (const name of await readdir(dir)) {
      expect((await stat(join(dir, name))).mode & 0o777).toBe(0o600);
    }
    expect((await readFile(join(dir, 'root-v1.key'), 'utf8')).trim()).toMatch(
      /^[A-Za-z0-9+/]{43}=$/,
    );
    expect(ring.id).toMatch(/^[0-9a-f]{32}$/);
    expect(ring.currentVersion).toBe(1);
    expect(ring.stableVersion).toBe(1);
    expect(ring.versions()).toEqual([{ version: 1, status: 'active' }]);

    const sealed = ring.sealRecord(PLAINTEXT, binding());
    const loaded = await loadKeyRing({ dir });
    expect(loaded.id).toBe(ring.id);
    expect(opens(loaded, sealed)).toBe(true);
    expect(loaded.subjectTag('TEST-000001')).toBe(ring.subjectTag('TEST-000001'));
  });

  it('leaves no secret in the manifest', async () => {
    const ring = await createKeyRing({ dir });
    const root = (await readFile(join(dir, 'root-v1.key'), 'utf8')).trim();
    const text = await readFile(join(dir, KEY_RING_MANIFEST_FILE), 'utf8');
    expect(text).not.toContain(root);
    expect(text).toContain(ring.id);
  });

  it('refuses to overwrite a ring, leaving the directory as it was', async () => {
    await createKeyRing({ dir });
    const before = await readFile(join(dir, KEY_RING_MANIFEST_FILE));
    await expect(createKeyRing({ dir })).rejects.toThrow(code('KEY_FILE_EXISTS'));
    expect((await readFile(join(dir, KEY_RING_MANIFEST_FILE))).equals(before)).toBe(true);
    await rm(join(dir, KEY_RING_MANIFEST_FILE));
    await expect(createKeyRing({ dir })).rejects.toThrow(code('KEY_FILE_EXISTS'));
  });

  it('shares the directory with the log keys', async () => {
    await createKeyRing({ dir });
    await writeFile(join(dir, 'log-ed25519.key'), 'x', { mode: 0o600 });
    await expect(loadKeyRing({ dir })).resolves.toBeDefined();
    await rm(join(dir, KEY_RING_MANIFEST_FILE));
    await rm(join(dir, 'root-v1.key'));
    await expect(createKeyRing({ dir })).resolves.toBeDefined();
  });

  it('gives two rings unrelated keys', async () => {
    const a = await createKeyRing({ dir });
    const b = await createKeyRing({ dir: join(base, 'other') });
    const name = normaliseName('Doe');
    expect(a.blindIndex({ 'last-name': name })).not.toBe(b.blindIndex({ 'last-name': name }));
    expect(a.subjectTag('TEST-000001')).not.toBe(b.subjectTag('TEST-000001'));
    expect(Buffer.from(a.watermarkMac('r')).equals(b.watermarkMac('r'))).toBe(false);
    const sealed = a.sealRecord(PLAINTEXT, binding());
    expect(() => b.openRecord(sealed, binding())).toThrow(code('ENVELOPE_INVALID'));
  });
});

describe('loadKeyRing', () => {
  it('refuses a root key file group or others can read, with the fix in the message', async () => {
    await createKeyRing({ dir });
    const path = join(dir, 'root-v1.key');
    await chmod(path, 0o644);
    await expect(loadKeyRing({ dir })).rejects.toThrow(
      `Cannot use key file "${path}": mode is 0644, expected 0600 (run chmod 600 "${path}")`,
    );
    await expect(loadKeyRing({ dir })).rejects.toThrow(code('KEY_FILE_INSECURE'));
  });

  it('refuses an open keys directory, an open manifest and a symbolic link', async () => {
    await createKeyRing({ dir });
    await chmod(dir, 0o750);
    await expect(loadKeyRing({ dir })).rejects.toThrow(code('KEY_FILE_INSECURE'));
    await chmod(dir, 0o700);
    await chmod(join(dir, KEY_RING_MANIFEST_FILE), 0o640);
    await expect(loadKeyRing({ dir })).rejects.toThrow(code('KEY_FILE_INSECURE'));
    await chmod(join(dir, KEY_RING_MANIFEST_FILE), 0o600);
    const elsewhere = join(base, 'elsewhere.key');
    await writeFile(elsewhere, await readFile(join(dir, 'root-v1.key')), { mode: 0o600 });
    await rm(join(dir, 'root-v1.key'));
    await symlink(elsewhere, join(dir, 'root-v1.key'));
    await expect(loadKeyRing({ dir })).rejects.toThrow(code('KEY_FILE_INSECURE'));
  });

  it('reports a missing directory, manifest or root key', async () => {
    await expect(loadKeyRing({ dir })).rejects.toThrow(code('KEY_NOT_FOUND'));
    await createKeyRing({ dir });
    await rm(join(dir, 'root-v1.key'));
    await expect(loadKeyRing({ dir })).rejects.toThrow(code('KEY_NOT_FOUND'));
    await rm(join(dir, KEY_RING_MANIFEST_FILE));
    await expect(loadKeyRing({ dir })).rejects.toThrow(code('KEY_NOT_FOUND'));
  });

  it('refuses a malformed root key file without quoting it', async () => {
    await createKeyRing({ dir });
    await writeFile(join(dir, 'root-v1.key'), 'c2VjcmV0LWJ1dC1zaG9ydA==\n', { mode: 0o600 });
    await expect(loadKeyRing({ dir })).rejects.toThrow(code('KEY_MALFORMED'));
    await expect(loadKeyRing({ dir })).rejects.not.toThrow('c2VjcmV0');
  });

  it('refuses a root key of another ring', async () => {
    await createKeyRing({ dir });
    const other = join(base, 'other');
    await createKeyRing({ dir: other });
    await writeFile(join(dir, 'root-v1.key'), await readFile(join(other, 'root-v1.key')));
    await expect(loadKeyRing({ dir })).rejects.toThrow(code('KEY_MISMATCH'));
  });

  it.each([
    ['text that is not JSON', '{', 'it is not JSON'],
    ['an array', [], 'the manifest: '],
    ['another format', { format: 'x' }, 'format: '],
  ])('refuses a manifest holding %s', async (_name, value, message) => {
    await createKeyRing({ dir });
    await writeFile(
      join(dir, KEY_RING_MANIFEST_FILE),
      typeof value === 'string' ? value : JSON.stringify(value),
    );
    await expect(loadKeyRing({ dir })).rejects.toThrow(
      expect.objectContaining({
        code: 'KEY_MALFORMED',
        message: expect.stringContaining(message) as string,
      }),
    );
  });

  it('refuses a manifest whose versions are out of order or whose current version is retired', async () => {
    const ring = await createKeyRing({ dir });
    await ring.rotate();
    const good = await manifest();
    const versions = good['versions'] as unknown[];
    await writeManifest({ ...good, versions: [...versions].reverse() });
    await expect(loadKeyRing({ dir })).rejects.toThrow('versions are not in ascending order');
    await writeManifest({ ...good, current: 3 });
    await expect(loadKeyRing({ dir })).rejects.toThrow('the current version 3 is not an active');
    await writeManifest(good);
    await (await loadKeyRing({ dir })).retire(version(1));
    await writeManifest({ ...(await manifest()), current: 1 });
    await expect(loadKeyRing({ dir })).rejects.toThrow(code('KEY_MALFORMED'));
  });

  it('refuses a manifest whose sealed secret was altered or differs between versions', async () => {
    const ring = await createKeyRing({ dir });
    await ring.rotate();
    const good = await manifest();
    const [v1, v2] = good['versions'] as [Record<string, string>, Record<string, string>];
    const sealed = Buffer.from(String(v1['sealedStableSecret']), 'base64');
    sealed[20] = Number(sealed[20]) ^ 1;
    await writeManifest({
      ...good,
      versions: [{ ...v1, sealedStableSecret: sealed.toString('base64') }, v2],
    });
    await expect(loadKeyRing({ dir })).rejects.toThrow(code('KEY_MISMATCH'));

    // Both versions open, but to different secrets: indexes would depend on the version.
    const root2 = Buffer.from((await readFile(join(dir, 'root-v2.key'), 'utf8')).trim(), 'base64');
    const otherSecret = sealStableSecret(root2, Buffer.from(ring.id, 'hex'), 2, {
      stableVersion: 1,
      secret: randomBytes(32),
    });
    await writeManifest({ ...good, versions: [v1, { ...v2, sealedStableSecret: otherSecret }] });
    await expect(loadKeyRing({ dir })).rejects.toThrow(code('KEY_MISMATCH'));
  });
});

describe('records', () => {
  it('fail to open when any binding field, the ciphertext, the wrapped key or its version changes', async () => {
    const ring = await createKeyRing({ dir });
    const sealed = ring.sealRecord(PLAINTEXT, binding());
    expect(opens(ring, sealed)).toBe(true);
    const invalid = code('ENVELOPE_INVALID');
    for (const b of [
      binding('TEST-000002'),
      binding(undefined, { jurisdiction: 'Other County' }),
      binding(undefined, { rowVersion: 2 }),
      binding(undefined, { publicFieldsHash: hashPublicFields({ last_name: 'ROE' }) }),
    ]) {
      expect(() => ring.openRecord(sealed, b)).toThrow(invalid);
    }
    const ciphertext = Buffer.from(sealed.ciphertext);
    ciphertext[ciphertext.length - 1] = Number(ciphertext.at(-1)) ^ 1;
    expect(() => ring.openRecord({ ...sealed, ciphertext }, binding())).toThrow(invalid);
    const bytes = Buffer.from(sealed.wrappedKey.bytes);
    bytes[5] = Number(bytes[5]) ^ 1;
    expect(() =>
      ring.openRecord({ ...sealed, wrappedKey: { ...sealed.wrappedKey, bytes } }, binding()),
    ).toThrow(invalid);
    expect(() =>
      ring.openRecord(
        { ...sealed, wrappedKey: { ...sealed.wrappedKey, keyVersion: 0 as KeyVersion } },
        binding(),
      ),
    ).toThrow(code('KEY_VERSION_UNKNOWN'));
  });

  it('fail to open when a wrapped key claims another active version', async () => {
    const ring = await createKeyRing({ dir });
    const sealed = ring.sealRecord(PLAINTEXT, binding());
    await ring.rotate();
    const claimed = { ...sealed, wrappedKey: { ...sealed.wrappedKey, keyVersion: version(2) } };
    expect(() => ring.openRecord(claimed, binding())).toThrow(code('ENVELOPE_INVALID'));
  });

  it('fail to open when two rows swap their blobs, wholly or in part', async () => {
    const ring = await createKeyRing({ dir });
    const a = ring.sealRecord(PLAINTEXT, binding('TEST-000001'));
    const b = ring.sealRecord(PLAINTEXT, binding('TEST-000002'));
    const invalid = code('ENVELOPE_INVALID');
    expect(() => ring.openRecord(b, binding('TEST-000001'))).toThrow(invalid);
    expect(() => ring.openRecord(a, binding('TEST-000002'))).toThrow(invalid);
    const mixed = { ciphertext: a.ciphertext, wrappedKey: b.wrappedKey };
    expect(() => ring.openRecord(mixed, binding('TEST-000001'))).toThrow(invalid);
    expect(() => ring.openRecord(mixed, binding('TEST-000002'))).toThrow(invalid);
  });

  it('are shredded by destroying the wrapped key: no other key of the ring opens them', async () => {
    const ring = await createKeyRing({ dir });
    const sealed = ring.sealRecord(PLAINTEXT, binding());
    // Another record of the same voter and row: its data key is different.
    const sibling = ring.sealRecord(PLAINTEXT, binding());
    const shredded = {
      ciphertext: sealed.ciphertext,
      wrappedKey: { ...sealed.wrappedKey, bytes: new Uint8Array(sealed.wrappedKey.bytes.length) },
    };
    expect(() => ring.openRecord(shredded, binding())).toThrow(code('ENVELOPE_INVALID'));
    const withSibling = { ciphertext: sealed.ciphertext, wrappedKey: sibling.wrappedKey };
    expect(() => ring.openRecord(withSibling, binding())).toThrow(code('ENVELOPE_INVALID'));
  });

  it('never put the voter id or field values in error messages', async () => {
    const ring = await createKeyRing({ dir });
    const sealed = ring.sealRecord(PLAINTEXT, binding('SECRET-ID'));
    expect(() => ring.openRecord(sealed, binding('SECRET-ID', { rowVersion: 9 }))).toThrow(
      expect.objectContaining({ message: expect.not.stringContaining('SECRET') as string }),
    );
    expect(() => ring.rewrapKey(sealed.wrappedKey, 'SECRET-OTHER')).toThrow(
      expect.objectContaining({ message: expect.not.stringContaining('SECRET') as string }),
    );
  });
});

describe('rotation', () => {
  it('re-wraps data keys without touching records, keeps indexes and tags, then retires', async () => {
    const ring = await createKeyRing({ dir });
    const name = normaliseName('Doe');
    const dob = normaliseDate('1970-01-02');
    const index = ring.blindIndex({ 'last-name': name, dob });
    const tag = ring.subjectTag('TEST-000001');
    const mark = Buffer.from(ring.watermarkMac('recipient'));
    const old = ring.sealRecord(PLAINTEXT, binding());

    expect(await ring.rotate()).toBe(2);
    expect(ring.currentVersion).toBe(2);
    expect(ring.versions()).toEqual([
      { version: 1, status: 'active' },
      { version: 2, status: 'active' },
    ]);
    expect((await stat(join(dir, 'root-v2.key'))).mode & 0o777).toBe(0o600);
    expect(opens(ring, old)).toBe(true);
    expect(ring.sealRecord(PLAINTEXT, binding()).wrappedKey.keyVersion).toBe(2);

    const rewrapped = ring.rewrapKey(old.wrappedKey, 'TEST-000001');
    expect(rewrapped.keyVersion).toBe(2);
    const moved = { ciphertext: old.ciphertext, wrappedKey: rewrapped };
    expect(opens(ring, moved)).toBe(true);
    expect(ring.rewrapKey(rewrapped, 'TEST-000001').keyVersion).toBe(2);

    await ring.retire(version(1));
    expect(ring.versions()).toEqual([
      { version: 1, status: 'retired' },
      { version: 2, status: 'active' },
    ]);
    expect((await readdir(dir)).sort()).toEqual([KEY_RING_MANIFEST_FILE, 'root-v2.key']);
    expect(() => ring.openRecord(old, binding())).toThrow(code('KEY_VERSION_RETIRED'));
    expect(() => ring.rewrapKey(old.wrappedKey, 'TEST-000001')).toThrow(
      code('KEY_VERSION_RETIRED'),
    );

    const reloaded = await loadKeyRing({ dir });
    expect(reloaded.currentVersion).toBe(2);
    expect(opens(reloaded, moved)).toBe(true);
    expect(() => reloaded.openRecord(old, binding())).toThrow(code('KEY_VERSION_RETIRED'));
    for (const r of [ring, reloaded]) {
      expect(r.blindIndex({ dob, 'last-name': name })).toBe(index);
      expect(r.subjectTag('TEST-000001')).toBe(tag);
      expect(Buffer.from(r.watermarkMac('recipient')).equals(mark)).toBe(true);
    }
    expect(parseSubjectTag(tag)).toBe(tag);
  });

  it('refuses to retire the current or an unknown version; retiring twice is harmless', async () => {
    const ring = await createKeyRing({ dir });
    await expect(ring.retire(version(1))).rejects.toThrow(code('KEY_VERSION_CURRENT'));
    await expect(ring.retire(version(5))).rejects.toThrow(code('KEY_VERSION_UNKNOWN'));
    await ring.rotate();
    await ring.retire(version(1));
    await ring.retire(version(1));
    expect(ring.versions()[0]).toEqual({ version: 1, status: 'retired' });
  });

  it('finishes an interrupted retirement when the ring is loaded', async () => {
    const ring = await createKeyRing({ dir });
    const root1 = await readFile(join(dir, 'root-v1.key'));
    await ring.rotate();
    await ring.retire(version(1));
    await writeFile(join(dir, 'root-v1.key'), root1, { mode: 0o600 });
    await loadKeyRing({ dir });
    expect(await readdir(dir)).not.toContain('root-v1.key');
  });

  it('runs rotations one at a time and numbers versions after retired ones', async () => {
    const ring = await createKeyRing({ dir });
    expect(await Promise.all([ring.rotate(), ring.rotate()])).toEqual([2, 3]);
    await ring.retire(version(1));
    await ring.retire(version(2));
    expect(await ring.rotate()).toBe(4);
    expect((await loadKeyRing({ dir })).versions().map((v) => v.status)).toEqual([
      'retired',
      'retired',
      'active',
      'active',
    ]);
  });

  it('refuses to change a ring another process changed, and carries on after a refusal', async () => {
    const a = await createKeyRing({ dir });
    const b = await loadKeyRing({ dir });
    await a.rotate();
    await expect(b.rotate()).rejects.toThrow(code('KEY_RING_CHANGED'));
    await expect(b.retire(version(1))).rejects.toThrow(code('KEY_VERSION_CURRENT'));
    const c = await loadKeyRing({ dir });
    await a.rotate();
    await expect(c.retire(version(1))).rejects.toThrow(code('KEY_RING_CHANGED'));
    expect(await a.rotate()).toBe(4);
  });

  it('refuses to replace a root key file left by an interrupted rotation', async () => {
    const ring = await createKeyRing({ dir });
    await writeFile(join(dir, 'root-v2.key'), `${generateRootKey()}\n`, { mode: 0o600 });
    await expect(ring.rotate()).rejects.toThrow(code('KEY_FILE_EXISTS'));
    expect(ring.currentVersion).toBe(1);
    expect((await manifest())['current']).toBe(1);
  });
});

describe('external root keys', () => {
  it('come from an environment variable; the keys directory then holds only the manifest', async () => {
    const key1 = generateRootKey();
    process.env[ENV] = key1;
    const ring = await createKeyRing({ dir, rootKey: { env: ENV } });
    expect(await readdir(dir)).toEqual([KEY_RING_MANIFEST_FILE]);
    const sealed = ring.sealRecord(PLAINTEXT, binding());
    const loaded = await loadKeyRing({ dir, rootKey: { env: ENV } });
    expect(opens(loaded, sealed)).toBe(true);
    await expect(loadKeyRing({ dir })).rejects.toThrow(code('KEY_NOT_FOUND'));

    process.env[ENV] = ` v1:${key1} `;
    expect(opens(await loadKeyRing({ dir, rootKey: { env: ENV } }), sealed)).toBe(true);

    // Rotation adopts the next version once the operator has added it.
    await expect(loaded.rotate()).rejects.toThrow(
      expect.objectContaining({
        code: 'KEY_NOT_FOUND',
        message: expect.stringContaining('"v2:<base64 key>"') as string,
      }),
    );
    const key2 = generateRootKey();
    process.env[ENV] = `v1:${key1},\nv2:${key2}`;
    expect(await loaded.rotate()).toBe(2);
    const rewrapped = loaded.rewrapKey(sealed.wrappedKey, 'TEST-000001');
    await loaded.retire(version(1));
    expect(await readdir(dir)).toEqual([KEY_RING_MANIFEST_FILE]);
    // The retired version may stay in the variable; only version 2 is needed.
    const again = await loadKeyRing({ dir, rootKey: { env: ENV } });
    expect(opens(again, { ciphertext: sealed.ciphertext, wrappedKey: rewrapped })).toBe(true);
    process.env[ENV] = `v2:${key2}`;
    const onlyV2 = await loadKeyRing({ dir, rootKey: { env: ENV } });
    expect(onlyV2.subjectTag('TEST-000001')).toBe(ring.subjectTag('TEST-000001'));
  });

  it('are refused when missing, malformed or of another ring, without quoting the variable', async () => {
    await expect(createKeyRing({ dir, rootKey: { env: ENV } })).rejects.toThrow(
      code('KEY_NOT_FOUND'),
    );
    process.env[ENV] = '   ';
    await expect(createKeyRing({ dir, rootKey: { env: ENV } })).rejects.toThrow(
      code('KEY_NOT_FOUND'),
    );
    const key = generateRootKey();
    for (const value of [
      'not-a-key',
      `${key},${key}`,
      `v1:${key},v1:${key}`,
      `v0:${key}`,
      `v1:${key.slice(1)}`,
    ]) {
      process.env[ENV] = value;
      const error: unknown = await createKeyRing({ dir, rootKey: { env: ENV } }).catch(
        (e: unknown) => e,
      );
      expect(error).toMatchObject({ code: 'KEY_MALFORMED' });
      expect((error as Error).message).not.toContain(key.slice(2, 20));
    }
    process.env[ENV] = `v2:${key}`;
    await expect(createKeyRing({ dir, rootKey: { env: ENV } })).rejects.toThrow(
      code('KEY_NOT_FOUND'),
    );
    process.env[ENV] = key;
    await createKeyRing({ dir, rootKey: { env: ENV } });
    process.env[ENV] = generateRootKey();
    await expect(loadKeyRing({ dir, rootKey: { env: ENV } })).rejects.toThrow(code('KEY_MISMATCH'));
  });

  it('come from a 0600 file, refused when others may read it', async () => {
    const file = join(base, 'root.key');
    await writeFile(file, `${generateRootKey()}\n`, { mode: 0o600 });
    const ring = await createKeyRing({ dir, rootKey: { file } });
    const sealed = ring.sealRecord(PLAINTEXT, binding());
    expect(opens(await loadKeyRing({ dir, rootKey: { file } }), sealed)).toBe(true);
    await chmod(file, 0o644);
    await expect(loadKeyRing({ dir, rootKey: { file } })).rejects.toThrow(
      `Cannot use key file "${file}": mode is 0644, expected 0600 (run chmod 600 "${file}")`,
    );
  });

  it('can take over a ring whose keys were files in the keys directory', async () => {
    const ring = await createKeyRing({ dir });
    const sealed = ring.sealRecord(PLAINTEXT, binding());
    process.env[ENV] = (await readFile(join(dir, 'root-v1.key'), 'utf8')).trim();
    expect(opens(await loadKeyRing({ dir, rootKey: { env: ENV } }), sealed)).toBe(true);
  });
});

describe('blind indexes', () => {
  it('are equal for equal values however they were written', async () => {
    const ring = await createKeyRing({ dir });
    const a = ring.blindIndex({
      'first-name': normaliseName('José'),
      'last-name': normaliseName("  O'Neil"),
      zip: normaliseZip('27601-1234'),
    });
    const b = ring.blindIndex({
      zip: normaliseZip('27601'),
      'last-name': normaliseName('oneil'),
      'first-name': normaliseName('JOSE'),
    });
    expect(a).toBe(b);
    expect(a).toMatch(/^[0-9a-f]{64}$/);
    expect(ring.blindIndex({ 'last-name': normaliseName("José  O'Neil") })).toBe(
      ring.blindIndex({ 'last-name': normaliseName('jose oneil') }),
    );
  });

  it('differ across groups and between compound and single indexes', async () => {
    const ring = await createKeyRing({ dir });
    const name = normaliseName('Doe');
    const other = normaliseName('Jane');
    const indexes = [
      ring.blindIndex({ 'last-name': name }),
      ring.blindIndex({ 'first-name': name }),
      ring.blindIndex({ 'middle-name': name }),
      ring.blindIndex({ 'last-name': name, 'first-name': other }),
      ring.blindIndex({ 'last-name': other, 'first-name': name }),
      ring.blindIndex({ 'last-name': normaliseName('DoeJane') }),
    ];
    expect(new Set(indexes).size).toBe(indexes.length);
  });
});

describe('parseKeyVersion', () => {
  it('accepts positive u32 integers only', () => {
    expect(parseKeyVersion(1)).toBe(1);
    expect(parseKeyVersion(0xffffffff)).toBe(0xffffffff);
    for (const value of [0, -1, 1.5, Number.NaN, 2 ** 32]) {
      expect(() => parseKeyVersion(value)).toThrow(code('KEY_VERSION_UNKNOWN'));
    }
  });
});
