/**
 * SECURITY.md F (rules 24–30): session cookies and tokens under attack.
 */

import { createHmac } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createBrowser } from '../helpers/browser.js';
import { startGatehouse } from '../helpers/gatehouse.js';
import { freePort } from '../helpers/ports.js';
import { problemCode, type Rig, rawRequest, signIn, startRig, until } from './support/rig.js';

const chat = (rig: Rig, headers: Record<string, string>) => rawRequest(`${rig.url}/chat`, { headers });

describe('F. sessions and cookies', () => {
  let rig: Rig;
  beforeAll(async () => {
    rig = await startRig({ env: { SESSION_TTL: '3h', SESSION_IDLE_TTL: '1h', TOKEN_TTL: '15m' } });
  });
  afterEach(() => {
    rig.clock.offsetMs = 0;
    rig.idp.behave({});
  });
  afterAll(async () => {
    await rig?.close();
  });

  it('rule 24: session cookie attributes on plain http: HttpOnly, Path=/, SameSite=Lax, lifetime <= absolute, < 4 KB', async () => {
    const { callback } = await signIn(rig);
    const raw = callback.headers.getSetCookie().find((c) => c.startsWith(`${rig.gh.config.cookie.name}=`))!;
    expect(raw).toMatch(/;\s*HttpOnly/i);
    expect(raw).toMatch(/;\s*Path=\/(;|$)/i);
    expect(raw).toMatch(/;\s*SameSite=Lax/i);
    const maxAge = /Max-Age=(\d+)/i.exec(raw)?.[1];
    const expires = /Expires=([^;]+)/i.exec(raw)?.[1];
    const lifetime = maxAge !== undefined ? Number(maxAge) : (Date.parse(expires!) - Date.now()) / 1000;
    expect(lifetime).toBeGreaterThan(3 * 3600 - 10);
    expect(lifetime).toBeLessThanOrEqual(3 * 3600 + 1);
    expect(Buffer.byteLength(raw)).toBeLessThan(4096);
  });

  describe('rule 24: behind a TLS-terminating proxy', () => {
    async function manualSignIn(env: Record<string, string>): Promise<string> {
      const port = await freePort();
      const https = await startRig({ env: { PORT: String(port), TRUST_PROXY: '127.0.0.1', ...env } });
      try {
        // The proxy's side of the connection: plain http on loopback, PUBLIC_URL says https.
        const login = await rawRequest(`http://127.0.0.1:${port}/login`);
        expect(login.status).toBe(302);
        const txCookies = [login.headers['set-cookie'] ?? []].flat();
        expect(txCookies.every((c) => /;\s*Secure/i.test(c))).toBe(true);
        const cookie = txCookies.map((c) => c.split(';')[0]).join('; ');
        const authorize = await fetch(String(login.headers.location), { redirect: 'manual' });
        const callback = new URL(authorize.headers.get('location')!);
        const result = await rawRequest(`http://127.0.0.1:${port}/auth${callback.search}`, {
          headers: { cookie },
        });
        expect(result.status).toBe(303);
        const name = https.gh.config.cookie.name;
        return [result.headers['set-cookie'] ?? []].flat().find((c) => c.startsWith(`${name}=`))!;
      } finally {
        await https.close();
      }
    }

    it('rule 24: https PUBLIC_URL: __Host- prefix, Secure, no Domain', async () => {
      const raw = await manualSignIn({ PUBLIC_URL: 'https://gatehouse.example' });
      expect(raw.startsWith('__Host-')).toBe(true);
      expect(raw).toMatch(/;\s*Secure/i);
      expect(raw).toMatch(/;\s*Path=\/(;|$)/i);
      expect(raw).not.toMatch(/Domain=/i);
      expect(raw).toMatch(/;\s*HttpOnly/i);
    });

    it('rule 24: with COOKIE_DOMAIN: __Secure- prefix, Secure, that Domain', async () => {
      const raw = await manualSignIn({
        PUBLIC_URL: 'https://api.gatehouse.example',
        COOKIE_DOMAIN: 'gatehouse.example',
      });
      expect(raw.startsWith('__Secure-')).toBe(true);
      expect(raw).toMatch(/;\s*Secure/i);
      expect(raw).toMatch(/Domain=\.?gatehouse\.example/i);
    });
  });

  it('rule 25: after sign-in, /chat accepts the cookie the server just set', async () => {
    const { browser } = await signIn(rig);
    const response = await browser.get(`${rig.url}/chat`);
    expect(response.status).toBe(200);
    expect(((await response.json()) as { message: string }).message).toBe('Welcome!');
  });

  it('rule 26: a cookie planted before sign-in is never the session after it', async () => {
    const attacker = await signIn(rig);
    for (const planted of [attacker.token, 'attacker-chosen-value']) {
      const victim = createBrowser();
      victim.setCookie(rig.url, `${rig.gh.config.cookie.name}=${planted}; Path=/`);
      rig.idp.identity = { sub: 'fixation-victim', email: 'victim@example.com' };
      const { token } = await signIn(rig, victim);
      rig.idp.identity = undefined;
      expect(token).not.toBe(planted);
      const me = (await (await victim.get(`${rig.url}/me`)).json()) as { email: string };
      expect(me.email).toBe('victim@example.com');
    }
  });

  it('rule 27: tampered, forged, truncated, oversized, empty or duplicated cookies are 401 with the cookie cleared', async () => {
    const { token } = await signIn(rig);
    const name = rig.gh.config.cookie.name;
    const [h, p, s] = token.split('.') as [string, string, string];
    const payload = JSON.parse(Buffer.from(p, 'base64url').toString()) as Record<string, unknown>;
    const forgedPayload = Buffer.from(JSON.stringify({ ...payload, sub: 'someone-else' })).toString(
      'base64url',
    );
    const forgedSig = createHmac('sha256', 'secret').update(`${h}.${forgedPayload}`).digest('base64url');
    const variants: [string, string][] = [
      ['tampered signature', `${name}=${h}.${p}.${s.slice(0, -2)}${s.endsWith('AA') ? 'BB' : 'AA'}`],
      ['tampered payload', `${name}=${h}.${forgedPayload}.${s}`],
      ['forged with a guessed key', `${name}=${h}.${forgedPayload}.${forgedSig}`],
      ['alg none', `${name}=${Buffer.from('{"alg":"none","typ":"JWT"}').toString('base64url')}.${p}.`],
      ['truncated', `${name}=${token.slice(0, token.length - 10)}`],
      ['oversized', `${name}=${token}${'A'.repeat(6000)}`],
      ['empty', `${name}=`],
      ['duplicated', `${name}=${token}; ${name}=${token}`],
      ['garbage', `${name}=%00%ff{"a":1}`],
    ];
    for (const [label, cookie] of variants) {
      const response = await chat(rig, { cookie });
      expect(response.status, label).toBe(401);
      expect(problemCode(response.body), label).toMatch(/^(invalid_token|not_authenticated)$/);
      const setCookie = [response.headers['set-cookie'] ?? []].flat();
      expect(
        setCookie.some((c) => c.startsWith(`${name}=;`)),
        `${label}: cookie cleared`,
      ).toBe(true);
    }
    expect((await chat(rig, { cookie: `${name}=${token}` })).status).toBe(200);
  });

  it('rule 28: session ids are >= 128 bits and unique; no provider tokens or bearer secrets are stored', async () => {
    const tokens: string[] = [];
    for (let i = 0; i < 5; i++) tokens.push((await signIn(rig)).token);
    const sessions = await rig.gh.gatehouse.store.sessions.list({ limit: 10_000 });
    const ids = sessions.map((s) => s.id);
    expect(new Set(ids).size).toBe(ids.length);
    for (const id of ids) expect(Buffer.from(id, 'base64url').length).toBeGreaterThanOrEqual(16);
    // Every byte the database holds, searched for every provider token and session token.
    const file = rig.gh.config.database.sqlitePath!;
    const bytes = readdirSync(dirname(file))
      .filter((f) => f.startsWith('gatehouse.db'))
      .map((f) => readFileSync(`${dirname(file)}/${f}`).toString('latin1'))
      .join('\n');
    const secrets: string[] = [];
    for (const r of rig.idp.requestsTo('/userinfo')) {
      const at = /^Bearer (.+)$/.exec(String(r.headers.authorization))?.[1];
      if (at) secrets.push(at);
    }
    for (const r of rig.idp.requestsTo('/token')) secrets.push(new URLSearchParams(r.body).get('code')!);
    for (const t of tokens) secrets.push(t, t.split('.')[2]!);
    expect(secrets.length).toBeGreaterThan(10);
    for (const secret of secrets) expect(bytes.includes(secret)).toBe(false);
  });

  it("rule 29: idle and absolute timeouts hold exactly; the provider's expires_in does not set the lifetime", async () => {
    rig.idp.behave({ now: () => rig.clock.now() });
    const { token } = await signIn(rig);
    const bearer = { authorization: `Bearer ${token}` };
    const sid = JSON.parse(Buffer.from(token.split('.')[1]!, 'base64url').toString()).sid as string;
    const row = (await rig.gh.gatehouse.store.sessions.findById(sid))!;
    // SESSION_TTL (3 h), not the provider's expires_in (3599 s); within a second of clock reads.
    expect(Math.abs(row.expiresAt.getTime() - row.createdAt.getTime() - 3 * 3600 * 1000)).toBeLessThan(1000);
    const at = (ms: number) => {
      rig.clock.offsetMs = ms;
    };
    const H = 3600 * 1000;
    for (const t of [H - 5000, 2 * H - 10_000, 3 * H - 15_000]) {
      at(t);
      expect((await chat(rig, bearer)).status).toBe(200);
    }
    at(3 * H + 5000);
    const expired = await chat(rig, bearer);
    expect(expired.status).toBe(401);
    expect(problemCode(expired.body)).toBe('session_expired');

    // Idle: one second past an hour of silence.
    at(0);
    const idle = await signIn(rig);
    at(H + 1000);
    const idled = await chat(rig, { authorization: `Bearer ${idle.token}` });
    expect(idled.status).toBe(401);
    expect(problemCode(idled.body)).toBe('session_expired');
  });

  it('rule 30: GET /logout changes nothing; POST revokes at once here and within the bound on another instance', async () => {
    const port = await freePort();
    const other = await startGatehouse({
      databaseUrl: rig.gh.config.database.url,
      env: {
        PORT: String(port),
        PUBLIC_URL: `http://127.0.0.1:${port}`,
        JWT_SECRET_KEY: rig.gh.config.secrets.jwtSecretKeys.join(','),
        SECRET_KEY: rig.gh.config.secrets.secretKey,
        OIDC_ISSUER: rig.idp.issuer,
        GOOGLE_CLIENT_ID: rig.idp.clientId,
        GOOGLE_CLIENT_SECRET: rig.idp.clientSecret,
      },
    });
    try {
      const { browser, token } = await signIn(rig);
      const bearer = { authorization: `Bearer ${token}` };
      const get = await browser.get(`${rig.url}/logout`);
      expect(get.status).toBe(405);
      expect((await chat(rig, bearer)).status).toBe(200);
      expect((await rawRequest(`${other.url}/chat`, { headers: bearer })).status).toBe(200);

      const post = await browser.post(`${rig.url}/logout`, '', { headers: { origin: rig.url } });
      expect(post.status).toBe(204);
      expect((await chat(rig, bearer)).status).toBe(401);
      // Documented bound: REVOCATION_POLL_INTERVAL (1 s); polled with a deadline, never slept.
      const refused = await until(
        async () => (await rawRequest(`${other.url}/chat`, { headers: bearer })).status === 401,
        3000,
      );
      expect(refused).toBe(true);
    } finally {
      await other.close();
    }
  });

  it('rule 30: sign-out everywhere and disabling a user revoke every session', async () => {
    rig.idp.identity = { sub: 'everywhere', email: 'everywhere@example.com' };
    const a = await signIn(rig);
    const b = await signIn(rig);
    const all = await rawRequest(`${rig.url}/sessions`, {
      method: 'DELETE',
      headers: { authorization: `Bearer ${a.token}` },
    });
    expect(all.status).toBeLessThan(300);
    expect((await chat(rig, { authorization: `Bearer ${a.token}` })).status).toBe(401);
    expect((await chat(rig, { authorization: `Bearer ${b.token}` })).status).toBe(401);

    const c = await signIn(rig);
    const d = await signIn(rig);
    rig.idp.identity = undefined;
    const sub = JSON.parse(Buffer.from(c.token.split('.')[1]!, 'base64url').toString()).sub as string;
    await rig.gh.gatehouse.accounts.disable(sub, { reason: 'operator' });
    expect((await chat(rig, { authorization: `Bearer ${c.token}` })).status).toBe(401);
    expect((await chat(rig, { authorization: `Bearer ${d.token}` })).status).toBe(401);
  });
});
