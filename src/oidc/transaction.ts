/**
 * The login transaction: what `/login` must remember until `/auth` (state, nonce, PKCE verifier,
 * the checked return_to), sealed into one short-lived cookie per attempt (DESIGN "Sign-in flow" 1,
 * SECURITY A1–A5). Nothing is kept in process memory, so any instance can finish any sign-in and
 * several tabs can sign in at once without clobbering each other.
 *
 * Format: `v1.` + base64url(IV(12) ‖ AES-256-GCM ciphertext ‖ tag(16)); the key is
 * HKDF-SHA256(SECRET_KEY, info 'gatehouse login transaction'). GCM authenticates, so a tampered
 * cookie or one sealed under another key fails to open.
 */
import { createCipheriv, createDecipheriv, createHash, hkdfSync, randomBytes } from 'node:crypto';
import type { Clock } from '../core/clock.js';
import { GatehouseError } from '../errors.js';

/** Lifetime of a login attempt: the cookie's Max-Age and the sealed `createdAt` check (10 minutes). */
export const TRANSACTION_MAX_AGE_SECONDS = 600;

/**
 * At most this many login attempts are kept per browser, the new one included (SECURITY.md 44):
 * with a stored return_to of at most 1 KB each cookie stays near 1.5 KB, so any number of `/login`
 * navigations (which any site can trigger) leaves the Cookie header far below Node's 16 KiB.
 * Three covers a sign-in started in a few tabs at once.
 */
export const MAX_TRANSACTION_COOKIES = 3;

const VERSION = 'v1';
const IV_BYTES = 12;
const TAG_BYTES = 16;
/** Sealed cookies stay far below the 4 KB cookie limit; anything longer is not ours. */
const MAX_SEALED_LENGTH = 3800;
/** A transaction created "in the future" beyond this is not trusted (clock jumps between instances). */
const FUTURE_TOLERANCE_MS = 60_000;
const AAD = Buffer.from('gatehouse login transaction v1');

export interface LoginTransaction {
  /** Random id (≥ 128 bits) used for single-use consumption. */
  readonly id: string;
  readonly state: string;
  readonly nonce: string;
  /** The PKCE code_verifier: it never appears in a URL (SECURITY A1). */
  readonly verifier: string;
  /** An absolute URL already checked by safeReturnTo. */
  readonly returnTo: string;
  /** ms since the epoch */
  readonly createdAt: number;
}

export interface TransactionSealer {
  seal(tx: LoginTransaction): string;
  /** Opens and checks age; throws GatehouseError `login_failed` / `login_expired`. */
  open(sealed: string): LoginTransaction;
  /** When the transaction stops being acceptable (for single-use bookkeeping). */
  expiresAt(tx: LoginTransaction): Date;
  /**
   * The cookies (name → sealed value) to drop before one more attempt is added: unreadable or
   * expired ones, then the oldest, so that at most MAX_TRANSACTION_COOKIES remain with the new one.
   */
  toDrop(cookies: Readonly<Record<string, string>>): string[];
}

