/**
 * Composition: from a frozen Config to a running set of parts (store, sessions, provider client,
 * optional development provider, HTTP app). Used by `gatehouse serve` and by the tests, so both
 * run the same wiring.
 */
import type { FastifyInstance } from 'fastify';
import type { Config } from './config/types.js';
import { createDevIdp, type DevIdp } from './dev-idp/index.js';
import { buildApp } from './http/app.js';
import type { Logger } from './logger.js';
import { createOidcClient, type OidcClient } from './oidc/client.js';
import { SessionManager } from './session/manager.js';
import { type Clock, systemClock } from './session/types.js';
import { openStore } from './store/index.js';
import type { Store } from './store/types.js';

export interface Gatehouse {
  readonly config: Config;
  readonly app: FastifyInstance;
  readonly store: Store;
  readonly sessions: SessionManager;
  readonly oidc: OidcClient;
  readonly devIdp: DevIdp | undefined;
  /** Stops background work and closes the app, provider and pools (idempotent). */
  close(): Promise<void>;
}

export interface StartOptions {
  readonly logger: Logger;
  readonly clock?: Clock;
  /** Background purge of expired rows; on by default. */
  readonly purge?: boolean;
}

const PURGE_INTERVAL_MS = 10 * 60 * 1000;

export async function createGatehouse(config: Config, options: StartOptions): Promise<Gatehouse> {
  const { logger } = options;
  const clock = options.clock ?? systemClock;
  const store = await openStore(config.database, { logger });
  const cleanups: (() => Promise<void>)[] = [() => store.close()];
  try {
    const steps = await store.migrate();
    for (const step of steps)
      if (step.status === 'applied_now') logger.info({ migration: step.name }, 'migration applied');

    const sessions = new SessionManager({ store, config, clock, logger });
    await sessions.start();
    cleanups.unshift(() => sessions.stop());

    let devIdp: DevIdp | undefined;
    if (config.oidc.devProvider) {
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

    const oidc = createOidcClient({
      config,
      clock,
      logger,
      consumeTransaction: (id, expiresAt) => store.consumeTransaction(id, expiresAt),
    });

    const app = await buildApp({ config, logger, store, sessions, oidc, devIdp, now: () => clock.now() });
    cleanups.unshift(() => app.close());

    if (options.purge !== false) {
      const timer = setInterval(() => {
        void purge(store, config, clock, logger);
      }, PURGE_INTERVAL_MS);
      timer.unref();
      cleanups.unshift(async () => clearInterval(timer));
    }

    let closing: Promise<void> | undefined;
    const close = () => {
      closing ??= runAll(cleanups, logger);
      return closing;
    };
    return { config, app, store, sessions, oidc, devIdp, close };
  } catch (err) {
    await runAll(cleanups, logger);
    throw err;
  }
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
    const sessions = await store.sessions.purgeExpired(new Date(now));
    const events = await store.events.purgeOlderThan(new Date(now - config.audit.retentionSeconds * 1000));
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
