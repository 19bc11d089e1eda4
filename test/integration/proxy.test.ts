/**
 * Proxy mode over real HTTP (DESIGN.md "Proxy mode: UPSTREAM_URL"): own routes under the
 * prefix, anonymous navigations vs API calls, what the upstream receives, responses as they came,
 * bodies streamed both ways, 502/504, several upstreams.
 */
import { createHash } from 'node:crypto';
import { request as httpRequest } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type MintedSession,
  mintSession,
  NAVIGATION,
  type ProxyFixture,
  startProxy,
  until,
} from '../helpers/proxy.js';
import { rawRequest } from '../helpers/raw-request.js';
import { type EchoBody, startUpstream, type TestUpstream } from '../helpers/upstream.js';

async function echo(res: Response): Promise<EchoBody> {
  expect(res.headers.get('x-upstream')).toBe('yes');
  return (await res.json()) as EchoBody;
}

describe('proxy mode', () => {
  let fx: ProxyFixture;
  let alice: MintedSession;

  beforeAll(async () => {
    fx = await startProxy({ env: { PUBLIC_PATHS: '/health,/static/*,/docs/**' } });
    alice = await mintSession(fx.gh, 'alice@example.com', 'Zoë Ångström');
  });
  afterAll(async () => fx?.close());

  it("serves Gatehouse's own routes under /_gatehouse and not at the root", async () => {
    expect((await fetch(`${fx.url}/_gatehouse/healthz`)).status).toBe(200);
    const me = await fetch(`${fx.url}/_gatehouse/me`, { headers: { cookie: alice.cookie } });
    expect(me.status).toBe(200);
    expect(((await me.json()) as { email: string }).email).toBe('alice@example.com');
    expect((await fetch(`${fx.url}/_gatehouse/openapi.json`)).status).toBe(200);
    expect((await fetch(`${fx.url}/_gatehouse/docs/`)).status).toBe(200);
    // /healthz is the upstream's path now: anonymous API call → 401, nothing forwarded.
    const before = fx.upstream.seen.length;
    const root = await fetch(`${fx.url}/healthz`);
    expect(root.status).toBe(401);
    expect(fx.upstream.seen.length).toBe(before);
    // An unknown path under the prefix is Gatehouse's 404, never the upstream's.
    const unknown = await fetch(`${fx.url}/_gatehouse/nothing-here`, { headers: { cookie: alice.cookie } });
    expect(unknown.status).toBe(404);
    expect(fx.upstream.seen.length).toBe(before);
  });

  it('sends an anonymous navigation to sign in, with the original URL to come back to', async () => {
    const res = await rawRequest(`${fx.url}/reports/2024?q=a%20b`, { headers: NAVIGATION });
    expect(res.status).toBe(302);
    const location = new URL(String(res.headers.location));
    expect(location.pathname).toBe('/_gatehouse/login');
    expect(location.searchParams.get('return_to')).toBe(`${fx.url}/reports/2024?q=a%20b`);
    // An HTML Accept without fetch metadata (an old browser) is a navigation too.
    const old = await rawRequest(`${fx.url}/reports`, { headers: { accept: 'text/html' } });
    expect(old.status).toBe(302);
    // A form post navigation is not redirected: the body would be lost.
    const post = await rawRequest(`${fx.url}/reports`, { method: 'POST', headers: NAVIGATION });
    expect(post.status).toBe(401);
    // The login route it points at works and uses the prefixed callback.
    const login = await fetch(location, { redirect: 'manual' });
    expect(login.status).toBe(302);
    const authorize = new URL(login.headers.get('location')!);
    expect(authorize.searchParams.get('redirect_uri')).toBe(`${fx.url}/_gatehouse/auth`);
    expect(authorize.pathname.startsWith('/_gatehouse/dev-idp')).toBe(true);
  });

  it('answers an anonymous API call with the 401 problem, never a redirect', async () => {
    const cases: Record<string, string>[] = [
      {},
      { 'sec-fetch-mode': 'cors', accept: 'text/html' },
      { accept: 'application/json' },
    ];
    for (const headers of cases) {
      const res = await rawRequest(`${fx.url}/api/items`, { headers });
      expect(res.status).toBe(401);
      expect(res.headers['content-type']).toContain('application/problem+json');
      expect(JSON.parse(res.body).code).toBe('not_authenticated');
    }
    const revokedish = await fetch(`${fx.url}/api/items`, {
      headers: { authorization: 'Bearer not.a.token' },
    });
    expect(revokedish.status).toBe(401);
    expect(((await revokedish.json()) as { code: string }).code).toBe('invalid_token');
  });

  it('forwards a signed-in request with the identity, the normalised path and the query as sent', async () => {
    const res = await fetch(`${fx.url}/api/./items//42/../43?x=1&y=%20`, {
      headers: { cookie: `theme=dark; ${alice.cookie}; lang=fr`, 'x-custom': 'kept' },
    });
    expect(res.status).toBe(200);
    const seen = await echo(res);
    expect(seen.url).toBe('/api/items/43?x=1&y=%20');
    expect(seen.headers['x-auth-user-id']).toBe(alice.userId);
    expect(seen.headers['x-auth-email']).toBe('alice@example.com');
    expect(decodeURIComponent(String(seen.headers['x-auth-name']))).toBe('Zoë Ångström');
    expect(seen.headers['x-auth-name']).toBe('Zo%C3%AB%20%C3%85ngstr%C3%B6m');
    expect(seen.headers['x-auth-roles']).toBe('');
    expect(seen.headers['x-auth-groups']).toBe('');
    expect(seen.headers.cookie).toBe('theme=dark; lang=fr');
    expect(seen.headers['x-custom']).toBe('kept');
    expect(seen.headers['x-request-id']).toBe(res.headers.get('x-request-id'));
    expect(seen.headers['x-forwarded-for']).toBe('127.0.0.1');
    expect(seen.headers['x-forwarded-proto']).toBe('http');
    expect(seen.headers['x-forwarded-host']).toBe(new URL(fx.url).host);
    expect(seen.headers.host).toBe(new URL(fx.upstream.url).host);
    // The signed assertion is there (its claims are checked in unit/http/proxy-assertion.test.ts).
    expect(String(seen.headers['x-gatehouse-assertion'])).toMatch(/^eyJ[\w-]+\.[\w-]+\.[\w-]+$/);
  });

  it('drops the Cookie header when only Gatehouse cookies were in it, and a Gatehouse bearer token', async () => {
    const seen = await echo(
      await fetch(`${fx.url}/api/x`, { headers: { cookie: `${alice.cookie}; gatehouse-tx-123=abc` } }),
    );
    expect(seen.headers.cookie).toBeUndefined();
    const bearer = await echo(
      await fetch(`${fx.url}/api/x`, { headers: { authorization: `Bearer ${alice.token}` } }),
    );
    expect(bearer.headers.authorization).toBeUndefined();
    expect(bearer.headers['x-auth-email']).toBe('alice@example.com');
  });

  it('proxies PUBLIC_PATHS without a session, and nothing else', async () => {
    for (const path of ['/health', '/static/app.js', '/docs', '/docs/a/b/c.html']) {
      const res = await fetch(`${fx.url}${path}`);
      expect(res.status, path).toBe(200);
      const seen = await echo(res);
      expect(seen.headers['x-auth-user-id'], path).toBeUndefined();
    }
    for (const path of ['/Health', '/health/', '/static/a/b.js', '/static/', '/healthz']) {
      expect((await fetch(`${fx.url}${path}`)).status, path).toBe(401);
    }
    // With a session, a public path still carries the identity.
    const seen = await echo(await fetch(`${fx.url}/health`, { headers: { cookie: alice.cookie } }));
    expect(seen.headers['x-auth-email']).toBe('alice@example.com');
  });

  it('answers preflights itself (CORS_ORIGINS decides), without forwarding them', async () => {
    const before = fx.upstream.seen.length;
    const res = await rawRequest(`${fx.url}/api/items`, {
      method: 'OPTIONS',
      headers: { origin: 'https://evil.example', 'access-control-request-method': 'POST' },
    });
    expect(res.headers['access-control-allow-origin']).toBeUndefined();
    expect(res.headers['access-control-allow-credentials']).toBeUndefined();
    expect(fx.upstream.seen.length).toBe(before);
  });

  it('HEAD follows GET', async () => {
    expect((await fetch(`${fx.url}/health`, { method: 'HEAD' })).status).toBe(200);
    expect((await fetch(`${fx.url}/private`, { method: 'HEAD' })).status).toBe(401);
    const head = await fetch(`${fx.url}/private`, { method: 'HEAD', headers: { cookie: alice.cookie } });
    expect(head.status).toBe(200);
    expect(fx.upstream.seen.at(-1)?.method).toBe('HEAD');
  });

  it("returns the upstream's response as it came, without Gatehouse's own security headers", async () => {
    const res = await fetch(`${fx.url}/api/x`, { headers: { cookie: alice.cookie } });
    expect(res.headers.get('x-upstream')).toBe('yes');
    expect(res.headers.get('content-security-policy')).toBeNull();
    expect(res.headers.get('x-frame-options')).toBeNull();
    // Gatehouse's own pages keep theirs.
    const own = await fetch(`${fx.url}/_gatehouse/healthz`);
    expect(own.headers.get('content-security-policy')).not.toBeNull();
  });

  it('streams a 5 MB upload and a 5 MB download through, beyond the 64 KiB limit of its own routes', async () => {
    const body = Buffer.alloc(5 * 1024 * 1024, 0x62);
    const up = await fetch(`${fx.url}/upload`, {
      method: 'POST',
      headers: { cookie: alice.cookie, 'content-type': 'application/octet-stream' },
      body,
    });
    expect(up.status).toBe(200);
    expect(await up.json()).toEqual({
      size: body.length,
      sha256: createHash('sha256').update(body).digest('hex'),
    });

    // Chunked (no Content-Length) and JSON-typed bodies are streamed too, not parsed.
    const chunked = await new Promise<{ size: number }>((resolve, reject) => {
      const { port } = new URL(fx.url);
      const req = httpRequest(
        {
          host: '127.0.0.1',
          port,
          method: 'PUT',
          path: '/upload',
          headers: { cookie: alice.cookie, 'content-type': 'application/json' },
        },
        (res) => {
          let text = '';
          res.on('data', (c) => {
            text += c;
          });
          res.on('end', () => resolve(JSON.parse(text) as { size: number }));
        },
      );
      req.on('error', reject);
      for (let i = 0; i < 80; i++) req.write(Buffer.alloc(64 * 1024, 0x7b));
      req.end();
    });
    expect(chunked.size).toBe(80 * 64 * 1024);

    const down = await fetch(`${fx.url}/download?bytes=${5 * 1024 * 1024}`, {
      headers: { cookie: alice.cookie },
    });
    expect(down.status).toBe(200);
    let received = 0;
    for await (const chunk of down.body!) received += (chunk as Uint8Array).length;
    expect(received).toBe(5 * 1024 * 1024);
  });

  it('streams the request body: the upstream has the request before the client has sent it all', async () => {
    const { port } = new URL(fx.url);
    const before = fx.upstream.seen.length;
    const done = new Promise<{ size: number }>((resolve, reject) => {
      const req = httpRequest(
        { host: '127.0.0.1', port, method: 'POST', path: '/upload', headers: { cookie: alice.cookie } },
        (res) => {
          let text = '';
          res.on('data', (c) => {
            text += c;
          });
          res.on('end', () => resolve(JSON.parse(text) as { size: number }));
        },
      );
      req.on('error', reject);
      req.write(Buffer.alloc(1024, 0x61));
      // The rest is sent only once the upstream has seen the request: a buffering proxy would
      // wait for the end of the body first, and this would never happen.
      until(() => fx.upstream.seen.length > before, 5000).then((arrived) => {
        if (!arrived) reject(new Error('the upstream saw nothing before the body ended'));
        req.end(Buffer.alloc(1024, 0x62));
      }, reject);
    });
    expect((await done).size).toBe(2048);
  });

  it('PRESERVE_HOST passes the client Host', async () => {
    const preserving = await startProxy({ env: { PRESERVE_HOST: 'true' }, upstream: fx.upstream });
    try {
      const session = await mintSession(preserving.gh, 'host@example.com');
      const seen = await echo(await fetch(`${preserving.url}/x`, { headers: { cookie: session.cookie } }));
      expect(seen.headers.host).toBe(new URL(preserving.url).host);
    } finally {
      await preserving.close();
    }
  });

  it('the demo page and the /chat sample are off: the upstream owns /', async () => {
    const root = await echo(await fetch(`${fx.url}/`, { headers: { cookie: alice.cookie } }));
    expect(root.url).toBe('/');
    const chat = await echo(await fetch(`${fx.url}/chat`, { headers: { cookie: alice.cookie } }));
    expect(chat.url).toBe('/chat');
    expect((await fetch(`${fx.url}/_gatehouse/chat`, { headers: { cookie: alice.cookie } })).status).toBe(
      404,
    );
  });
});

