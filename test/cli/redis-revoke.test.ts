/**
 * `gatehouse sessions revoke` and `gatehouse users disable` publish through Redis when REDIS_URL is
 * set: a running server refuses the session at once, long before its database poll would tell it.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { redisSkipReason } from '../helpers/redis.js';
import { type Fixture, signIn, startWithProvider } from '../helpers/sign-in.js';
import { runCli, tempDir } from './run.js';

const skip = redisSkipReason();

async function until(check: () => Promise<boolean>, deadlineMs: number): Promise<number> {
  const start = Date.now();
  while (Date.now() - start < deadlineMs) {
    if (await check()) return Date.now() - start;
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new Error(`condition not met within ${deadlineMs} ms`);
}

describe.skipIf(skip !== undefined)('CLI revocations through Redis', () => {
  let fx: Fixture;
  let dir: ReturnType<typeof tempDir>;

  beforeAll(async () => {
    // A poll interval far longer than the test: only the Redis broadcast can explain a refusal.
    fx = await startWithProvider({
      env: { REDIS_URL: process.env.TEST_REDIS_URL, REVOCATION_POLL_INTERVAL: '10m' },
    });
    dir = tempDir();
  });
  afterAll(async () => {
    await fx?.close();
    dir?.remove();
  });

  const cli = (...args: string[]) =>
    runCli(args, {
      cwd: dir.path,
      env: { DATABASE_URL: fx.gh.config.database.url, REDIS_URL: process.env.TEST_REDIS_URL },
      timeoutMs: 30_000,
    });

  it('sessions revoke --user: the running server refuses the token within a second', async () => {
    const { token } = await signIn(fx, 'cli-redis@example.com');
    const chat = () => fetch(`${fx.gh.url}/chat`, { headers: { authorization: `Bearer ${token}` } });
    expect((await chat()).status).toBe(200);
    const result = await cli('sessions', 'revoke', '--user', 'cli-redis@example.com');
    expect(result.code, result.stderr).toBe(0);
    const took = await until(async () => (await chat()).status === 401, 1_000);
    expect(took).toBeLessThan(1_000);
  });

  it('users disable: every session of the user is refused at once', async () => {
    const { token } = await signIn(fx, 'cli-disable@example.com');
    const chat = () => fetch(`${fx.gh.url}/chat`, { headers: { authorization: `Bearer ${token}` } });
    expect((await chat()).status).toBe(200);
    const result = await cli('users', 'disable', 'cli-disable@example.com');
    expect(result.code, result.stderr).toBe(0);
    await until(async () => (await chat()).status === 401, 1_000);
  });
});
