/**
 * Tests that exercise the store or sessions directly need a VerifiedIdentity without running a
 * sign-in. Production code can only get one from the callback verifier (src/oidc/identity.ts);
 * this cast exists in test code only.
 */
import type { VerifiedIdentity } from '../../src/oidc/types.js';
import type { UserProfileInput } from '../../src/store/types.js';

export function identityForTest(profile: UserProfileInput): VerifiedIdentity {
  return profile as unknown as VerifiedIdentity;
}
