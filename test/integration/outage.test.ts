/**
 * Database outages over real HTTP (SECURITY.md H.38, issue 3 §4). Each suite owns its database
 * server — a private PostgreSQL and a private MariaDB (test/helpers/private-db.ts) — and kills it
 * under a bounded traffic loop: routes that need the database and /auth answer 503 problem+json
 * `service_unavailable` with Retry-After, /readyz says not ready, a still-valid session token
 * keeps working (the hot path needs no database). The server is started again and Gatehouse
 * recovers without a restart; nothing answered as done is lost and nothing is half-written.
 * SQLite's outage is its file being locked by another process: writes answer 503 the same way.
 */
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type BrowserAgent, createBrowser } from '../helpers/browser.js';
import { signInAtDevIdp } from '../helpers/dev-idp.js';
import { describeEachPrivateServer, type PrivateServer } from '../helpers/private-db.js';
import { type Fixture, signIn, startWithProvider } from '../helpers/sign-in.js';

interface Problem {
  readonly status: number;
  readonly code: string;
}

/** Polls `probe` until it returns true; fails after `ms`. */
async function until(what: string, ms: number, probe: () => Promise<boolean>): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await probe())) {
    if (Date.now() > deadline) throw new Error(`${what}: not within ${ms} ms`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** The 503 of an outage: problem+json, code service_unavailable, Retry-After. */
async function expectOutage(res: Response, route: string): Promise<void> {
  expect(res.status, route).toBe(503);
  expect(res.headers.get('content-type'), route).toMatch(/^application\/problem\+json/);
  expect(Number(res.headers.get('retry-after')), route).toBeGreaterThan(0);
  const body = (await res.json()) as Problem;
  expect(body, route).toMatchObject({ status: 503, code: 'service_unavailable' });
}

/** The `sid` claim of a session token (the payload is plain base64url JSON). */
function sessionIdOf(token: string): string {
  const payload = JSON.parse(Buffer.from(token.split('.')[1] ?? '', 'base64url').toString('utf8')) as {
    sid: string;
  };
  return payload.sid;
}

/** One sign-in attempt through the real flow; the /auth status, and the token on success. */
async function attemptSignIn(fx: Fixture, email: string): Promise<{ status: number; token?: string }> {
  const browser = createBrowser();
  const login = await browser.get(`${fx.gh.url}/login`);
  if (login.status !== 302) return { status: login.status };
  const { callbackUrl, initiator } = await signInAtDevIdp(browser, login.headers.get('location')!, {
    email,
    name: email.split('@')[0],
  });
  const back = await browser.navigate(callbackUrl, { initiator, stopAt: () => true });
  const status = back.hops[0]?.status ?? 0;
  const token = browser.cookies('127.0.0.1').find((c) => c.name === fx.gh.config.cookie.name)?.value;
  return token ? { status, token } : { status };
}

function postChat(fx: Fixture, agent: BrowserAgent, message: string): Promise<Response> {
  return agent.post(`${fx.gh.url}/chat`, JSON.stringify({ message }), {
    headers: { 'content-type': 'application/json', origin: fx.gh.url },
  });
}

interface Traffic {
  /** status counts per route */
  readonly statuses: Map<string, Map<number, number>>;
  /** sessions whose sign-in answered 303 */
  readonly sessions: string[];
  /** exchanges whose POST /chat answered 200 */
  readonly exchanges: { message: number; reply: number }[];
  stop(): Promise<void>;
}

/** A few clients in a loop until stopped (at most `maxMs`), recording every answer. */
function startTraffic(fx: Fixture, agent: BrowserAgent, maxMs: number): Traffic {
  const statuses = new Map<string, Map<number, number>>();
  const sessions: string[] = [];
  const exchanges: { message: number; reply: number }[] = [];
  const record = (route: string, status: number) => {
    const counts = statuses.get(route) ?? new Map<number, number>();
    counts.set(status, (counts.get(status) ?? 0) + 1);
    statuses.set(route, counts);
  };
  const deadline = Date.now() + maxMs;
  let stopped = false;
  const loop = async (step: (i: number) => Promise<void>) => {
    for (let i = 0; !stopped && Date.now() < deadline; i++) {
      await step(i);
      // Pacing only (an outage answers fast, and this is a load loop, not a synchronisation).
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
  };
  const url = fx.gh.url;
  const workers = [
    loop(async () => record('GET /chat', (await agent.get(`${url}/chat`)).status)),
    loop(async () => record('GET /me', (await agent.get(`${url}/me`)).status)),
    loop(async () => record('GET /sessions', (await agent.get(`${url}/sessions`)).status)),
    loop(async (i) => {
      const res = await postChat(fx, agent, `traffic ${i}`);
      record('POST /chat', res.status);
      if (res.status === 200) {
        const body = (await res.json()) as { message: { id: number }; reply: { id: number } };
        exchanges.push({ message: body.message.id, reply: body.reply.id });
      } else {
        await res.body?.cancel();
      }
    }),
    loop(async (i) => {
      const attempt = await attemptSignIn(fx, `traffic-${i % 5}@example.com`);
      record('GET /auth', attempt.status);
      if (attempt.status === 303 && attempt.token) sessions.push(sessionIdOf(attempt.token));
    }),
  ];
  return {
    statuses,
    sessions,
    exchanges,
    async stop() {
      stopped = true;
      await Promise.all(workers);
    },
  };
}

function statusesOf(traffic: Traffic, route: string): number[] {
  return [...(traffic.statuses.get(route)?.keys() ?? [])].sort();
}

describeEachPrivateServer('database outage under traffic', (target) => {
  let server: PrivateServer;
  let fx: Fixture;

  beforeAll(async () => {
    server = await target.create();
    fx = await startWithProvider({ databaseUrl: server.url, env: { DATABASE_QUERY_TIMEOUT: '2' } });
  }, 90_000);
  afterAll(async () => {
    await fx?.close();
    await server?.destroy();
  });

  it('503s while the server is down, serves valid tokens, recovers without a restart, loses nothing', async () => {
    const { gh } = fx;
    const ada = await signIn(fx, 'ada@example.com', 'Ada');
    expect((await postChat(fx, ada.browser, 'before the outage')).status).toBe(200);

    const traffic = startTraffic(fx, ada.browser, 60_000);
    try {
      await until('traffic flowing', 5000, async () => (traffic.statuses.get('GET /me')?.get(200) ?? 0) > 3);
      await server.stop();
      await until(
        'GET /me answering 503',
        15_000,
        async () => (await ada.browser.get(`${gh.url}/me`)).status === 503,
      );

      await expectOutage(await ada.browser.get(`${gh.url}/me`), 'GET /me');
      await expectOutage(await ada.browser.get(`${gh.url}/sessions`), 'GET /sessions');
      await expectOutage(await postChat(fx, ada.browser, 'during the outage'), 'POST /chat');
      const ready = await fetch(`${gh.url}/readyz`);
      expect(ready.status).toBe(503);
      expect(((await ready.json()) as { status: string }).status).toBe('not_ready');
      // The provider is up; the callback fails at its first database step.
      const browser = createBrowser();
      const login = await browser.get(`${gh.url}/login`);
      expect(login.status).toBe(302);
      const { callbackUrl, initiator } = await signInAtDevIdp(browser, login.headers.get('location')!, {
        email: 'down@example.com',
      });
      const callback = await browser.navigate(callbackUrl, { initiator, stopAt: () => true });
      await expectOutage(callback.response, 'GET /auth');
      // The hot path: a valid token needs no database.
      const chat = await ada.browser.get(`${gh.url}/chat`);
      expect(chat.status).toBe(200);
      expect(((await chat.json()) as { user: { user_email: string } }).user.user_email).toBe(
        'ada@example.com',
      );

      await server.start();
      await until(
        '/readyz ready again',
        30_000,
        async () => (await fetch(`${gh.url}/readyz`)).status === 200,
      );
      await until('POST /chat served again by the traffic', 15_000, async () => {
        const before = traffic.exchanges.length;
        await new Promise((resolve) => setTimeout(resolve, 50));
        return traffic.exchanges.length > before;
      });
    } finally {
      await traffic.stop();
    }

    // Every answer was a success or an outage; a valid token was never refused. (On failure, the
    // server's error lines say why.)
    const errors = gh.logs
      .filter((l) => typeof l.level === 'number' && l.level >= 50)
      .map((l) => JSON.stringify(l))
      .join('\n');
    expect(errors, 'no error logged').toBe('');
    expect(statusesOf(traffic, 'GET /chat')).toEqual([200]);
    expect(statusesOf(traffic, 'GET /me')).toEqual([200, 503]);
    expect(statusesOf(traffic, 'POST /chat')).toEqual([200, 503]);
    for (const route of ['GET /sessions', 'GET /auth']) {
      for (const status of statusesOf(traffic, route)) expect([200, 303, 503], route).toContain(status);
    }

    // Recovered without a restart: the same process serves database routes and sign-ins.
    expect((await ada.browser.get(`${gh.url}/me`)).status).toBe(200);
    expect((await postChat(fx, ada.browser, 'after the outage')).status).toBe(200);
    const after = await signIn(fx, 'after@example.com');
    expect((await after.browser.get(`${gh.url}/sessions`)).status).toBe(200);

    // Nothing answered as done was lost…
    const store = gh.gatehouse.store;
    for (const sid of traffic.sessions) expect(await store.sessions.findById(sid), sid).toBeDefined();
    const adaUser = (await store.users.findByEmail('ada@example.com'))[0]!;
    const messages = await store.chat.list(adaUser.id, { limit: 1000 });
    const ids = new Set(messages.map((m) => m.id));
    for (const { message, reply } of traffic.exchanges) {
      expect(ids.has(message) && ids.has(reply), `exchange ${message}/${reply}`).toBe(true);
    }
    // …and nothing is half-written: every user has a session (user and session are one
    // transaction), and the chat holds whole exchanges only, each message followed by its reply.
    for (const user of await store.users.list({ limit: 1000 })) {
      const own = await store.sessions.listForUser(user.id, { includeInactive: true });
      expect(own.length, user.email).toBeGreaterThan(0);
    }
    const roles = messages
      .slice()
      .reverse()
      .map((m) => m.role);
    expect(roles.length % 2).toBe(0);
    for (let i = 0; i < roles.length; i += 2)
      expect([roles[i], roles[i + 1]], `pair at ${i}`).toEqual(['user', 'assistant']);

    console.info(
      `[outage ${target.name}] traffic: ${[...traffic.statuses].map(([route, counts]) => `${route} ${[...counts].map(([s, n]) => `${s}×${n}`).join(' ')}`).join('; ')}`,
    );
  }, 90_000);
});

describe('database outage [sqlite: the file locked by another process]', () => {
  let fx: Fixture;

  beforeAll(async () => {
    fx = await startWithProvider({ env: { DATABASE_QUERY_TIMEOUT: '1' } });
  });
  afterAll(async () => fx?.close());

  it('answers 503 to writes while the lock is held, keeps valid tokens working, and recovers', async () => {
    const { gh } = fx;
    const ada = await signIn(fx, 'ada@example.com', 'Ada');
    const path = gh.config.database.sqlitePath!;
    // Another process (here: another connection) holds the write lock.
    const other = new Database(path, { timeout: 0 });
    try {
      other.exec('begin exclusive');
      await expectOutage(await postChat(fx, ada.browser, 'while locked'), 'POST /chat');
      const browser = createBrowser();
      const login = await browser.get(`${gh.url}/login`);
      const { callbackUrl, initiator } = await signInAtDevIdp(browser, login.headers.get('location')!, {
        email: 'locked@example.com',
      });
      await expectOutage(
        (await browser.navigate(callbackUrl, { initiator, stopAt: () => true })).response,
        'GET /auth',
      );
      expect((await ada.browser.get(`${gh.url}/chat`)).status).toBe(200);
    } finally {
      other.exec('rollback');
      other.close();
    }
    expect((await postChat(fx, ada.browser, 'unlocked')).status).toBe(200);
    expect((await attemptSignIn(fx, 'locked@example.com')).status).toBe(303);
    const user = (await gh.gatehouse.store.users.findByEmail('ada@example.com'))[0]!;
    const roles = (await gh.gatehouse.store.chat.list(user.id)).map((m) => m.role);
    expect(roles).toEqual(['assistant', 'user']);
  });
});
