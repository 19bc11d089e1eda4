/**
 * The whole HTTP sign-in flow on every database (SQLite, MySQL/MariaDB, PostgreSQL; issue 3):
 * sign in, use the session, renew it, sign out; 50 concurrent first sign-ins of one subject give
 * one user row and 50 sessions with no 5xx; and the server-side time of a sign-in callback and
 * of a session renewal, measured from the request log's `ms` field and printed per database.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { createBrowser } from '../helpers/browser.js';
import { ManualClock } from '../helpers/clock.js';
import { type CreatedDatabase, describeEachDatabase } from '../helpers/databases.js';
import { signInAtDevIdp } from '../helpers/dev-idp.js';
import { type Fixture, signIn, startWithProvider } from '../helpers/sign-in.js';

const MINUTE = 60_000;
const SAMPLES = 15;

interface Timing {
  readonly database: string;
  readonly signInMs: readonly number[];
  readonly renewalMs: readonly number[];
  readonly hotPathMs: readonly number[];
}
const timings: Timing[] = [];

function quantile(values: readonly number[], q: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? Number.NaN;
}

/** The `ms` the server logged for the request that answered with this request id. */
function serverMs(fx: Fixture, res: Response): number {
  const id = res.headers.get('x-request-id');
  const line = fx.gh.logs.find((l) => l.msg === 'request' && l.reqId === id);
  if (typeof line?.ms !== 'number') throw new Error(`no request log line for ${id}`);
  return line.ms;
}

afterAll(() => {
  if (timings.length === 0) return;
  const row = (t: Timing) =>
    `  ${t.database.padEnd(9)} sign-in callback (/auth) median ${quantile(t.signInMs, 0.5)} ms, p90 ${quantile(t.signInMs, 0.9)} ms | ` +
    `session renewal median ${quantile(t.renewalMs, 0.5)} ms, p90 ${quantile(t.renewalMs, 0.9)} ms | ` +
    `valid token (no database) median ${quantile(t.hotPathMs, 0.5)} ms`;
  console.info(`[databases] server-side times, ${SAMPLES} samples each:\n${timings.map(row).join('\n')}`);
});

