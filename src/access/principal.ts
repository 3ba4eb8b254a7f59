// Principals in the database: officials (password and TOTP second factor) and API clients
// (tokens only). There is no default account: the first one is made with `votervault user add`,
// which prints its generated password and TOTP secret once. Every change is logged, in the same
// transaction as the change, so a change the log did not take is rolled back.
import { createCipheriv, createDecipheriv, createHash, randomBytes } from 'node:crypto';
import type { KeyRing } from '../crypto/index.ts';
import { withTransaction } from '../store/index.ts';
import type { Queryable } from '../store/index.ts';
import { recordPrincipalChange } from './access-event.ts';
import type { AppendLog, Channel, PrincipalChange } from './access-event.ts';
import { AccessError } from './errors.ts';
import { generatePassword, hashPassword } from './password.ts';
import type { ScryptCost } from './password.ts';
import { isOfficialRole, roleAllowsScope, ROLES } from './role.ts';
import type { Principal, PrincipalId, Role } from './role.ts';
import { formatStoredScope, parseStoredScope, scopeWords } from './scope.ts';
import type { Scope } from './scope.ts';
import type { AccessTables } from './schema.ts';
import { generateTotpSecret, totpUri } from './totp.ts';

/** The database and keys the access functions work with. */
export interface AccessStore {
  /** The database, or a transaction on it (the functions then join it). */
  readonly q: Queryable<AccessTables>;
  /** Seals and opens TOTP secrets. */
  readonly ring: KeyRing;
  /** Clock; `new Date()` by default. */
  readonly now?: () => Date;
  /** scrypt cost of new password hashes; production's when absent. Only tests set it. */
  readonly passwordCost?: ScryptCost;
}

/** Who makes a change to a principal, and where the change is logged. */
export interface ChangeContext {
  readonly appendLog: AppendLog;
  readonly channel: Channel;
  /** The official making the change; null for the operator at the console. */
  readonly actor: PrincipalId | null;
}

/** A principal as stored. */
export interface PrincipalRecord extends Principal {
  readonly disabled: boolean;
  readonly createdAt: string;
}

/** An official's new credentials: show them once, store them nowhere. */
export interface OfficialCredentials {
  readonly password: string;
  readonly totpSecret: Uint8Array;
  /** otpauth:// URI of the TOTP secret, for an authenticator app. */
  readonly totpUri: string;
}

/** Input of {@link createPrincipal}. */
export interface NewPrincipal {
  /** Login name; compared and stored in lower case. */
  readonly name: string;
  readonly role: Role;
  readonly scope: Scope;
  readonly by: ChangeContext;
}

/** What {@link createPrincipal} made. */
export interface CreatedPrincipal {
  readonly principal: PrincipalRecord;
  /** The official's password and TOTP secret; undefined for an API client (issue a token). */
  readonly credentials: OfficialCredentials | undefined;
}

/** A change to an existing principal, found by name. */
export interface PrincipalChangeRequest {
  readonly name: string;
  readonly by: ChangeContext;
}

/**
 * A login name: starts with a letter or digit, then letters, digits and `. _ @ -`, at most 64
 * characters (an e-mail address fits). Compared in lower case.
 */
const NAME = /^[a-z0-9][a-z0-9._@-]{0,63}$/;

// The TOTP secret is sealed with AES-256-GCM under a key the database never holds: HMAC-SHA256,
// under the key ring's watermark key, of this label. The watermark key is stable across root key
// rotations (so sealed secrets stay readable) and every other message MACed under it starts with
// a different "votervault <purpose>" label (export marks, canaries, row MACs), so this output is
// a key no other use of the watermark key ever computes or publishes.
const TOTP_SEAL_KEY_LABEL = 'votervault access totp-secret-seal key 1\0';
/** Associated data: binds a sealed secret to its principal, so rows cannot swap secrets. */
const TOTP_SEAL_AD_LABEL = 'votervault access totp-secret 1\0';
const SEAL_FORMAT = 1;
const NONCE_BYTES = 12;
const TAG_BYTES = 16;

