/**
 * Access rules through nginx (deploy/nginx/gatehouse.conf): `auth_request` sends X-Original-URI and
 * X-Original-Method, and /auth/verify lets the rules decide — public paths without a session,
 * 403 for a signed-in user a rule refuses (the app never reached), roles passed on in X-Auth-Roles
 * (a forged one replaced).
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { nginxSkipReason } from '../helpers/nginx.js';
import { type Cluster, rawRequest, signIn, startCluster } from './cluster.js';

const skip = nginxSkipReason();

describe.skipIf(skip !== undefined)(`access rules through nginx${skip ? ` — skipped: ${skip}` : ''}`, () => {
  let cluster: Cluster;
  let dir: string;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'gatehouse-fa-rules-'));
    const rules = join(dir, 'rules.json');
    writeFileSync(
      rules,
      JSON.stringify([
        { path: '/app/public/**', public: true },
        { path: '/app/admin/**', allow: { roles: ['admin'] } },
      ]),
    );
    cluster = await startCluster({
      databaseUrl: `sqlite:${join(dir, 'gatehouse.db')}`,
      instances: 1,
      env: { ACCESS_RULES_FILE: rules, BOOTSTRAP_ADMINS: 'boss@example.com' },
    });
  });

  afterAll(async () => {
    await cluster?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const get = (path: string, headers: Record<string, string> = {}) =>
    rawRequest(`${cluster.publicUrl}${path}`, {
      headers: { accept: 'application/json', ...headers },
      ca: cluster.cert.cert,
    });

  it('lets a public path through without a session, and refuses the rest with 401', async () => {
    const reached = cluster.app.received.length;
    expect((await get('/app/public/logo.png')).status).toBe(200);
    expect(cluster.app.received.length).toBe(reached + 1);
    expect((await get('/app/admin/users')).status).toBe(401);
    expect(cluster.app.received.length).toBe(reached + 1);
  });

  it('refuses a signed-in user a rule does not allow with 403, and lets the admin through with X-Auth-Roles', async () => {
    const { token: mallory } = await signIn(cluster, cluster.browser(), 'mallory@example.com', 'Mallory');
    const reached = cluster.app.received.length;
    const refused = await get('/app/admin/users', { cookie: `${cluster.cookieName}=${mallory}` });
    expect(refused.status).toBe(403);
    const encoded = await get('/app/admin%2Fusers', { cookie: `${cluster.cookieName}=${mallory}` });
    expect(encoded.status).toBe(403);
    expect(cluster.app.received.length).toBe(reached);
    expect((await get('/app/other', { cookie: `${cluster.cookieName}=${mallory}` })).status).toBe(200);

    const { token: boss } = await signIn(cluster, cluster.browser(), 'boss@example.com', 'Boss');
    const allowed = await get('/app/admin/users', {
      cookie: `${cluster.cookieName}=${boss}`,
      'x-auth-roles': 'root',
    });
    expect(allowed.status).toBe(200);
    const seen = JSON.parse(allowed.body) as { headers: Record<string, string> };
    expect(seen.headers['x-auth-roles']).toBe('admin');
  });
});
