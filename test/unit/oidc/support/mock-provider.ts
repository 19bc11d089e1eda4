/**
 * The oidc/ unit tests' view of the one test provider (test/helpers/hostile-provider.ts): the same
 * correct provider on loopback, set up as these tests expect it — subject `johndoe`, RS256 only,
 * no RFC 9207 `iss` unless a test advertises it — with setters for what they vary. Each setter
 * replaces that part whole (the provider's defaults for it are dropped), as the tests read them.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { JWK } from 'jose';
import { type ProviderKey, startHostileProvider } from '../../../helpers/hostile-provider.js';

export type Hook = (req: IncomingMessage, res: ServerResponse) => boolean | Promise<boolean>;
type Claims = Record<string, unknown>;

export interface MockProvider {
  readonly issuer: string;
  readonly clientId: string;
  /** The key that signs, published in the JWKS. */
  readonly key: ProviderKey;
  /** Requests seen for a path (e.g. '/token', '/jwks'). */
  count(path: string): number;
  /** Merged into the discovery document. */
  discovery: Claims;
  /** The ID token's claims besides iss, sub, aud, exp, iat and nonce. */
  idTokenClaims: Claims;
  /** The whole userinfo response body. */
  userinfo: Claims;
  /** When set, the next token response carries this id_token instead of the provider's. */
  replaceIdToken: string | undefined;
  /** A test's own answer for a request; return true when handled. */
  hook: Hook | undefined;
  /** Keys published in the JWKS besides the provider's (e.g. unusable ones). */
  extraJwks: JWK[];
  /** Changes the next token response. */
  onceTokenResponse(change: (normal: Claims) => Claims): void;
  /** Publishes another RS256 key in the JWKS and returns it. */
  addKey(): Promise<ProviderKey>;
  /** Signs a token (defaults: the provider's key, its kid and typ in the header). */
  sign(payload: Claims, options?: { key?: ProviderKey; header?: Claims }): Promise<string>;
  /** Signs exactly the given header and payload, for headers a JOSE library refuses to produce. */
  signRaw(header: Claims, payload: Claims, key?: ProviderKey): Promise<string>;
  /** Follows the authorization URL (the provider signs in at once) and returns the callback URL. */
  authorize(authorizationUrl: string): Promise<URL>;
  close(): Promise<void>;
}

/** Drops the provider's defaults for a part the test sets whole (undefined deletes a member). */
const without = (names: readonly string[]): Claims => Object.fromEntries(names.map((n) => [n, undefined]));

export async function startMockProvider(): Promise<MockProvider> {
  const provider = await startHostileProvider({
    host: '127.0.0.1',
    clientId: 'gatehouseTestClient',
    clientSecret: 'gatehouseTestClientSecret0123456789',
  });
  provider.identity = { sub: 'johndoe', email: 'ada@example.com' };
  const state = {
    discovery: {} as Claims,
    idTokenClaims: { email: 'ada@example.com', email_verified: true, name: 'Ada (token)' } as Claims,
    userinfo: { sub: 'johndoe', name: 'Ada Lovelace', picture: 'https://example.com/ada.png' } as Claims,
    replaceIdToken: undefined as string | undefined,
    hook: undefined as Hook | undefined,
    extraJwks: [] as JWK[],
    onceTokenResponse: undefined as ((normal: Claims) => Claims) | undefined,
  };
  const apply = (): void =>
    provider.behave({
      claims: { ...without(['email', 'email_verified', 'name']), ...state.idTokenClaims },
      userinfo: { ...without(['sub', 'email', 'email_verified', 'name']), ...state.userinfo },
      discovery: {
        id_token_signing_alg_values_supported: ['RS256'],
        authorization_response_iss_parameter_supported: false,
        ...state.discovery,
      },
      issParameter: 'omit',
      extraJwks: state.extraJwks,
      tokenResponse: (normal) => {
        let body = normal;
        if (state.replaceIdToken !== undefined) body = { ...body, id_token: state.replaceIdToken };
        if (state.onceTokenResponse !== undefined) body = state.onceTokenResponse(body);
        state.replaceIdToken = undefined;
        state.onceTokenResponse = undefined;
        return body;
      },
      ...(state.hook === undefined ? {} : { hook: state.hook }),
    });
  apply();
  const key = provider.keys[0] as ProviderKey;
  const setter = <K extends keyof typeof state>(name: K) => ({
    get: () => state[name],
    set: (value: (typeof state)[K]) => {
      state[name] = value;
      apply();
    },
  });

  const mock = {
    issuer: provider.issuer,
    clientId: provider.clientId,
    key,
    count: (path: string) => provider.requestsTo(path).length,
    onceTokenResponse(change: (normal: Claims) => Claims) {
      state.onceTokenResponse = change;
    },
    addKey: () => provider.addKey('RS256'),
    sign(payload: Claims, options: { key?: ProviderKey; header?: Claims } = {}) {
      const signer = options.key ?? key;
      const header = { alg: 'RS256', ...(options.header ?? { kid: signer.kid, typ: 'JWT' }) };
      return provider.signRaw(header, payload, signer);
    },
    signRaw: (header: Claims, payload: Claims, signer: ProviderKey = key) =>
      provider.signRaw(header, payload, signer),
    async authorize(authorizationUrl: string) {
      const response = await fetch(authorizationUrl, { redirect: 'manual' });
      const location = response.headers.get('location');
      if (response.status !== 302 || location === null) {
        throw new Error(`the test provider's authorize answered ${response.status}`);
      }
      return new URL(location);
    },
    close: () => provider.close(),
  };
  for (const name of [
    'discovery',
    'idTokenClaims',
    'userinfo',
    'replaceIdToken',
    'hook',
    'extraJwks',
  ] as const) {
    Object.defineProperty(mock, name, { ...setter(name), enumerable: true });
  }
  return mock as unknown as MockProvider;
}