describe('proxy mode: upstream failures', () => {
  let fx: ProxyFixture;
  let bob: MintedSession;
  beforeAll(async () => {
    fx = await startProxy({ env: { UPSTREAM_TIMEOUT: '1s' } });
    bob = await mintSession(fx.gh, 'bob@example.com');
  });
  afterAll(async () => fx?.close());

  async function failure(path: string, headers: Record<string, string> = {}) {
    const res = await rawRequest(`${fx.url}${path}`, { headers: { cookie: bob.cookie, ...headers } });
    return { status: res.status, type: String(res.headers['content-type'] ?? ''), body: res.body };
  }

  it('a reset → 502 upstream_unavailable; garbage → 502; no headers in time → 504 upstream_timeout', async () => {
    const reset = await failure('/reset');
    expect(reset.status).toBe(502);
    expect(JSON.parse(reset.body).code).toBe('upstream_unavailable');
    const garbage = await failure('/garbage');
    expect(garbage.status).toBe(502);
    const slow = await failure('/slow');
    expect(slow.status).toBe(504);
    expect(JSON.parse(slow.body).code).toBe('upstream_timeout');
    for (const body of [reset.body, garbage.body, slow.body]) {
      expect(body).not.toContain('127.0.0.1');
      expect(body).not.toContain(String(fx.upstream.port));
    }
    // Still healthy afterwards.
    expect((await fetch(`${fx.url}/_gatehouse/healthz`)).status).toBe(200);
    expect((await failure('/fine')).status).toBe(200);
  });

  it('a navigation gets a small HTML page instead of JSON', async () => {
    const page = await failure('/reset', NAVIGATION);
    expect(page.status).toBe(502);
    expect(page.type).toContain('text/html');
    expect(page.body).toContain('The upstream is unavailable');
    expect(page.body).not.toContain(String(fx.upstream.port));
  });

  it('a dead upstream (closed port) → 502 without its address', async () => {
    const dead: TestUpstream = await startUpstream();
    const deadUrl = dead.url;
    await dead.close();
    const gw = await startProxy({ env: { UPSTREAM_URL: deadUrl } });
    try {
      const session = await mintSession(gw.gh, 'dead@example.com');
      const res = await fetch(`${gw.url}/x`, { headers: { cookie: session.cookie } });
      expect(res.status).toBe(502);
      const text = await res.text();
      expect(JSON.parse(text).code).toBe('upstream_unavailable');
      expect(text).not.toContain(new URL(deadUrl).port);
    } finally {
      await gw.close();
    }
  });
});

describe('proxy mode: several upstreams', () => {
  it('routes by the longest matching prefix, on whole segments, keeping the path', async () => {
    const api = await startUpstream();
    const web = await startUpstream();
    const fx = await startProxy({
      env: { UPSTREAM_URL: undefined, UPSTREAMS: `/api/=${api.url}/base,/=${web.url}` },
    });
    try {
      const s = await mintSession(fx.gh, 'multi@example.com');
      const a = await echo(await fetch(`${fx.url}/api/v1/x`, { headers: { cookie: s.cookie } }));
      expect(a.url).toBe('/base/api/v1/x');
      expect(api.seen.length).toBe(1);
      const w = await echo(await fetch(`${fx.url}/apix`, { headers: { cookie: s.cookie } }));
      expect(w.url).toBe('/apix');
      expect(web.seen.length).toBe(1);
    } finally {
      await fx.close();
      await api.close();
      await web.close();
    }
  });
});
