/**
 * The embedded development OpenID provider: a real OpenID Connect provider (oidc-provider)
 * that Gatehouse uses exactly like Google when no Google credentials are configured outside
 * production — discovery, authorization code + PKCE (S256), a signed ID token with nonce,
 * userinfo. Its sign-in page accepts any email and name.
 *
 * Mounting: oidc-provider expects the issuer to carry the mount path and the request URL to be
 * relative to it, with `req.originalUrl` holding the full path (connect/express convention; see
 * OIDCContext#urlFor). `handle` does that rewriting itself, so the HTTP layer can pass the raw
 * request with its original URL.
 */
import { randomBytes } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { calculateJwkThumbprint, exportJWK, generateKeyPair } from 'jose';
import type { Account, KoaContextWithOIDC, Provider } from 'oidc-provider';
import { type Log, silentLog } from '../core/log.js';
import { ProfileStore } from './accounts.js';
import { createMinter, type Mint, serveIdToken } from './id-token.js';
import { handleInteraction, type InteractionDeps } from './interactions.js';
import { createMemoryStore, memoryAdapterFactory } from './memory-adapter.js';
import { loadOidcProvider } from './module.js';
import { errorPage, pageHeaders } from './pages.js';

export interface DevIdpOptions {
  /** Full issuer URL including the mount path, e.g. `http://127.0.0.1:8000/dev-idp`. */
  readonly issuer: string;
  readonly clientId: string;
  readonly clientSecret: string;
  readonly redirectUris: readonly string[];
  /** Keys that sign the provider's own cookies (first signs, all verify); random when absent. */
  readonly cookieKeys?: readonly string[];
  readonly logger?: Log;
  /** CSPRNG for generated cookie keys; tests may pass their own. */
  readonly random?: (size: number) => Uint8Array;
}

export interface DevIdp {
  readonly issuer: string;
  /** A Google-shaped ID token for any audience, signed with this provider's key (id-token.ts). */
  readonly mintIdToken: Mint;
  /** Serves one request whose URL still starts with the issuer's path (e.g. `/dev-idp/auth?…`). */
  handle(req: IncomingMessage, res: ServerResponse): void;
  close(): Promise<void>;
}

const SCOPES = ['openid', 'email', 'profile'];

function validate(options: DevIdpOptions): URL {
  const issuer = URL.parse(options.issuer);
  if (!issuer || (issuer.protocol !== 'http:' && issuer.protocol !== 'https:')) {
    throw new TypeError('createDevIdp: issuer must be an http(s) URL');
  }
  if (issuer.search || issuer.hash || options.issuer.endsWith('/')) {
    throw new TypeError('createDevIdp: issuer must have no query, fragment or trailing slash');
  }
  if (!options.clientId || !options.clientSecret) {
    throw new TypeError('createDevIdp: clientId and clientSecret are required');
  }
  if (options.redirectUris.length === 0)
    throw new TypeError('createDevIdp: at least one redirect URI is required');
  for (const uri of options.redirectUris) {
    const parsed = URL.parse(uri);
    if (!parsed || (parsed.protocol !== 'http:' && parsed.protocol !== 'https:')) {
      throw new TypeError('createDevIdp: redirect URIs must be http(s) URLs');
    }
  }
  return issuer;
}

async function signingKey(): Promise<Record<string, unknown>> {
  // A fresh key per start: tokens from a previous run must not verify (the RP refetches the JWKS
  // on an unknown kid). RS256 because that is what Google signs with.
  const { privateKey } = await generateKeyPair('RS256', { modulusLength: 2048, extractable: true });
  const jwk = await exportJWK(privateKey);
  return { ...jwk, kid: await calculateJwkThumbprint(jwk), alg: 'RS256', use: 'sig' };
}

