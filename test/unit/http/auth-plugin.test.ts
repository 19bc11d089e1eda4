/**
 * The auth plugin's branches (src/http/auth.ts), fast, through `app.inject`: what a request
 * presents (none, malformed, duplicated, empty, conflicting), and what the token is (valid,
 * expired and renewed, expired and refused, revoked, forged). Real session service on a real
 * SQLite file; the clock is moved by hand.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import cookie from '@fastify/cookie';
import Fastify, { type FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../../src/config/index.js';
import type { Config } from '../../../src/config/types.js';
import authPlugin from '../../../src/http/auth.js';
import cookieRules from '../../../src/http/cookies.js';
import errorsPlugin from '../../../src/http/errors.js';
import { createSessionParts, type SessionParts } from '../../../src/session/compose.js';
import { type OpenedStore, openStore } from '../../../src/store/index.js';
import { ManualClock } from '../../helpers/clock.js';
import { identityForTest } from '../../helpers/identity.js';

const META = { ip: '203.0.113.9', userAgent: 'inject' } as const;

describe('auth plugin (app.inject)', () => {
  const clock = new ManualClock(Date.UTC(2031, 4, 1, 9, 0, 0));
  let dir: string;
  let config: Config;
  let store: OpenedStore;
  let parts: SessionParts;
  let app: FastifyInstance;

  const signIn = (subject: string) =>
    parts.service.signIn(
      identityForTest({
        issuer: 'https://issuer.test',
        subject,
        email: `${subject}@example.com`,
        emailVerified: true,
        name: subject,
        picture: null,
        hostedDomain: null,
      }),
      META,
    );
  const me = (headers: Record<string, string>) => app.inject({ method: 'GET', url: '/whoami', headers });
  const cookieHeader = (token: string) => ({ cookie: `${config.cookie.name}=${token}` });
  const clearsCookie = (setCookie: string | string[] | undefined) =>
    [setCookie ?? []].flat().some((c) => c.startsWith(`${config.cookie.name}=;`));

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'gatehouse-auth-plugin-'));
    config = loadConfig({
      env: {
        NODE_ENV: 'test',
        DATABASE_URL: `sqlite:${join(dir, 'gatehouse.db')}`,
        SESSION_TTL: '1d',
        SESSION_IDLE_TTL: '1h',
        TOKEN_TTL: '5m',
      },
      dotenv: false,
    }).config;
    store = await openStore(config.database);
    await store.migrate();
    parts = createSessionParts({ store, config, clock });
    app = Fastify();
    await app.register(errorsPlugin);
    await app.register(cookie, { hook: false });
    await app.register(cookieRules, { config });
    await app.register(authPlugin, { config, sessions: parts.service });
    app.get('/whoami', { preHandler: app.requireUser }, async (request) => request.user);
    await app.ready();
  });
  afterAll(async () => {
    await app?.close();
    await store?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('no credentials: 401 not_authenticated, no cookie touched', async () => {
    const res = await me({});
    expect(res.statusCode).toBe(401);
    expect(res.json()).toMatchObject({ code: 'not_authenticated' });
    expect(res.headers['set-cookie']).toBeUndefined();
  });

  it('a valid cookie or bearer token sets request.user without renewing', async () => {
    const { user, session, token } = await signIn('ada');
    for (const [headers, via] of [
      [cookieHeader(token.token), 'cookie'],
      [{ authorization: `Bearer ${token.token}` }, 'bearer'],
      [{ authorization: `bEaReR   ${token.token}` }, 'bearer'],
    ] as const) {
      const res = await me(headers);
      expect(res.statusCode).toBe(200);
      expect(res.json()).toEqual({
        id: user.id,
        email: user.email,
        name: 'ada',
        sessionId: session.id,
        hostedDomain: null,
        tokenExp: token.expiresAt / 1000,
        roles: [],
        groups: [],
        via,
      });
      expect(res.headers['set-cookie']).toBeUndefined();
      expect(res.headers['x-session-token']).toBeUndefined();
    }
  });

  it('refuses a malformed Authorization header, a duplicated and an empty cookie', async () => {
    const { token } = await signIn('bob');
    const malformed = await me({ authorization: 'Bearer two tokens' });
    expect(malformed.statusCode).toBe(401);
    expect(malformed.json()).toMatchObject({ code: 'invalid_token' });
    expect(malformed.headers['www-authenticate']).toContain('invalid_token');
    expect(clearsCookie(malformed.headers['set-cookie'])).toBe(false);

    const name = config.cookie.name;
    const duplicated = await me({ cookie: `${name}=${token.token}; ${name}=${token.token}` });
    expect(duplicated.statusCode).toBe(401);
    expect(clearsCookie(duplicated.headers['set-cookie'])).toBe(true);

    const empty = await me({ cookie: `${name}=` });
    expect(empty.statusCode).toBe(401);
    expect(clearsCookie(empty.headers['set-cookie'])).toBe(true);
    // Another scheme is not a Gatehouse credential: the cookie decides.
    const basic = await me({ ...cookieHeader(token.token), authorization: 'Basic dXNlcjpwYXNz' });
    expect(basic.statusCode).toBe(200);
  });

  it('a cookie for one user with a bearer token for another is refused', async () => {
    const a = await signIn('carol');
    const b = await signIn('dave');
    const res = await me({ ...cookieHeader(a.token.token), authorization: `Bearer ${b.token.token}` });
    expect([400, 401]).toContain(res.statusCode);
    expect(res.json()).toMatchObject({ code: 'conflicting_credentials' });
    // The same user's two sessions together are not a conflict.
    const a2 = await signIn('carol');
    const same = await me({ ...cookieHeader(a.token.token), authorization: `Bearer ${a2.token.token}` });
    expect(same.statusCode).toBe(200);
    expect(same.json()).toMatchObject({ sessionId: a2.session.id, via: 'bearer' });
  });

  it('an expired token is renewed: a fresh cookie for cookie clients, X-Session-Token for bearer ones', async () => {
    const { token, session } = await signIn('erin');
    clock.advance(6 * 60_000);
    const viaCookie = await me(cookieHeader(token.token));
    expect(viaCookie.statusCode).toBe(200);
    const set = [viaCookie.headers['set-cookie'] ?? []].flat();
    const fresh = set.find(
      (c) => c.startsWith(`${config.cookie.name}=`) && !c.startsWith(`${config.cookie.name}=;`),
    );
    expect(fresh).toBeDefined();
    expect(fresh).not.toContain(token.token);

    const viaBearer = await me({ authorization: `Bearer ${token.token}` });
    expect(viaBearer.statusCode).toBe(200);
    const renewed = String(viaBearer.headers['x-session-token'] ?? '');
    expect(renewed).not.toBe('');
    expect(parts.service.check(renewed)).toMatchObject({ ok: true, claims: { sid: session.id } });
  });

  it('an expired token whose session went idle is refused, and its cookie cleared', async () => {
    const { token } = await signIn('frank');
    clock.advance(61 * 60_000);
    const res = await me(cookieHeader(token.token));
    expect(res.statusCode).toBe(401);
    expect(res.json()).toMatchObject({ code: 'session_expired' });
    expect(clearsCookie(res.headers['set-cookie'])).toBe(true);
  });

  it('a revoked session is refused at once (no database read), forged tokens too', async () => {
    const { token, session, user } = await signIn('grace');
    await parts.revocation.revoke(session.id, { reason: 'test', userId: user.id });
    const revoked = await me(cookieHeader(token.token));
    expect(revoked.statusCode).toBe(401);
    expect(revoked.json()).toMatchObject({ code: 'session_revoked' });
    expect(clearsCookie(revoked.headers['set-cookie'])).toBe(true);

    const [h, p] = token.token.split('.');
    const forged = await me({ authorization: `Bearer ${h}.${p}.${'A'.repeat(43)}` });
    expect(forged.statusCode).toBe(401);
    expect(forged.json()).toMatchObject({ code: 'invalid_token' });
    expect(clearsCookie(forged.headers['set-cookie'])).toBe(false);
  });
});