const PRINCIPAL_COLUMNS = [
  'principal_id',
  'name',
  'role',
  'scope',
  'created_at',
  'disabled_at',
] as const;

/**
 * Checks and normalises a login name. Attacker-controlled on sign-in, where a bad name is
 * treated as unknown rather than reported.
 * @throws AccessError NAME_INVALID
 */
export function parsePrincipalName(text: string): string {
  const name = text.normalize('NFC').toLowerCase();
  if (!NAME.test(name)) {
    throw new AccessError(
      'NAME_INVALID',
      `Cannot use name "${text.slice(0, 80)}": expected letters, digits and . _ @ - (at most 64)`,
    );
  }
  return name;
}

/**
 * Creates a principal. Officials get a generated password and TOTP secret, returned once; API
 * clients get neither (issue them a token). The change is logged in the same transaction.
 * @throws AccessError NAME_INVALID, SCOPE_INVALID (not allowed for the role), PRINCIPAL_EXISTS,
 *   ACCESS_LOG_FAILED (nothing is created)
 */
export async function createPrincipal(
  store: AccessStore,
  input: NewPrincipal,
): Promise<CreatedPrincipal> {
  const name = parsePrincipalName(input.name);
  checkScope(input.role, input.scope);
  const id = randomBytes(16).toString('hex') as PrincipalId;
  const credentials = isOfficialRole(input.role) ? newCredentials(name) : undefined;
  const passwordHash =
    credentials === undefined ? null : await hashPassword(credentials.password, costOption(store));
  const now = clock(store).toISOString();
  const principal: PrincipalRecord = {
    id,
    name,
    role: input.role,
    scope: input.scope,
    disabled: false,
    createdAt: now,
  };
  await withTransaction(
    store.q,
    async (tx) => {
      const taken = await tx.db
        .selectFrom('access_principal')
        .select('principal_id')
        .where('name', '=', name)
        .executeTakeFirst();
      if (taken !== undefined) {
        throw new AccessError('PRINCIPAL_EXISTS', `Cannot create "${name}": the name is taken`);
      }
      await tx.db
        .insertInto('access_principal')
        .values({
          principal_id: id,
          name,
          role: input.role,
          scope: formatStoredScope(input.scope),
          password_hash: passwordHash,
          totp_sealed:
            credentials === undefined
              ? null
              : sealTotpSecret(store.ring, id, credentials.totpSecret),
          totp_last_step: null,
          created_at: now,
          updated_at: now,
          disabled_at: null,
        })
        .execute();
      await logChange(input.by, 'created', principal, now);
    },
    { maxAttempts: 1 },
  );
  return { principal, credentials };
}

/**
 * The principal named `name`, or undefined. Administrative: sign-in never tells whether a name
 * exists.
 * @throws AccessError CREDENTIAL_CORRUPT when the stored row is malformed
 */
export async function findPrincipal(
  store: AccessStore,
  name: string,
): Promise<PrincipalRecord | undefined> {
  return findByName(store.q, name);
}

async function findByName(
  q: Queryable<AccessTables>,
  name: string,
): Promise<PrincipalRecord | undefined> {
  let key: string;
  try {
    key = parsePrincipalName(name);
  } catch {
    return undefined;
  }
  const row = await q.db
    .selectFrom('access_principal')
    .select(PRINCIPAL_COLUMNS)
    .where('name', '=', key)
    .executeTakeFirst();
  return row === undefined ? undefined : toRecord(row);
}

/**
 * Disables a principal for good: it can no longer sign in or use a token, and its sessions and
 * tokens are revoked at once. Disabling a disabled principal changes nothing and logs nothing.
 * @throws AccessError PRINCIPAL_NOT_FOUND, ACCESS_LOG_FAILED (nothing is changed)
 */
export async function disablePrincipal(
  store: AccessStore,
  request: PrincipalChangeRequest,
): Promise<PrincipalRecord> {
  const now = clock(store).toISOString();
  return withTransaction(
    store.q,
    async (tx) => {
      const found = await requirePrincipal(tx, request.name);
      if (found.disabled) return found;
      await tx.db
        .updateTable('access_principal')
        .set({ disabled_at: now, updated_at: now })
        .where('principal_id', '=', found.id)
        .execute();
      await revokeAll(tx, found.id, now);
      const disabled = { ...found, disabled: true };
      await logChange(request.by, 'disabled', disabled, now);
      return disabled;
    },
    { maxAttempts: 1 },
  );
}

