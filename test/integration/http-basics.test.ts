/**
 * The HTTP surface every route shares: problem+json errors, health, API docs, request logs.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Fixture, signIn, startWithProvider } from '../helpers/sign-in.js';

describe('HTTP basics', () => {
  let fx: Fixture;
  beforeAll(async () => {
    fx = await startWithProvider();
  });
  afterAll(async () => fx?.close());

  it('answers unknown routes with a problem+json 404 that does not reflect the path', async () => {
    const res = await fetch(`${fx.gh.url}/no/such/<script>`);
    expect(res.status).toBe(404);
    expect(res.headers.get('content-type')).toContain('application/problem+json');
    const body = (await res.json()) as Record<string, unknown>;
    expect(body).toMatchObject({ status: 404, code: 'not_found', title: 'Not found' });
    expect(JSON.stringify(body)).not.toContain('<script>');
    expect(typeof body.type).toBe('string');
    expect(res.headers.get('x-request-id')).toBe(body.request_id);
  });

  it('answers a protected route without credentials with 401 JSON, never a redirect', async () => {
    const res = await fetch(`${fx.gh.url}/chat`, { redirect: 'manual', headers: { accept: 'text/html' } });
    expect(res.status).toBe(401);
    expect(res.headers.get('www-authenticate')).toBe('Bearer realm="gatehouse"');
    expect(((await res.json()) as { code: string }).code).toBe('not_authenticated');
  });

  it('validates bodies with a clear 400, refuses oversized bodies with 413 and other media types with 415', async () => {
    const { token } = await signIn(fx, 'validate@example.com');
    const auth = { authorization: `Bearer ${token}` };
    const empty = await fetch(`${fx.gh.url}/chat`, {
      method: 'POST',
      headers: { ...auth, 'content-type': 'application/json' },
      body: JSON.stringify({ message: '' }),
    });
    expect(empty.status).toBe(400);
    const emptyBody = (await empty.json()) as { code: string; detail: string };
    expect(emptyBody.code).toBe('validation_failed');
    expect(emptyBody.detail).toContain('message');

    const broken = await fetch(`${fx.gh.url}/chat`, {
      method: 'POST',
      headers: { ...auth, 'content-type': 'application/json' },
      body: '{"message": "unterminated',
    });
    expect(broken.status).toBe(400);
    expect(((await broken.json()) as { code: string }).code).toBe('bad_request');

    const polluted = await fetch(`${fx.gh.url}/chat`, {
      method: 'POST',
      headers: { ...auth, 'content-type': 'application/json' },
      body: '{"message":"hi","__proto__":{"admin":true}}',
    });
    expect(polluted.status).toBe(400);

    const huge = await fetch(`${fx.gh.url}/chat`, {
      method: 'POST',
      headers: { ...auth, 'content-type': 'application/json' },
      body: JSON.stringify({ message: 'x'.repeat(200_000) }),
    });
    expect(huge.status).toBe(413);
    expect(((await huge.json()) as { code: string }).code).toBe('payload_too_large');

    const xml = await fetch(`${fx.gh.url}/chat`, {
      method: 'POST',
      headers: { ...auth, 'content-type': 'application/xml' },
      body: '<message>hi</message>',
    });
    expect(xml.status).toBe(415);

    const ok = await fetch(`${fx.gh.url}/chat`, {
      method: 'POST',
      headers: { ...auth, 'content-type': 'application/json' },
      body: JSON.stringify({ message: 'hello' }),
    });
    expect(ok.status).toBe(200);
  });

  it('GET /logout changes nothing: 405, the session still works', async () => {
    const { browser } = await signIn(fx, 'getlogout@example.com');
    const res = await browser.get(`${fx.gh.url}/logout`);
    expect(res.status).toBe(405);
    expect(res.headers.get('allow')).toBe('POST');
    expect((await browser.get(`${fx.gh.url}/chat`)).status).toBe(200);
  });

  it('reports liveness and readiness with each dependency', async () => {
    const live = await fetch(`${fx.gh.url}/healthz`);
    expect(live.status).toBe(200);
    expect(await live.json()).toEqual({ status: 'ok' });
    const ready = await fetch(`${fx.gh.url}/readyz`);
    expect(ready.status).toBe(200);
    const body = (await ready.json()) as { status: string; checks: Record<string, { ok: boolean }> };
    expect(body.status).toBe('ready');
    expect(body.checks.database?.ok).toBe(true);
    expect(body.checks.provider).toBeDefined();
  });

  it('documents every route in /openapi.json and serves interactive docs at /docs', async () => {
    const doc = (await (await fetch(`${fx.gh.url}/openapi.json`)).json()) as {
      openapi: string;
      paths: Record<string, Record<string, unknown>>;
    };
    expect(doc.openapi).toMatch(/^3\./);
    const expected: [string, string][] = [
      ['/login', 'get'],
      ['/auth', 'get'],
      ['/logout', 'post'],
      ['/me', 'get'],
      ['/sessions', 'get'],
      ['/sessions', 'delete'],
      ['/sessions/{id}', 'delete'],
      ['/chat', 'get'],
      ['/chat', 'post'],
      ['/chat/messages', 'get'],
      ['/auth/verify', 'get'],
      ['/healthz', 'get'],
      ['/readyz', 'get'],
    ];
    for (const [path, method] of expected)
      expect(doc.paths[path]?.[method], `${method.toUpperCase()} ${path}`).toBeDefined();
    const docs = await fetch(`${fx.gh.url}/docs`, { redirect: 'follow' });
    expect(docs.status).toBe(200);
    expect(await docs.text()).toContain('swagger');
  });

  it('logs one line per request with method, route, status and time, and never the cookie', async () => {
    const { token } = await signIn(fx, 'logs@example.com');
    await fetch(`${fx.gh.url}/chat`, { headers: { cookie: `${fx.gh.config.cookie.name}=${token}` } });
    const lines = fx.gh.logs.filter((l) => l.msg === 'request' && l.route === '/chat');
    expect(lines.length).toBeGreaterThan(0);
    expect(lines.at(-1)).toMatchObject({ method: 'GET', route: '/chat', status: 200 });
    expect(typeof lines.at(-1)?.ms).toBe('number');
    expect(typeof lines.at(-1)?.reqId).toBe('string');
    expect(JSON.stringify(fx.gh.logs)).not.toContain(token);
  });
});
