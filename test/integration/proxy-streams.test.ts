/**
 * Proxy mode: WebSockets and long responses (DESIGN.md "Proxy mode"): authenticated at the
 * start, relayed both ways, and closed when their session is revoked (at once) or expires (at
 * the next token expiry, after the same re-check renewal does). Time is moved with an injected
 * clock; closes are polled for with a deadline, never slept through.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import {
  mintSession,
  openSocket,
  type ProxyFixture,
  rawExchange,
  refusedWith,
  startProxy,
  until,
} from '../helpers/proxy.js';

/** A clock the test moves; starts at real time. */
class OffsetClock {
  offsetMs = 0;
  now(): number {
    return Date.now() + this.offsetMs;
  }
}

describe('proxy mode: WebSockets and streams', () => {
  const clock = new OffsetClock();
  let fx: ProxyFixture;
  let wsUrl: string;
  let origin: string;

  beforeAll(async () => {
    fx = await startProxy({ clock, env: { TOKEN_TTL: '5m', SESSION_IDLE_TTL: '30m', SESSION_TTL: '1h' } });
    wsUrl = fx.url.replace('http:', 'ws:');
    origin = fx.url;
  });
  afterAll(async () => fx?.close());

  it('relays a WebSocket with the identity, without the session cookie, with the negotiated subprotocol', async () => {
    const s = await mintSession(fx.gh, 'ws@example.com', 'Wé Socket');
    const sock = await openSocket(`${wsUrl}/live/./feed?x=1`, { cookie: `${s.cookie}; other=1`, origin }, [
      'chat.v1',
    ]);
    expect(sock.first.url).toBe('/live/feed?x=1');
    expect(sock.first.headers['x-auth-email']).toBe('ws@example.com');
    expect(sock.first.headers['x-auth-name']).toBe('W%C3%A9%20Socket');
    expect(sock.first.headers.cookie).toBe('other=1');
    expect(sock.first.protocol).toBe('chat.v1');
    expect(sock.ws.protocol).toBe('chat.v1');
    const echoed = new Promise<string>((resolve) => sock.ws.once('message', (d) => resolve(String(d))));
    sock.ws.send('ping-1');
    expect(await echoed).toBe('ping-1');
    // Many large binary messages both ways, in order, none lost (back-pressure pauses, never drops).
    const big = Array.from({ length: 20 }, (_, i) => Buffer.alloc(512 * 1024, i));
    const received: Buffer[] = [];
    const all = new Promise<void>((resolve) =>
      sock.ws.on('message', (d: Buffer, isBinary) => {
        if (!isBinary) return;
        received.push(d);
        if (received.length === big.length) resolve();
      }),
    );
    for (const message of big) sock.ws.send(message);
    await all;
    expect(received.map((b) => [b.length, b[0]])).toEqual(big.map((b) => [b.length, b[0]]));
    sock.ws.close(1000);
    expect(await until(() => fx.upstream.sockets.at(-1)?.closed?.code === 1000, 2000)).toBe(true);
  });

  it('refuses a WebSocket without a session (401) and one from another site (403); the upstream sees neither', async () => {
    const before = fx.upstream.seen.length;
    const anonymous = await refusedWith(`${wsUrl}/live`, { origin });
    expect(anonymous.status).toBe(401);
    expect(JSON.parse(anonymous.body).code).toBe('not_authenticated');
    const s = await mintSession(fx.gh, 'csws@example.com');
    const crossSite = await refusedWith(`${wsUrl}/live`, {
      cookie: s.cookie,
      origin: 'https://evil.example',
    });
    expect(crossSite.status).toBe(403);
    // A browser always sends Origin; a cookie without one is refused too. A bearer client may omit it.
    expect((await refusedWith(`${wsUrl}/live`, { cookie: s.cookie })).status).toBe(403);
    const bearer = await openSocket(`${wsUrl}/live`, { authorization: `Bearer ${s.token}` });
    expect(bearer.first.headers.authorization).toBeUndefined();
    bearer.ws.close();
    expect(fx.upstream.seen.length).toBe(before + 1);
  });

  it('answers an Upgrade other than websocket with 400, and a malformed handshake too', async () => {
    const s = await mintSession(fx.gh, 'h2c@example.com');
    const before = fx.upstream.seen.length;
    const { host } = new URL(fx.url);
    const h2c = await rawExchange(
      fx.url,
      `GET /x HTTP/1.1\r\nHost: ${host}\r\nCookie: ${s.cookie}\r\nConnection: Upgrade\r\nUpgrade: h2c\r\n\r\n`,
    );
    expect(h2c).toMatch(/^HTTP\/1\.1 400/);
    const noKey = await rawExchange(
      fx.url,
      `GET /x HTTP/1.1\r\nHost: ${host}\r\nCookie: ${s.cookie}\r\nOrigin: ${origin}\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\n\r\n`,
    );
    expect(noKey).toMatch(/^HTTP\/1\.1 400/);
    expect(fx.upstream.seen.length).toBe(before);
  });

  it('closes a WebSocket with 1008 within 1 s of its session being revoked, and the upstream side too', async () => {
    const s = await mintSession(fx.gh, 'revoke-ws@example.com');
    const sock = await openSocket(`${wsUrl}/live`, { cookie: s.cookie, origin });
    const upstreamSide = fx.upstream.sockets.at(-1)!;
    const revokedAt = Date.now();
    await fx.gh.gatehouse.revocation.revoke(s.sessionId, {
      reason: 'test',
      type: 'session_revoked',
      userId: s.userId,
      meta: { ip: null, userAgent: null },
    });
    expect(await until(() => sock.closed.code !== undefined, 1000)).toBe(true);
    expect(Date.now() - revokedAt).toBeLessThan(1000);
    expect(sock.closed.code).toBe(1008);
    expect(await until(() => upstreamSide.closed !== undefined, 2000)).toBe(true);
  });

  it('ends a streamed response (SSE) within 1 s of its session being revoked', async () => {
    const s = await mintSession(fx.gh, 'revoke-sse@example.com');
    const controller = new AbortController();
    const res = await fetch(`${fx.url}/sse`, { headers: { cookie: s.cookie }, signal: controller.signal });
    expect(res.headers.get('content-type')).toBe('text/event-stream');
    const reader = res.body!.getReader();
    const first = await reader.read();
    expect(new TextDecoder().decode(first.value)).toContain('data: 0');
    let ended = false;
    const drain = (async () => {
      try {
        for (;;) {
          const { done } = await reader.read();
          if (done) break;
        }
      } catch {
        // A destroyed connection surfaces as an error: the stream ended all the same.
      }
      ended = true;
    })();
    const endedBefore = fx.upstream.streamsEnded.count;
    await fx.gh.gatehouse.revocation.revoke(s.sessionId, {
      reason: 'test',
      type: 'session_revoked',
      userId: s.userId,
      meta: { ip: null, userAgent: null },
    });
    expect(await until(() => ended, 1000)).toBe(true);
    await drain;
    // The upstream's side of the stream is released too.
    expect(await until(() => fx.upstream.streamsEnded.count > endedBefore, 2000)).toBe(true);
  });

  it('at token expiry re-checks the session: a live one keeps its socket, an ended one is closed with 1008', async () => {
    const s = await mintSession(fx.gh, 'expiry-ws@example.com');
    const sock = await openSocket(`${wsUrl}/live`, { cookie: s.cookie, origin });
    const lastSeen = async () =>
      (await fx.gh.gatehouse.store.sessions.findWithUser(s.sessionId))!.session.lastSeenAt.getTime();
    const seenBefore = await lastSeen();
    // Past the token's 5 minutes, inside the 30-minute idle limit: renewed, kept open.
    clock.offsetMs = 6 * 60_000;
    expect(await until(async () => (await lastSeen()) > seenBefore, 3000)).toBe(true);
    expect(sock.ws.readyState).toBe(WebSocket.OPEN);
    // Past the hour of absolute lifetime: the re-check says "ended".
    clock.offsetMs = 61 * 60_000;
    expect(await until(() => sock.closed.code !== undefined, 2000)).toBe(true);
    expect(sock.closed.code).toBe(1008);
    clock.offsetMs = 0;
  });
});
