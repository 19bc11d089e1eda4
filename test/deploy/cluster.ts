/**
 * A deployment on loopback for the deploy tests: N Gatehouse instances on one database, a
 * development OpenID provider, a tiny upstream app for forward-auth, and real nginx running the
 * rendered deploy/nginx/gatehouse.conf with a self-signed certificate.
 */
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type BrowserAgent, createBrowser } from '../helpers/browser.js';
import { type StartedDevIdp, startDevIdp } from '../helpers/dev-idp.js';
import { startGatehouse, type TestGatehouse } from '../helpers/gatehouse.js';
import { type RunningNginx, renderTemplate, startNginx } from '../helpers/nginx.js';
import { freePort } from '../helpers/ports.js';
import { rawRequest } from '../helpers/raw-request.js';
import { signInThroughDevIdp } from '../helpers/sign-in.js';
import { createCertificate, type TestCertificate } from '../helpers/tls.js';

/** Requests with full control: one helper for every suite (test/helpers/raw-request.ts). */
export { type RawResponse, rawRequest } from '../helpers/raw-request.js';

export const GATEHOUSE_TEMPLATE = join(import.meta.dirname, '..', '..', 'deploy', 'nginx', 'gatehouse.conf');
export const FRONTEND_TEMPLATE = join(import.meta.dirname, '..', '..', 'deploy', 'nginx', 'frontend.conf');

/** Secrets shared by every instance (they must agree to accept each other's tokens). */
export function sharedSecrets(): Record<string, string> {
  return {
    SECRET_KEY: randomBytes(32).toString('base64url'),
    JWT_SECRET_KEY: randomBytes(32).toString('base64url'),
  };
}

/** The tiny app nginx protects: answers every request with what it received. */
export interface UpstreamApp {
  readonly url: string;
  readonly received: { path: string; headers: IncomingHttpHeaders }[];
  close(): Promise<void>;
}

