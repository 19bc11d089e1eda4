/**
 * A hostile OpenID provider for the adversarial suite (SECURITY.md, "a local OpenID provider that
 * the test controls"): discovery, JWKS, authorize, token and userinfo on a loopback port, all
 * answered by this file so a test can make any of them lie. By default it is a correct provider
 * (RS256 ID tokens signed with keys made by jose, PKCE S256 checked, client_secret_basic checked,
 * RFC 9207 `iss` on the authorization response); a test then tampers through `behave()`:
 * claims, header, algorithm, key id, signature, the token/userinfo bodies, errors, delays, the
 * `iss` response parameter, key rotation and unusable keys. Every request is recorded, so a test
 * can assert that no token request was made or that a `jku` URL was never fetched.
 *
 * The authorize endpoint signs in at once (no UI) and redirects to the registered redirect_uri,
 * so a browser agent following the redirect lands on Gatehouse's callback as a real one would.
 */
import { createHash, createHmac, randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { base64url, exportJWK, exportSPKI, generateKeyPair, type JWK } from 'jose';

export interface RecordedRequest {
  readonly method: string;
  /** Path without the query, e.g. '/token'. */
  readonly path: string;
  readonly query: URLSearchParams;
  readonly headers: IncomingMessage['headers'];
  readonly body: string;
  /** When it arrived (epoch ms). */
  readonly at: number;
}

export interface ProviderKey {
  readonly kid: string;
  readonly alg: 'RS256' | 'ES256';
  readonly privateKey: CryptoKey;
  readonly publicJwk: JWK;
  /** PEM of the public key (for "HS256 keyed with the provider's public key"). */
  readonly publicPem: string;
}

/** A hand-made HTTP answer. */
export interface RawAnswer {
  readonly status: number;
  readonly body: string;
  readonly contentType?: string;
}

export type Endpoint = 'discovery' | 'jwks' | 'authorize' | 'token' | 'userinfo';

/** How the ID token is signed. */
export type Signing =
  | 'valid'
  /** alg none, empty signature */
  | 'none'
  /** HS256 with the client secret as the HMAC key */
  | 'hs256-client-secret'
  /** HS256 with the provider's public key (PEM) as the HMAC key: the classic key confusion */
  | 'hs256-public-key'
  /** a well-formed RS256 signature by a key the provider never published */
  | 'foreign-key'
  /** the signature's bytes flipped */
  | 'corrupt-signature'
  /** valid signature over the original payload, then the payload swapped */
  | 'payload-swap';

export interface Behaviour {
  /** Claims merged over the default ID-token claims; `undefined` deletes the claim. */
  readonly claims?: Readonly<Record<string, unknown>>;
  /** Header parameters merged over the default header; `undefined` deletes one (e.g. kid). */
  readonly header?: Readonly<Record<string, unknown>>;
  readonly signing?: Signing;
  /** The key that signs (default: the first key of the JWKS). */
  readonly signWith?: ProviderKey;
  /** Replace the whole token response (JSON object) — e.g. without id_token, wrong token_type. */
  readonly tokenResponse?: (normal: Record<string, unknown>) => Record<string, unknown>;
  /** Userinfo body over the default one ({ sub, email, email_verified, name }). */
  readonly userinfo?: Readonly<Record<string, unknown>>;
  /** A raw answer for an endpoint (status + body), instead of the normal one. */
  readonly answer?: Partial<Record<Endpoint, RawAnswer>>;
  /** Milliseconds to wait before answering, per endpoint. */
  readonly delayMs?: Partial<Record<Endpoint, number>>;
  /** The `iss` authorization response parameter: the issuer (default), another value, or none. */
  readonly issParameter?: 'correct' | 'omit' | string;
  /** Advertise `authorization_response_iss_parameter_supported` (default true). */
  readonly advertiseIss?: boolean;
  /** Extra members merged into the discovery document. */
  readonly discovery?: Readonly<Record<string, unknown>>;
  /** Keys published in the JWKS besides the provider's (e.g. unusable ones). */
  readonly extraJwks?: readonly JWK[];
  /** The token's `exp`/`iat`/`nbf` are relative to this clock (ms); default Date.now. */
  readonly now?: () => number;
  /**
   * The test's own answer to a request (recorded first; its body already read): return true when
   * it answered, false to let the provider answer.
   */
  readonly hook?: (req: IncomingMessage, res: ServerResponse) => boolean | Promise<boolean>;
}

export interface Identity {
  readonly sub: string;
  readonly email: string;
  readonly emailVerified?: unknown;
  readonly name?: string;
  readonly hd?: string;
}

export interface HostileProvider {
  readonly issuer: string;
  readonly clientId: string;
  readonly clientSecret: string;
  /** Every request received, in order. */
  readonly requests: readonly RecordedRequest[];
  /** Requests to a path ('/token', '/jwks', …). */
  requestsTo(path: string): RecordedRequest[];
  /** The provider's current signing keys (the first signs). */
  readonly keys: readonly ProviderKey[];
  /** Who signs in next (default: a fresh subject each time with `user-<n>@example.com`). */
  identity: Identity | undefined;
  /** Replaces the behaviour (tests call `behave({})` to reset). */
  behave(behaviour: Behaviour): void;
  /** A new signing key that replaces the current ones (the old ones disappear from the JWKS). */
  rotateKeys(alg?: 'RS256' | 'ES256'): Promise<ProviderKey>;
  /** A new key published in the JWKS beside the current ones (the first key still signs). */
  addKey(alg?: 'RS256' | 'ES256'): Promise<ProviderKey>;
  /** A key the provider does not publish (for "foreign key" signatures). */
  foreignKey(): Promise<ProviderKey>;
  /** Forgets recorded requests. */
  clearRequests(): void;
  /** Signs a header and payload exactly as given (WebCrypto with the key made by jose). */
  signRaw(
    header: Record<string, unknown>,
    payload: Record<string, unknown>,
    key?: ProviderKey,
  ): Promise<string>;
  close(): Promise<void>;
}

const encoder = new TextEncoder();
const b64json = (value: unknown): string => base64url.encode(encoder.encode(JSON.stringify(value)));

export async function makeKey(alg: 'RS256' | 'ES256' = 'RS256', kid?: string): Promise<ProviderKey> {
  const pair = await generateKeyPair(alg, { extractable: true });
  const publicJwk = {
    ...(await exportJWK(pair.publicKey)),
    kid: kid ?? randomBytes(6).toString('hex'),
    alg,
    use: 'sig',
  };
  return {
    kid: publicJwk.kid,
    alg,
    privateKey: pair.privateKey,
    publicJwk,
    publicPem: await exportSPKI(pair.publicKey),
  };
}

async function signWithKey(signingInput: string, key: ProviderKey): Promise<Uint8Array> {
  const algorithm =
    key.alg === 'RS256' ? { name: 'RSASSA-PKCS1-v1_5' } : { name: 'ECDSA', hash: { name: 'SHA-256' } };
  return new Uint8Array(await crypto.subtle.sign(algorithm, key.privateKey, encoder.encode(signingInput)));
}

export async function startHostileProvider(
  options: {
    host?: '127.0.0.1' | 'localhost';
    clientId?: string;
    clientSecret?: string;
    /** Serve discovery at `${origin}${issuerPath}` (a path keeps several issuers on one port). */
    issuerPath?: string;
  } = {},
): Promise<HostileProvider> {
  const host = options.host ?? 'localhost';
  const clientId = options.clientId ?? 'hostile-client';
  const clientSecret = options.clientSecret ?? 'hostile-client-secret-0123456789abcdef';
  const issuerPath = options.issuerPath ?? '';
  const requests: RecordedRequest[] = [];
  let keys: ProviderKey[] = [await makeKey('RS256')];
  let behaviour: Behaviour = {};
  /** Made once: RSA key generation is slow on a loaded machine. */
  let foreign: ProviderKey | undefined;
  let counter = 0;
  const codes = new Map<
    string,
    { nonce: string | undefined; challenge: string; redirectUri: string; identity: Identity; used: boolean }
  >();
  const accessTokens = new Map<string, Identity>();

  let issuer = '';
  const server: Server = createServer((req, res) => {
    handle(req, res).catch((err: unknown) => {
      if (!res.headersSent) res.writeHead(500, { 'content-type': 'text/plain' });
      res.end(String(err));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, host, resolve));
  const port = (server.address() as AddressInfo).port;
  issuer = `http://${host}:${port}${issuerPath}`;

  function json(
    res: ServerResponse,
    status: number,
    body: unknown,
    headers: Record<string, string> = {},
  ): void {
    res.writeHead(status, { 'content-type': 'application/json', 'cache-control': 'no-store', ...headers });
    res.end(JSON.stringify(body));
  }

  async function readBody(req: IncomingMessage): Promise<string> {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    return Buffer.concat(chunks).toString('utf8');
  }

  function discoveryDocument(): Record<string, unknown> {
    return {
      issuer,
      authorization_endpoint: `${issuer}/authorize`,
      token_endpoint: `${issuer}/token`,
      userinfo_endpoint: `${issuer}/userinfo`,
      jwks_uri: `${issuer}/jwks`,
      response_types_supported: ['code'],
      subject_types_supported: ['public'],
      id_token_signing_alg_values_supported: ['RS256', 'ES256'],
      token_endpoint_auth_methods_supported: ['client_secret_basic'],
      code_challenge_methods_supported: ['S256'],
      scopes_supported: ['openid', 'email', 'profile'],
      authorization_response_iss_parameter_supported: behaviour.advertiseIss ?? true,
      ...behaviour.discovery,
    };
  }

  async function idTokenFor(identity: Identity, nonce: string | undefined): Promise<string> {
    const nowSeconds = Math.floor((behaviour.now ?? Date.now)() / 1000);
    const claims: Record<string, unknown> = {
      iss: issuer,
      sub: identity.sub,
      aud: clientId,
      exp: nowSeconds + 600,
      iat: nowSeconds,
      nonce,
      email: identity.email,
      email_verified: 'emailVerified' in identity ? identity.emailVerified : true,
      name: identity.name ?? 'Hostile Test User',
      ...(identity.hd !== undefined ? { hd: identity.hd } : {}),
    };
    for (const [name, value] of Object.entries(behaviour.claims ?? {})) {
      if (value === undefined) delete claims[name];
      else claims[name] = value;
    }
    const signer = behaviour.signWith ?? keys[0]!;
    const header: Record<string, unknown> = { alg: signer.alg, typ: 'JWT', kid: signer.kid };
    for (const [name, value] of Object.entries(behaviour.header ?? {})) {
      if (value === undefined) delete header[name];
      else header[name] = value;
    }
    const signing = behaviour.signing ?? 'valid';
    switch (signing) {
      case 'valid':
        return signRaw(header, claims, signer);
      case 'none':
        return `${b64json({ ...header, alg: 'none' })}.${b64json(claims)}.`;
      case 'hs256-client-secret':
      case 'hs256-public-key': {
        const input = `${b64json({ ...header, alg: 'HS256' })}.${b64json(claims)}`;
        const secret = signing === 'hs256-client-secret' ? clientSecret : signer.publicPem;
        return `${input}.${createHmac('sha256', secret).update(input).digest('base64url')}`;
      }
      case 'foreign-key':
        foreign ??= await makeKey(signer.alg, signer.kid);
        return signRaw(header, claims, { ...foreign, kid: signer.kid });
      case 'corrupt-signature': {
        const token = await signRaw(header, claims, signer);
        const [h, p, s] = token.split('.') as [string, string, string];
        const bytes = base64url.decode(s);
        bytes[0] = (bytes[0] ?? 0) ^ 0xff;
        return `${h}.${p}.${base64url.encode(bytes)}`;
      }
      case 'payload-swap': {
        const token = await signRaw(header, claims, signer);
        const [h, , s] = token.split('.') as [string, string, string];
        return `${h}.${b64json({ ...claims, sub: `${identity.sub}-other` })}.${s}`;
      }
    }
  }

  async function signRaw(
    header: Record<string, unknown>,
    payload: Record<string, unknown>,
    key: ProviderKey = keys[0]!,
  ): Promise<string> {
    const input = `${b64json(header)}.${b64json(payload)}`;
    return `${input}.${base64url.encode(await signWithKey(input, key))}`;
  }

  function nextIdentity(): Identity {
    if (provider.identity) return provider.identity;
    counter += 1;
    const tag = `${Date.now().toString(36)}${counter}`;
    return { sub: `sub-${tag}`, email: `user-${tag}@example.com`, name: `User ${counter}` };
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', issuer);
    const body = await readBody(req);
    const path = url.pathname.slice(issuerPath.length) || '/';
    requests.push({
      method: req.method ?? 'GET',
      path,
      query: url.searchParams,
      headers: req.headers,
      body,
      at: Date.now(),
    });
    const endpoint: Endpoint | undefined =
      path === '/.well-known/openid-configuration'
        ? 'discovery'
        : path === '/jwks'
          ? 'jwks'
          : path === '/authorize'
            ? 'authorize'
            : path === '/token'
              ? 'token'
              : path === '/userinfo'
                ? 'userinfo'
                : undefined;
    if (behaviour.hook !== undefined && (await behaviour.hook(req, res))) return;
    if (endpoint === undefined) {
      json(res, 404, { error: 'not_found' });
      return;
    }
    const delay = behaviour.delayMs?.[endpoint];
    if (delay !== undefined && delay > 0) {
      // The delay is the behaviour under test (a slow provider), not test synchronisation.
      await new Promise((resolve) => setTimeout(resolve, delay));
      if (res.destroyed) return;
    }
    const raw = behaviour.answer?.[endpoint];
    if (raw !== undefined) {
      res.writeHead(raw.status, { 'content-type': raw.contentType ?? 'application/json' });
      res.end(raw.body);
      return;
    }
    switch (endpoint) {
      case 'discovery':
        return json(res, 200, discoveryDocument());
      case 'jwks':
        return json(res, 200, { keys: [...keys.map((k) => k.publicJwk), ...(behaviour.extraJwks ?? [])] });
      case 'authorize':
        return authorize(url, res);
      case 'token':
        return token(req, body, res);
      case 'userinfo':
        return userinfo(req, res);
    }
  }

  function authorize(url: URL, res: ServerResponse): void {
    const q = url.searchParams;
    const redirectUri = q.get('redirect_uri');
    if (q.get('client_id') !== clientId || !redirectUri) {
      json(res, 400, { error: 'invalid_request' });
      return;
    }
    const code = randomBytes(24).toString('base64url');
    codes.set(code, {
      nonce: q.get('nonce') ?? undefined,
      challenge: q.get('code_challenge') ?? '',
      redirectUri,
      identity: nextIdentity(),
      used: false,
    });
    const target = new URL(redirectUri);
    target.searchParams.set('code', code);
    const state = q.get('state');
    if (state !== null) target.searchParams.set('state', state);
    const iss = behaviour.issParameter ?? 'correct';
    if (iss !== 'omit') target.searchParams.set('iss', iss === 'correct' ? issuer : iss);
    res.writeHead(302, { location: target.href });
    res.end();
  }

  /** client_secret_basic (RFC 6749 §2.3.1: form-urlencoded id and secret inside Basic). */
  function clientAuthenticated(header: string | undefined): boolean {
    const match = /^Basic (.+)$/i.exec(header ?? '');
    if (!match) return false;
    const decoded = Buffer.from(match[1]!, 'base64').toString('utf8');
    const colon = decoded.indexOf(':');
    const unform = (v: string) => decodeURIComponent(v.replace(/\+/g, ' '));
    return unform(decoded.slice(0, colon)) === clientId && unform(decoded.slice(colon + 1)) === clientSecret;
  }

  async function token(req: IncomingMessage, body: string, res: ServerResponse): Promise<void> {
    if (!clientAuthenticated(req.headers.authorization)) {
      json(res, 401, { error: 'invalid_client' });
      return;
    }
    const form = new URLSearchParams(body);
    const entry = codes.get(form.get('code') ?? '');
    const verifier = form.get('code_verifier') ?? '';
    if (
      !entry ||
      entry.used ||
      form.get('grant_type') !== 'authorization_code' ||
      form.get('redirect_uri') !== entry.redirectUri ||
      createHash('sha256').update(verifier).digest('base64url') !== entry.challenge
    ) {
      json(res, 400, { error: 'invalid_grant' });
      return;
    }
    entry.used = true;
    const accessToken = randomBytes(24).toString('base64url');
    accessTokens.set(accessToken, entry.identity);
    const normal: Record<string, unknown> = {
      access_token: accessToken,
      token_type: 'Bearer',
      // A provider's access-token lifetime, which must not become the session's (SECURITY F29).
      expires_in: 3599,
      scope: 'openid email profile',
      id_token: await idTokenFor(entry.identity, entry.nonce),
    };
    json(res, 200, behaviour.tokenResponse ? behaviour.tokenResponse(normal) : normal);
  }

  function userinfo(req: IncomingMessage, res: ServerResponse): void {
    const presented = /^Bearer (.+)$/.exec(req.headers.authorization ?? '')?.[1];
    const identity = presented === undefined ? undefined : accessTokens.get(presented);
    if (!identity) {
      json(res, 401, { error: 'invalid_token' }, { 'www-authenticate': 'Bearer error="invalid_token"' });
      return;
    }
    json(res, 200, {
      sub: identity.sub,
      email: identity.email,
      email_verified: 'emailVerified' in identity ? identity.emailVerified : true,
      name: identity.name ?? 'Hostile Test User',
      ...behaviour.userinfo,
    });
  }

  const provider: HostileProvider = {
    get issuer() {
      return issuer;
    },
    clientId,
    clientSecret,
    requests,
    requestsTo: (p) => requests.filter((r) => r.path === p),
    get keys() {
      return keys;
    },
    identity: undefined,
    behave(next) {
      behaviour = next;
    },
    async rotateKeys(alg = 'RS256') {
      const key = await makeKey(alg);
      keys = [key];
      return key;
    },
    async addKey(alg = 'RS256') {
      const key = await makeKey(alg);
      keys = [...keys, key];
      return key;
    },
    foreignKey: () => makeKey('RS256'),
    clearRequests() {
      requests.length = 0;
    },
    signRaw,
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
  return provider;
}
