/**
 * buildApp: registers plugins and routes on a Fastify instance; never listens (that is main's
 * job), so tests can use `app.inject` or a real port without side effects.
 */
import { randomUUID } from 'node:crypto';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import cookie from '@fastify/cookie';
import cors from '@fastify/cors';
import formbody from '@fastify/formbody';
import rateLimit, { type FastifyRateLimitStoreCtor } from '@fastify/rate-limit';
import fastifyStatic from '@fastify/static';
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import Fastify, { type FastifyBaseLogger, type FastifyInstance, LogController } from 'fastify';
import type { AssertionIssuer } from '../assertion/issuer.js';
import { assertionIssuerUrl } from '../assertion/settings.js';
import type { Responder } from '../chat/responder.js';
import type { Config } from '../config/types.js';
import type { DevIdp } from '../dev-idp/index.js';
import type { Logger } from '../logger.js';
import { createMetrics, type Metrics } from '../metrics/registry.js';
import type { OidcClient } from '../oidc/client.js';
import type { Revocation } from '../session/revocation.js';
import type { SessionService } from '../session/service.js';
import type { Store } from '../store/types.js';
import apiRateLimitPlugin from './api-rate-limit.js';
import authPlugin from './auth.js';
import authzPlugin from './authz.js';
import cookieRules from './cookies.js';
import csrfPlugin from './csrf.js';
import errorsPlugin from './errors.js';
import inputPlugin from './input.js';
import metricsPlugin from './metrics.js';
import { problemSchema, sendProblem } from './problem.js';
import { registerProxyMode } from './proxy/index.js';
import { accountRoutes } from './routes/account.js';
import { authRoutes } from './routes/auth.js';
import { chatRoutes } from './routes/chat.js';
import { devIdpRoutes } from './routes/dev-idp.js';
import { forwardAuthRoutes } from './routes/forward-auth.js';
import { type Dependency, healthRoutes } from './routes/health.js';
import { nativeRoutes } from './routes/native.js';
import { wellKnownRoutes } from './routes/well-known.js';
import securityHeadersPlugin, { offersOneTap } from './security-headers.js';
import { clientErrorHandler, serverLimits } from './server-limits.js';

export interface AppDeps {
  readonly config: Config;
  readonly logger: Logger;
  readonly store: Store;
  readonly sessions: SessionService;
  readonly revocation: Revocation;
  readonly oidc: OidcClient;
  readonly devIdp?: DevIdp | undefined;
  /** Signs `X-Gatehouse-Assertion`; absent in production without ASSERTION_KEYS. */
  readonly assertions?: AssertionIssuer | undefined;
  /**
   * The sample chat (`GET /chat`, `POST /chat`, `GET /chat/messages`) with this responder; no
   * chat routes when absent. `gatehouse serve` turns it on; library users opt in.
   */
  readonly chat?: Responder | undefined;
  readonly now?: () => number;
  /** Extra readiness reports (Redis…). */
  readonly readinessExtra?: () => Promise<Record<string, Dependency>>;
  /** Prometheus instruments (src/metrics); a fresh registry when absent. */
  readonly metrics?: Metrics;
  /** Shared rate-limit counters (Redis, src/http/rate-limit-store.ts); in-process when absent. */
  readonly rateLimitStore?: FastifyRateLimitStoreCtor;
}

const WEB_ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'web');

/**
 * Bodies beyond this size are refused with 413. Headers (cookies included) beyond Node's own
 * 16 KiB `maxHeaderSize` are refused by Node with 431 before Fastify sees them.
 */
export const LIMITS = { bodyBytes: 64 * 1024 } as const;

