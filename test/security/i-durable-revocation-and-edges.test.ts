/**
 * SECURITY.md I (rules 41–49): durable revocation and safe edges, found by a review of wave 1.
 * Each test reproduces the reported attack against real parts and asserts the fixed behaviour.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../src/config/index.js';
import { createLogger } from '../../src/logger.js';
import { safeReturnTo } from '../../src/oidc/return-to.js';
import { purge } from '../../src/runtime.js';
import { createSessionParts, type SessionParts } from '../../src/session/compose.js';
import { MAX_MESSAGE_LENGTH, parseRevocationMessage } from '../../src/session/redis-bus.js';
import { MAX_REVOKED_IN_MEMORY } from '../../src/session/revocations.js';
import type { RevocationBus } from '../../src/session/types.js';
import { openStore } from '../../src/store/index.js';
import type { Store } from '../../src/store/types.js';
import { createBrowser } from '../helpers/browser.js';
import { startHostileProvider } from '../helpers/hostile-provider.js';
import { identityForTest } from '../helpers/identity.js';
import { sqliteDatabase, testConfig } from '../unit/session/config.js';
import {
  callbackUrlFor,
  expectRejected,
  openCallback,
  problemCode,
  type Rig,
  rawRequest,
  signIn,
  snapshot,
  startRig,
  TestClock,
  until,
} from './support/rig.js';

/** Fixed keys, so a restarted instance accepts the tokens of the one before (as in production). */
const KEYS = { SECRET_KEY: 's'.repeat(48), JWT_SECRET_KEY: 'j'.repeat(48) };

/** A fresh SQLite file that several instances (restarts) share. */
function sharedDatabase(): { url: string; path: string; remove(): void } {
  const dir = mkdtempSync(join(tmpdir(), 'gatehouse-i-'));
  const path = join(dir, 'gatehouse.db');
  return { url: `sqlite:${path}`, path, remove: () => rmSync(dir, { recursive: true, force: true }) };
}

async function me(rig: Rig, token: string): Promise<{ status: number; code: string | undefined }> {
  const response = await rawRequest(`${rig.url}/me`, {
    headers: { cookie: `${rig.gh.config.cookie.name}=${token}` },
  });
  return { status: response.status, code: problemCode(response.body) };
}

async function logout(rig: Rig, token: string): Promise<void> {
  const response = await rawRequest(`${rig.url}/logout`, {
    method: 'POST',
    headers: { cookie: `${rig.gh.config.cookie.name}=${token}` },
  });
  expect(response.status).toBe(204);
}

/** Session parts on their own store and clock, as another instance (or the CLI) would have. */
async function instance(path: string, now: () => number, bus?: RevocationBus) {
  const config = testConfig({ database: sqliteDatabase(path) });
  const store: Store = await openStore(config.database);
  await store.migrate();
  const sessions = createSessionParts({ store, config, clock: { now }, bus });
  return { config, store, sessions };
}

async function signedIn(_store: Store, sessions: SessionParts, who: string) {
  const result = await sessions.service.signIn(
    identityForTest({
      issuer: 'https://issuer.test',
      subject: `subject-${who}`,
      email: `${who}@example.com`,
      emailVerified: true,
      name: null,
      picture: null,
      hostedDomain: null,
    }),
    { ip: null, userAgent: null },
  );
  return { session: result.session, token: result.token.token };
}

