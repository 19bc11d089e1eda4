/**
 * The Prometheus instruments of one Gatehouse instance. Each call to `createMetrics` makes its own
 * `Registry` (never prom-client's global default), so several apps in one test process — or a
 * CLI next to a server — never collide over metric names.
 */
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';

export type SignInResult = 'success' | 'failure';
export type RenewalResult = 'renewed' | 'refused';

/** What the session manager reports (see SessionObserver in src/session/manager.ts). */
export interface Metrics {
  readonly registry: Registry;
  /** Prometheus text exposition of every instrument. */
  render(): Promise<string>;
  readonly contentType: string;
  observeHttp(method: string, route: string, status: number, seconds: number): void;
  signIn(result: SignInResult, reason?: string | null): void;
  renewal(result: RenewalResult, reason?: string | null): void;
  revoked(count: number, reason: string): void;
  /** A request refused by an access rule or a library guard (SECURITY.md 60); `via` e.g. `verify`, `guard`. */
  accessDenied(via: string): void;
  /** Times one store operation; `operation` is e.g. `sessions.findWithUser`. */
  observeQuery(operation: string, outcome: 'ok' | 'error', seconds: number): void;
  queryStarted(): void;
  queryFinished(): void;
  observeProvider(operation: string, outcome: 'ok' | 'error', seconds: number): void;
  /** Counts live sessions when scraped, at most once per ACTIVE_SESSIONS_REFRESH_MS. */
  trackActiveSessions(count: () => Promise<number>): void;
  setPoolSize(size: number): void;
  /** Stops the event-loop monitor; idempotent. */
  close(): void;
}

/** Labels must stay a small closed set: anything that is not a plain machine word becomes `other`. */
export function labelWord(value: string | null | undefined): string {
  if (value === null || value === undefined || value === '') return 'none';
  return /^[a-z0-9_]{1,64}$/.test(value) ? value : 'other';
}

/** How long a counted number of live sessions is reported before it is counted again. */
export const ACTIVE_SESSIONS_REFRESH_MS = 30_000;

const HTTP_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];
const QUERY_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 5];
const PROVIDER_BUCKETS = [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];

export function createMetrics(): Metrics {
  const registry = new Registry();
  const registers = [registry];

  // process_*, nodejs_* — among them nodejs_eventloop_lag_seconds and its percentiles.
  collectDefaultMetrics({ register: registry, eventLoopMonitoringPrecision: 20 });

  const http = new Histogram({
    name: 'gatehouse_http_request_duration_seconds',
    help: 'HTTP request duration by method, route template and status.',
    labelNames: ['method', 'route', 'status'] as const,
    buckets: HTTP_BUCKETS,
    registers,
  });
  const signIns = new Counter({
    name: 'gatehouse_sign_ins_total',
    help: 'Completed sign-in callbacks by result and reason (reason `none` for successes).',
    labelNames: ['result', 'reason'] as const,
    registers,
  });
  const renewals = new Counter({
    name: 'gatehouse_session_renewals_total',
    help: 'Session token renewals (an expired token exchanged for a fresh one) by result and reason.',
    labelNames: ['result', 'reason'] as const,
    registers,
  });
  const revocations = new Counter({
    name: 'gatehouse_session_revocations_total',
    help: 'Sessions revoked by this instance, by reason.',
    labelNames: ['reason'] as const,
    registers,
  });
  const denials = new Counter({
    name: 'gatehouse_access_denied_total',
    help: 'Requests refused with 403 by an access rule or a role/group guard, by where the decision was made.',
    labelNames: ['via'] as const,
    registers,
  });
  let countActive: (() => Promise<number>) | undefined;
  // SECURITY.md 47: a scrape must not be a way to make the database count every session at will.
  let countedAt: number | undefined;
  let counting: Promise<void> | undefined;
  new Gauge({
    name: 'gatehouse_active_sessions',
    help: `Live sessions (not revoked, not expired) in the database, counted at most every ${ACTIVE_SESSIONS_REFRESH_MS / 1000} s.`,
    registers,
    async collect() {
      const count = countActive;
      if (count === undefined) return;
      if (countedAt !== undefined && Date.now() - countedAt < ACTIVE_SESSIONS_REFRESH_MS) return;
      // Concurrent scrapes share one query.
      counting ??= count().then(
        (n) => {
          this.set(n);
          countedAt = Date.now();
          counting = undefined;
        },
        () => {
          // The database is down: leave the last value; gatehouse_db_query_duration_seconds shows errors.
          counting = undefined;
        },
      );
      await counting;
    },
  });
  const queries = new Histogram({
    name: 'gatehouse_db_query_duration_seconds',
    help: 'Duration of store operations (one or a few SQL statements each) by operation and outcome.',
    labelNames: ['operation', 'outcome'] as const,
    buckets: QUERY_BUCKETS,
    registers,
  });
  const inFlight = new Gauge({
    name: 'gatehouse_db_operations_in_flight',
    help: 'Store operations waiting for or holding a pooled connection.',
    registers,
  });
  const poolSize = new Gauge({
    name: 'gatehouse_db_pool_size',
    help: 'Configured maximum connections of the database pool (DATABASE_POOL_SIZE).',
    registers,
  });
  const provider = new Histogram({
    name: 'gatehouse_provider_request_duration_seconds',
    help: 'Duration of work against the sign-in provider (discovery, JWKS, token and userinfo requests) by operation and outcome.',
    labelNames: ['operation', 'outcome'] as const,
    buckets: PROVIDER_BUCKETS,
    registers,
  });

  return {
    registry,
    contentType: registry.contentType,
    render: () => registry.metrics(),
    observeHttp(method, route, status, seconds) {
      http.observe({ method, route, status: String(status) }, seconds);
    },
    signIn(result, reason) {
      signIns.inc({ result, reason: labelWord(reason) });
    },
    renewal(result, reason) {
      renewals.inc({ result, reason: labelWord(reason) });
    },
    revoked(count, reason) {
      if (count > 0) revocations.inc({ reason: labelWord(reason) }, count);
    },
    accessDenied(via) {
      denials.inc({ via: labelWord(via) });
    },
    observeQuery(operation, outcome, seconds) {
      queries.observe({ operation, outcome }, seconds);
    },
    queryStarted: () => inFlight.inc(),
    queryFinished: () => inFlight.dec(),
    observeProvider(operation, outcome, seconds) {
      provider.observe({ operation, outcome }, seconds);
    },
    trackActiveSessions(count) {
      countActive = count;
    },
    setPoolSize(size) {
      poolSize.set(size);
    },
    close() {
      countActive = undefined;
      // prom-client offers no way to stop its event-loop monitor (it does not keep the process
      // alive); clearing the registry drops this instance's instruments.
      registry.clear();
    },
  };
}
