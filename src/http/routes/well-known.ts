/**
 * The public half of the identity assertions (DESIGN.md "Identity for upstreams"):
 *
 * - `GET /.well-known/jwks.json` — the public keys (RFC 7517), every configured key, the signing
 *   one first. Public members only (SECURITY.md 55): the document is built from `publicJwk`,
 *   which copies `kty`, `crv`, `x`, `y`, `kid`, `alg`, `use` and nothing else.
 * - `GET /.well-known/openid-configuration` — enough of OpenID Connect Discovery for stock
 *   verifiers (go-oidc, jose, PyJWT) to find the keys from the issuer. Gatehouse is not an
 *   OpenID provider for other clients: there is no authorization or token endpoint here.
 *
 * Paths are relative, so the routes move with the route prefix when one is set.
 */
import type { FastifyInstance } from 'fastify';
import type { AssertionIssuer } from '../../assertion/issuer.js';

/**
 * How long verifiers may cache the JWKS. Rotation adds a key first and keeps the old one
 * published, and jose and PyJWT refetch at once on an unknown `kid`, so a cached copy never
 * breaks a request; five minutes bounds how long a removed key is still trusted.
 */
export const JWKS_MAX_AGE_SECONDS = 300;

export interface WellKnownRoutesOptions {
  /** Absent in production without ASSERTION_KEYS: the key set is empty. */
  readonly assertions: AssertionIssuer | undefined;
  /** The assertions' `iss`. */
  readonly issuer: string;
}

const jwkSchema = {
  type: 'object',
  properties: {
    kty: { type: 'string' },
    crv: { type: 'string' },
    x: { type: 'string' },
    y: { type: 'string' },
    kid: { type: 'string' },
    alg: { type: 'string' },
    use: { type: 'string' },
  },
} as const;

export async function wellKnownRoutes(app: FastifyInstance, options: WellKnownRoutesOptions): Promise<void> {
  const jwks = JSON.stringify(options.assertions?.jwks ?? { keys: [] });
  const discovery = JSON.stringify({
    issuer: options.issuer,
    jwks_uri: `${options.issuer}/.well-known/jwks.json`,
    id_token_signing_alg_values_supported: ['ES256'],
    subject_types_supported: ['public'],
    response_types_supported: ['id_token'],
    claims_supported: [
      'iss',
      'aud',
      'sub',
      'email',
      'email_verified',
      'name',
      'hd',
      'sid',
      'roles',
      'groups',
      'iat',
      'exp',
    ],
  });
  const cacheControl = `public, max-age=${JWKS_MAX_AGE_SECONDS}`;

  app.get(
    '/.well-known/jwks.json',
    {
      logLevel: 'warn',
      schema: {
        summary: 'Public keys of the identity assertions',
        description:
          'The JWKS (RFC 7517) that verifies `X-Gatehouse-Assertion`: EC P-256 public keys, the signing key first, older keys kept during a rotation. Cacheable for five minutes.',
        tags: ['identity'],
        response: {
          200: {
            type: 'object',
            required: ['keys'],
            properties: { keys: { type: 'array', items: jwkSchema } },
          },
        },
      },
    },
    async (_request, reply) =>
      reply.header('cache-control', cacheControl).type('application/json; charset=utf-8').send(jwks),
  );

  app.get(
    '/.well-known/openid-configuration',
    {
      logLevel: 'warn',
      schema: {
        summary: 'Discovery document for assertion verifiers',
        description:
          '`issuer` and `jwks_uri` (OpenID Connect Discovery), so stock libraries can verify `X-Gatehouse-Assertion` from the issuer alone. Not a full OpenID provider: there is no authorization or token endpoint.',
        tags: ['identity'],
        response: {
          200: {
            type: 'object',
            required: ['issuer', 'jwks_uri'],
            properties: {
              issuer: { type: 'string' },
              jwks_uri: { type: 'string' },
              id_token_signing_alg_values_supported: { type: 'array', items: { type: 'string' } },
              subject_types_supported: { type: 'array', items: { type: 'string' } },
              response_types_supported: { type: 'array', items: { type: 'string' } },
              claims_supported: { type: 'array', items: { type: 'string' } },
            },
          },
        },
      },
    },
    async (_request, reply) =>
      reply.header('cache-control', cacheControl).type('application/json; charset=utf-8').send(discovery),
  );
}
