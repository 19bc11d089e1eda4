/**
 * Building blocks for hostile tokens: compact JWS assembled by hand with node:crypto, so tests
 * can produce every shape an attacker could (any header, any payload bytes, any algorithm).
 */
import { createHmac } from 'node:crypto';

export const KEY_A = 'rotation-key-A-9c1f0e7b2d4a6c8e0f1a3b5c7d9e1f2a';
export const KEY_B = 'rotation-key-B-1b3d5f7a9c0e2a4c6e8a0b2d4f6a8c0e';
export const KEY_C = 'rotation-key-C-removed-from-the-list-0123456789';

export const b64u = (input: string | Uint8Array): string =>
  (typeof input === 'string' ? Buffer.from(input, 'utf8') : Buffer.from(input)).toString('base64url');

export function hmac(alg: 'sha256' | 'sha384' | 'sha512', key: string | Uint8Array, input: string): string {
  return createHmac(alg, key).update(input).digest('base64url');
}

/** A compact JWS over the given header and payload segments (already encoded). */
export function signSegments(
  headerSegment: string,
  payloadSegment: string,
  key: string | Uint8Array,
  alg: 'sha256' | 'sha384' | 'sha512' = 'sha256',
): string {
  const input = `${headerSegment}.${payloadSegment}`;
  return `${input}.${hmac(alg, key, input)}`;
}

/** Header and payload given as JSON text (or objects), signed with HMAC. */
export function signRaw(
  header: string | object,
  payload: string | object | Uint8Array,
  key: string | Uint8Array,
  alg: 'sha256' | 'sha384' | 'sha512' = 'sha256',
): string {
  const h = b64u(typeof header === 'string' ? header : JSON.stringify(header));
  const p =
    payload instanceof Uint8Array
      ? b64u(payload)
      : b64u(typeof payload === 'string' ? payload : JSON.stringify(payload));
  return signSegments(h, p, key, alg);
}

export function segments(token: string): [string, string, string] {
  const [h = '', p = '', s = ''] = token.split('.');
  return [h, p, s];
}

/** The other base64url spellings of a 43-character signature (same bytes, padding bits set). */
export function nonCanonicalSignatures(signature: string): string[] {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
  const last = alphabet.indexOf(signature.at(-1) ?? 'A');
  const base = last - (last % 4);
  return [1, 2, 3].map((d) => signature.slice(0, -1) + alphabet[base + d]);
}