describeEachDatabase('HTTP sign-in flow', (target) => {
  const clock = new ManualClock();
  let db: CreatedDatabase;
  let fx: Fixture;

  beforeAll(async () => {
    db = await target.create();
    fx = await startWithProvider({
      databaseUrl: db.url,
      clock,
      env: { TOKEN_TTL: '5m', SESSION_IDLE_TTL: '30m', SESSION_TTL: '1h' },
    });
  }, 60_000);
  afterAll(async () => {
    await fx?.close();
    await db?.drop();
  });

  it('signs in, uses and renews the session, chats, lists sessions, signs out, and refuses the old token', async () => {
    clock.reset();
    const { gh } = fx;
    const { browser, token } = await signIn(fx, 'ada@example.com', 'Ada Lovelace');
    const chat = await browser.get(`${gh.url}/chat`);
    expect(chat.status).toBe(200);
    expect(((await chat.json()) as { user: { user_email: string } }).user.user_email).toBe('ada@example.com');
    expect(((await (await browser.get(`${gh.url}/me`)).json()) as { name: string }).name).toBe(
      'Ada Lovelace',
    );

    const sent = await browser.post(`${gh.url}/chat`, JSON.stringify({ message: 'hello' }), {
      headers: { 'content-type': 'application/json', origin: gh.url },
    });
    expect(sent.status).toBe(200);

    clock.advance(6 * MINUTE);
    const renewed = await browser.get(`${gh.url}/me`);
    expect(renewed.status).toBe(200);
    const fresh = browser.cookies('127.0.0.1').find((c) => c.name === gh.config.cookie.name)!.value;
    expect(fresh).not.toBe(token);

    const list = await browser.get(`${gh.url}/sessions`);
    expect(((await list.json()) as { sessions: unknown[] }).sessions).toHaveLength(1);
    const logout = await browser.post(`${gh.url}/logout`, '', { headers: { origin: gh.url } });
    expect(logout.status).toBe(204);
    const replay = await fetch(`${gh.url}/chat`, { headers: { authorization: `Bearer ${fresh}` } });
    expect(replay.status).toBe(401);
    expect(((await replay.json()) as { code: string }).code).toBe('session_revoked');

    const user = (await gh.gatehouse.store.users.findByEmail('ada@example.com'))[0]!;
    expect(user.lastAccessed).not.toBeNull();
    expect(await gh.gatehouse.store.chat.count(user.id)).toBe(2);
    const types = (await gh.gatehouse.store.events.list({ userId: user.id })).map((e) => e.type);
    expect(types).toEqual(expect.arrayContaining(['sign_in', 'sign_out']));
  });

  it('50 concurrent first sign-ins of one subject: one user row, 50 sessions, no 5xx', async () => {
    clock.reset();
    const { gh } = fx;
    const email = `race-${target.name}@example.com`;
    // Each browser gets its own transaction and authorization code first; then all 50 callbacks
    // hit /auth at once.
    const prepared = await Promise.all(
      Array.from({ length: 50 }, async () => {
        const browser = createBrowser();
        const login = await browser.get(`${gh.url}/login`);
        const { callbackUrl, initiator } = await signInAtDevIdp(browser, login.headers.get('location')!, {
          email,
          name: 'Racer',
        });
        return { browser, callbackUrl, initiator };
      }),
    );
    const results = await Promise.all(
      prepared.map(({ browser, callbackUrl, initiator }) =>
        browser.navigate(callbackUrl, { initiator, stopAt: () => true }),
      ),
    );
    expect(results.map((r) => r.status)).toEqual(Array(50).fill(303));
    const users = await gh.gatehouse.store.users.findByEmail(email);
    expect(users).toHaveLength(1);
    const sessions = await gh.gatehouse.store.sessions.listForUser(users[0]!.id);
    expect(sessions).toHaveLength(50);
    // Every browser holds a working session of that one user.
    const me = await Promise.all(prepared.map(({ browser }) => browser.get(`${gh.url}/chat`)));
    expect(me.map((r) => r.status)).toEqual(Array(50).fill(200));
  }, 60_000);

  it('measures the server-side time of a sign-in callback and of a session renewal', async () => {
    clock.reset();
    const { gh } = fx;
    const signInMs: number[] = [];
    const browsers = [];
    // Warm-up (connection pool, JIT, provider discovery) is not measured.
    await signIn(fx, `warm-${target.name}@example.com`);
    for (let i = 0; i < SAMPLES; i++) {
      const browser = createBrowser();
      const login = await browser.get(`${gh.url}/login`);
      const { callbackUrl, initiator } = await signInAtDevIdp(browser, login.headers.get('location')!, {
        email: `timed-${i}@example.com`,
      });
      const back = await browser.navigate(callbackUrl, { initiator, stopAt: () => true });
      expect(back.status).toBe(303);
      signInMs.push(serverMs(fx, back.response));
      browsers.push(browser);
    }
    const hotPathMs: number[] = [];
    for (const browser of browsers) {
      const res = await browser.get(`${gh.url}/chat`);
      expect(res.headers.get('set-cookie')).toBeNull();
      hotPathMs.push(serverMs(fx, res));
    }
    clock.advance(6 * MINUTE);
    const renewalMs: number[] = [];
    for (const browser of browsers) {
      const res = await browser.get(`${gh.url}/chat`);
      expect(res.status).toBe(200);
      expect(res.headers.get('set-cookie')).toContain(`${gh.config.cookie.name}=`);
      renewalMs.push(serverMs(fx, res));
    }
    clock.reset();
    expect(signInMs.every((ms) => ms > 0)).toBe(true);
    expect(renewalMs.every((ms) => ms > 0)).toBe(true);
    timings.push({ database: target.name, signInMs, renewalMs, hotPathMs });
  }, 60_000);
});