describe('I. durable revocation and safe edges', () => {
  describe('revocation', () => {
    it('rule 41: a signed-out session stays refused after a purge and a restart', async () => {
      const db = sharedDatabase();
      try {
        const first = await startRig({ databaseUrl: db.url, env: KEYS });
        const { token } = await signIn(first);
        expect((await me(first, token)).status).toBe(200);
        await logout(first, token);
        expect((await me(first, token)).status).toBe(401);
        // The automatic purge (and `sessions purge`), then a deploy.
        const { gatehouse, config } = first.gh;
        await purge(gatehouse.store, config, first.clock, createLogger(config, { destination: devNull() }));
        await first.close();

        const second = await startRig({ databaseUrl: db.url, idp: first.idp, env: KEYS });
        try {
          const answer = await me(second, token);
          expect(answer.status).toBe(401);
          expect(answer.code).toBe('session_revoked');
        } finally {
          await second.close();
        }
      } finally {
        db.remove();
      }
    });

    it('rule 41: lowering TOKEN_TTL does not bring back a revoked session', async () => {
      const db = sharedDatabase();
      try {
        const first = await startRig({ databaseUrl: db.url, env: { ...KEYS, TOKEN_TTL: '1h' } });
        const { token } = await signIn(first);
        await logout(first, token);
        await first.close();

        // Restarted 200 s later, well past the new TOKEN_TTL + skew: the old instance remembered the
        // revocation for 1 h, the new one only for 40 s; the token is good for an hour.
        const clock = new TestClock();
        clock.offsetMs = 200_000;
        const second = await startRig({
          databaseUrl: db.url,
          idp: first.idp,
          clock,
          env: { ...KEYS, TOKEN_TTL: '10s' },
        });
        try {
          const answer = await me(second, token);
          expect(answer.status).toBe(401);
          expect(answer.code).toBe('session_revoked');
        } finally {
          await second.close();
        }
      } finally {
        db.remove();
      }
    });

    it("rule 41: revocations are compared on the database's clock, not the revoker's", async () => {
      const db = sharedDatabase();
      // The revoker (a CLI on another host) runs 60 s behind; there is no Redis.
      const behind = await instance(db.path, () => Date.now() - 60_000);
      const server = await instance(db.path, () => Date.now());
      try {
        const { session, token } = await signedIn(server.store, server.sessions, 'clock');
        await server.sessions.revocation.start();
        expect(server.sessions.service.check(token).ok).toBe(true);
        await behind.sessions.revocation.revoke(session.id, { reason: 'operator' });
        await server.sessions.revocation.catchUp();
        expect(server.sessions.service.check(token)).toMatchObject({ ok: false, reason: 'revoked' });
      } finally {
        await server.sessions.revocation.stop();
        await server.store.close();
        await behind.store.close();
        db.remove();
      }
    });

    it('rule 42: a flood of revocation messages stays bounded and never un-revokes', async () => {
      const db = sharedDatabase();
      let deliver: ((ids: readonly string[]) => void) | undefined;
      const bus: RevocationBus = {
        publish: async () => {},
        subscribe: async (listener) => {
          deliver = listener;
        },
        close: async () => {},
      };
      const server = await instance(db.path, () => Date.now(), bus);
      try {
        const revoked = await signedIn(server.store, server.sessions, 'revoked');
        const kept = await signedIn(server.store, server.sessions, 'kept');
        await server.sessions.revocation.start();
        await server.sessions.revocation.revoke(revoked.session.id, { reason: 'user_sign_out' });
        expect(server.sessions.service.check(revoked.token)).toMatchObject({ ok: false, reason: 'revoked' });

        // 130 messages × 500 junk ids: more than the set holds.
        let n = 0;
        for (let m = 0; m < 130; m++) {
          deliver!(Array.from({ length: 500 }, () => `junk-session-id-${String(n++).padStart(8, '0')}`));
        }
        expect(server.sessions.revocation.size).toBeLessThanOrEqual(MAX_REVOKED_IN_MEMORY);
        // The revoked token is still refused: on the hot path it now needs the database…
        const check = server.sessions.service.check(revoked.token);
        expect(check.ok).toBe(false);
        expect('claims' in check).toBe(true);
        // …and the database says revoked.
        if ('claims' in check) {
          await expect(
            server.sessions.service.renew(check.claims, { ip: null, userAgent: null }),
          ).rejects.toMatchObject({ code: 'session_revoked' });
        }
        // A live session only pays one renewal.
        const live = server.sessions.service.check(kept.token);
        expect(live).toMatchObject({ ok: false, reason: 'expired' });
        if ('claims' in live) {
          const renewed = await server.sessions.service.renew(live.claims, { ip: null, userAgent: null });
          expect(renewed.session.id).toBe(kept.session.id);
        }
      } finally {
        await server.sessions.revocation.stop();
        await server.store.close();
        db.remove();
      }
    });

    it('rule 42: one revocation message carries at most 500 ids and a bounded length', () => {
      const id = (i: number) => `session-${String(i).padStart(14, '0')}`;
      expect(parseRevocationMessage(JSON.stringify({ ids: [id(1)] }))).toEqual([id(1)]);
      expect(
        parseRevocationMessage(JSON.stringify({ ids: Array.from({ length: 500 }, (_, i) => id(i)) })),
      ).toHaveLength(500);
      expect(
        parseRevocationMessage(JSON.stringify({ ids: Array.from({ length: 501 }, (_, i) => id(i)) })),
      ).toBeUndefined();
      const long = JSON.stringify({ ids: [id(1)], pad: 'x'.repeat(MAX_MESSAGE_LENGTH) });
      expect(parseRevocationMessage(long)).toBeUndefined();
    });
  });

  describe('edges', () => {
    let rig: Rig;
    beforeAll(async () => {
      rig = await startRig({
        env: { FRONTEND_URL: 'https://app.example.com/', ALLOWED_RETURN_ORIGINS: 'https://app.example.com' },
      });
    });
    afterAll(async () => {
      await rig?.close();
    });

    async function verifyHeadersFor(email: string, name: string) {
      rig.idp.identity = { sub: `sub-${encodeURIComponent(email)}`, email, name };
      try {
        const { token } = await signIn(rig);
        const response = await rawRequest(`${rig.url}/auth/verify`, {
          headers: { cookie: `${rig.gh.config.cookie.name}=${token}` },
        });
        expect(response.status, response.body).toBe(200);
        return response.headers;
      } finally {
        rig.idp.identity = undefined;
      }
    }

    it('rule 43: identity headers are percent-encoded UTF-8, never a 500 and never another account', async () => {
      const japanese = await verifyHeadersFor('山田@example.jp', '山田 太郎');
      expect(japanese['x-auth-email']).toBe('%E5%B1%B1%E7%94%B0@example.jp');
      expect(japanese['x-auth-name']).toBe('%E5%B1%B1%E7%94%B0%20%E5%A4%AA%E9%83%8E');
      const latin = await verifyHeadersFor('zoë@example.com', 'Zoë');
      const lookalike = await verifyHeadersFor('zoÃ«@example.com', 'ZoÃ«');
      expect(latin['x-auth-email']).toBe('zo%C3%AB@example.com');
      expect(lookalike['x-auth-email']).toBe('zo%C3%83%C2%AB@example.com');
      expect(decodeURIComponent(String(latin['x-auth-email']))).toBe('zoë@example.com');
      expect(decodeURIComponent(String(lookalike['x-auth-email']))).toBe('zoÃ«@example.com');
      for (const headers of [japanese, latin, lookalike]) {
        for (const name of ['x-auth-user-id', 'x-auth-email', 'x-auth-name']) {
          expect(String(headers[name])).toMatch(/^[\x21-\x7e]+$/);
        }
      }
      // A plain ASCII address arrives exactly as stored.
      const plain = await verifyHeadersFor('plain.user+tag@example.com', 'Plain');
      expect(plain['x-auth-email']).toBe('plain.user+tag@example.com');
    });

    it('rule 44: a burst of cross-site /login navigations keeps a few small transaction cookies and never causes 431', async () => {
      const browser = createBrowser();
      const longPath = `/${'a'.repeat(2000)}`;
      for (let i = 0; i < 12; i++) {
        const response = await browser.navigate(`${rig.url}/login?return_to=${longPath}`, {
          initiator: 'https://evil.example',
          stopAt: () => true,
        });
        expect(response.hops[0]!.status).toBe(302);
      }
      const prefix = rig.gh.config.cookie.transactionPrefix;
      const tx = browser.cookies('127.0.0.1').filter((c) => c.name.startsWith(prefix));
      expect(tx.length).toBeLessThanOrEqual(3);
      for (const cookie of tx) expect(cookie.value.length).toBeLessThan(2000);
      const after = await browser.get(`${rig.url}/healthz`);
      expect(after.status).toBe(200);
      // A sign-in started now still completes.
      await signIn(rig, browser);
    });

    it('rule 49: a return_to whose resolved path begins with // or a backslash falls back to FRONTEND_URL', () => {
      const config = rig.gh.config;
      for (const raw of [
        '/..//evil.com',
        '/../..//evil.com/x',
        '/a/../..//evil.com',
        '/%2e%2e//evil.com',
        '/.%2e//evil.com',
        'https://app.example.com/..//evil.com',
        'https://app.example.com//evil.com',
      ]) {
        expect(safeReturnTo(raw, config), raw).toBe(config.frontendUrl);
      }
      // Ordinary paths still work.
      expect(safeReturnTo('/a/../b?x=1', config)).toBe('https://app.example.com/b?x=1');
    });
  });

  describe('API rate limit', () => {
    it('rule 46: RATE_LIMIT_API limits the signed-in API per user and per client IP; 429 + Retry-After', async () => {
      const rig = await startRig({ env: { RATE_LIMIT_API: '5/1m', TRUST_PROXY: '127.0.0.1' } });
      try {
        const a = await signIn(rig);
        const b = await signIn(rig);
        const call = (token: string, ip: string, path = '/chat', method = 'GET') =>
          rawRequest(`${rig.url}${path}`, {
            method,
            headers: {
              cookie: `${rig.gh.config.cookie.name}=${token}`,
              'x-forwarded-for': ip,
              ...(method === 'POST' ? { 'content-type': 'application/json' } : {}),
            },
            ...(method === 'POST' ? { body: JSON.stringify({ message: 'hi' }) } : {}),
          });
        // One user from ten addresses: the per-user budget, shared by GET /chat, /me and POST /chat.
        const statuses: number[] = [];
        for (let i = 0; i < 10; i++) {
          const path = i % 3 === 0 ? '/me' : '/chat';
          statuses.push(
            (await call(a.token, `198.51.100.${i + 1}`, path, i % 3 === 1 ? 'POST' : 'GET')).status,
          );
        }
        expect(statuses.slice(0, 5).every((s) => s === 200)).toBe(true);
        expect(statuses.slice(5)).toEqual([429, 429, 429, 429, 429]);
        const limited = await call(a.token, '198.51.100.99', '/chat', 'POST');
        expect(limited.status).toBe(429);
        expect(String(limited.headers['content-type'])).toContain('application/problem+json');
        expect(problemCode(limited.body)).toBe('rate_limited');
        expect(Number(limited.headers['retry-after'])).toBeGreaterThan(0);

        // Another user from one address: the per-IP budget.
        const fromOneIp: number[] = [];
        for (let i = 0; i < 7; i++) fromOneIp.push((await call(b.token, '203.0.113.50', '/me')).status);
        expect(fromOneIp.slice(0, 5).every((s) => s === 200)).toBe(true);
        expect(fromOneIp.slice(5)).toEqual([429, 429]);
        // Sign-in and forward-auth routes are not API routes.
        expect((await call(b.token, '203.0.113.50', '/auth/verify')).status).toBe(200);
      } finally {
        await rig.close();
      }
    });
  });

  describe('slow clients and what the public sees', () => {
    let rig: Rig;
    beforeAll(async () => {
      rig = await startRig({ env: { REQUEST_TIMEOUT: '1s', REDIS_URL: process.env.TEST_REDIS_URL } });
    });
    afterAll(async () => {
      await rig?.close();
    });

    /** Writes `data` on a raw connection, then waits (polling) until the server closes it. */
    async function rawExchange(
      data: string,
      deadlineMs = 8_000,
    ): Promise<{ closed: boolean; answer: string }> {
      const port = Number(new URL(rig.url).port);
      const socket = connect(port, '127.0.0.1');
      let answer = '';
      let closed = false;
      socket.on('data', (chunk: Buffer) => {
        answer += chunk.toString('latin1');
      });
      socket.on('close', () => {
        closed = true;
      });
      socket.on('error', () => {});
      await new Promise<void>((resolve) => socket.once('connect', () => resolve()));
      socket.write(data);
      await until(() => closed, deadlineMs);
      socket.destroy();
      return { closed, answer };
    }

    it('rule 45: a body or headers that do not arrive within REQUEST_TIMEOUT are cut off with a 408 problem', async () => {
      const partialBody = await rawExchange(
        'POST /chat HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\nhello',
      );
      expect(partialBody.closed).toBe(true);
      expect(partialBody.answer).toMatch(/^HTTP\/1\.1 408 /);
      expect(partialBody.answer).toContain('application/problem+json');
      expect(partialBody.answer).toContain('"code":"request_timeout"');

      const slowHeaders = await rawExchange('GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: a');
      expect(slowHeaders.closed).toBe(true);
      expect(slowHeaders.answer).toMatch(/^HTTP\/1\.1 408 /);
    });

    it("rule 45: Node's own refusals (400, 431) are problem+json with a stable code", async () => {
      const malformed = await rawExchange('NOT A REQUEST\r\n\r\n');
      expect(malformed.answer).toMatch(/^HTTP\/1\.1 400 /);
      expect(malformed.answer).toContain('application/problem+json');
      expect(malformed.answer).toContain('"code":"bad_request"');
      const huge = await rawExchange(
        `GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Big: ${'a'.repeat(20_000)}\r\n\r\n`,
      );
      expect(huge.answer).toMatch(/^HTTP\/1\.1 431 /);
      expect(huge.answer).toContain('"code":"headers_too_large"');
    });

    it('rule 47: /readyz names no Redis URL, host or user', async () => {
      const redis = rig.gh.config.redis.url!;
      await until(async () => (await rawRequest(`${rig.url}/readyz`)).body.includes('"connected"'), 5_000);
      const ready = await rawRequest(`${rig.url}/readyz`);
      expect(ready.body).toContain('"connected"');
      const { host } = new URL(redis);
      for (const secret of [redis, 'redis://', host]) expect(ready.body).not.toContain(secret);
    });

    it('rule 47: /metrics is only for allowed addresses, never through an unknown proxy, and counts sessions sparingly', async () => {
      const scrape = (headers: Record<string, string> = {}) => rawRequest(`${rig.url}/metrics`, { headers });
      expect((await scrape()).status).toBe(200);
      // nginx on the same host without TRUST_PROXY: every client would look like loopback.
      const relayed = await scrape({ 'x-forwarded-for': '203.0.113.9' });
      expect(relayed.status).toBe(404);
      expect(problemCode(relayed.body)).toBe('not_found');
      for (let i = 0; i < 3; i++) await scrape();
      const text = (await scrape()).body;
      const counts = text
        .split('\n')
        .filter(
          (l) =>
            l.startsWith('gatehouse_db_query_duration_seconds_count{') && l.includes('sessions.countActive'),
        );
      expect(counts.reduce((sum, l) => sum + Number(l.split(' ').pop()), 0)).toBe(1);

      const elsewhere = await startRig({ idp: rig.idp, env: { METRICS_ALLOW: '10.0.0.0/8' } });
      try {
        expect((await rawRequest(`${elsewhere.url}/metrics`)).status).toBe(404);
      } finally {
        await elsewhere.close();
      }
    });
  });

  describe('development provider', () => {
    const load = (env: Record<string, string>) => loadConfig({ env, dotenv: false, cwd: '/nonexistent' });

    it('rule 48: the development provider starts only on loopback, or when explicitly enabled; never in production', () => {
      // The reported case: NODE_ENV unset, listening everywhere, a public URL, no provider.
      expect(() => load({ HOST: '0.0.0.0', PUBLIC_URL: 'https://auth.example.com' })).toThrow(ConfigError);
      expect(() => load({ HOST: '0.0.0.0', PUBLIC_URL: 'https://auth.example.com' })).toThrow(
        /GOOGLE_CLIENT_ID: .*development provider/,
      );
      // Either half off loopback is enough to refuse.
      expect(() => load({ HOST: '127.0.0.1', PUBLIC_URL: 'https://auth.example.com' })).toThrow(ConfigError);
      expect(() => load({ HOST: '0.0.0.0', PUBLIC_URL: 'http://127.0.0.1:8000' })).toThrow(ConfigError);
      // Loopback on both sides: the local quick start works as before.
      expect(load({ HOST: '127.0.0.1', PUBLIC_URL: 'http://localhost:8000' }).config.oidc.devProvider).toBe(
        true,
      );
      expect(load({}).config.oidc.devProvider).toBe(true);
      // The explicit opt-in, loudly.
      const anywhere = load({
        HOST: '0.0.0.0',
        PUBLIC_URL: 'https://auth.example.com',
        DEV_PROVIDER: 'anywhere',
      });
      expect(anywhere.config.oidc.devProvider).toBe(true);
      expect(anywhere.warnings.join('\n')).toMatch(/ANYONE WHO CAN REACH IT CAN SIGN IN AS ANYONE/);
      // Never in production, whatever is set.
      expect(() =>
        load({ NODE_ENV: 'production', DEV_PROVIDER: 'anywhere', PUBLIC_URL: 'https://auth.example.com' }),
      ).toThrow(/DEV_PROVIDER: must not be `anywhere` in production/);
    });
  });

  describe('also found, less certain', () => {
    it('rule 19: with an allow-list, an email only in userinfo is refused, and the ID token is asked for it', async () => {
      const idp = await startHostileProvider({ host: 'localhost' });
      idp.behave({
        claims: { email: undefined, email_verified: undefined },
        discovery: { claims_parameter_supported: true },
      });
      const rig = await startRig({ idp, env: { ALLOWED_EMAIL_DOMAINS: 'example.com' } });
      try {
        const browser = createBrowser();
        const before = await snapshot(rig);
        const callback = await callbackUrlFor(rig, browser);
        const authorize = idp.requestsTo('/authorize').at(-1)!;
        const asked = JSON.parse(authorize.query.get('claims') ?? '{}');
        expect(asked).toEqual({
          id_token: { email: { essential: true }, email_verified: { essential: true } },
        });
        const result = await openCallback(rig, browser, callback);
        await expectRejected(rig, before, result, browser, {
          code: 'login_failed',
          reason: 'email_not_in_id_token',
        });
      } finally {
        await rig.close();
        await idp.close();
      }
    });

    it('a renewed cookie reaches the browser on a streamed POST /chat', async () => {
      const rig = await startRig();
      try {
        const { token } = await signIn(rig);
        rig.clock.offsetMs = 16 * 60 * 1000; // past TOKEN_TTL: this request renews
        const response = await rawRequest(`${rig.url}/chat`, {
          method: 'POST',
          headers: {
            cookie: `${rig.gh.config.cookie.name}=${token}`,
            accept: 'text/event-stream',
            'content-type': 'application/json',
          },
          body: JSON.stringify({ message: 'hello' }),
        });
        expect(response.status).toBe(200);
        expect(response.body).toContain('event: done');
        const renewed = [response.headers['set-cookie'] ?? []]
          .flat()
          .find((c) => c.startsWith(`${rig.gh.config.cookie.name}=`));
        expect(renewed).toBeDefined();
        expect(renewed!.split(';')[0]).not.toBe(`${rig.gh.config.cookie.name}=${token}`);
      } finally {
        await rig.close();
      }
    });

    it('CHAT_API_URL over plain http is refused in production unless it is loopback', () => {
      const production = {
        NODE_ENV: 'production',
        PUBLIC_URL: 'https://auth.example.com',
        GOOGLE_CLIENT_ID: 'id.apps.googleusercontent.com',
        GOOGLE_CLIENT_SECRET: 'client-secret',
        SECRET_KEY: 's'.repeat(48),
        JWT_SECRET_KEY: 'j'.repeat(48),
        CHAT_API_KEY: 'sk-secret',
        CHAT_MODEL: 'model',
      };
      const load = (url: string) =>
        loadConfig({ env: { ...production, CHAT_API_URL: url }, dotenv: false, cwd: '/nonexistent' });
      expect(() => load('http://llm.example.com/v1/chat')).toThrow(
        /CHAT_API_URL: must be https in production/,
      );
      expect(load('https://llm.example.com/v1/chat').config.chat.apiUrl).toBe(
        'https://llm.example.com/v1/chat',
      );
      expect(load('http://127.0.0.1:9999/v1/chat').config.chat.apiUrl).toBe('http://127.0.0.1:9999/v1/chat');
    });
  });
});

function devNull() {
  return { write: () => true } as unknown as NodeJS.WritableStream;
}
