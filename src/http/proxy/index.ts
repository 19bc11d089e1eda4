/**
 * Proxy mode, wired: the connection tracker (revocation and expiry closing), the HTTP route and
 * the WebSocket upgrade handler, sharing one configuration and one session manager.
 */
import type { FastifyInstance } from 'fastify';
import type { Config } from '../../config/types.js';
import { isGatehouseError } from '../../errors.js';
import type { Logger } from '../../logger.js';
import type { Revocation } from '../../session/revocation.js';
import type { SessionService } from '../../session/service.js';
import { ConnectionTracker } from './connections.js';
import { type AssertionSource, proxyRoutes } from './route.js';
import { attachWebSocketProxy } from './websocket.js';

export type { AssertionSource } from './route.js';

export interface ProxyModeOptions {
  readonly config: Config;
  readonly sessions: SessionService;
  readonly revocation: Revocation;
  readonly logger: Logger;
  readonly now: () => number;
  readonly assertions?: AssertionSource | undefined;
  readonly assertionAudience?: string | undefined;
}

export async function registerProxyMode(
  app: FastifyInstance,
  options: ProxyModeOptions,
): Promise<ConnectionTracker> {
  const { config, sessions, logger } = options;
  const tracker = new ConnectionTracker({
    revocations: options.revocation,
    clock: { now: options.now },
    // The renewal check of the auth plugin, without a cookie to issue: is the session still live?
    recheck: async (connection) => {
      try {
        const renewed = await sessions.renew(
          { sub: connection.userId, sid: connection.sessionId, email: '', iat: 0, exp: 0 },
          { ip: null, userAgent: null },
        );
        return renewed.token.expiresAt;
      } catch (err) {
        // The database being unreachable is no answer: the tracker asks again later.
        if (isGatehouseError(err) && err.code !== 'service_unavailable') return 'ended';
        throw err;
      }
    },
    onError: (err) =>
      logger.warn(
        { err: isGatehouseError(err) ? err.code : 'error' },
        'session re-check of an open connection failed',
      ),
  });
  await app.register(proxyRoutes, {
    config,
    sessions,
    tracker,
    assertions: options.assertions,
    assertionAudience: options.assertionAudience,
  });
  let websockets: { close(): void } | undefined;
  app.addHook('onReady', async () => {
    tracker.start();
    websockets = attachWebSocketProxy(app.server, {
      config,
      sessions,
      tracker,
      logger,
      assertions: options.assertions,
      assertionAudience: options.assertionAudience,
      rules: app.accessRules,
      onDenied: () => app.metrics.accessDenied('proxy'),
    });
  });
  app.addHook('preClose', async () => {
    tracker.stop();
    websockets?.close();
  });
  return tracker;
}