export function createTransactionSealer(options: {
  secretKey: string;
  clock: Clock;
  random?: (n: number) => Buffer;
}): TransactionSealer {
  if (typeof options.secretKey !== 'string' || options.secretKey.length === 0) {
    throw new TypeError('createTransactionSealer: secretKey must be a non-empty string');
  }
  const key = Buffer.from(
    hkdfSync(
      'sha256',
      Buffer.from(options.secretKey, 'utf8'),
      Buffer.alloc(0),
      'gatehouse login transaction',
      32,
    ),
  );
  const random = options.random ?? randomBytes;
  const { clock } = options;
  const maxAgeMs = TRANSACTION_MAX_AGE_SECONDS * 1000;

  return {
    seal(tx) {
      const iv = random(IV_BYTES);
      if (iv.length !== IV_BYTES) throw new TypeError('random() returned the wrong number of bytes');
      const cipher = createCipheriv('aes-256-gcm', key, iv, { authTagLength: TAG_BYTES });
      cipher.setAAD(AAD);
      const plaintext = Buffer.from(JSON.stringify(tx), 'utf8');
      const body = Buffer.concat([iv, cipher.update(plaintext), cipher.final(), cipher.getAuthTag()]);
      return `${VERSION}.${body.toString('base64url')}`;
    },

    open(sealed) {
      const tx = unseal(key, sealed);
      const now = clock.now();
      if (tx.createdAt > now + FUTURE_TOLERANCE_MS) {
        throw new GatehouseError('login_failed', undefined, { reason: 'transaction_invalid' });
      }
      if (now - tx.createdAt > maxAgeMs) {
        throw new GatehouseError('login_expired', undefined, { reason: 'transaction_expired' });
      }
      return tx;
    },

    expiresAt(tx) {
      return new Date(tx.createdAt + maxAgeMs);
    },

    toDrop(cookies) {
      const drop: string[] = [];
      const kept: { name: string; createdAt: number }[] = [];
      const now = clock.now();
      for (const [name, sealed] of Object.entries(cookies)) {
        let createdAt: number | undefined;
        try {
          createdAt = unseal(key, sealed).createdAt;
        } catch {
          createdAt = undefined;
        }
        if (createdAt === undefined || now - createdAt > maxAgeMs) drop.push(name);
        else kept.push({ name, createdAt });
      }
      kept.sort((a, b) => b.createdAt - a.createdAt);
      for (const { name } of kept.slice(MAX_TRANSACTION_COOKIES - 1)) drop.push(name);
      return drop;
    },
  };
}

function invalid(cause?: unknown): GatehouseError {
  return new GatehouseError('login_failed', undefined, { reason: 'transaction_invalid', cause });
}

function unseal(key: Buffer, sealed: string): LoginTransaction {
  if (typeof sealed !== 'string' || sealed.length > MAX_SEALED_LENGTH || !sealed.startsWith(`${VERSION}.`)) {
    throw invalid();
  }
  const encoded = sealed.slice(VERSION.length + 1);
  if (!/^[A-Za-z0-9_-]+$/.test(encoded)) throw invalid();
  const body = Buffer.from(encoded, 'base64url');
  if (body.length < IV_BYTES + TAG_BYTES + 2) throw invalid();
  const iv = body.subarray(0, IV_BYTES);
  const tag = body.subarray(body.length - TAG_BYTES);
  const ciphertext = body.subarray(IV_BYTES, body.length - TAG_BYTES);
  let plaintext: Buffer;
  try {
    const decipher = createDecipheriv('aes-256-gcm', key, iv, { authTagLength: TAG_BYTES });
    decipher.setAAD(AAD);
    decipher.setAuthTag(tag);
    plaintext = Buffer.concat([decipher.update(ciphertext), decipher.final()]);
  } catch (err) {
    // Wrong key or tampered bytes: GCM authentication failed.
    throw invalid(err);
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(plaintext.toString('utf8'));
  } catch (err) {
    throw invalid(err);
  }
  if (!isTransaction(parsed)) throw invalid();
  return {
    id: parsed.id,
    state: parsed.state,
    nonce: parsed.nonce,
    verifier: parsed.verifier,
    returnTo: parsed.returnTo,
    createdAt: parsed.createdAt,
  };
}

function isTransaction(value: unknown): value is LoginTransaction {
  if (typeof value !== 'object' || value === null) return false;
  const v = value as Record<string, unknown>;
  return (
    isToken(v.id) &&
    isToken(v.state) &&
    isToken(v.nonce) &&
    isToken(v.verifier) &&
    typeof v.returnTo === 'string' &&
    typeof v.createdAt === 'number' &&
    Number.isSafeInteger(v.createdAt)
  );
}

function isToken(value: unknown): value is string {
  return typeof value === 'string' && value.length >= 16 && value.length <= 256;
}

/**
 * The cookie name for one attempt: prefix + 16 base64url characters of SHA-256(state). Per-attempt
 * names let several tabs sign in at once (DESIGN "Sign-in flow" 1); hashing keeps the name
 * cookie-safe whatever the state looks like.
 */
export function transactionCookieName(prefix: string, state: string): string {
  return prefix + createHash('sha256').update(state, 'utf8').digest('base64url').slice(0, 16);
}
