/**
 * The only place a `VerifiedIdentity` is made (STYLE habit 5: make skipping a check impossible).
 * The brand has no constructor elsewhere (only a deliberate cast could forge one, as the test
 * helpers do); this function is called by the callback verifier (client.ts) after every check has
 * passed. It is exported from neither oidc/index.ts nor the package entry, and
 * test/unit/oidc/identity.test.ts fails if any other module in src/ imports it.
 */
import type { VerifiedIdentity } from './types.js';

export interface IdentityFields {
  readonly issuer: string;
  readonly subject: string;
  readonly email: string;
  readonly name: string | null;
  readonly picture: string | null;
  readonly hostedDomain: string | null;
}

/** @internal — call only from the callback verifier, after all checks. */
export function createVerifiedIdentity(fields: IdentityFields): VerifiedIdentity {
  const identity = {
    issuer: fields.issuer,
    subject: fields.subject,
    email: fields.email,
    emailVerified: true as const,
    name: fields.name,
    picture: fields.picture,
    hostedDomain: fields.hostedDomain,
  };
  // The one cast to the branded type (see src/oidc/types.ts).
  return Object.freeze(identity) as unknown as VerifiedIdentity;
}
