/**
 * Sessions over HTTP: renewal after TOKEN_TTL, idle and absolute expiry, revocation, tampering.
 * Time is moved with an injected clock, never slept through.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { ManualClock } from '../helpers/clock.js';
import { type Fixture, signIn, startWithProvider } from '../helpers/sign-in.js';

const MINUTE = 60_000;

async function code(res: Response): Promise<string | undefined> {
  const body = (await res.json()) as { code?: string };
  return body.code;
}

describe('sessions over HTTP', () => {
  const clock = new ManualClock();
  let fx: Fixture;

  beforeAll(async () => {
    fx = await startWithProvider({
      clock,
      env: { TOKEN_TTL: '5m', SESSION_IDLE_TTL: '30m', SESSION_TTL: '1h' },
    });
  });
  afterAll(async () => fx?.close());
  beforeEach(() => clock.reset());

  it('renews an expired token from the session row once, with a fresh cookie, and updates last_seen_at', async () => {
    const { browser, token } = await signIn(fx, 'renew@example.com');
    const before = await fx.gh.gatehouse.store.sessions.list({ limit: 100 });
    clock.advance(6 * MINUTE);
    const res = await browser.get(`${fx.gh.url}/chat`);
    expect(res.status).toBe(200);
    const setCookie = res.headers.get('set-cookie') ?? '';
    expect(setCookie).toContain(`${fx.gh.config.cookie.name}=`);
    const fresh = browser.cookies('127.0.0.1').find((c) => c.name === fx.gh.config.cookie.name)!.value;
    expect(fresh).not.toBe(token);
    // The renewed token is good without another renewal.
    const again = await browser.get(`${fx.gh.url}/chat`);
    expect(again.status).toBe(200);
    expect(again.headers.get('set-cookie')).toBeNull();
    const after = await fx.gh.gatehouse.store.sessions.list({ limit: 100 });
    const id = after.find(
      (s) => !before.some((b) => b.id === s.id && b.lastSeenAt.getTime() === s.lastSeenAt.getTime()),
    );
    expect(id, 'last_seen_at moved on renewal').toBeDefined();
  });

  it('expires an idle session: past SESSION_IDLE_TTL the token is refused with session_expired', async () => {
    const { browser } = await signIn(fx, 'idle@example.com');
    clock.advance(31 * MINUTE);
    const res = await browser.get(`${fx.gh.url}/chat`);
    expect(res.status).toBe(401);
    expect(await code(res)).toBe('session_expired');
    expect(res.headers.get('www-authenticate')).toContain('Bearer');
  });

  it('expires at the absolute lifetime even when the client stays active', async () => {
    const { browser } = await signIn(fx, 'active@example.com');
    for (let elapsed = 0; elapsed < 55; elapsed += 5) {
      clock.advance(5 * MINUTE);
      const res = await browser.get(`${fx.gh.url}/chat`);
      expect(res.status, `still live after ${elapsed + 5} minutes`).toBe(200);
    }
    clock.advance(6 * MINUTE);
    const res = await browser.get(`${fx.gh.url}/chat`);
    expect(res.status).toBe(401);
    expect(await code(res)).toBe('session_expired');
  });

  it('refuses a revoked session at once on this instance (DELETE /sessions/:id)', async () => {
    const a = await signIn(fx, 'multi@example.com');
    const b = await signIn(fx, 'multi@example.com');
    const list = await a.browser.get(`${fx.gh.url}/sessions`);
    const sessions = ((await list.json()) as { sessions: { id: string; current: boolean }[] }).sessions;
    expect(sessions.length).toBe(2);
    const other = sessions.find((s) => !s.current)!;
    const del = await fetch(`${fx.gh.url}/sessions/${other.id}`, {
      method: 'DELETE',
      headers: { cookie: `${fx.gh.config.cookie.name}=${a.token}`, origin: fx.gh.url },
    });
    expect(del.status).toBe(204);
    const refused = await b.browser.get(`${fx.gh.url}/chat`);
    expect(refused.status).toBe(401);
    expect(await code(refused)).toBe('session_revoked');
    const still = await a.browser.get(`${fx.gh.url}/chat`);
    expect(still.status).toBe(200);
  });

  it('answers 401 invalid_token (never 500) for tampered, truncated, empty and duplicated cookies', async () => {
    const { token } = await signIn(fx, 'tamper@example.com');
    const name = fx.gh.config.cookie.name;
    const flipped = token.slice(0, -2) + (token.at(-2) === 'A' ? 'B' : 'A') + token.at(-1);
    const cases = [flipped, token.slice(0, 40), 'x'.repeat(3000), 'not.a.jwt', `${token}.extra`];
    for (const value of cases) {
      const res = await fetch(`${fx.gh.url}/chat`, { headers: { cookie: `${name}=${value}` } });
      expect(res.status, value.slice(0, 20)).toBe(401);
      expect(await code(res)).toBe('invalid_token');
      expect(res.headers.get('set-cookie') ?? '').toContain(`${name}=;`);
    }
    const empty = await fetch(`${fx.gh.url}/chat`, { headers: { cookie: `${name}=` } });
    expect(empty.status).toBe(401);
    const dup = await fetch(`${fx.gh.url}/chat`, {
      headers: { cookie: `${name}=${token}; ${name}=${token}` },
    });
    expect(dup.status).toBe(401);
    expect(await code(dup)).toBe('invalid_token');
  });

  it('accepts the token as a Bearer header too, with a case-insensitive scheme', async () => {
    const { token } = await signIn(fx, 'bearer@example.com');
    for (const scheme of ['Bearer', 'bearer', 'BEARER']) {
      const res = await fetch(`${fx.gh.url}/chat`, { headers: { authorization: `${scheme} ${token}` } });
      expect(res.status).toBe(200);
    }
    const inQuery = await fetch(`${fx.gh.url}/chat?access_token=${token}`);
    expect(inQuery.status).toBe(401);
  });
});
