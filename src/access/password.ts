// Password hashing with scrypt (RFC 7914) from node:crypto, stored in the PHC string format with
// its parameters, so that raising the cost later only needs a re-hash at the next sign-in.
import { randomBytes, scrypt, timingSafeEqual } from 'node:crypto';
import type { ScryptOptions } from 'node:crypto';
import { AccessError } from './errors.ts';

/** scrypt's cost parameters: N = 2^log2N, block size r, parallelism p. */
export interface ScryptCost {
  readonly log2N: number;
  readonly r: number;
  readonly p: number;
}

/**
 * The production cost. N = 2^15 with r = 8 makes each hash touch 32 MiB (128·N·r bytes), which
 * is what makes scrypt expensive on GPUs and ASICs; p = 2 doubles the work without more memory.
 * One hash takes about 120 ms on a current 2-core server, about the most a sign-in can spend
 * without feeling slow, and twice the work of the 2^15/8/1 floor. OWASP's Password Storage Cheat
 * Sheet lists 2^17/8/1 and equivalents (2^15/8/3); we stay below it because a password alone
 * opens nothing here (every official also needs a TOTP code) and sign-ins are rate-limited.
 * Stored hashes carry their parameters: raise these and old hashes are replaced as their owners
 * sign in.
 */
export const SCRYPT_COST: ScryptCost = { log2N: 15, r: 8, p: 2 };

/** Smallest cost {@link hashPassword} accepts: the tests' cost, so they run in milliseconds. */
const MIN_COST: ScryptCost = { log2N: 10, r: 8, p: 1 };
/**
 * Largest cost a stored hash may name. The database is not trusted to choose our CPU and memory
 * use: a hash with absurd parameters is refused instead of run.
 */
const MAX_COST: ScryptCost = { log2N: 20, r: 16, p: 16 };

/** Bytes of random salt per hash (RFC 7914 needs only uniqueness; 128 bits gives it). */
const SALT_BYTES = 16;
/** Bytes of derived key compared. */
const KEY_BYTES = 32;

/**
 * Longest password accepted, in UTF-8 bytes. Attacker-controlled on sign-in: scrypt's first
 * PBKDF2 pass reads the whole password, so the length is bounded before hashing.
 */
export const MAX_PASSWORD_BYTES = 1024;

const PHC =
  /^\$scrypt\$ln=(\d{1,2}),r=(\d{1,2}),p=(\d{1,2})\$([A-Za-z0-9+/]{22})\$([A-Za-z0-9+/]{43})$/;

/** Options of {@link hashPassword} and {@link verifyPassword}. */
export interface PasswordOptions {
  /**
   * scrypt cost; {@link SCRYPT_COST} when absent. Only tests pass a lower one: production code
   * paths never set it.
   */
  readonly cost?: ScryptCost;
}

/**
 * Hashes a password with a fresh random salt: `$scrypt$ln=15,r=8,p=2$<salt>$<key>` (base64
 * without padding).
 * @throws RangeError when `cost` is outside the accepted range (a bug in the caller)
 */
export async function hashPassword(
  password: string,
  options: PasswordOptions = {},
): Promise<string> {
  const cost = options.cost ?? SCRYPT_COST;
  if (!withinCost(cost, MIN_COST, MAX_COST)) {
    throw new RangeError(`scrypt cost ln=${cost.log2N},r=${cost.r},p=${cost.p} is out of range`);
  }
  const salt = randomBytes(SALT_BYTES);
  const key = await derive(normalise(password), salt, cost);
  return formatHash(cost, salt, key);
}

/** What {@link verifyPassword} found. */
export interface PasswordCheck {
  readonly ok: boolean;
  /** The hash is weaker than the current cost: store a new one now that the password is known. */
  readonly needsRehash: boolean;
}

/**
 * Checks a password against a stored hash in constant time. A password over
 * {@link MAX_PASSWORD_BYTES} is checked against the hash anyway (as an empty password would
 * be) so that it costs the same and fails.
 * @throws AccessError CREDENTIAL_CORRUPT when the stored hash is malformed or names a cost out
 *   of range
 */
export async function verifyPassword(
  password: string,
  stored: string,
  options: PasswordOptions = {},
): Promise<PasswordCheck> {
  const parsed = parseHash(stored);
  const tooLong = Buffer.byteLength(password, 'utf8') > MAX_PASSWORD_BYTES;
  const key = await derive(tooLong ? '' : normalise(password), parsed.salt, parsed.cost);
  const ok = timingSafeEqual(key, parsed.key) && !tooLong;
  const current = options.cost ?? SCRYPT_COST;
  return { ok, needsRehash: ok && weakerThan(parsed.cost, current) };
}

