/**
 * The identity-assertion seam of proxy mode: with an assertion source configured, every proxied
 * request of a signed-in user carries its `X-Gatehouse-Assertion`, asked for with the upstream's
 * origin as the audience; an anonymous public request asks for none, and a client-sent one never
 * passes. The source here is a fake; the signing one is separate.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AuthUser } from '../../../src/http/auth.js';
import { mintSession, type ProxyFixture, startProxy } from '../../helpers/proxy.js';
import type { EchoBody } from '../../helpers/upstream.js';

describe('proxy mode: the assertion seam', () => {
  const asked: { user: AuthUser; audience: string }[] = [];
  let fx: ProxyFixture;

  beforeAll(async () => {
    fx = await startProxy({
      env: { PUBLIC_PATHS: '/open' },
      assertions: {
        headerFor(user, audience) {
          asked.push({ user, audience });
          return `fake-assertion-for-${user.email}`;
        },
      },
    });
  });
  afterAll(async () => fx?.close());

  it('sets X-Gatehouse-Assertion for the user, audience = the upstream origin', async () => {
    const session = await mintSession(fx.gh, 'seam@example.com');
    const res = await fetch(`${fx.url}/api`, {
      headers: { cookie: session.cookie, 'x-gatehouse-assertion': 'forged' },
    });
    const seen = (await res.json()) as EchoBody;
    expect(seen.headers['x-gatehouse-assertion']).toBe('fake-assertion-for-seam@example.com');
    expect(asked.at(-1)?.audience).toBe(fx.upstream.url);
    expect(asked.at(-1)?.user).toMatchObject({ id: session.userId, sessionId: session.sessionId });
  });

  it('asks for none on an anonymous public request, and drops a forged one', async () => {
    const before = asked.length;
    const seen = (await (
      await fetch(`${fx.url}/open`, { headers: { 'x-gatehouse-assertion': 'forged' } })
    ).json()) as EchoBody;
    expect(seen.headers['x-gatehouse-assertion']).toBeUndefined();
    expect(asked.length).toBe(before);
  });
});
