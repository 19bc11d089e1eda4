/**
 * SECURITY.md J (rules 50–54): proxy mode under attack, against a real upstream that records
 * everything it receives — so "refused" always also means "the upstream saw nothing".
 * Path and smuggling cases go over raw sockets: fetch and node:http would fix them up.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type MintedSession,
  mintSession,
  NAVIGATION,
  openSocket,
  type ProxyFixture,
  rawExchange,
  refusedWith,
  startProxy,
  until,
} from '../helpers/proxy.js';
import { rawRequest } from '../helpers/raw-request.js';
import { startUpstream, type TestUpstream } from '../helpers/upstream.js';

const SECRETS = {
  JWT_SECRET_KEY: 'j-proxy-jwt-key-0123456789abcdef0123456789',
  SECRET_KEY: 's-proxy-secret-key-0123456789abcdef01234567',
};

function statusOf(raw: string): number {
  return Number(/^HTTP\/1\.1 (\d{3})/.exec(raw)?.[1] ?? 0);
}

describe('J. proxy mode', () => {
  let fx: ProxyFixture;
  let alice: MintedSession;
  let host: string;

  beforeAll(async () => {
    fx = await startProxy({
      env: { PUBLIC_PATHS: '/public/**,/health', UPSTREAM_TIMEOUT: '1s', ...SECRETS },
    });
    alice = await mintSession(fx.gh, 'alice@example.com');
    host = new URL(fx.url).host;
  });
  afterAll(async () => fx?.close());

  /** A raw GET; returns the status and whether the upstream saw anything. */
  async function rawGet(target: string, extra = '', method = 'GET') {
    const before = fx.upstream.seen.length;
    const raw = await rawExchange(
      fx.url,
      `${method} ${target} HTTP/1.1\r\nHost: ${host}\r\n${extra}Connection: close\r\n\r\n`,
    );
    return { status: statusOf(raw), raw, reached: fx.upstream.seen.slice(before) };
  }

  it('rule 50: dot segments are resolved before matching: /public/../admin and its encodings are not public', async () => {
    for (const target of [
      '/public/../admin',
      '/public/%2e%2e/admin',
      '/public/.%2E/admin',
      '/public/./../admin',
      '//public/../admin',
    ]) {
      const result = await rawGet(target);
      expect(result.status, target).toBe(401);
      expect(result.reached, target).toEqual([]);
    }
    // Signed in, the upstream receives the very path the policy saw.
    const signedIn = await rawGet('/public/../admin/./x', `Cookie: ${alice.cookie}\r\n`);
    expect(signedIn.status).toBe(200);
    expect(signedIn.reached.map((r) => r.url)).toEqual(['/admin/x']);
    // An absolute-form target would let the client name the host: never forwarded.
    const absolute = await rawGet(`http://evil.example/admin`, `Cookie: ${alice.cookie}\r\n`);
    expect(absolute.status).toBeGreaterThanOrEqual(400);
    expect(absolute.reached).toEqual([]);
    // A long path is one path like any other (no router limit turns it into something else).
    const long = `/deep/${'a'.repeat(1500)}/../x`;
    const deep = await rawGet(long, `Cookie: ${alice.cookie}\r\n`);
    expect(deep.status).toBe(200);
    expect(deep.reached.map((r) => r.url)).toEqual(['/deep/x']);
    const open = await rawGet('/public/a/../b');
    expect(open.status).toBe(200);
    expect(open.reached.map((r) => r.url)).toEqual(['/public/b']);
  });

  it('rule 50: %2F, %5C, %00 and backslashes in the path are refused with 400', async () => {
    for (const target of [
      '/public/..%2Fadmin',
      '/public/%2fadmin',
      '/public/..%5Cadmin',
      '/public/%5cx',
      '/public/a%00',
      '/public\\..\\admin',
    ]) {
      const result = await rawGet(target, `Cookie: ${alice.cookie}\r\n`);
      expect(result.status, target).toBe(400);
      expect(result.reached, target).toEqual([]);
    }
  });

  it('rule 50: case and trailing-slash variants cannot bypass a rule; HEAD follows GET', async () => {
    for (const target of ['/PUBLIC/x', '/Public/x', '/health/', '/Health', '/health/.', '/healthz']) {
      const result = await rawGet(target);
      expect(result.status, target).toBe(401);
      expect(result.reached, target).toEqual([]);
    }
    expect((await rawGet('/public/x', '', 'HEAD')).status).toBe(200);
    const head = await rawGet('/admin', '', 'HEAD');
    expect(head.status).toBe(401);
    expect(head.reached).toEqual([]);
  });

  it("rule 51: the upstream never receives Gatehouse's session cookie, a Gatehouse bearer token, or client-sent X-Auth-* / X-Gatehouse-*", async () => {
    const before = fx.upstream.seen.length;
    await rawRequest(`${fx.url}/api/a`, {
      headers: {
        cookie: `pref=1; ${alice.cookie}; gatehouse-tx-abc=t`,
        'x-auth-user-id': 'someone-else',
        'x-auth-email': 'admin@example.com',
        'X-Auth-Roles': 'admin',
        'x-gatehouse-assertion': 'forged',
        'x-gatehouse-anything': 'forged',
      },
    });
    await rawRequest(`${fx.url}/api/b`, { headers: { authorization: `Bearer ${alice.token}` } });
    // A public path: identity headers are stripped even when no user is signed in, and a
    // Gatehouse token is recognised (and removed) even when it no longer authenticates.
    const revoked = await mintSession(fx.gh, 'revoked@example.com');
    await fx.gh.gatehouse.revocation.revoke(revoked.sessionId, { reason: 'test' });
    await rawRequest(`${fx.url}/public/c`, {
      headers: { 'x-auth-email': 'admin@example.com', authorization: `Bearer ${revoked.token}` },
    });
    const seen = fx.upstream.seen.slice(before);
    expect(seen).toHaveLength(3);
    for (const request of seen) {
      const raw = request.rawHeaders.join('\n');
      expect(raw).not.toContain(alice.token);
      expect(raw).not.toContain(revoked.token);
      expect(raw).not.toContain('someone-else');
      expect(raw).not.toContain('admin@example.com');
      expect(raw).not.toContain('forged');
      expect(raw).not.toContain('gatehouse-tx-');
    }
    expect(seen[0]!.headers['x-auth-user-id']).toBe(alice.userId);
    expect(seen[0]!.headers['x-auth-roles']).toBe('');
    expect(seen[0]!.headers.cookie).toBe('pref=1');
    expect(seen[2]!.headers['x-auth-email']).toBeUndefined();
    expect(seen[2]!.headers.authorization).toBeUndefined();
  });

  it("rule 51: an upstream Set-Cookie for Gatehouse's cookie names is dropped; its own cookies pass", async () => {
    const res = await rawRequest(`${fx.url}/set-cookie`, { headers: { cookie: alice.cookie } });
    expect(res.status).toBe(200);
    expect(res.headers['set-cookie']).toEqual(['theirs=kept; Path=/']);
  });

  describe('rule 52: request smuggling is refused before the upstream sees anything', () => {
    const cases: [string, (cookie: string) => string][] = [
      [
        'rule 52: Content-Length with Transfer-Encoding',
        (c) =>
          `POST /api HTTP/1.1\r\nHost: h\r\nCookie: ${c}\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\nGET /admin HTTP/1.1\r\nHost: h\r\n\r\n`,
      ],
      [
        'rule 52: two different Content-Length values',
        (c) =>
          `POST /api HTTP/1.1\r\nHost: h\r\nCookie: ${c}\r\nContent-Length: 4\r\nContent-Length: 30\r\n\r\nabcdGET /admin HTTP/1.1\r\n\r\n`,
      ],
      [
        'rule 52: a Transfer-Encoding that does not end in chunked',
        (c) =>
          `POST /api HTTP/1.1\r\nHost: h\r\nCookie: ${c}\r\nTransfer-Encoding: chunked, identity\r\n\r\n0\r\n\r\n`,
      ],
      [
        'rule 52: obsolete line folding',
        (c) => `GET /api HTTP/1.1\r\nHost: h\r\nCookie: ${c}\r\nX-Folded: a\r\n b\r\n\r\n`,
      ],
      [
        'rule 52: a space before the colon',
        (c) =>
          `POST /api HTTP/1.1\r\nHost: h\r\nCookie: ${c}\r\nTransfer-Encoding : chunked\r\n\r\n0\r\n\r\n`,
      ],
      [
        'rule 52: a NUL in a header value',
        (c) => `GET /api HTTP/1.1\r\nHost: h\r\nCookie: ${c}\r\nX-Bad: a\u0000b\r\n\r\n`,
      ],
      [
        'rule 52: a bare CR in a header value',
        (c) => `GET /api HTTP/1.1\r\nHost: h\r\nCookie: ${c}\r\nX-Bad: a\rX-Injected: 1\r\n\r\n`,
      ],
      [
        'rule 52: an invalid character in a header name',
        (c) => `GET /api HTTP/1.1\r\nHost: h\r\nCookie: ${c}\r\nX(Bad): 1\r\n\r\n`,
      ],
    ];
    it.each(cases)('%s', async (_name, build) => {
      const before = fx.upstream.seen.length;
      const raw = await rawExchange(fx.url, build(alice.cookie));
      expect(statusOf(raw)).toBe(400);
      expect(fx.upstream.seen.length).toBe(before);
    });
  });

  it('rule 53: a WebSocket upgrade needs a session and an allowed Origin; cross-site WebSocket hijacking is refused', async () => {
    const ws = fx.url.replace('http:', 'ws:');
    const before = fx.upstream.seen.length;
    expect((await refusedWith(`${ws}/socket`, { origin: fx.url })).status).toBe(401);
    expect(
      (await refusedWith(`${ws}/socket`, { cookie: alice.cookie, origin: 'https://evil.example' })).status,
    ).toBe(403);
    expect((await refusedWith(`${ws}/socket`, { cookie: alice.cookie, origin: 'null' })).status).toBe(403);
    expect((await refusedWith(`${ws}/socket`, { cookie: alice.cookie })).status).toBe(403);
    expect(fx.upstream.seen.length).toBe(before);
    const ok = await openSocket(`${ws}/socket`, { cookie: alice.cookie, origin: fx.url });
    expect(ok.first.headers['x-auth-user-id']).toBe(alice.userId);
    ok.ws.close();
  });

  it('rule 53: a revoked session’s WebSocket and stream are closed within 1 s on another instance', async () => {
    // Two instances on one database: revocations reach the other through Redis when it is
    // configured (CI), otherwise through the database poller.
    const redis = process.env.TEST_REDIS_URL;
    const sharedEnv = { ...SECRETS, PUBLIC_PATHS: '/public/**', ...(redis ? { REDIS_URL: redis } : {}) };
    const a = await startProxy({ upstream: fx.upstream, env: sharedEnv });
    const b = await startProxy({
      upstream: fx.upstream,
      databaseUrl: a.gh.config.database.url,
      env: sharedEnv,
    });
    try {
      const bob = await mintSession(a.gh, 'bob@example.com');
      const sock = await openSocket(`${b.url.replace('http:', 'ws:')}/socket`, {
        cookie: bob.cookie,
        origin: b.url,
      });
      const stream = await fetch(`${b.url}/sse`, { headers: { cookie: bob.cookie } });
      const reader = stream.body!.getReader();
      await reader.read();
      let streamEnded = false;
      void (async () => {
        try {
          while (!(await reader.read()).done);
        } catch {
          // destroyed: ended all the same
        }
        streamEnded = true;
      })();

      const revokedAt = Date.now();
      await a.gh.gatehouse.revocation.revoke(bob.sessionId, {
        reason: 'operator',
        type: 'session_revoked',
        userId: bob.userId,
      });
      // Redis delivers at once; the poller within its 1 s interval plus one query.
      const bound = redis ? 1000 : 1500;
      expect(await until(() => sock.closed.code !== undefined && streamEnded, bound)).toBe(true);
      expect(Date.now() - revokedAt).toBeLessThanOrEqual(bound);
      expect(sock.closed.code).toBe(1008);
    } finally {
      await b.close();
      await a.close();
    }
  });

  it('rule 54: upstream refused, reset, slow or answering garbage → 502/504 problem without an internal address; Gatehouse stays healthy', async () => {
    const dead: TestUpstream = await startUpstream();
    await dead.close();
    const gw = await startProxy({
      env: {
        UPSTREAMS: `/dead/=${dead.url},/=${fx.upstream.url}`,
        UPSTREAM_URL: undefined,
        UPSTREAM_TIMEOUT: '1s',
      },
    });
    try {
      const s = await mintSession(gw.gh, 'carol@example.com');
      const expectations: [string, number, string][] = [
        ['/dead/x', 502, 'upstream_unavailable'],
        ['/reset', 502, 'upstream_unavailable'],
        ['/garbage', 502, 'upstream_unavailable'],
        ['/slow', 504, 'upstream_timeout'],
      ];
      for (const [path, status, code] of expectations) {
        const res = await rawRequest(`${gw.url}${path}`, { headers: { cookie: s.cookie } });
        expect(res.status, path).toBe(status);
        expect(JSON.parse(res.body).code, path).toBe(code);
        for (const leak of [
          '127.0.0.1',
          String(fx.upstream.port),
          new URL(dead.url).port,
          'ECONN',
          'UND_ERR',
        ]) {
          expect(res.body, `${path} leaks ${leak}`).not.toContain(leak);
        }
        const page = await rawRequest(`${gw.url}${path}`, { headers: { cookie: s.cookie, ...NAVIGATION } });
        expect(page.status, path).toBe(status);
        expect(page.headers['content-type'], path).toContain('text/html');
        expect(page.body).not.toContain('127.0.0.1');
      }
      const ready = await fetch(`${gw.url}/_gatehouse/readyz`);
      expect(ready.status).toBe(200);
      expect((await rawRequest(`${gw.url}/fine`, { headers: { cookie: s.cookie } })).status).toBe(200);
    } finally {
      await gw.close();
    }
  });
});
