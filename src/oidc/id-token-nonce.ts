/**
 * Nonces for ID-token sign-in (`GET /auth/nonce`; OpenID Connect Core §3.1.2.1 `nonce`, bound
 * by the client into its Google request, returned by Google inside the ID token).
 *
 * Stateless and sealed, so any instance accepts a nonce another issued and nothing is stored
 * until one is used: `n1.<expiry, seconds>.<128 random bits>.<HMAC-SHA256>` under a key derived
 * from SECRET_KEY (HKDF, its own info string). The MAC makes a nonce unforgeable, the expiry makes
 * it short-lived (NONCE_MAX_AGE_SECONDS), and single use is the used-ID-token table's: the sign-in
 * records the nonce's hash there with the token's (see id-token-sign-in.ts).
 */
import { createHash, createHmac, hkdfSync, randomBytes } from 'node:crypto';
import type { Clock } from '../core/clock.js';
import { constantTimeEqual } from '../core/constant-time.js';

/** Long enough for a person to finish One Tap or the account chooser, short enough to be useless later. */
export const NONCE_MAX_AGE_SECONDS = 600;
const PREFIX = 'n1';
const SHAPE = /^n1\.(\d{1,12})\.([A-Za-z0-9_-]{22})\.([A-Za-z0-9_-]{43})$/;

export interface IssuedNonce {
  readonly nonce: string;
  /** ms since the epoch */
  readonly expiresAt: number;
}

export interface NonceSealer {
  issue(): IssuedNonce;
  /** The nonce's expiry (ms) when it is ours and unexpired; undefined otherwise. */
  check(nonce: string): number | undefined;
  /** The key under which a used nonce is recorded (SHA-256, hex), apart from ID-token keys. */
  usedKey(nonce: string): string;
}

export function createNonceSealer(options: {
  secretKey: string;
  clock: Clock;
  random?: (n: number) => Buffer;
}): NonceSealer {
  const key = Buffer.from(
    hkdfSync(
      'sha256',
      Buffer.from(options.secretKey, 'utf8'),
      Buffer.alloc(0),
      'gatehouse id-token nonce',
      32,
    ),
  );
  const random = options.random ?? randomBytes;
  const mac = (body: string) => createHmac('sha256', key).update(body).digest('base64url');
  return {
    issue() {
      const expiresAt = Math.floor(options.clock.now() / 1000) + NONCE_MAX_AGE_SECONDS;
      const body = `${PREFIX}.${expiresAt}.${random(16).toString('base64url')}`;
      return { nonce: `${body}.${mac(body)}`, expiresAt: expiresAt * 1000 };
    },
    check(nonce) {
      const match = SHAPE.exec(nonce);
      if (match === null) return undefined;
      const body = nonce.slice(0, nonce.lastIndexOf('.'));
      if (!constantTimeEqual(mac(body), match[3] as string)) return undefined;
      const expiresAt = Number(match[1]) * 1000;
      return options.clock.now() < expiresAt ? expiresAt : undefined;
    },
    usedKey(nonce) {
      return createHash('sha256').update(`nonce\0${nonce}`).digest('hex');
    },
  };
}