export async function startUpstreamApp(): Promise<UpstreamApp> {
  const received: UpstreamApp['received'] = [];
  const server: Server = createServer((req, res) => {
    received.push({ path: req.url ?? '', headers: req.headers });
    res.setHeader('content-type', 'application/json');
    res.end(JSON.stringify({ path: req.url, headers: req.headers }));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    received,
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

export interface Cluster {
  readonly publicUrl: string;
  readonly httpsPort: number;
  readonly instances: TestGatehouse[];
  readonly idp: StartedDevIdp;
  readonly app: UpstreamApp;
  readonly nginx: RunningNginx;
  readonly cert: TestCertificate;
  readonly cookieName: string;
  /** Direct (plain HTTP) URL of instance i, bypassing nginx. */
  direct(i: number): string;
  browser(): BrowserAgent;
  close(): Promise<void>;
}

export async function startCluster(options: {
  databaseUrl: string;
  instances: number;
  redisUrl?: string | undefined;
  env?: Record<string, string>;
}): Promise<Cluster> {
  const dir = mkdtempSync(join(tmpdir(), 'gatehouse-deploy-'));
  const cert = createCertificate(dir);
  const httpsPort = await freePort();
  const httpPort = await freePort();
  const publicUrl = `https://localhost:${httpsPort}`;
  const closers: (() => Promise<void>)[] = [async () => rmSync(dir, { recursive: true, force: true })];
  const close = async () => {
    for (const fn of closers.reverse()) await fn().catch(() => {});
  };
  try {
    const idp = await startDevIdp({ host: 'localhost', redirectUris: [`${publicUrl}/auth`] });
    closers.push(() => idp.close());
    const app = await startUpstreamApp();
    closers.push(() => app.close());
    const env = {
      PUBLIC_URL: publicUrl,
      TRUST_PROXY: '127.0.0.1',
      OIDC_ISSUER: idp.issuer,
      GOOGLE_CLIENT_ID: idp.clientId,
      GOOGLE_CLIENT_SECRET: idp.clientSecret,
      REDIS_URL: options.redisUrl,
      ...sharedSecrets(),
      ...options.env,
    };
    const instances: TestGatehouse[] = [];
    // The first applies the migrations; the rest start together (migrations run under a lock).
    const first = await startGatehouse({ databaseUrl: options.databaseUrl, env });
    instances.push(first);
    closers.push(() => first.close());
    const rest = await Promise.all(
      Array.from({ length: options.instances - 1 }, () =>
        startGatehouse({ databaseUrl: options.databaseUrl, env }),
      ),
    );
    for (const gh of rest) {
      instances.push(gh);
      closers.push(() => gh.close());
    }
    const conf = renderTemplate(
      GATEHOUSE_TEMPLATE,
      {
        GATEHOUSE_SERVER_NAME: 'localhost',
        GATEHOUSE_LISTEN: `127.0.0.1:${httpsPort}`,
        GATEHOUSE_HTTP_LISTEN: `127.0.0.1:${httpPort}`,
        GATEHOUSE_TLS_CERT: cert.certPath,
        GATEHOUSE_TLS_KEY: cert.keyPath,
        PROTECTED_APP: app.url,
      },
      instances.map((gh) => `127.0.0.1:${gh.config.port}`),
    );
    const nginx = await startNginx({ dir, confs: { 'gatehouse.conf': conf }, waitForPorts: [httpsPort] });
    closers.push(() => nginx.stop());
    return {
      publicUrl,
      httpsPort,
      instances,
      idp,
      app,
      nginx,
      cert,
      cookieName: first.config.cookie.name,
      direct: (i) => `http://127.0.0.1:${instances[i]!.config.port}`,
      browser: () => createBrowser({ ca: cert.cert }),
      close,
    };
  } catch (err) {
    await close();
    throw err;
  }
}

/** Signs in through nginx; returns the session token and the callback's Set-Cookie header. */
export async function signIn(
  cluster: Pick<Cluster, 'publicUrl' | 'cookieName'>,
  browser: BrowserAgent,
  email: string,
  name = 'Test User',
): Promise<{ token: string; setCookie: string }> {
  const { token, setCookie } = await signInThroughDevIdp(cluster.publicUrl, {
    email,
    name,
    browser,
    cookieName: cluster.cookieName,
  });
  return { token, setCookie };
}

/** Polls `url` with the bearer token until it answers 401; the delay in ms, or throws at the deadline. */
export async function timeUntilRefused(
  url: string,
  token: string,
  since: number,
  deadlineMs = 5_000,
): Promise<number> {
  for (;;) {
    const res = await rawRequest(`${url}/auth/verify`, { headers: { authorization: `Bearer ${token}` } });
    if (res.status === 401) return performance.now() - since;
    if (res.status !== 200) throw new Error(`unexpected ${res.status} from ${url}`);
    if (performance.now() - since > deadlineMs)
      throw new Error(`${url} still accepts the session after ${deadlineMs} ms`);
  }
}

/** How long after `since` each instance took to refuse the token (ms), all polled at once. */
export function timesUntilRefusedEverywhere(
  cluster: Pick<Cluster, 'instances' | 'direct'>,
  token: string,
  since: number,
): Promise<number[]> {
  return Promise.all(cluster.instances.map((_, i) => timeUntilRefused(cluster.direct(i), token, since)));
}

/** Signs the browser out through the proxy, from our own origin; the answer's status. */
export async function signOut(cluster: Pick<Cluster, 'publicUrl'>, browser: BrowserAgent): Promise<number> {
  const logout = await browser.post(`${cluster.publicUrl}/logout`, '', {
    headers: { origin: cluster.publicUrl },
  });
  return logout.status;
}

/** A static frontend for nginx to serve (its page says "My frontend"); returns its root directory. */
export function writeFrontendSite(dir: string): string {
  const root = join(dir, 'www');
  mkdirSync(root);
  writeFileSync(join(root, 'index.html'), '<!doctype html><title>My frontend</title><h1>My frontend</h1>');
  return root;
}

/** The frontend server block's settings (frontend.conf, parent-domain.conf): TLS on 127.0.0.1:`port`. */
export function frontendServerSettings(
  serverName: string,
  port: number,
  root: string,
  cert: TestCertificate,
): Record<string, string> {
  return {
    FRONTEND_SERVER_NAME: serverName,
    FRONTEND_LISTEN: `127.0.0.1:${port}`,
    FRONTEND_ROOT: root,
    FRONTEND_TLS_CERT: cert.certPath,
    FRONTEND_TLS_KEY: cert.keyPath,
  };
}
