/**
 * `X-Gatehouse-Assertion` on a response (DESIGN.md "Identity for upstreams"): the signed
 * statement of who the user is, for whatever receives this response's headers — nginx's
 * `auth_request_set` now, the proxy's upstream request later.
 */
import type { FastifyReply, FastifyRequest } from 'fastify';
import { parseAudience } from '../assertion/audience.js';
import type { AssertionIssuer } from '../assertion/issuer.js';
import { defaultAudience } from '../assertion/settings.js';
import type { Config } from '../config/types.js';
import type { AuthUser } from './auth.js';
import { sendProblem } from './problem.js';

export const ASSERTION_HEADER = 'x-gatehouse-assertion';

/** The assertion for `user` and `audience`, or undefined (no keys, or the token has run out). */
export function assertionFor(
  assertions: AssertionIssuer | undefined,
  user: AuthUser,
  audience: string,
): string | undefined {
  return assertions?.assertionFor(user, audience);
}

/**
 * For `/auth/verify`: the audience is `?aud=` when given (checked: 400 otherwise), else
 * ASSERTION_AUDIENCE, else PUBLIC_URL's origin. Sets the header for the signed-in `request.user`.
 * 'refused' means a 400 has been sent.
 */
export function verifyAssertionHeader(
  request: FastifyRequest,
  reply: FastifyReply,
  config: Config,
  assertions: AssertionIssuer | undefined,
): 'set' | 'none' | 'refused' {
  const { aud } = request.query as { aud?: unknown };
  let audience = defaultAudience(config);
  if (aud !== undefined) {
    const parsed = typeof aud === 'string' ? parseAudience(aud) : undefined;
    if (parsed === undefined || !parsed.ok) {
      sendProblem(reply, 'bad_request', `The aud parameter ${parsed?.message ?? 'must be given once'}.`);
      return 'refused';
    }
    audience = parsed.audience;
  }
  const user = request.user;
  if (user === null) return 'none';
  const jwt = assertionFor(assertions, user, audience);
  if (jwt === undefined) return 'none';
  reply.header(ASSERTION_HEADER, jwt);
  return 'set';
}
