/**
 * /metrics over real HTTP after real sign-ins (a real OpenID provider on another site): request
 * durations by route template and status, sign-ins by result and reason, renewals, revocations,
 * active sessions, store and provider timings, event-loop lag — and, with METRICS_PORT, the
 * endpoint only on its own listener. Each app has its own registry, so two run side by side here.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Clock } from '../../src/core/clock.js';
import { createBrowser } from '../helpers/browser.js';
import { signInAtDevIdp } from '../helpers/dev-idp.js';
import { startGatehouse, type TestGatehouse } from '../helpers/gatehouse.js';
import { freePort } from '../helpers/ports.js';
import { type Fixture, startWithProvider } from '../helpers/sign-in.js';

/** One sample's value from the exposition text, or undefined. */
function sample(text: string, name: string, labels: Record<string, string> = {}): number | undefined {
  for (const line of text.split('\n')) {
    if (!line.startsWith(`${name}{`) && !line.startsWith(`${name} `)) continue;
    const wanted = Object.entries(labels).every(([k, v]) => line.includes(`${k}="${v}"`));
    if (wanted) return Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return undefined;
}

describe('metrics', () => {
  let gh: TestGatehouse;
  let other: TestGatehouse;
  let fx: Fixture;
  let metricsPort: number;
  let offset = 0;
  const clock: Clock = { now: () => Date.now() + offset };

  beforeAll(async () => {
    fx = await startWithProvider({ clock, env: { TOKEN_TTL: '60s' } });
    ({ gh } = fx);
    metricsPort = await freePort();
    other = await startGatehouse({ env: { METRICS_PORT: String(metricsPort) } });
  }, 60_000);

  afterAll(async () => {
    await fx?.close();
    await other?.close();
  });

  it('counts a sign-in, a failed callback, a renewal and a sign-out', async () => {
    const browser = createBrowser();
    const login = await browser.get(`${gh.url}/login`);
    const { callbackUrl } = await signInAtDevIdp(browser, login.headers.get('location')!, {
      email: 'ada@example.com',
      name: 'Ada',
    });
    expect((await browser.navigate(callbackUrl)).hops[0]?.status).toBe(303);
    // A callback without its transaction cookie: rejected, with a reason.
    const forged = await fetch(`${gh.url}/auth?code=x&state=y`, { redirect: 'manual' });
    expect(forged.status).toBe(303);
    // A route with a parameter: measured under its template (401: no credentials).
    expect((await fetch(`${gh.url}/sessions/abc`, { method: 'DELETE' })).status).toBe(401);

    offset = 120_000; // past TOKEN_TTL: the next request renews the token
    expect((await browser.get(`${gh.url}/me`)).status).toBe(200);
    // The clock stays ahead: moved back, the renewed token would have been issued in the future.

    const before = await (await fetch(`${gh.url}/metrics`)).text();
    expect(sample(before, 'gatehouse_active_sessions')).toBe(1);

    expect((await browser.post(`${gh.url}/logout`, '', { headers: { origin: gh.url } })).status).toBe(204);

    const response = await fetch(`${gh.url}/metrics`);
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toContain('text/plain');
    const text = await response.text();

    expect(sample(text, 'gatehouse_sign_ins_total', { result: 'success', reason: 'none' })).toBe(1);
    const failures = text
      .split('\n')
      .filter((l) => l.startsWith('gatehouse_sign_ins_total{result="failure"'));
    expect(failures).toHaveLength(1);
    expect(failures[0]).toMatch(/reason="[a-z0-9_]+"\} 1$/);
    expect(failures[0]).not.toContain('reason="none"');
    expect(sample(text, 'gatehouse_session_renewals_total', { result: 'renewed' })).toBe(1);
    expect(sample(text, 'gatehouse_session_revocations_total', { reason: 'user_sign_out' })).toBe(1);
    // Counted at most every 30 s (SECURITY.md 47): this scrape still reports the first count.
    expect(sample(text, 'gatehouse_active_sessions')).toBe(1);

    // Route templates, never raw URLs.
    expect(
      sample(text, 'gatehouse_http_request_duration_seconds_count', {
        route: '/auth',
        status: '303',
        method: 'GET',
      }),
    ).toBe(2);
    expect(sample(text, 'gatehouse_http_request_duration_seconds_count', { route: '/sessions/:id' })).toBe(1);
    expect(text).not.toContain('route="/sessions/abc"');
    expect(text).not.toContain('code=x');

    expect(
      sample(text, 'gatehouse_db_query_duration_seconds_count', { operation: 'signIn', outcome: 'ok' }),
    ).toBe(1);
    expect(
      sample(text, 'gatehouse_db_query_duration_seconds_count', { operation: 'sessions.findWithUser' }),
    ).toBe(1);
    expect(sample(text, 'gatehouse_db_pool_size')).toBe(1);
    expect(
      sample(text, 'gatehouse_provider_request_duration_seconds_count', {
        operation: 'complete_login',
        outcome: 'ok',
      }),
    ).toBe(1);
    expect(
      sample(text, 'gatehouse_provider_request_duration_seconds_count', {
        operation: 'begin_login',
        outcome: 'ok',
      }),
    ).toBe(1);
    expect(text).toMatch(/^nodejs_eventloop_lag_seconds \d/m);
  }, 60_000);

  it('keeps registries apart: the other app counted none of that', async () => {
    const text = await (await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).text();
    expect(sample(text, 'gatehouse_sign_ins_total', { result: 'success' })).toBeUndefined();
    expect(text).toContain('# TYPE gatehouse_http_request_duration_seconds histogram');
  });

  it('with METRICS_PORT serves /metrics only on that port', async () => {
    const main = await fetch(`${other.url}/metrics`);
    expect(main.status).toBe(404);
    await main.arrayBuffer();
    const separate = await fetch(`http://127.0.0.1:${metricsPort}/metrics`);
    expect(separate.status).toBe(200);
    expect(await separate.text()).toContain('gatehouse_active_sessions');
    expect((await fetch(`http://127.0.0.1:${metricsPort}/`)).status).toBe(404);
    // The main port's 404 was itself measured, under one label for unmatched routes.
    const text = await (await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).text();
    expect(
      sample(text, 'gatehouse_http_request_duration_seconds_count', { route: 'unmatched', status: '404' }),
    ).toBe(1);
  });
});