export async function buildApp(deps: AppDeps): Promise<FastifyInstance> {
  const { config, sessions, revocation } = deps;
  const now = deps.now ?? Date.now;

  const app = Fastify({
    loggerInstance: deps.logger as FastifyBaseLogger,
    // Fastify's two lines per request are replaced by one (the onResponse hook below).
    logController: new LogController({ disableRequestLogging: true }),
    // SECURITY.md H.34: X-Forwarded-* are believed only from these addresses.
    trustProxy: config.trustProxy.length > 0 ? [...config.trustProxy] : false,
    bodyLimit: LIMITS.bodyBytes,
    // SECURITY.md 45: request, header, keep-alive and idle bounds, and Node's own refusals as
    // problem+json (src/http/server-limits.ts).
    ...serverLimits(config),
    clientErrorHandler,
    routerOptions: { maxParamLength: 200 },
    requestIdHeader: false,
    genReqId: () => randomUUID(),
    ajv: { customOptions: { removeAdditional: false, coerceTypes: 'array', allErrors: false } },
  });

  app.addHook('onRequest', (request, reply, done) => {
    reply.header('x-request-id', request.id);
    done();
  });
  // One line per request, with what an operator needs and nothing secret.
  app.addHook('onResponse', (request, reply, done) => {
    // At LOG_LEVEL=warn (the usual production setting) this costs one comparison per request.
    if (!(request.log as Logger).isLevelEnabled('info')) return done();
    request.log.info(
      {
        method: request.method,
        route: request.routeOptions.url ?? null,
        status: reply.statusCode,
        ms: Math.round(reply.elapsedTime * 10) / 10,
      },
      'request',
    );
    done();
  });

  await app.register(errorsPlugin);
  await app.register(inputPlugin, { routePrefix: config.routePrefix });
  const metrics = deps.metrics ?? createMetrics();
  await app.register(metricsPlugin, { config, metrics });
  app.addSchema(problemSchema);
  await app.register(cookie, { hook: false });
  await app.register(cookieRules, { config });
  await app.register(formbody, { bodyLimit: 16 * 1024 });
  await app.register(securityHeadersPlugin, { config });
  await app.register(cors, {
    // SECURITY.md G.32: exact origins only, never `*` with credentials; Vary: Origin always.
    origin: config.corsOrigins.length > 0 ? [...config.corsOrigins] : false,
    credentials: true,
    methods: ['GET', 'POST', 'DELETE'],
    allowedHeaders: ['content-type', 'authorization'],
    exposedHeaders: ['x-request-id', 'x-session-token', 'retry-after'],
    maxAge: 600,
  });
  await app.register(rateLimit, {
    global: false,
    ...(deps.rateLimitStore ? { store: deps.rateLimitStore } : {}),
    keyGenerator: (request) => request.ip,
    errorResponseBuilder: (_request, context) => {
      const err = Object.assign(new Error('Too many requests'), {
        statusCode: 429,
        retryAfter: context.after,
      });
      return err;
    },
  });
  await app.register(swagger, {
    openapi: {
      openapi: '3.1.0',
      info: {
        title: 'Gatehouse',
        version: '0.1.0',
        description:
          'Sign in with Google in front of an HTTP API. Errors are RFC 9457 problem details with a stable `code`.',
      },
      servers: [{ url: config.publicUrl }],
      components: {
        securitySchemes: {
          sessionCookie: { type: 'apiKey', in: 'cookie', name: config.cookie.name },
          bearer: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT' },
        },
      },
    },
    refResolver: {
      buildLocalReference: (json, _base, _fragment, i) =>
        typeof json.$id === 'string' ? json.$id : `def-${i}`,
    },
  });
  await app.register(authPlugin, { config, sessions });
  await app.register(apiRateLimitPlugin, { config });
  await app.register(authzPlugin, { config, metrics });
  await app.register(csrfPlugin, { config });

  // Every own route lives under ROUTE_PREFIX (DESIGN.md "Proxy mode"): '' in standalone mode,
  // `/_gatehouse` by default when an upstream owns the rest of the URL space.
  await app.register(
    async (own) => {
      await own.register(swaggerUi, {
        routePrefix: '/docs',
        staticCSP: true,
        uiConfig: { deepLinking: true },
      });
      await ownRoutes(own, deps, now);
    },
    { prefix: config.routePrefix },
  );

  if (isProxyMode(config)) {
    await registerProxyMode(app, {
      config,
      sessions,
      revocation,
      logger: deps.logger,
      now,
      assertions: deps.assertions,
      // ASSERTION_AUDIENCE when set; otherwise each upstream's origin (DESIGN.md).
      assertionAudience: config.assertion.audience,
    });
  }

  // The demo page owns `/` only in standalone mode without a prefix: in proxy mode the upstream
  // owns `/`, and the page's links and fetches name the unprefixed routes.
  if (!isProxyMode(config) && config.routePrefix === '') {
    await app.register(fastifyStatic, {
      root: WEB_ROOT,
      prefix: '/',
      index: ['index.html'],
      wildcard: false,
      cacheControl: true,
      maxAge: 60_000,
    });
    app.get('/config.json', { schema: { hide: true } }, async () => ({
      dev_provider: config.oidc.devProvider,
      cookie_name: config.cookie.name,
      // The demo page's One Tap (real Google only; CSP widened for it in security-headers.ts).
      google_client_id: offersOneTap(config) ? config.oidc.clientId : null,
    }));
  }

  return app;
}

/** True when an upstream is configured: Gatehouse proxies everything outside its own routes. */
export function isProxyMode(config: Config): boolean {
  return config.proxy.upstreams.length > 0;
}

/** Gatehouse's own routes, registered inside the ROUTE_PREFIX scope. */
async function ownRoutes(own: FastifyInstance, deps: AppDeps, now: () => number): Promise<void> {
  const { config, store, sessions, revocation, oidc } = deps;
  const authLimit = {
    max: config.rateLimit.auth.max,
    timeWindow: config.rateLimit.auth.windowSeconds * 1000,
  };
  await own.register(authRoutes, {
    config,
    sessions,
    revocation,
    oidc,
    rateLimit: authLimit,
    assertions: deps.assertions,
  });
  await own.register(wellKnownRoutes, { assertions: deps.assertions, issuer: assertionIssuerUrl(config) });
  await own.register(nativeRoutes, { config, sessions, revocation, oidc, rateLimit: authLimit, now });
  await own.register(forwardAuthRoutes, { config });
  await own.register(accountRoutes, { store, revocation, now });
  // The tutorial's sample API is off in proxy mode: the upstream is the API.
  if (deps.chat !== undefined && !isProxyMode(config)) {
    await own.register(chatRoutes, { config, store, responder: deps.chat, now });
  }
  await own.register(healthRoutes, {
    store,
    oidc,
    now,
    ...(deps.readinessExtra ? { extra: deps.readinessExtra } : {}),
  });
  if (deps.devIdp) {
    // The issuer already carries the prefix (`${PUBLIC_URL}${ROUTE_PREFIX}/dev-idp`): mount it as is.
    await own.register(devIdpRoutes, {
      devIdp: deps.devIdp,
      mountPath: new URL(deps.devIdp.issuer).pathname.replace(/\/$/, '').slice(config.routePrefix.length),
    });
  }

  own.get('/openapi.json', { schema: { hide: true } }, async () => own.swagger());
  own.get('/logout', { schema: { hide: true } }, async (_request, reply) => {
    // SECURITY.md F.30: sign-out is POST only; a GET (an image tag, a prefetch) changes nothing.
    reply.header('allow', 'POST');
    return sendProblem(reply, 'method_not_allowed', `Sign out with POST ${config.routePrefix}/logout.`);
  });
}
