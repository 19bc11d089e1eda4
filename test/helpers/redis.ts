/**
 * Redis for tests: `TEST_REDIS_URL` names a server. Suites that need it run when it is set, are
 * skipped with a clear message otherwise, and fail under GATEHOUSE_REQUIRE_SERVICES=1 (the same
 * rule as test/helpers/databases.ts).
 */
import { Redis } from 'ioredis';

export const REDIS_URL = process.env.TEST_REDIS_URL;
const REQUIRE_SERVICES = process.env.GATEHOUSE_REQUIRE_SERVICES === '1';

/** Why Redis suites cannot run, or undefined when they can; throws when services are required. */
export function redisSkipReason(): string | undefined {
  if (REDIS_URL) return undefined;
  const reason = 'set TEST_REDIS_URL to run';
  if (REQUIRE_SERVICES) throw new Error(`Redis: ${reason} (GATEHOUSE_REQUIRE_SERVICES=1)`);
  console.warn(`[redis] suites skipped: ${reason}`);
  return reason;
}

/** A plain client for assertions (read keys, publish); the caller quits it. */
export function redisClient(): Redis {
  if (!REDIS_URL) throw new Error('TEST_REDIS_URL is not set');
  return new Redis(REDIS_URL, { lazyConnect: false, maxRetriesPerRequest: 1 });
}
