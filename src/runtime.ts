/**
 * Composition: from a frozen Config to a running set of parts (store, sessions, provider client,
 * optional development provider, HTTP app). Used by `gatehouse serve` and by the tests, so both
 * run the same wiring.
 */
import type { FastifyInstance } from 'fastify';
import { loadOrCreateDevKey } from './assertion/dev-key.js';
import { AssertionIssuer } from './assertion/issuer.js';
import { assertionIssuerUrl } from './assertion/settings.js';
import { AuthzChanges } from './authz/changes.js';
import { DirectoryClient, loadServiceAccountKey } from './authz/directory.js';
import { DirectoryCheck } from './authz/directory-check.js';
import { Roles } from './authz/roles.js';
import { createAuthzSource } from './authz/source.js';
import { createResponder } from './chat/index.js';
import type { Config } from './config/types.js';
import { type Clock, systemClock } from './core/clock.js';
import type { DevIdp } from './dev-idp/index.js';
import { buildApp } from './http/app.js';
import { redisRateLimitStore } from './http/rate-limit-store.js';
import type { Logger } from './logger.js';
import { createMetrics, instrumentOidc, instrumentStore, type Metrics } from './metrics/index.js';
import { createOidcClient, type OidcClient } from './oidc/client.js';
import type { Accounts } from './session/accounts.js';
import { createSessionParts } from './session/compose.js';
import type { RedisRevocationBus } from './session/redis-bus.js';
import type { Revocation } from './session/revocation.js';
import type { SessionService } from './session/service.js';
import { CLOCK_SKEW_SECONDS } from './session/token.js';
import { openStore } from './store/index.js';
import type { Store } from './store/types.js';

export interface Gatehouse {
  readonly config: Config;
  readonly app: FastifyInstance;
  readonly store: Store;
  /** Sign-in, token checks and renewal. */
  readonly sessions: SessionService;
  /** Revoking sessions on every instance. */
  readonly revocation: Revocation;
  /** Disabling and enabling users. */
  readonly accounts: Accounts;
  readonly oidc: OidcClient;
  readonly devIdp: DevIdp | undefined;
  /** Signs identity assertions; undefined in production without ASSERTION_KEYS. */
  readonly assertions: AssertionIssuer | undefined;
  readonly metrics: Metrics;
  /** Stops background work and closes the app, provider and pools (idempotent). */
  close(): Promise<void>;
}

export interface StartOptions {
  readonly logger: Logger;
  readonly clock?: Clock;
  /** Background purge of expired rows; on by default. */
  readonly purge?: boolean;
  /** Prometheus instruments; a fresh registry per instance when absent. */
  readonly metrics?: Metrics;
  /**
   * The sample chat routes (`/chat`, `/chat/messages`): on for `gatehouse serve`, off unless asked
   * for when Gatehouse is used as a library.
   */
  readonly chat?: boolean;
}

const PURGE_INTERVAL_MS = 10 * 60 * 1000;