// One hash per cost of a password nobody knows, checked in place of a missing account's so that
// "no such name" costs the same scrypt run as "wrong password".
const dummyHashes = new Map<string, Promise<string>>();

/**
 * A valid hash of a random password at `cost`, made once per process and cost: sign-in verifies
 * against it when the name is unknown, so that both answers take the same time.
 */
export function dummyPasswordHash(options: PasswordOptions = {}): Promise<string> {
  const cost = options.cost ?? SCRYPT_COST;
  const key = `${cost.log2N},${cost.r},${cost.p}`;
  let hash = dummyHashes.get(key);
  if (hash === undefined) {
    hash = hashPassword(randomBytes(32).toString('base64'), { cost });
    dummyHashes.set(key, hash);
  }
  return hash;
}

/** Symbols of generated passwords: lower-case letters and digits without 0/o, 1/l. */
const PASSWORD_ALPHABET = 'abcdefghijkmnpqrstuvwxyz23456789';
/** Groups × letters per group of a generated password: 25 symbols of 5 bits, 125 bits. */
const PASSWORD_GROUPS = 5;
const PASSWORD_GROUP_LENGTH = 5;

/**
 * A new random password of 125 bits, as five dash-separated groups of five easily told apart
 * symbols (`k7m2p-…`). Officials never choose the first one: there is no default password.
 */
export function generatePassword(): string {
  // 32 symbols divide 256: taking 5 bits of each byte is unbiased.
  const bytes = randomBytes(PASSWORD_GROUPS * PASSWORD_GROUP_LENGTH);
  const groups: string[] = [];
  for (let g = 0; g < PASSWORD_GROUPS; g++) {
    let group = '';
    for (let i = 0; i < PASSWORD_GROUP_LENGTH; i++) {
      group += PASSWORD_ALPHABET[(bytes[g * PASSWORD_GROUP_LENGTH + i] ?? 0) & 31];
    }
    groups.push(group);
  }
  return groups.join('-');
}

interface ParsedHash {
  readonly cost: ScryptCost;
  readonly salt: Buffer;
  readonly key: Buffer;
}

function parseHash(stored: string): ParsedHash {
  const match = PHC.exec(stored);
  const cost =
    match === null
      ? undefined
      : { log2N: Number(match[1]), r: Number(match[2]), p: Number(match[3]) };
  if (match === null || cost === undefined || !withinCost(cost, MIN_COST, MAX_COST)) {
    throw new AccessError(
      'CREDENTIAL_CORRUPT',
      'Cannot verify password: the stored hash is malformed',
    );
  }
  return {
    cost,
    salt: Buffer.from(String(match[4]), 'base64'),
    key: Buffer.from(String(match[5]), 'base64'),
  };
}

function formatHash(cost: ScryptCost, salt: Buffer, key: Buffer): string {
  const b64 = (bytes: Buffer): string => bytes.toString('base64').replace(/=+$/, '');
  return `$scrypt$ln=${cost.log2N},r=${cost.r},p=${cost.p}$${b64(salt)}$${b64(key)}`;
}

function withinCost(cost: ScryptCost, low: ScryptCost, high: ScryptCost): boolean {
  return (
    Number.isInteger(cost.log2N) &&
    Number.isInteger(cost.r) &&
    Number.isInteger(cost.p) &&
    cost.log2N >= low.log2N &&
    cost.log2N <= high.log2N &&
    cost.r >= low.r &&
    cost.r <= high.r &&
    cost.p >= low.p &&
    cost.p <= high.p
  );
}

/** Whether any parameter of `cost` is below `target`'s. */
function weakerThan(cost: ScryptCost, target: ScryptCost): boolean {
  return cost.log2N < target.log2N || cost.r < target.r || cost.p < target.p;
}

function normalise(password: string): string {
  // The same password typed on two keyboards may arrive composed or decomposed.
  return password.normalize('NFC');
}

function derive(password: string, salt: Buffer, cost: ScryptCost): Promise<Buffer> {
  const N = 2 ** cost.log2N;
  const options: ScryptOptions = { N, r: cost.r, p: cost.p, maxmem: 256 * N * cost.r };
  return new Promise((resolve, reject) => {
    // Asynchronous: the work runs on libuv's thread pool, not on the event loop.
    scrypt(password, salt, KEY_BYTES, options, (error, key) => {
      if (error === null) resolve(key);
      else reject(error);
    });
  });
}
