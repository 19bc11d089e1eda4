/**
 * SECURITY.md M (rules 60–62): authorization — access rules, roles and groups, the admin guard.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Roles } from '../../src/authz/roles.js';
import { ConfigError, loadConfig } from '../../src/config/index.js';
import { type AuthzRig, bearer, rigAudit, startAuthzRig, until } from './support/authz-rig.js';

const RULES = [
  { path: '/status', public: true },
  { path: '/static/**', methods: ['GET'], public: true },
  { path: '/admin/**', allow: { roles: ['admin'] } },
  {
    path: '/reports/*',
    methods: ['POST'],
    allow: { domains: ['finance.example.com'], emails: ['cfo@example.com'] },
  },
  { path: '/ops/**', allow: { groups: ['ops@example.com'] } },
];

async function verify(rig: AuthzRig, uri: string, headers: Record<string, string> = {}, method = 'GET') {
  const res = await fetch(`${rig.url}/auth/verify`, {
    headers: { 'x-original-uri': uri, 'x-original-method': method, ...headers },
  });
  const body = await res.text();
  return { status: res.status, headers: res.headers, body };
}

async function deniedCount(rig: AuthzRig, via: string): Promise<number> {
  const text = await rig.gh.metrics.render();
  const line = text.split('\n').find((l) => l.startsWith(`gatehouse_access_denied_total{via="${via}"}`));
  return line === undefined ? 0 : Number(line.split(' ').at(-1));
}

async function queryCount(rig: AuthzRig): Promise<number> {
  const text = await rig.gh.metrics.render();
  return (
    text
      .split('\n')
      // Background work is not a decision's query: the scrape counts live sessions
      // (gatehouse_active_sessions) and the revocation poller reads every second.
      .filter(
        (l) =>
          l.startsWith('gatehouse_db_query_duration_seconds_count') &&
          !l.includes('countActive') &&
          !l.includes('revokedSince') &&
          !l.includes('authzChanges.since'),
      )
      .reduce((sum, l) => sum + Number(l.split(' ').at(-1)), 0)
  );
}

describe('M. authorization', () => {
  let rig: AuthzRig;
  let admin: string;
  let user: string;
  let finance: string;

  beforeAll(async () => {
    rig = await startAuthzRig({
      rules: RULES,
      env: { BOOTSTRAP_ADMINS: 'Boss@Example.com', TOKEN_TTL: '60s' },
      routes: (app) => {
        app.get('/lib/admin', { preHandler: app.requireRole('admin') }, async (request) => ({
          roles: request.user?.roles,
        }));
        app.get('/lib/ops', { preHandler: app.requireGroup('Ops@Example.com') }, async () => ({ ok: true }));
        app.get('/admin/panel', { preHandler: app.requireRule() }, async () => ({ panel: true }));
        app.get('/status', { preHandler: app.requireRule() }, async () => ({ up: true }));
        app.get('/files/*', { preHandler: app.requireRule() }, async () => ({ file: true }));
        app.get('/anything', { preHandler: app.requireRule() }, async (request) => ({
          who: request.user?.email,
        }));
      },
    });
    admin = await rig.signIn('boss@example.com');
    user = await rig.signIn('someone@example.com');
    finance = await rig.signIn('ann@finance.example.com');
  });
  afterAll(async () => rig?.close());

  it('rule 60: an access rule file with an error refuses to start, naming the line and field', () => {
    const dir = mkdtempSync(join(tmpdir(), 'gatehouse-rules-'));
    try {
      const text = [
        '[',
        '  { "path": "/ok/**", "allow": { "roles": ["admin"] } },',
        '  { "path": "admin", "public": true },',
        '  {',
        '    "path": "/x/*.js",',
        '    "methods": ["get"],',
        '    "allow": {',
        '      "roles": ["Admin"],',
        '      "emails": ["not-an-email"],',
        '      "colour": ["blue"]',
        '    }',
        '  },',
        '  { "path": "/y", "public": true, "allow": { "roles": ["a"] } },',
        '  { "path": "/z", "allow": {} }',
        ']',
      ].join('\n');
      writeFileSync(join(dir, 'rules.json'), text);
      const load = () =>
        loadConfig({ env: { NODE_ENV: 'test', ACCESS_RULES_FILE: 'rules.json' }, cwd: dir, dotenv: false });
      expect(load).toThrow(ConfigError);
      let message = '';
      try {
        load();
      } catch (err) {
        message = (err as Error).message;
      }
      const file = join(dir, 'rules.json');
      expect(message).toContain(`${file}:3: [1].path: must start with "/"`);
      expect(message).toContain(`${file}:5: [2].path: "*" and "**" must be whole segments`);
      expect(message).toContain(`${file}:6: [2].methods[0]: must be an upper-case HTTP method`);
      expect(message).toContain(`${file}:8: [2].allow.roles[0]: is not a role name`);
      expect(message).toContain(`${file}:9: [2].allow.emails[0]: must be an email address`);
      expect(message).toContain(`${file}:10: [2].allow.colour: unknown field`);
      expect(message).toContain(`${file}:13: [3].allow: a public rule cannot also have "allow"`);
      expect(message).toContain(`${file}:14: [4].allow: names nobody`);
      // Not JSON at all: the line of the syntax error.
      writeFileSync(join(dir, 'rules.json'), '[\n  { "path": "/a" },\n  { "path": "/b", }\n]\n');
      expect(load).toThrow(/rules\.json:3: \(file\): not valid JSON: expected a quoted key/);
      writeFileSync(join(dir, 'rules.json'), '[{"path": "/a", "path": "/b"}]');
      expect(load).toThrow(/:1: \(file\): not valid JSON: duplicate key "path"/);
      writeFileSync(join(dir, 'rules.json'), '{"path": "/a"}');
      expect(load).toThrow(/:1: \(file\): must be a JSON array of rules/);
      rmSync(join(dir, 'rules.json'));
      expect(load).toThrow(/ACCESS_RULES_FILE: cannot be read \(ENOENT\)/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('rule 60: rules are evaluated on the normalised path (dot segments, case, encoded separators)', async () => {
    const h = bearer(user);
    expect((await verify(rig, '/admin/users', h)).status).toBe(403);
    for (const sneaky of [
      '/status/../admin/users',
      '/ADMIN/users',
      '/Admin',
      '//admin/x',
      '/%61dmin/x',
      '/static/../admin',
    ]) {
      expect((await verify(rig, sneaky, h)).status, sneaky).toBe(403);
    }
    for (const refused of ['/admin%2Fusers', '/status%2F..%2Fadmin', '/a\\b', '/x%00', '/x%5cadmin']) {
      expect((await verify(rig, refused, h)).status, refused).toBe(403);
    }
    // Public paths need no session, and only in their exact case.
    const open = await verify(rig, '/status?x=1');
    expect(open.status).toBe(200);
    expect(open.headers.get('x-auth-user-id')).toBeNull();
    expect((await verify(rig, '/Status')).status).toBe(401);
    expect((await verify(rig, '/static/app.js')).status).toBe(200);
    expect((await verify(rig, '/static/app.js', {}, 'POST')).status).toBe(401);
    // The admin passes; roles travel to nginx in X-Auth-Roles.
    const ok = await verify(rig, '/admin/users/../x', bearer(admin));
    expect(ok.status).toBe(200);
    expect(ok.headers.get('x-auth-roles')).toBe('admin');
    // Methods and domains/emails.
    expect((await verify(rig, '/reports/q3', h, 'POST')).status).toBe(403);
    expect((await verify(rig, '/reports/q3', h, 'GET')).status).toBe(200);
    expect((await verify(rig, '/reports/q3', bearer(finance), 'POST')).status).toBe(200);
    // No matching rule: any signed-in user; signed out: 401.
    expect((await verify(rig, '/else', h)).status).toBe(200);
    expect((await verify(rig, '/else')).status).toBe(401);
  });

  it('rule 60: a refused request gets 403 forbidden (problem+json, HTML for navigations) and is counted', async () => {
    const before = await deniedCount(rig, 'verify');
    const api = await verify(rig, '/admin/x', bearer(user));
    expect(api.status).toBe(403);
    expect(api.headers.get('content-type')).toContain('application/problem+json');
    expect(JSON.parse(api.body)).toMatchObject({ code: 'forbidden', status: 403 });
    expect(await deniedCount(rig, 'verify')).toBe(before + 1);

    const ruleBefore = await deniedCount(rig, 'rule');
    // inject: fetch() does not let a caller set Sec-Fetch-Mode.
    const page = await rig.gh.app.inject({
      method: 'GET',
      url: '/admin/panel',
      headers: { ...bearer(user), 'sec-fetch-mode': 'navigate', accept: 'text/html' },
    });
    expect(page.statusCode).toBe(403);
    expect(page.headers['content-type']).toContain('text/html');
    expect(page.body).toContain('You do not have access');
    expect(await deniedCount(rig, 'rule')).toBe(ruleBefore + 1);
  });

  it('rule 60: no rule decision needs the database', async () => {
    // Warm: the tokens verified once, and any renewal behind us (the bootstrap grant at sign-in
    // is a role change: tokens issued in its second renew until that second is over).
    const settle = async (token: string) => {
      let current = token;
      await until(async () => {
        const fresh = (await verify(rig, '/else', bearer(current))).headers.get('x-session-token');
        if (fresh === null) return true;
        current = fresh;
        return false;
      }, 5_000);
      return current;
    };
    admin = await settle(admin);
    user = await settle(user);
    const before = await queryCount(rig);
    for (let i = 0; i < 20; i++) {
      expect((await verify(rig, '/admin/x', bearer(i % 2 ? admin : user))).status).toBe(i % 2 ? 200 : 403);
      expect((await fetch(`${rig.url}/admin/panel`, { headers: bearer(user) })).status).toBe(403);
      expect((await fetch(`${rig.url}/status`)).status).toBe(200);
    }
    expect(await queryCount(rig)).toBe(before);
  });

  it('rule 61: a role change reaches the next request within the revocation bound, not TOKEN_TTL', async () => {
    const [account] = await rig.gh.store.users.findByEmail('someone@example.com');
    const token = await rig.signIn('promoted@example.com');
    expect((await verify(rig, '/admin/x', bearer(token))).status).toBe(403);
    const [promoted] = await rig.gh.store.users.findByEmail('promoted@example.com');
    const roles = new Roles({ store: rig.gh.store, audit: rigAudit(rig), clock: rig.clock });
    expect(await roles.grant(promoted!.id, 'admin', { by: 'cli' })).toBe(true);
    // The clock does not move: the token is far from expiry (TOKEN_TTL 60s), yet the next
    // poll (≤ REVOCATION_POLL_INTERVAL) makes it renew, and the renewal reads the new role.
    let current = token;
    const ask = async () => {
      const res = await verify(rig, '/admin/x', bearer(current));
      current = res.headers.get('x-session-token') ?? current;
      return res.status;
    };
    const granted = await until(async () => (await ask()) === 200, 5_000);
    expect(granted).toBeLessThan(3_000);
    expect(current).not.toBe(token);
    expect(await roles.revoke(promoted!.id, 'admin', { by: 'cli' })).toBe(true);
    const taken = await until(async () => (await ask()) === 403, 5_000);
    expect(taken).toBeLessThan(3_000);
    // Another user's token is not disturbed (no renewal: no fresh token in the answer).
    const other = await verify(rig, '/else', bearer(user));
    expect(other.status).toBe(200);
    expect(other.headers.get('x-session-token')).toBeNull();
    expect(account).toBeDefined();
    const kinds = (await rig.gh.store.events.list({ userId: promoted!.id })).map(
      (e) => `${e.type}:${e.reason}`,
    );
    expect(kinds).toEqual(expect.arrayContaining(['role_granted:admin', 'role_revoked:admin']));
  });

  it('rule 62: admin-only library guards answer only to the admin role (BOOTSTRAP_ADMINS at sign-in)', async () => {
    expect((await fetch(`${rig.url}/lib/admin`)).status).toBe(401);
    const refused = await fetch(`${rig.url}/lib/admin`, { headers: bearer(user) });
    expect(refused.status).toBe(403);
    expect(((await refused.json()) as { code: string }).code).toBe('forbidden');
    const allowed = await fetch(`${rig.url}/lib/admin`, { headers: bearer(admin) });
    expect(allowed.status).toBe(200);
    expect(await allowed.json()).toEqual({ roles: ['admin'] });
    // The bootstrap grant is audited like any other.
    const [boss] = await rig.gh.store.users.findByEmail('boss@example.com');
    const events = await rig.gh.store.events.list({ userId: boss!.id, type: 'role_granted' });
    expect(events.map((e) => e.reason)).toEqual(['admin']);
  });

  it('library guards: requireGroup refuses a user outside the group; requireRule applies the file', async () => {
    expect((await fetch(`${rig.url}/lib/ops`, { headers: bearer(admin) })).status).toBe(403);
    expect((await fetch(`${rig.url}/lib/ops`)).status).toBe(401);
    expect((await fetch(`${rig.url}/admin/panel`, { headers: bearer(admin) })).status).toBe(200);
    expect((await fetch(`${rig.url}/admin/panel`)).status).toBe(401);
    const any = await fetch(`${rig.url}/anything`, { headers: bearer(user) });
    expect(await any.json()).toEqual({ who: 'someone@example.com' });
    // A path that could mean two things is refused before any rule.
    const odd = await fetch(`${rig.url}/files/a%2F..%2Fadmin`, { headers: bearer(admin) });
    expect(odd.status).toBe(400);
    expect(((await odd.json()) as { code: string }).code).toBe('bad_request');
    expect((await fetch(`${rig.url}/files/a`, { headers: bearer(admin) })).status).toBe(200);
  });
});