/**
 * Gives an official a new generated password and TOTP secret (returned once), and revokes their
 * sessions; the failure counter of the account is cleared.
 * @throws AccessError PRINCIPAL_NOT_FOUND, PRINCIPAL_DISABLED, ROLE_INVALID (an API client: issue
 *   it a new token instead), ACCESS_LOG_FAILED (nothing is changed)
 */
export async function resetCredentials(
  store: AccessStore,
  request: PrincipalChangeRequest,
): Promise<OfficialCredentials> {
  const now = clock(store).toISOString();
  const found = await requirePrincipal(store.q, request.name);
  if (!isOfficialRole(found.role)) {
    throw new AccessError(
      'ROLE_INVALID',
      `Cannot reset "${found.name}": an API client has no password (issue a new token)`,
    );
  }
  const credentials = newCredentials(found.name);
  const passwordHash = await hashPassword(credentials.password, costOption(store));
  await withTransaction(
    store.q,
    async (tx) => {
      const current = await requirePrincipal(tx, request.name);
      if (current.disabled) {
        throw new AccessError(
          'PRINCIPAL_DISABLED',
          `Cannot reset "${current.name}": the principal is disabled`,
        );
      }
      await tx.db
        .updateTable('access_principal')
        .set({
          password_hash: passwordHash,
          totp_sealed: sealTotpSecret(store.ring, current.id, credentials.totpSecret),
          totp_last_step: null,
          updated_at: now,
        })
        .where('principal_id', '=', current.id)
        .execute();
      await tx.db
        .updateTable('access_session')
        .set({ revoked_at: now })
        .where('principal_id', '=', current.id)
        .where('revoked_at', 'is', null)
        .execute();
      await tx.db
        .deleteFrom('access_login_attempt')
        .where('attempt_key', '=', accountAttemptKey(current.name))
        .execute();
      await logChange(request.by, 'credentials-reset', current, now);
    },
    { maxAttempts: 1 },
  );
  return credentials;
}

/**
 * The principal named `name`, which must exist.
 * @throws AccessError PRINCIPAL_NOT_FOUND, CREDENTIAL_CORRUPT
 */
export async function requirePrincipal(
  q: Queryable<AccessTables>,
  name: string,
): Promise<PrincipalRecord> {
  const found = await findByName(q, name);
  if (found === undefined) {
    throw new AccessError('PRINCIPAL_NOT_FOUND', `Cannot find principal "${name.slice(0, 80)}"`);
  }
  return found;
}

/** Key of an account's failure counter: never the name in clear (see login.ts). */
export function accountAttemptKey(name: string): string {
  return `account:${sha256Hex(name)}`;
}

/** Lower-case hex SHA-256 of UTF-8 text. */
export function sha256Hex(text: string): string {
  return createHash('sha256').update(text, 'utf8').digest('hex');
}

/**
 * Reads a principal row.
 * @throws AccessError CREDENTIAL_CORRUPT when its role or scope was altered
 */
export function toRecord(row: {
  principal_id: string;
  name: string;
  role: string;
  scope: string;
  created_at: string;
  disabled_at: string | null;
}): PrincipalRecord {
  if (!isRole(row.role)) {
    throw new AccessError(
      'CREDENTIAL_CORRUPT',
      `Cannot read principal: role "${row.role}" is unknown`,
    );
  }
  return {
    id: row.principal_id as PrincipalId,
    name: row.name,
    role: row.role,
    scope: parseStoredScope(row.scope),
    disabled: row.disabled_at !== null,
    createdAt: row.created_at,
  };
}

/**
 * Seals a TOTP secret: format byte 1 || 12-byte random nonce || AES-256-GCM ciphertext || tag,
 * with the principal id in the associated data.
 */
