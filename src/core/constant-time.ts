import { timingSafeEqual } from 'node:crypto';

/**
 * Compares two secrets (state, nonce, CSRF tokens…) in time that does not depend on where they
 * differ (SECURITY.md 40). Different lengths answer false at once: the length of a secret of a
 * fixed format is not itself secret.
 */
export function constantTimeEqual(a: string, b: string): boolean {
  const x = Buffer.from(a, 'utf8');
  const y = Buffer.from(b, 'utf8');
  return x.length === y.length && timingSafeEqual(x, y);
}
