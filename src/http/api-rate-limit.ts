/**
 * RATE_LIMIT_API on the authenticated API (SECURITY.md 46): every route protected by
 * `app.requireUser` — `/me`, `/sessions…`, `GET /chat`, and `POST /chat`, which may spend money
 * upstream — counts against two budgets of `RATE_LIMIT_API` each, shared by all those routes:
 *
 * - per client IP (`request.ip`, so behind TRUST_PROXY the real client), checked before the
 *   session, so a client without a valid session is limited as well;
 * - per signed-in user, checked after it, so one account cannot escape by spreading its requests
 *   over many addresses.
 *
 * Over either: 429 problem+json `rate_limited` with Retry-After (app.ts's errorResponseBuilder).
 * The counters live where RATE_LIMIT_AUTH's do (Redis when configured, else this instance).
 * `/auth/*` routes (forward-auth's per-request check) are not API routes and are not counted.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest, RouteOptions } from 'fastify';
import fp from 'fastify-plugin';
import type { Config } from '../config/types.js';

type Handler = NonNullable<RouteOptions['preHandler']>;
type Limiter = ReturnType<FastifyInstance['createRateLimit']>;

function handlers(value: RouteOptions['preHandler']): unknown[] {
  if (value === undefined || value === null) return [];
  return Array.isArray(value) ? [...value] : [value];
}

/**
 * One budget as a preHandler. `createRateLimit` rather than `rateLimit`: the plugin's handlers
 * mark a request as counted, so a second one on the same request would silently do nothing.
 */
function enforce(limiter: Limiter) {
  return async (request: FastifyRequest, reply: FastifyReply): Promise<void> => {
    const result = await limiter(request);
    if (result.isAllowed || !result.isExceeded) return;
    reply.header('retry-after', String(result.ttlInSeconds));
    throw Object.assign(new Error('Too many requests'), { statusCode: 429 });
  };
}

async function apiRateLimitPlugin(app: FastifyInstance, options: { config: Config }): Promise<void> {
  const { max, windowSeconds } = options.config.rateLimit.api;
  const timeWindow = windowSeconds * 1000;
  const perIp = enforce(
    app.createRateLimit({ max, timeWindow, keyGenerator: (request) => `api-ip:${request.ip}` }),
  );
  const perUser = enforce(
    app.createRateLimit({
      max,
      timeWindow,
      keyGenerator: (request) => (request.user ? `api-user:${request.user.id}` : `api-ip:${request.ip}`),
    }),
  );
  app.addHook('onRoute', (route) => {
    const pre = handlers(route.preHandler);
    if (!pre.includes(app.requireUser) || route.url.startsWith('/auth/')) return;
    route.preHandler = [perIp, ...pre, perUser] as Handler;
  });
}

export default fp(apiRateLimitPlugin, {
  fastify: '5.x',
  name: 'gatehouse-api-rate-limit',
  dependencies: ['gatehouse-auth', '@fastify/rate-limit'],
});