export async function createGatehouse(config: Config, options: StartOptions): Promise<Gatehouse> {
  const { logger } = options;
  const clock = options.clock ?? systemClock;
  const metrics = options.metrics ?? createMetrics();
  const store = instrumentStore(await openStore(config.database, { logger }), metrics);
  const cleanups: (() => Promise<void>)[] = [() => store.close(), async () => metrics.close()];
  metrics.setPoolSize(config.database.kind === 'sqlite' ? 1 : config.database.poolSize);
  metrics.trackActiveSessions(() => store.sessions.countActive(new Date(clock.now())));
  try {
    const steps = await store.migrate();
    for (const step of steps)
      if (step.status === 'applied_now') logger.info({ migration: step.name }, 'migration applied');

    // REDIS_URL: revocations reach other instances at once and rate limits are shared; without
    // it (or while Redis is down) polling keeps the bound and each instance counts on its own.
    let bus: RedisRevocationBus | undefined;
    if (config.redis.url !== undefined) {
      // Optional parts are loaded only when configured (docs/performance.md, "Memory").
      const { RedisRevocationBus } = await import('./session/redis-bus.js');
      const redisBus = new RedisRevocationBus({
        url: config.redis.url,
        redactedUrl: config.redis.redactedUrl,
        logger,
      });
      bus = redisBus;
      cleanups.unshift(() => redisBus.close());
    } else if (config.database.kind !== 'sqlite') {
      logger.warn(
        { database: config.database.kind },
        'REDIS_URL is not set: rate limits are counted per instance; with several instances on this database, set REDIS_URL to share them',
      );
    }

    // GOOGLE_GROUPS=directory: the key file is read and checked now, so a bad one stops the start.
    const directory = config.authz.directory;
    const directoryClient =
      directory === undefined
        ? undefined
        : new DirectoryClient({
            key: await loadServiceAccountKey(directory.serviceAccountFile),
            adminEmail: directory.adminEmail,
            baseUrl: directory.baseUrl,
            clock,
          });

    // Role changes made anywhere (CLI, another instance) reach this one within the poll interval.
    const changes = new AuthzChanges({
      store,
      clock,
      log: logger,
      intervalMs: config.session.revocationPollSeconds * 1000,
      retentionMs: (config.session.tokenTtlSeconds + CLOCK_SKEW_SECONDS) * 1000,
    });
    await changes.start();
    cleanups.unshift(() => changes.stop());

    const {
      service: sessions,
      revocation,
      accounts,
    } = createSessionParts({
      store,
      config,
      clock,
      log: logger,
      observer: metrics,
      bus,
      changes,
      authz: ({ audit, revocation }) =>
        createAuthzSource({
          roles: new Roles({
            store,
            audit,
            clock,
            bootstrapAdmins: config.authz.bootstrapAdmins,
            onChange: (userId, at) => changes.mark(userId, at),
          }),
          groups:
            directory === undefined || directoryClient === undefined
              ? undefined
              : new DirectoryCheck({
                  reader: directoryClient,
                  store,
                  revocation,
                  settings: directory,
                  allowedGroups: config.authz.allowedGroups,
                  clock,
                  log: logger,
                }),
        }),
    });
    await revocation.start();
    cleanups.unshift(() => revocation.stop());

    let devIdp: DevIdp | undefined;
    if (config.oidc.devProvider) {
      const { createDevIdp } = await import('./dev-idp/index.js');
      devIdp = await createDevIdp({
        issuer: config.oidc.issuer,
        clientId: config.oidc.clientId,
        clientSecret: config.oidc.clientSecret,
        redirectUris: [config.redirectUrl],
        cookieKeys: [config.secrets.secretKey],
        logger,
      });
      const idp = devIdp;
      cleanups.unshift(() => idp.close());
      logger.warn(
        { issuer: config.oidc.issuer },
        'DEVELOPMENT sign-in provider in use: any email signs in. Set GOOGLE_CLIENT_ID and GOOGLE_CLIENT_SECRET to use Google.',
      );
    }

    const oidc = instrumentOidc(
      createOidcClient({
        config,
        clock,
        logger,
        consumeTransaction: (id, expiresAt) => store.consumeTransaction(id, expiresAt),
        consumeIdToken: (hash, expiresAt) => store.consumeIdToken(hash, expiresAt),
      }),
      metrics,
    );
    cleanups.unshift(async () => oidc.close());

    const assertions = createAssertionIssuer(config, clock, logger);

    const app = await buildApp({
      config,
      logger,
      store,
      sessions,
      revocation,
      oidc,
      devIdp,
      assertions,
      chat: options.chat === true ? createResponder(config.chat) : undefined,
      metrics,
      now: () => clock.now(),
      ...(bus
        ? { rateLimitStore: redisRateLimitStore(bus.client), readinessExtra: redisReadiness(bus, config) }
        : {}),
    });
    cleanups.unshift(() => app.close());

    if (options.purge !== false) {
      // One instance at a time on a shared database (a leader lock; the others skip the round).
      const timer = setInterval(() => {
        store
          .withMaintenanceLock(() => purge(store, config, clock, logger))
          .catch((err: unknown) => {
            logger.warn(
              { err: err instanceof Error ? err.message : String(err) },
              'purge skipped; will retry',
            );
          });
      }, PURGE_INTERVAL_MS);
      timer.unref();
      cleanups.unshift(async () => clearInterval(timer));
    }

    let closing: Promise<void> | undefined;
    const close = () => {
      closing ??= runAll(cleanups, logger);
      return closing;
    };
    return { config, app, store, sessions, revocation, accounts, oidc, devIdp, assertions, metrics, close };
  } catch (err) {
    await runAll(cleanups, logger);
    throw err;
  }
}

/**
 * The assertion signer: ASSERTION_KEYS, or outside production the key kept in a file (created on
 * first start), or none (production without keys: the configuration already warned).
 */
function createAssertionIssuer(config: Config, clock: Clock, logger: Logger): AssertionIssuer | undefined {
  let keys = config.assertion.keys;
  if (config.assertion.devKeyFile !== undefined) {
    const { key, created } = loadOrCreateDevKey(config.assertion.devKeyFile);
    keys = [key];
    // The kid only: the key itself never goes into a log line (SECURITY.md 55).
    logger.info(
      { kid: key.kid, file: config.assertion.devKeyFile },
      created ? 'generated the development assertion key' : 'using the development assertion key',
    );
  }
  if (keys.length === 0) return undefined;
  return new AssertionIssuer({ keys, issuer: assertionIssuerUrl(config), now: () => clock.now() });
}

function redisReadiness(bus: RedisRevocationBus, config: Config) {
  return async () => ({ redis: bus.status(config.session.revocationPollSeconds) });
}

/** Deletes expired sessions, used transactions and audit events past retention. Idempotent. */
export async function purge(
  store: Store,
  config: Config,
  clock: Clock,
  logger: Logger,
): Promise<{ sessions: number; events: number }> {
  const now = clock.now();
  try {
    // Another instance's clock may run behind ours by the tolerated skew: its verifier accepts a
    // token until then, so the row (and a revocation in it) stays that much longer (SECURITY.md 41).
    const sessions = await store.sessions.purgeExpired(new Date(now - CLOCK_SKEW_SECONDS * 1000));
    const events = await store.events.purgeOlderThan(new Date(now - config.audit.retentionSeconds * 1000));
    // A role change matters only while tokens issued before it can live (an hour of margin).
    await store.authzChanges.purge(new Date(now - (config.session.tokenTtlSeconds + 3600) * 1000));
    if (sessions + events > 0) logger.info({ sessions, events }, 'purged expired rows');
    return { sessions, events };
  } catch (err) {
    logger.warn({ err: err instanceof Error ? err.message : String(err) }, 'purge failed; will retry');
    return { sessions: 0, events: 0 };
  }
}

async function runAll(cleanups: readonly (() => Promise<void>)[], logger: Logger): Promise<void> {
  for (const cleanup of cleanups) {
    try {
      await cleanup();
    } catch (err) {
      logger.warn({ err: err instanceof Error ? err.message : String(err) }, 'error while shutting down');
    }
  }
}
