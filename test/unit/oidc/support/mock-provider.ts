/**
 * A real OpenID provider on loopback for oidc/ tests: oauth2-mock-server (real HTTP, real RS256
 * ID tokens, PKCE checked) behind a thin front that counts requests per path, serves a discovery
 * document the test may change, and lets a test answer a path itself (errors, HTML, slowness).
 */
import { sign as cryptoSign, KeyObject } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { exportJWK, generateKeyPair, type JWTPayload, SignJWT } from 'jose';
import { OAuth2Issuer, OAuth2Service } from 'oauth2-mock-server';

export interface SigningKey {
  readonly kid: string;
  readonly privateKey: CryptoKey;
}

export type Hook = (req: IncomingMessage, res: ServerResponse) => boolean | Promise<boolean>;

export interface MockProvider {
  readonly issuer: string;
  readonly clientId: string;
  readonly service: OAuth2Service;
  readonly key: SigningKey;
  /** Requests seen, by path (e.g. '/token', '/jwks'). */
  readonly counts: Map<string, number>;
  count(path: string): number;
  /** Merged into the discovery document. */
  discovery: Record<string, unknown>;
  /** Merged into every ID token the mock signs. */
  idTokenClaims: Record<string, unknown>;
  /** The userinfo response body (sub defaults to the mock's 'johndoe'). */
  userinfo: Record<string, unknown>;
  /** When set, the next token response carries this id_token instead of the mock's. */
  replaceIdToken: string | undefined;
  /** A test's own answer for a request; return true when handled. */
  hook: Hook | undefined;
  /** Adds a fresh RS256 key to the provider's JWKS and returns it. */
  addKey(kid: string): Promise<SigningKey>;
  /** Signs a token with a key (defaults: the provider's first key, its kid in the header). */
  sign(
    payload: JWTPayload,
    options?: { key?: SigningKey; header?: Record<string, unknown> },
  ): Promise<string>;
  /** Signs exactly the given header and payload (RS256), for headers a JOSE library refuses to produce. */
  signRaw(header: Record<string, unknown>, payload: JWTPayload, key?: SigningKey): string;
  /** Follows the authorization URL (the mock signs in at once) and returns the callback URL. */
  authorize(authorizationUrl: string): Promise<URL>;
  close(): Promise<void>;
}

export async function startMockProvider(options: { clientId?: string } = {}): Promise<MockProvider> {
  const clientId = options.clientId ?? 'gatehouseTestClient';
  const issuerObject = new OAuth2Issuer();
  const service = new OAuth2Service(issuerObject);
  const counts = new Map<string, number>();

  let server: Server | undefined;
  const state: Pick<MockProvider, 'discovery' | 'idTokenClaims' | 'userinfo' | 'replaceIdToken' | 'hook'> = {
    discovery: {},
    idTokenClaims: { email: 'ada@example.com', email_verified: true, name: 'Ada (token)' },
    userinfo: { sub: 'johndoe', name: 'Ada Lovelace', picture: 'https://example.com/ada.png' },
    replaceIdToken: undefined,
    hook: undefined,
  };

  service.on('beforeTokenSigning', (token: { payload: Record<string, unknown> }) => {
    // The ID token is the one addressed to the client; the access token carries a scope.
    if (token.payload.aud === clientId) Object.assign(token.payload, state.idTokenClaims);
  });
  service.on('beforeResponse', (response: { body: Record<string, unknown> }) => {
    if (
      state.replaceIdToken !== undefined &&
      typeof response.body === 'object' &&
      'id_token' in response.body
    ) {
      response.body.id_token = state.replaceIdToken;
      state.replaceIdToken = undefined;
    }
  });
  service.on('beforeUserinfo', (response: { body: unknown }) => {
    response.body = { ...state.userinfo };
  });

  server = createServer((req, res) => {
    const path = new URL(req.url ?? '/', 'http://x').pathname;
    counts.set(path, (counts.get(path) ?? 0) + 1);
    void (async () => {
      if (state.hook !== undefined && (await state.hook(req, res))) return;
      if (path === '/.well-known/openid-configuration') {
        const iss = issuerObject.url as string;
        const doc = {
          issuer: iss,
          authorization_endpoint: `${iss}/authorize`,
          token_endpoint: `${iss}/token`,
          userinfo_endpoint: `${iss}/userinfo`,
          jwks_uri: `${iss}/jwks`,
          response_types_supported: ['code'],
          subject_types_supported: ['public'],
          id_token_signing_alg_values_supported: ['RS256'],
          token_endpoint_auth_methods_supported: ['client_secret_basic'],
          code_challenge_methods_supported: ['S256'],
          ...state.discovery,
        };
        res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(doc));
        return;
      }
      service.requestHandler(req, res);
    })().catch((err: unknown) => {
      res.writeHead(500).end(String(err));
    });
  });
  await new Promise<void>((resolve) => server?.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  issuerObject.url = `http://127.0.0.1:${port}`;

  async function addKey(kid: string): Promise<SigningKey> {
    const { privateKey } = await generateKeyPair('RS256', { extractable: true });
    const jwk = { ...(await exportJWK(privateKey)), kid, alg: 'RS256' };
    await issuerObject.keys.add(jwk);
    return { kid, privateKey };
  }
  const key = await addKey('key-1');

  const mock: MockProvider = {
    issuer: issuerObject.url,
    clientId,
    service,
    key,
    counts,
    count: (path) => counts.get(path) ?? 0,
    get discovery() {
      return state.discovery;
    },
    set discovery(value) {
      state.discovery = value;
    },
    get idTokenClaims() {
      return state.idTokenClaims;
    },
    set idTokenClaims(value) {
      state.idTokenClaims = value;
    },
    get userinfo() {
      return state.userinfo;
    },
    set userinfo(value) {
      state.userinfo = value;
    },
    get replaceIdToken() {
      return state.replaceIdToken;
    },
    set replaceIdToken(value) {
      state.replaceIdToken = value;
    },
    get hook() {
      return state.hook;
    },
    set hook(value) {
      state.hook = value;
    },
    addKey,
    async sign(payload, opts = {}) {
      const signer = opts.key ?? key;
      const header = opts.header ?? { alg: 'RS256', kid: signer.kid, typ: 'JWT' };
      return new SignJWT(payload).setProtectedHeader({ alg: 'RS256', ...header }).sign(signer.privateKey);
    },
    signRaw(header, payload, signer = key) {
      const input = `${b64(header)}.${b64(payload)}`;
      const signature = cryptoSign('sha256', Buffer.from(input), KeyObject.from(signer.privateKey));
      return `${input}.${signature.toString('base64url')}`;
    },
    async authorize(authorizationUrl) {
      const response = await fetch(authorizationUrl, { redirect: 'manual' });
      const location = response.headers.get('location');
      if (response.status !== 302 || location === null) {
        throw new Error(`mock authorize answered ${response.status}`);
      }
      return new URL(location);
    },
    async close() {
      server?.closeAllConnections();
      await new Promise<void>((resolve) => server?.close(() => resolve()));
    },
  };
  return mock;
}

function b64(value: object): string {
  return Buffer.from(JSON.stringify(value)).toString('base64url');
}