/** Drops the provider's session cookie from a request (see the `handle` comment below). */
function withoutCookie(header: string, name: string): string {
  return header
    .split(';')
    .filter((pair) => {
      const key = pair.split('=', 1)[0]?.trim();
      return key !== name && key !== `${name}.sig`;
    })
    .join(';');
}

export async function createDevIdp(options: DevIdpOptions): Promise<DevIdp> {
  const issuerUrl = validate(options);
  const issuer = options.issuer;
  const mountPath = issuerUrl.pathname === '/' ? '' : issuerUrl.pathname;
  const logger = options.logger ?? silentLog;
  const random = options.random ?? ((size: number) => randomBytes(size));
  const cookieKeys =
    options.cookieKeys && options.cookieKeys.length > 0
      ? [...options.cookieKeys]
      : [Buffer.from(random(32)).toString('base64url')];
  const redirectOrigins = options.redirectUris.map((uri) => new URL(uri).origin);
  const profiles = new ProfileStore();
  const store = createMemoryStore();
  const { Provider } = await loadOidcProvider();
  const key = await signingKey();
  const mintIdToken = createMinter(issuer, key);

  const sessionCookie = 'dev_idp_session';
  const findAccount = (_ctx: KoaContextWithOIDC, sub: string): Account | undefined => {
    const profile = profiles.get(sub);
    if (!profile) return undefined;
    return {
      accountId: sub,
      claims: () => ({
        sub,
        email: profile.email,
        email_verified: true,
        ...(profile.name === null ? {} : { name: profile.name }),
        picture: profile.picture,
      }),
    };
  };

  const provider: Provider = new Provider(issuer, {
    adapter: memoryAdapterFactory(store),
    clients: [
      {
        client_id: options.clientId,
        client_secret: options.clientSecret,
        redirect_uris: [...options.redirectUris],
        response_types: ['code'],
        grant_types: ['authorization_code'],
        // Either client_secret_basic or client_secret_post is accepted for a client registered
        // with one of them (oidc-provider lib/shared/client_auth.js), as at Google.
        token_endpoint_auth_method: 'client_secret_basic',
        id_token_signed_response_alg: 'RS256',
      },
    ],
    clientAuthMethods: ['client_secret_basic', 'client_secret_post'],
    responseTypes: ['code'],
    scopes: SCOPES,
    claims: { openid: ['sub'], email: ['email', 'email_verified'], profile: ['name', 'picture'] },
    // Put the scope claims in the ID token too, as Google does: the RP applies its sign-in
    // policy (email_verified, domains) to the verified ID token.
    conformIdTokenClaims: false,
    pkce: { required: () => true },
    allowOmittingSingleRegisteredRedirectUri: false,
    enabledJWA: { idTokenSigningAlgValues: ['RS256'] },
    jwks: { keys: [key] },
    findAccount,
    clientBasedCORS: () => false,
    interactions: {
      url: (_ctx: KoaContextWithOIDC, interaction: { uid: string }) =>
        `${mountPath}/interaction/${interaction.uid}`,
    },
    features: {
      devInteractions: { enabled: false },
      userinfo: { enabled: true },
      registration: { enabled: false },
      rpInitiatedLogout: { enabled: false },
      pushedAuthorizationRequests: { enabled: false },
      dPoP: { enabled: false },
      resourceIndicators: { enabled: false },
      revocation: { enabled: false },
      introspection: { enabled: false },
      claimsParameter: { enabled: false },
    },
    cookies: {
      names: { session: sessionCookie, interaction: 'dev_idp_interaction', resume: 'dev_idp_resume' },
      long: { httpOnly: true, sameSite: 'lax', path: mountPath || '/' },
      short: { httpOnly: true, sameSite: 'lax' },
      keys: cookieKeys,
    },
    ttl: {
      AccessToken: 600,
      AuthorizationCode: 60,
      IdToken: 600,
      Interaction: 600,
      Session: 600,
      Grant: 600,
    },
    renderError: async (ctx: KoaContextWithOIDC, out: Record<string, unknown>) => {
      const details: [string, string][] = [];
      if (typeof out.error === 'string') details.push(['Error', out.error]);
      if (typeof out.error_description === 'string') details.push(['Description', out.error_description]);
      for (const [name, value] of Object.entries(pageHeaders(redirectOrigins))) ctx.set(name, value);
      ctx.body = errorPage('Sign-in could not continue', details);
    },
  });
  // Koa's URL helpers then read the forced X-Forwarded-* headers set in `handle`.
  provider.proxy = true;
  provider.on('server_error', (_ctx: unknown, err: unknown) => {
    logger.error({ err }, 'development provider: server error');
  });
  // An 'error' listener replaces Koa's default, which writes to stderr.
  provider.on('error', (err: unknown) => {
    logger.warn({ err }, 'development provider: request failed');
  });

  const callback = provider.callback();
  const deps: InteractionDeps = { provider, profiles, redirectOrigins, logger };
  const forwardedProto = issuerUrl.protocol.slice(0, -1);
  let closed = false;

  logger.info(
    { issuer },
    'development OpenID provider enabled (any email signs in; never used in production)',
  );

  function fail(res: ServerResponse, status: number, title: string): void {
    if (res.headersSent) {
      res.destroy();
      return;
    }
    res.writeHead(status, pageHeaders(redirectOrigins));
    res.end(errorPage(title, []));
  }

  return {
    issuer,
    mintIdToken,
    handle(req, res) {
      const original = req.url ?? '/';
      const queryAt = original.indexOf('?');
      const path = queryAt === -1 ? original : original.slice(0, queryAt);
      if (closed) {
        req.resume();
        fail(res, 503, 'The development provider has stopped');
        return;
      }
      if (mountPath && path !== mountPath && !path.startsWith(`${mountPath}/`)) {
        req.resume();
        fail(res, 404, 'Not found');
        return;
      }
      const relative = original.slice(mountPath.length) || '/';

      // URLs the provider builds (discovery, redirects) must use the issuer's origin, not the
      // Host of whatever proxy or port this request came through. Set, never trust, the headers.
      req.headers['x-forwarded-host'] = issuerUrl.host;
      req.headers['x-forwarded-proto'] = forwardedProto;
      // No single sign-on at the development provider: every authorization request shows the
      // form, so a developer can switch identities freely (and a different account never runs
      // into oidc-provider's "log out first" confirmation).
      if (req.headers.cookie) req.headers.cookie = withoutCookie(req.headers.cookie, sessionCookie);

      const pathOnly = queryAt === -1 ? relative : relative.slice(0, relative.indexOf('?'));
      if (pathOnly === '/id-token') {
        serveIdToken(req, res, {
          mint: mintIdToken,
          action: `${mountPath}/id-token`,
          defaultAudience: options.clientId,
        }).catch((err: unknown) => {
          logger.error({ err }, 'development provider: id-token failed');
          fail(res, 500, 'Something went wrong');
        });
        return;
      }

      const interaction = /^\/interaction\/([A-Za-z0-9_-]{1,64})$/.exec(
        queryAt === -1 ? relative : relative.slice(0, relative.indexOf('?')),
      );
      if (interaction?.[1]) {
        handleInteraction(req, res, interaction[1], `${mountPath}/interaction/${interaction[1]}`, deps).catch(
          (err: unknown) => {
            logger.error({ err }, 'development provider: interaction failed');
            fail(res, 500, 'Something went wrong');
          },
        );
        return;
      }

      Object.assign(req, { originalUrl: original });
      req.url = relative;
      callback(req, res).catch((err: unknown) => {
        logger.error({ err }, 'development provider: request failed');
        fail(res, 500, 'Something went wrong');
      });
    },
    async close() {
      closed = true;
      store.entries.clear();
      store.grants.clear();
      store.sessionUids.clear();
      profiles.clear();
    },
  };
}
