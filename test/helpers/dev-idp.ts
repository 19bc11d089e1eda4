/**
 * Test helpers around the development OpenID provider: run it standalone on its own loopback
 * port (and host name, so that its redirects back to the app are cross-site as with Google), and
 * drive its sign-in page with the browser agent.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import * as client from 'openid-client';
import type { Log } from '../../src/core/log.js';
import { createDevIdp } from '../../src/dev-idp/index.js';
import type { BrowserAgent, Hop } from './browser.js';

export interface StartDevIdpOptions {
  /** Host name in the issuer; the server listens on 127.0.0.1 either way. Default `localhost`. */
  readonly host?: 'localhost' | '127.0.0.1';
  readonly redirectUris: readonly string[];
  readonly clientId?: string;
  readonly clientSecret?: string;
  /** Path the provider is mounted under, as in the app. Default `/dev-idp`; `''` for the root. */
  readonly mountPath?: string;
  readonly logger?: Log;
}

export interface StartedDevIdp {
  readonly issuer: string;
  readonly clientId: string;
  readonly clientSecret: string;
  /** How many requests the provider has received whose path ends with `suffix` (e.g. '/token'). */
  requestsTo(suffix: string): number;
  close(): Promise<void>;
}

/**
 * openid-client's view of a development provider over plain http (loopback), as a relying party
 * discovers it; by default with the provider's own client and client_secret_basic.
 */
export function discoverDevIdp(
  idp: { readonly issuer: string; readonly clientId?: string; readonly clientSecret?: string },
  options: { clientId?: string; clientSecret?: string; clientAuth?: client.ClientAuth } = {},
): Promise<client.Configuration> {
  const clientId = options.clientId ?? idp.clientId;
  if (clientId === undefined) throw new TypeError('discoverDevIdp: no client id');
  return client.discovery(
    new URL(idp.issuer),
    clientId,
    options.clientSecret ?? idp.clientSecret,
    options.clientAuth,
    { execute: [client.allowInsecureRequests] },
  );
}

export async function startDevIdp(options: StartDevIdpOptions): Promise<StartedDevIdp> {
  const host = options.host ?? 'localhost';
  const clientId = options.clientId ?? 'gatehouse-test';
  const clientSecret = options.clientSecret ?? 'dev-idp-test-secret-0123456789abcdef';
  const mountPath = options.mountPath ?? '/dev-idp';

  const server = createServer();
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  const issuer = `http://${host}:${port}${mountPath}`;
  let idp: Awaited<ReturnType<typeof createDevIdp>>;
  try {
    idp = await createDevIdp({
      issuer,
      clientId,
      clientSecret,
      redirectUris: options.redirectUris,
      ...(options.logger ? { logger: options.logger } : {}),
    });
  } catch (err) {
    server.close();
    throw err;
  }
  const paths: string[] = [];
  server.on('request', (req, res) => {
    paths.push(new URL(req.url ?? '/', issuer).pathname);
    idp.handle(req, res);
  });

  return {
    issuer,
    clientId,
    clientSecret,
    requestsTo: (suffix) => paths.filter((path) => path.endsWith(suffix)).length,
    async close() {
      await idp.close();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

export interface DevIdpSignInResult {
  /** Where the provider sends the browser (the relying party's redirect URI with its query). */
  readonly callbackUrl: string;
  /** The provider page that submitted the form: pass it as `initiator` when following the callback. */
  readonly initiator: string;
  /** Every response fetched from the provider, in order. */
  readonly hops: readonly Hop[];
}

export interface SignInAtDevIdpOptions {
  readonly email: string;
  readonly name?: string;
  /** The page the navigation to the authorization URL comes from (default: typed URL). */
  readonly initiator?: string;
}

function decodeEntities(text: string): string {
  return text
    .replace(/&#(\d+);/g, (_, code: string) => String.fromCodePoint(Number(code)))
    .replace(/&#x([0-9a-f]+);/gi, (_, code: string) => String.fromCodePoint(Number.parseInt(code, 16)))
    .replace(/&quot;/g, '"')
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&amp;/g, '&');
}

/** The provider's pages live under the authorization endpoint's directory (`${issuer}/`). */
function providerScope(authorizationUrl: URL): (url: URL) => boolean {
  const dir = authorizationUrl.pathname.slice(0, authorizationUrl.pathname.lastIndexOf('/') + 1);
  return (url) => url.origin === authorizationUrl.origin && url.pathname.startsWith(dir);
}

async function openForm(
  agent: BrowserAgent,
  authorizationUrl: string,
  initiator: string | undefined,
): Promise<{ action: string; page: string; hops: Hop[] }> {
  const start = new URL(authorizationUrl);
  const atProvider = providerScope(start);
  const nav = await agent.navigate(authorizationUrl, {
    ...(initiator ? { initiator } : {}),
    stopAt: (url) => !atProvider(url),
  });
  const html = await nav.response.text();
  const match = /<form\b[^>]*\baction="([^"]+)"/.exec(html);
  if (nav.stoppedAt !== null || nav.status !== 200 || !match?.[1]) {
    throw new Error(
      `the development provider did not show its sign-in form (status ${nav.status}` +
        `${nav.stoppedAt ? `, redirected to ${nav.stoppedAt}` : ''}): ${html.slice(0, 300)}`,
    );
  }
  return { action: new URL(decodeEntities(match[1]), nav.url).href, page: nav.url, hops: [...nav.hops] };
}

async function submitForm(
  agent: BrowserAgent,
  authorizationUrl: string,
  fields: Record<string, string>,
  initiator: string | undefined,
): Promise<DevIdpSignInResult> {
  const form = await openForm(agent, authorizationUrl, initiator);
  const atProvider = providerScope(new URL(authorizationUrl));
  const nav = await agent.navigate(form.action, {
    method: 'POST',
    body: fields,
    initiator: form.page,
    stopAt: (url) => !atProvider(url),
  });
  const hops = [...form.hops, ...nav.hops];
  if (nav.stoppedAt === null) {
    const html = await nav.response.text();
    const error = /<p class="error"[^>]*>([^<]*)</.exec(html)?.[1];
    throw new Error(
      `the development provider did not redirect back (status ${nav.status}): ${error ? decodeEntities(error) : html.slice(0, 300)}`,
    );
  }
  return { callbackUrl: nav.stoppedAt, initiator: form.page, hops };
}

/**
 * Navigates to the authorization URL, fills in the sign-in form and follows the provider's
 * redirects until the browser would leave the provider for the redirect URI; returns that URL
 * without requesting it.
 */
export function signInAtDevIdp(
  agent: BrowserAgent,
  authorizationUrl: string,
  options: SignInAtDevIdpOptions,
): Promise<DevIdpSignInResult> {
  return submitForm(
    agent,
    authorizationUrl,
    { email: options.email, name: options.name ?? '', action: 'sign-in' },
    options.initiator,
  );
}

/** Like signInAtDevIdp, but presses "Cancel": the callback URL carries `error=access_denied`. */
export function cancelAtDevIdp(
  agent: BrowserAgent,
  authorizationUrl: string,
  options: { readonly initiator?: string } = {},
): Promise<DevIdpSignInResult> {
  return submitForm(agent, authorizationUrl, { email: '', name: '', action: 'cancel' }, options.initiator);
}
