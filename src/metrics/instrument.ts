/**
 * Timing wrappers: a `Store` and an `OidcClient` that report each call's duration to `Metrics`,
 * without the store or the provider client knowing about Prometheus (store/ and oidc/ stay free
 * of metrics code, as they stay free of Fastify).
 */
import type { OidcClient } from '../oidc/client.js';
import type { Store } from '../store/types.js';
import type { Metrics } from './registry.js';

type AnyAsync = (...args: never[]) => Promise<unknown>;

function seconds(started: number): number {
  return (performance.now() - started) / 1000;
}

function timed(operation: string, method: AnyAsync, self: unknown, metrics: Metrics): AnyAsync {
  return async (...args: never[]) => {
    const started = performance.now();
    metrics.queryStarted();
    try {
      const result = await method.apply(self, args);
      metrics.observeQuery(operation, 'ok', seconds(started));
      return result;
    } catch (err) {
      metrics.observeQuery(operation, 'error', seconds(started));
      throw err;
    } finally {
      metrics.queryFinished();
    }
  };
}

/** Every function of `group` timed as `prefix.name`; other members copied; `skip` copied untimed. */
function timedGroup<T extends object>(
  group: T,
  prefix: string,
  metrics: Metrics,
  skip: readonly string[] = [],
): T {
  const out: Record<string, unknown> = {};
  for (const [name, value] of Object.entries(group)) {
    out[name] =
      typeof value === 'function' && !skip.includes(name)
        ? timed(prefix === '' ? name : `${prefix}.${name}`, value as AnyAsync, group, metrics)
        : value;
  }
  return out as T;
}

/** The same store, each operation timed as `gatehouse_db_query_duration_seconds{operation}`. */
export function instrumentStore<S extends Store>(store: S, metrics: Metrics): S {
  // close() is not a query; `kind` (and `db` on an opened store) are plain values.
  const top = timedGroup(store, '', metrics, ['close', 'users', 'sessions', 'events', 'chat']);
  return Object.freeze({
    ...top,
    users: Object.freeze(timedGroup(store.users, 'users', metrics)),
    sessions: Object.freeze(timedGroup(store.sessions, 'sessions', metrics)),
    events: Object.freeze(timedGroup(store.events, 'events', metrics)),
    chat: Object.freeze(timedGroup(store.chat, 'chat', metrics)),
  }) as S;
}

/**
 * The same provider client, timed as `gatehouse_provider_request_duration_seconds{operation}`:
 * `begin_login` (discovery when not cached), `complete_login` (token, JWKS and userinfo
 * requests) and `check` (discovery and JWKS).
 */
export function instrumentOidc(client: OidcClient, metrics: Metrics): OidcClient {
  const time = async <T>(operation: string, run: () => Promise<T>): Promise<T> => {
    const started = performance.now();
    try {
      const result = await run();
      metrics.observeProvider(operation, 'ok', seconds(started));
      return result;
    } catch (err) {
      metrics.observeProvider(operation, 'error', seconds(started));
      throw err;
    }
  };
  return {
    beginLogin: (input) => time('begin_login', () => client.beginLogin(input)),
    completeLogin: (input) => time('complete_login', () => client.completeLogin(input)),
    check: () => time('check', () => client.check()),
    status: () => client.status(),
    transactionCookiesToDrop: (cookies) => client.transactionCookiesToDrop(cookies),
    close: () => client.close(),
  };
}
