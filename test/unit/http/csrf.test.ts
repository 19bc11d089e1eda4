/**
 * The CSRF plugin's branches through `app.inject` (SECURITY G31): which requests it lets through
 * and which it answers 403 `csrf_rejected`, without a server on a port. The end-to-end cases
 * (a real browser, cookies set by a real sign-in) are in test/security/g-csrf-cors-bearer.test.ts.
 */
import Fastify, { type FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import csrfPlugin, { isAllowedOrigin } from '../../../src/http/csrf.js';
import { testConfig } from '../../helpers/config.js';

const config = testConfig({ FRONTEND_URL: 'http://127.0.0.1:3000/', CORS_ORIGINS: 'http://127.0.0.1:3000' });
const SESSION = `${config.cookie.name}=a.b.c`;
const OURS = config.publicOrigin;
const FRONTEND = 'http://127.0.0.1:3000';
const EVIL = 'https://evil.example';

let app: FastifyInstance;
beforeAll(async () => {
  app = Fastify();
  await app.register(csrfPlugin, { config });
  app.route({
    method: ['GET', 'HEAD', 'OPTIONS', 'POST', 'PUT', 'PATCH', 'DELETE'],
    url: '/x',
    handler: async () => 'ran',
  });
  await app.ready();
});
afterAll(() => app.close());

async function send(method: string, headers: Record<string, string>) {
  const response = await app.inject({ method: method as 'POST', url: '/x', headers });
  return { status: response.statusCode, ran: response.body === 'ran', response };
}

describe('CSRF plugin', () => {
  it('refuses a cookie-authenticated state change from a foreign origin with 403 csrf_rejected', async () => {
    for (const method of ['POST', 'PUT', 'PATCH', 'DELETE']) {
      const { status, ran, response } = await send(method, { cookie: SESSION, origin: EVIL });
      expect({ method, status, ran }).toEqual({ method, status: 403, ran: false });
      expect(response.headers['content-type']).toContain('application/problem+json');
      expect(response.json()).toMatchObject({ code: 'csrf_rejected', status: 403 });
    }
  });

  it('lets safe methods through whatever their origin', async () => {
    for (const method of ['GET', 'HEAD', 'OPTIONS']) {
      const { status } = await send(method, {
        cookie: SESSION,
        origin: EVIL,
        'sec-fetch-site': 'cross-site',
      });
      expect({ method, status }).toEqual({ method, status: 200 });
    }
  });

  it('lets through requests that carry no session cookie, or a Bearer token', async () => {
    expect((await send('POST', { origin: EVIL })).ran).toBe(true);
    expect((await send('POST', { cookie: 'other=1', origin: EVIL })).ran).toBe(true);
    expect((await send('POST', { cookie: SESSION, origin: EVIL, authorization: 'Bearer a.b.c' })).ran).toBe(
      true,
    );
  });

  it('counts a duplicated session cookie as a cookie', async () => {
    expect((await send('POST', { cookie: `${SESSION}; ${SESSION}`, origin: EVIL })).status).toBe(403);
  });

  it('accepts our own origins: the public one and the frontend', async () => {
    expect((await send('POST', { cookie: SESSION, origin: OURS })).ran).toBe(true);
    expect((await send('POST', { cookie: SESSION, origin: FRONTEND })).ran).toBe(true);
    // Exact origins only: no look-alike suffix, no other scheme or port.
    for (const origin of [`${OURS}.evil.example`, OURS.replace('http:', 'https:'), 'http://127.0.0.1:8001']) {
      expect({ origin, status: (await send('POST', { cookie: SESSION, origin })).status }).toEqual({
        origin,
        status: 403,
      });
    }
  });

  it('decides by Fetch Metadata when Origin is null or absent', async () => {
    const cases: Array<[Record<string, string>, boolean]> = [
      [{ origin: 'null', 'sec-fetch-site': 'same-origin' }, true],
      [{ origin: 'null', 'sec-fetch-site': 'cross-site' }, false],
      [{ origin: 'null' }, false],
      [{}, true], // a non-browser client
      [{ 'sec-fetch-site': 'same-origin' }, true],
      [{ 'sec-fetch-site': 'none' }, true], // typed in the address bar, a bookmark
      [{ 'sec-fetch-site': 'same-site' }, false],
      [{ 'sec-fetch-site': 'cross-site' }, false],
    ];
    for (const [headers, allowed] of cases) {
      const { ran } = await send('POST', { cookie: SESSION, ...headers });
      expect({ headers, ran }).toEqual({ headers, ran: allowed });
      expect(isAllowedOrigin(headers, new Set(config.trustedOrigins))).toBe(allowed);
    }
  });
});
