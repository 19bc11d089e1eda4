/**
 * Redis is an accelerator, never a dependency: with REDIS_URL pointing at nothing, Gatehouse
 * starts, serves, says so in its logs and in /readyz (still ready), and revocations still reach
 * other instances by database polling. And the bus itself over a real Redis: fan-out between
 * two buses, malformed messages ignored, publishing after close harmless.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { silentLog } from '../../src/core/log.js';
import {
  parseRevocationMessage,
  REVOCATION_CHANNEL,
  RedisRevocationBus,
} from '../../src/session/redis-bus.js';
import { nginxSkipReason } from '../helpers/nginx.js';
import { freePort } from '../helpers/ports.js';
import { REDIS_URL, redisClient, redisSkipReason } from '../helpers/redis.js';
import {
  type Cluster,
  rawRequest,
  signIn,
  signOut,
  startCluster,
  timesUntilRefusedEverywhere,
} from './cluster.js';

const nginxSkip = nginxSkipReason();

describe.skipIf(nginxSkip !== undefined)('Redis unreachable: serving continues, polling takes over', () => {
  let cluster: Cluster;
  let dir: string;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'gatehouse-noredis-'));
    const deadPort = await freePort();
    cluster = await startCluster({
      databaseUrl: `sqlite:${join(dir, 'gatehouse.db')}`,
      instances: 2,
      redisUrl: `redis://127.0.0.1:${deadPort}`,
    });
  });

  afterAll(async () => {
    await cluster?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('starts, stays ready, and reports the fallback in /readyz and the logs', async () => {
    const res = await rawRequest(`${cluster.direct(0)}/readyz`);
    expect(res.status).toBe(200);
    const body = JSON.parse(res.body) as { checks: Record<string, { ok: boolean; detail?: string }> };
    expect(body.checks.redis?.ok).toBe(false);
    expect(body.checks.redis?.detail).toMatch(/polling/);
    const events = cluster.instances[0]!.logs.map((l) => l.event);
    expect(events).toContain('redis_unavailable');
  });

  it('signs in and revokes across instances by polling, within the bound', async () => {
    const browser = cluster.browser();
    const { token } = await signIn(cluster, browser, 'nored@example.com');
    expect(await signOut(cluster, browser)).toBe(204);
    const each = await timesUntilRefusedEverywhere(cluster, token, performance.now());
    expect(Math.max(...each)).toBeLessThan(1_250);
    // Sign-in routes are still rate limited (per instance) and answer.
    const login = await rawRequest(`${cluster.direct(1)}/login`);
    expect(login.status).toBe(302);
  });
});

const redisSkip = redisSkipReason();

describe.skipIf(redisSkip !== undefined)('RedisRevocationBus over a real Redis', () => {
  it('fans a revocation out to another bus, ignores malformed messages, and is harmless after close', async () => {
    const channel = `${REVOCATION_CHANNEL}:test:${Math.random().toString(36).slice(2)}`;
    const a = new RedisRevocationBus({ url: REDIS_URL!, logger: silentLog, channel });
    const b = new RedisRevocationBus({ url: REDIS_URL!, logger: silentLog, channel });
    const received: string[][] = [];
    try {
      await b.subscribe((ids) => received.push([...ids]));
      const raw = redisClient();
      await raw.publish(channel, 'not json');
      await raw.publish(channel, JSON.stringify({ ids: ['../../etc'] }));
      raw.disconnect();
      expect(await a.whenConnected(5_000)).toBe(true);
      const ids = ['AAAAAAAAAAAAAAAAAAAAAA', 'BBBBBBBBBBBBBBBBBBBBBB'];
      const deadline = Date.now() + 5_000;
      // The publisher connects in the background: publish until the subscriber hears it.
      while (received.length === 0 && Date.now() < deadline) {
        await a.publish(ids);
        await new Promise((r) => setTimeout(r, 20));
      }
      expect(received[0]).toEqual(ids);
      expect(received.every((r) => r.every((id) => /^[A-Z]{22}$/.test(id)))).toBe(true);
      expect(b.status(1).ok).toBe(true);
    } finally {
      await a.close();
      await b.close();
    }
    await expect(a.publish(['CCCCCCCCCCCCCCCCCCCCCC'])).resolves.toBeUndefined();
    await a.close();
  });

  it('parses only lists of session ids', () => {
    expect(parseRevocationMessage('{"ids":["AAAAAAAAAAAAAAAAAAAAAA"]}')).toEqual(['AAAAAAAAAAAAAAAAAAAAAA']);
    expect(parseRevocationMessage('{"ids":[]}')).toBeUndefined();
    expect(parseRevocationMessage('{"ids":[1]}')).toBeUndefined();
    expect(parseRevocationMessage('null')).toBeUndefined();
    expect(parseRevocationMessage('{')).toBeUndefined();
  });
});
