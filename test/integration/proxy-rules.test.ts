/**
 * Access rules in proxy mode (DESIGN.md "Authorization"; SECURITY.md 50, 60): ACCESS_RULES_FILE
 * decides on the same normalised path the upstream receives. A `public` rule opens a path to
 * anonymous callers, a refused signed-in request gets 403 `forbidden` and never reaches the
 * upstream, and HEAD follows GET.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mintSession, openSocket, type ProxyFixture, refusedWith, startProxy } from '../helpers/proxy.js';

describe('proxy mode: access rules', () => {
  let dir: string;
  let fx: ProxyFixture;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'gatehouse-proxy-rules-'));
    const rules = join(dir, 'rules.json');
    writeFileSync(
      rules,
      JSON.stringify([
        { path: '/status', public: true },
        { path: '/admin/**', allow: { roles: ['admin'] } },
      ]),
    );
    fx = await startProxy({
      env: { ACCESS_RULES_FILE: rules, BOOTSTRAP_ADMINS: 'boss@example.com' },
    });
  });
  afterAll(async () => {
    await fx?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('a public rule opens a path without a session; others still need one', async () => {
    const before = fx.upstream.seen.length;
    expect((await fetch(`${fx.url}/status`)).status).toBe(200);
    expect(fx.upstream.seen.length).toBe(before + 1);
    const closed = await fetch(`${fx.url}/admin/panel`);
    expect(closed.status).toBe(401);
  });

  it('refuses a signed-in user without the role with 403, upstream untouched, bypasses included', async () => {
    const user = await mintSession(fx.gh, 'someone@example.com');
    const before = fx.upstream.seen.length;
    for (const path of ['/admin/panel', '/Admin/panel', '/public/../admin/panel', '/admin/panel/']) {
      for (const method of ['GET', 'HEAD', 'POST']) {
        const res = await fetch(`${fx.url}${path}`, {
          method,
          headers: { authorization: `Bearer ${user.token}` },
        });
        expect(res.status, `${method} ${path}`).toBe(403);
        if (method !== 'HEAD') expect(((await res.json()) as { code: string }).code).toBe('forbidden');
      }
    }
    expect(fx.upstream.seen.length).toBe(before);
    // Any signed-in user elsewhere (the default rule).
    expect(
      (await fetch(`${fx.url}/api`, { headers: { authorization: `Bearer ${user.token}` } })).status,
    ).toBe(200);
  });

  it('lets the admin through, with the role in X-Auth-Roles', async () => {
    const admin = await mintSession(fx.gh, 'boss@example.com');
    const res = await fetch(`${fx.url}/admin/panel`, { headers: { authorization: `Bearer ${admin.token}` } });
    expect(res.status).toBe(200);
    const seen = (await res.json()) as { headers: Record<string, string> };
    expect(seen.headers['x-auth-roles']).toBe('admin');
  });
});

describe('proxy mode: access rules on WebSocket handshakes', () => {
  let dir: string;
  let fx: ProxyFixture;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'gatehouse-proxy-ws-rules-'));
    const rules = join(dir, 'rules.json');
    writeFileSync(rules, JSON.stringify([{ path: '/admin/**', allow: { roles: ['admin'] } }]));
    fx = await startProxy({ env: { ACCESS_RULES_FILE: rules, BOOTSTRAP_ADMINS: 'boss@example.com' } });
  });
  afterAll(async () => {
    await fx?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('refuses the handshake with 403 for a user the rule refuses, and relays it for the admin', async () => {
    const wsUrl = fx.url.replace('http:', 'ws:');
    const user = await mintSession(fx.gh, 'someone@example.com');
    const before = fx.upstream.seen.length;
    const refused = await refusedWith(`${wsUrl}/admin/live`, { authorization: `Bearer ${user.token}` });
    expect(refused.status).toBe(403);
    expect(fx.upstream.seen.length).toBe(before);

    const admin = await mintSession(fx.gh, 'boss@example.com');
    const sock = await openSocket(`${wsUrl}/admin/live`, { authorization: `Bearer ${admin.token}` });
    expect(sock.first.headers['x-auth-roles']).toBe('admin');
    sock.ws.close();
  });
});
