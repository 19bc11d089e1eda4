/**
 * The sign-in policy (SECURITY D19): who may sign in, decided on verified claims only, with exact
 * matching. Pure: no I/O, no clock.
 *
 * The rule, stated once:
 *   A user passes when
 *     (1) hostedDomains is empty, OR the token's `hd` claim is exactly one of them; AND
 *     (2) emails and emailDomains are both empty, OR the email is exactly one of `emails`, OR the
 *         email's domain (everything after the LAST `@`) is exactly one of `emailDomains`.
 *   Empty lists mean "no restriction of that kind"; all empty = anyone with a verified email.
 *
 * "Exactly" means whole-string equality after ASCII lower-casing: `example.com.evil.com`,
 * `evil-example.com` and `example.com.` are not `example.com`. Only A–Z are folded: Unicode case
 * mapping (e.g. KELVIN SIGN → `k`) must never turn a foreign string into an allowed one.
 */
import type { Config } from '../config/types.js';

export type PolicyDecision =
  | { readonly allowed: true }
  | { readonly allowed: false; readonly reason: 'hosted_domain_not_allowed' | 'email_not_allowed' };

export interface PolicyClaims {
  /** The verified email address. */
  readonly email: string;
  /** Google's `hd` claim (Workspace domain), or null when absent. */
  readonly hostedDomain: string | null;
}

export function asciiLower(value: string): string {
  return value.replace(/[A-Z]/g, (c) => c.toLowerCase());
}

/** The domain of an address: after the last `@`, ASCII lower-cased; '' when there is none. */
export function emailDomain(email: string): string {
  const at = email.lastIndexOf('@');
  return at < 0 ? '' : asciiLower(email.slice(at + 1));
}

export function evaluateSignInPolicy(claims: PolicyClaims, policy: Config['policy']): PolicyDecision {
  if (policy.hostedDomains.length > 0) {
    const hd = claims.hostedDomain === null ? null : asciiLower(claims.hostedDomain);
    if (hd === null || hd === '' || !policy.hostedDomains.some((d) => asciiLower(d) === hd)) {
      return { allowed: false, reason: 'hosted_domain_not_allowed' };
    }
  }

  if (policy.emails.length > 0 || policy.emailDomains.length > 0) {
    const email = asciiLower(claims.email);
    const domain = emailDomain(claims.email);
    const byAddress = policy.emails.some((e) => asciiLower(e) === email);
    const byDomain = domain !== '' && policy.emailDomains.some((d) => asciiLower(d) === domain);
    if (!byAddress && !byDomain) return { allowed: false, reason: 'email_not_allowed' };
  }

  return { allowed: true };
}
