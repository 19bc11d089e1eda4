/**
 * The adversarial suite's rig: a real Gatehouse on 127.0.0.1 whose OpenID provider is the hostile
 * provider on `localhost` (another site, as Google is), driven over real HTTP; and the one
 * assertion every attack ends with — SECURITY.md's definition of "rejected": a clear error
 * (problem+json `code`, or a redirect to the frontend with `?auth_error=CODE`), no session cookie,
 * no user or session row created or changed, the reason in the log and in `auth_events`, no 500.
 */
import { expect } from 'vitest';
import type { Clock } from '../../../src/core/clock.js';
import { type BrowserAgent, createBrowser } from '../../helpers/browser.js';
import { startGatehouse, type TestGatehouse } from '../../helpers/gatehouse.js';
import { type HostileProvider, startHostileProvider } from '../../helpers/hostile-provider.js';
import { freePort } from '../../helpers/ports.js';

/** Requests with full control: one helper for every suite (test/helpers/raw-request.ts). */
export { type RawResponse, rawRequest } from '../../helpers/raw-request.js';

/** A clock the test moves; starts at real time. */
export class TestClock implements Clock {
  offsetMs = 0;
  now(): number {
    return Date.now() + this.offsetMs;
  }
}

export interface Rig {
  readonly gh: TestGatehouse;
  readonly idp: HostileProvider;
  readonly clock: TestClock;
  readonly url: string;
  close(): Promise<void>;
}

export interface RigOptions {
  readonly env?: Record<string, string | undefined>;
  /** Reuse a provider (e.g. two instances behind one provider). */
  readonly idp?: HostileProvider;
  readonly databaseUrl?: string;
  /** A clock set before start (e.g. an instance started "later"). */
  readonly clock?: TestClock;
}

export async function startRig(options: RigOptions = {}): Promise<Rig> {
  const idp = options.idp ?? (await startHostileProvider({ host: 'localhost' }));
  const clock = options.clock ?? new TestClock();
  const port = await freePort();
  const gh = await startGatehouse({
    clock,
    ...(options.databaseUrl ? { databaseUrl: options.databaseUrl } : {}),
    env: {
      PORT: String(port),
      PUBLIC_URL: `http://127.0.0.1:${port}`,
      OIDC_ISSUER: idp.issuer,
      GOOGLE_CLIENT_ID: idp.clientId,
      GOOGLE_CLIENT_SECRET: idp.clientSecret,
      // Generous for loaded CI machines; rule 39 runs its own instance with 1 s.
      OIDC_TIMEOUT: '5s',
      ...options.env,
    },
  });
  return {
    gh,
    idp,
    clock,
    url: gh.url,
    async close() {
      await gh.close();
      if (!options.idp) await idp.close();
    },
  };
}

/** GET /login in this browser; returns the authorization URL and the response. */
export async function beginLogin(
  rig: Rig,
  browser: BrowserAgent,
  query = '',
): Promise<{ response: Response; authorizationUrl: URL }> {
  const response = await browser.get(`${rig.url}/login${query}`);
  expect(response.status).toBe(302);
  return { response, authorizationUrl: new URL(response.headers.get('location')!) };
}

/** /login, then the provider's authorize endpoint; returns the callback URL without opening it. */
export async function callbackUrlFor(rig: Rig, browser: BrowserAgent, query = ''): Promise<URL> {
  const { authorizationUrl } = await beginLogin(rig, browser, query);
  const nav = await browser.navigate(authorizationUrl.href, { stopAt: () => true, initiator: rig.url });
  expect(nav.stoppedAt).not.toBeNull();
  return new URL(nav.stoppedAt!);
}

export interface CallbackResult {
  readonly status: number;
  readonly headers: Headers;
  readonly location: string | null;
  /** The problem body when the answer is not a redirect. */
  readonly problem: { code?: string; detail?: string; status?: number } | undefined;
  readonly text: string;
}

/** Opens a callback URL as the provider's redirect would (a cross-site top-level navigation). */
export async function openCallback(
  rig: Rig,
  browser: BrowserAgent,
  url: URL | string,
): Promise<CallbackResult> {
  const nav = await browser.navigate(String(url), { initiator: rig.idp.issuer, stopAt: () => true });
  const first = nav.hops[0]!;
  const text = nav.hops.length === 1 ? await nav.response.text() : '';
  let problem: CallbackResult['problem'];
  if ((first.headers.get('content-type') ?? '').includes('json') && text) problem = JSON.parse(text);
  return {
    status: first.status,
    headers: first.headers,
    location: first.headers.get('location'),
    problem,
    text,
  };
}

