/**
 * Forward-auth: nginx (deploy/nginx/gatehouse.conf's /app/ block) protects a separate tiny
 * upstream app with `auth_request` to GET /auth/verify. Without a session a browser is sent to
 * sign in and comes back to the URL it asked for; API clients get 401; with a session the
 * upstream sees the identity headers, and an identity header forged by the client never reaches it.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signInAtDevIdp } from '../helpers/dev-idp.js';
import { nginxSkipReason } from '../helpers/nginx.js';
import { type Cluster, rawRequest, signIn, startCluster } from './cluster.js';

const skip = nginxSkipReason();

describe.skipIf(skip !== undefined)(`forward-auth through nginx${skip ? ` — skipped: ${skip}` : ''}`, () => {
  let cluster: Cluster;
  let dir: string;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'gatehouse-fa-'));
    cluster = await startCluster({ databaseUrl: `sqlite:${join(dir, 'gatehouse.db')}`, instances: 2 });
  });

  afterAll(async () => {
    await cluster?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('sends a browser without a session to sign in, and back to the protected URL afterwards', async () => {
    const browser = cluster.browser();
    const protectedUrl = `${cluster.publicUrl}/app/report?year=2024&q=a%26b`;
    const reached = cluster.app.received.length;
    const nav = await browser.navigate(protectedUrl, {
      stopAt: (url) => url.origin !== new URL(cluster.publicUrl).origin,
    });
    expect(cluster.app.received.length).toBe(reached);
    const toLogin = new URL(nav.hops[0]!.headers.get('location')!);
    expect(nav.hops[0]!.status).toBe(302);
    expect(toLogin.pathname).toBe('/login');
    expect(toLogin.searchParams.get('return_to')).toBe(protectedUrl);
    expect(nav.stoppedAt?.startsWith(cluster.idp.issuer)).toBe(true);

    const { callbackUrl } = await signInAtDevIdp(browser, nav.stoppedAt!, {
      email: 'eve@example.com',
      name: 'Ève',
    });
    const back = await browser.navigate(callbackUrl);
    expect(back.url).toBe(protectedUrl);
    expect(back.status).toBe(200);
    const seen = (await back.response.json()) as { path: string; headers: Record<string, string> };
    expect(seen.path).toBe('/app/report?year=2024&q=a%26b');
    expect(seen.headers['x-auth-email']).toBe('eve@example.com');
    expect(decodeURIComponent(seen.headers['x-auth-name']!)).toBe('Ève');
    expect(seen.headers['x-auth-user-id']).toMatch(/.+/);
  });

  it('answers 401 (never a redirect) to a request that is not a navigation, and the app is not reached', async () => {
    const reached = cluster.app.received.length;
    const res = await rawRequest(`${cluster.publicUrl}/app/data.json`, {
      headers: { accept: 'application/json', 'x-auth-email': 'admin@example.com', 'x-auth-user-id': '1' },
      ca: cluster.cert.cert,
    });
    expect(res.status).toBe(401);
    expect(String(res.headers['content-type'])).toContain('application/problem+json');
    expect(JSON.parse(res.body).code).toBe('not_authenticated');
    expect(cluster.app.received.length).toBe(reached);
  });

  it('passes the real identity, never a forged identity header, to the upstream', async () => {
    const browser = cluster.browser();
    const { token } = await signIn(cluster, browser, 'mallory@example.com', 'Mallory');
    const res = await rawRequest(`${cluster.publicUrl}/app/whoami`, {
      headers: {
        cookie: `${cluster.cookieName}=${token}`,
        'x-auth-email': 'admin@example.com',
        'x-auth-user-id': 'forged-id',
        'x-auth-name': 'Admin',
      },
      ca: cluster.cert.cert,
    });
    expect(res.status).toBe(200);
    const seen = JSON.parse(res.body) as { headers: Record<string, string | string[]> };
    expect(seen.headers['x-auth-email']).toBe('mallory@example.com');
    expect(seen.headers['x-auth-name']).toBe('Mallory');
    expect(seen.headers['x-auth-user-id']).not.toBe('forged-id');
    expect(JSON.stringify(seen.headers)).not.toContain('admin@example.com');

    // Signed out: the next request is refused before the app.
    const logout = await browser.post(`${cluster.publicUrl}/logout`, '', {
      headers: { origin: cluster.publicUrl },
    });
    expect(logout.status).toBe(204);
    // The instance that signed out refuses at once, the other after its next poll (≤ 1 s).
    await Promise.all(cluster.instances.map((gh) => gh.gatehouse.revocation.catchUp()));
    const reached = cluster.app.received.length;
    const settled = await rawRequest(`${cluster.publicUrl}/app/whoami`, {
      headers: { cookie: `${cluster.cookieName}=${token}`, accept: 'application/json' },
      ca: cluster.cert.cert,
    });
    expect(settled.status).toBe(401);
    expect(cluster.app.received.length).toBe(reached);
  });

  it('keeps GET /auth/verify itself fast: no database query on the hot path', async () => {
    const browser = cluster.browser();
    const { token } = await signIn(cluster, browser, 'fast@example.com');
    const res = await rawRequest(`${cluster.direct(0)}/auth/verify`, {
      headers: { cookie: `${cluster.cookieName}=${token}` },
    });
    expect(res.status).toBe(200);
    expect(res.headers['x-auth-email']).toBe('fast@example.com');
    // With the database closed the hot path still answers (it never touches the store).
    await cluster.instances[1]!.gatehouse.store.close();
    const again = await rawRequest(`${cluster.direct(1)}/auth/verify`, {
      headers: { cookie: `${cluster.cookieName}=${token}` },
    });
    expect(again.status).toBe(200);
  });
});