export function sealTotpSecret(ring: KeyRing, id: PrincipalId, secret: Uint8Array): Uint8Array {
  const nonce = randomBytes(NONCE_BYTES);
  const cipher = createCipheriv('aes-256-gcm', totpSealKey(ring), nonce);
  cipher.setAAD(sealAd(id));
  const body = Buffer.concat([cipher.update(secret), cipher.final()]);
  return Buffer.concat([Buffer.of(SEAL_FORMAT), nonce, body, cipher.getAuthTag()]);
}

/**
 * Opens a sealed TOTP secret read from the database.
 * @throws AccessError CREDENTIAL_CORRUPT when it is malformed, altered, sealed for another
 *   principal or under another key ring
 */
export function openTotpSecret(ring: KeyRing, id: PrincipalId, sealed: Uint8Array): Uint8Array {
  const bytes = Buffer.from(sealed.buffer, sealed.byteOffset, sealed.byteLength);
  if (bytes.length <= 1 + NONCE_BYTES + TAG_BYTES || bytes[0] !== SEAL_FORMAT) {
    throw corruptSecret();
  }
  try {
    const decipher = createDecipheriv(
      'aes-256-gcm',
      totpSealKey(ring),
      bytes.subarray(1, 1 + NONCE_BYTES),
    );
    decipher.setAAD(sealAd(id));
    decipher.setAuthTag(bytes.subarray(bytes.length - TAG_BYTES));
    return Buffer.concat([
      decipher.update(bytes.subarray(1 + NONCE_BYTES, bytes.length - TAG_BYTES)),
      decipher.final(),
    ]);
  } catch (error) {
    throw corruptSecret(error);
  }
}

function corruptSecret(cause?: unknown): AccessError {
  return new AccessError(
    'CREDENTIAL_CORRUPT',
    'Cannot open the TOTP secret: it was altered, or sealed under another key ring',
    cause === undefined ? undefined : { cause },
  );
}

function totpSealKey(ring: KeyRing): Buffer {
  return Buffer.from(ring.watermarkMac(TOTP_SEAL_KEY_LABEL));
}

function sealAd(id: PrincipalId): Buffer {
  return Buffer.from(`${TOTP_SEAL_AD_LABEL}${id}`, 'utf8');
}

function newCredentials(name: string): OfficialCredentials {
  const totpSecret = generateTotpSecret();
  return { password: generatePassword(), totpSecret, totpUri: totpUri(totpSecret, name) };
}

function checkScope(role: Role, scope: Scope): void {
  if (!roleAllowsScope(role, scope)) {
    throw new AccessError(
      'SCOPE_INVALID',
      `Cannot give role "${role}" scope "${scopeWords(scope).join(' ')}": ` +
        (scope.kind === 'state' ? 'the role is for counties' : 'the role is statewide'),
    );
  }
}

async function revokeAll(tx: Queryable<AccessTables>, id: PrincipalId, now: string): Promise<void> {
  await tx.db
    .updateTable('access_session')
    .set({ revoked_at: now })
    .where('principal_id', '=', id)
    .where('revoked_at', 'is', null)
    .execute();
  await tx.db
    .updateTable('access_token')
    .set({ revoked_at: now })
    .where('principal_id', '=', id)
    .where('revoked_at', 'is', null)
    .execute();
}

/**
 * Logs a principal change.
 * @throws AccessError ACCESS_LOG_FAILED
 */
export async function logChange(
  by: ChangeContext,
  change: PrincipalChange,
  principal: Principal,
  time: string,
  token: string | null = null,
): Promise<void> {
  await recordPrincipalChange(by.appendLog, {
    type: 'principal-change',
    change,
    principal: principal.id,
    role: principal.role,
    scope: scopeWords(principal.scope),
    token,
    actor: by.actor,
    channel: by.channel,
    time,
  });
}

/** The store's clock. */
export function clock(store: AccessStore): Date {
  return store.now?.() ?? new Date();
}

/** The password options of a store. */
export function costOption(store: AccessStore): { cost?: ScryptCost } {
  return store.passwordCost === undefined ? {} : { cost: store.passwordCost };
}

function isRole(text: string): text is Role {
  return (ROLES as readonly string[]).includes(text);
}