/** A complete sign-in; returns the session cookie's value. */
export async function signIn(
  rig: Rig,
  browser: BrowserAgent = createBrowser(),
  query = '',
): Promise<{ browser: BrowserAgent; token: string; callback: CallbackResult }> {
  const callbackUrl = await callbackUrlFor(rig, browser, query);
  const callback = await openCallback(rig, browser, callbackUrl);
  expect(callback.status, callback.text).toBe(303);
  expect(callback.location ?? '').not.toContain('auth_error');
  const token = sessionCookieIn(rig, browser);
  expect(token, 'a session cookie after sign-in').toBeDefined();
  return { browser, token: token!, callback };
}

export function sessionCookieIn(rig: Rig, browser: BrowserAgent): string | undefined {
  return browser.cookies('127.0.0.1').find((c) => c.name === rig.gh.config.cookie.name && c.value !== '')
    ?.value;
}

export interface Snapshot {
  readonly users: number;
  readonly sessions: string;
  readonly lastEventId: number;
}

/** The rows an attack must not create or change. */
export async function snapshot(rig: Rig): Promise<Snapshot> {
  const store = rig.gh.gatehouse.store;
  const sessions = await store.sessions.list({ limit: 10_000 });
  const events = await store.events.list({ limit: 1 });
  return {
    users: await store.users.count(),
    sessions: JSON.stringify(
      [...sessions].sort((a, b) => a.id.localeCompare(b.id)).map((s) => [s.id, s.revokedAt, s.lastSeenAt]),
    ),
    lastEventId: Math.max(0, ...events.map((e) => e.id)),
  };
}

export interface Expected {
  /** The stable code (one of, when the rule allows several). */
  readonly code: string | readonly string[];
  /** The audit/log reason (exact, or a pattern). */
  readonly reason?: string | RegExp;
  /** 'redirect' = 303 to the frontend with ?auth_error=; a number = that status with problem+json. */
  readonly as?: 'redirect' | number;
}

/** SECURITY.md's "rejected", asserted whole. */
export async function expectRejected(
  rig: Rig,
  before: Snapshot,
  result: CallbackResult,
  browser: BrowserAgent | undefined,
  expected: Expected,
): Promise<void> {
  const codes = typeof expected.code === 'string' ? [expected.code] : expected.code;
  expect(result.status, 'never a 500').not.toBe(500);
  let code: string | undefined;
  if (result.status === 303 || result.status === 302) {
    const location = new URL(result.location!);
    expect(`${location.origin}${location.pathname}`).toBe(new URL(rig.gh.config.frontendUrl).href);
    code = location.searchParams.get('auth_error') ?? undefined;
    if (expected.as !== undefined) expect(expected.as).toBe('redirect');
  } else {
    expect(result.headers.get('content-type') ?? '').toContain('application/problem+json');
    code = result.problem?.code;
    if (typeof expected.as === 'number') expect(result.status).toBe(expected.as);
    expect(result.status).toBeGreaterThanOrEqual(400);
  }
  expect(codes).toContain(code);
  // No session cookie set (a clearing cookie is fine).
  const name = rig.gh.config.cookie.name;
  for (const raw of result.headers.getSetCookie()) {
    if (raw.startsWith(`${name}=`)) expect(raw.startsWith(`${name}=;`)).toBe(true);
  }
  if (browser) expect(sessionCookieIn(rig, browser)).toBeUndefined();
  // No user or session row created or changed.
  const after = await snapshot(rig);
  expect(after.users).toBe(before.users);
  expect(after.sessions).toBe(before.sessions);
  // The reason in auth_events and in the log.
  const events = (await rig.gh.gatehouse.store.events.list({ type: 'sign_in_failed', limit: 50 })).filter(
    (e) => e.id > before.lastEventId,
  );
  expect(events.length, 'an auth_events row').toBeGreaterThan(0);
  const reason = events[0]!.reason ?? '';
  if (expected.reason instanceof RegExp) expect(reason).toMatch(expected.reason);
  else if (expected.reason !== undefined) expect(reason).toBe(expected.reason);
  expect(
    rig.gh.logs.some((l) => l.msg === 'sign-in failed' && l.reason === events[0]!.reason),
    'the reason in the log',
  ).toBe(true);
}

/** Polls `check` until it returns true or the deadline passes (never a fixed sleep). */
export async function until(
  check: () => boolean | Promise<boolean>,
  deadlineMs: number,
  stepMs = 25,
): Promise<boolean> {
  const end = Date.now() + deadlineMs;
  while (Date.now() < end) {
    if (await check()) return true;
    await new Promise((resolve) => setTimeout(resolve, stepMs));
  }
  return check();
}

export function problemCode(body: string): string | undefined {
  try {
    return (JSON.parse(body) as { code?: string }).code;
  } catch {
    return undefined;
  }
}
