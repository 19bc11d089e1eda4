/**
 * Rate-limit counters shared across instances in Redis (SECURITY.md H.36: "shared across
 * instances when Redis is configured"), for @fastify/rate-limit's `store` option.
 *
 * A fixed window per key: `SET key 0 PX window NX` starts the window, `INCR` counts, `PTTL`
 * tells the time left — in one MULTI, so concurrent instances agree on one counter.
 *
 * When Redis is unreachable the limits fall back to a counter in this process instead of
 * failing requests or switching limiting off (@fastify/rate-limit's `skipOnError` would let
 * everything through): each instance then enforces the limit on its own, which is what happens
 * without Redis at all.
 */
import type { FastifyRateLimitStore, FastifyRateLimitStoreCtor } from '@fastify/rate-limit';
import type { Redis } from 'ioredis';

export const RATE_LIMIT_PREFIX = 'gatehouse:rl:';
/** Keys the in-process fallback keeps at most (oldest windows dropped first). */
const LOCAL_MAX_KEYS = 10_000;

type Counter = { current: number; ttl: number };
type RouteLimitOptions = { routeInfo?: { method?: string; url?: string }; timeWindow?: unknown };
type Callback = (error: Error | null, result?: Counter) => void;

/** The in-process fallback: fixed windows in a bounded Map (insertion order = age). */
class LocalCounters {
  readonly #windows = new Map<string, { count: number; resetAt: number }>();

  incr(key: string, windowMs: number): Counter {
    const now = Date.now();
    let entry = this.#windows.get(key);
    if (entry === undefined || entry.resetAt <= now) {
      this.#windows.delete(key);
      if (this.#windows.size >= LOCAL_MAX_KEYS) {
        const oldest = this.#windows.keys().next();
        if (!oldest.done) this.#windows.delete(oldest.value);
      }
      entry = { count: 0, resetAt: now + windowMs };
      this.#windows.set(key, entry);
    }
    entry.count += 1;
    return { current: entry.count, ttl: entry.resetAt - now };
  }
}

/** A store class bound to one ioredis connection (`enableOfflineQueue: false` makes outages fail fast). */
export function redisRateLimitStore(redis: Redis): FastifyRateLimitStoreCtor {
  const local = new LocalCounters();

  class RedisRateLimitStore implements FastifyRateLimitStore {
    readonly #prefix: string;
    readonly #windowMs: number | undefined;

    constructor(options: { timeWindow?: unknown }, prefix = RATE_LIMIT_PREFIX) {
      this.#prefix = prefix;
      this.#windowMs = typeof options.timeWindow === 'number' ? options.timeWindow : undefined;
    }

    // The plugin calls incr(key, cb, timeWindow, max) although its types declare two parameters.
    incr(key: string, callback: Callback, timeWindow?: number): void {
      const windowMs = Math.max(1, Math.round(timeWindow ?? this.#windowMs ?? 60_000));
      const fullKey = this.#prefix + key;
      if (redis.status !== 'ready') {
        callback(null, local.incr(fullKey, windowMs));
        return;
      }
      redis
        .multi()
        .set(fullKey, '0', 'PX', windowMs, 'NX')
        .incr(fullKey)
        .pttl(fullKey)
        .exec()
        .then(
          (results) => {
            const current = Number(results?.[1]?.[1]);
            const ttl = Number(results?.[2]?.[1]);
            if (!Number.isFinite(current) || results?.some(([err]) => err)) {
              callback(null, local.incr(fullKey, windowMs));
              return;
            }
            callback(null, { current, ttl: ttl > 0 ? ttl : windowMs });
          },
          () => callback(null, local.incr(fullKey, windowMs)),
        );
    }

    // The plugin passes the merged route options (with `routeInfo`), wider than its declared type.
    child(routeOptions: Parameters<FastifyRateLimitStore['child']>[0]): FastifyRateLimitStore {
      const options = routeOptions as unknown as RouteLimitOptions;
      const route = options.routeInfo;
      return new RedisRateLimitStore(options, `${this.#prefix}${route?.method ?? ''}${route?.url ?? ''}:`);
    }
  }
  return RedisRateLimitStore as unknown as FastifyRateLimitStoreCtor;
}
