/**
 * Liveness and readiness. Readiness follows the database only: a provider outage is reported in
 * the body but keeps the instance in rotation, since signed-in users can still be served.
 */
import type { FastifyInstance } from 'fastify';
import type { OidcClient } from '../../oidc/client.js';
import type { ProviderStatus } from '../../oidc/types.js';
import type { Store } from '../../store/types.js';

export interface Dependency {
  readonly ok: boolean;
  readonly detail?: string;
}

export interface HealthRoutesOptions {
  readonly store: Store;
  readonly oidc: OidcClient;
  /** Extra dependencies reported in the body (e.g. Redis); never affect the status code. */
  readonly extra?: () => Promise<Record<string, Dependency>>;
  readonly now: () => number;
}

/** The provider is probed at most this often, however often /readyz is called. */
const PROVIDER_PROBE_INTERVAL_MS = 5_000;

export async function healthRoutes(app: FastifyInstance, options: HealthRoutesOptions): Promise<void> {
  const { store, oidc, now } = options;
  let lastProbe = 0;
  let probing: Promise<ProviderStatus> | undefined;

  function providerStatus(): ProviderStatus | Promise<ProviderStatus> {
    if (probing) return oidc.status();
    if (now() - lastProbe < PROVIDER_PROBE_INTERVAL_MS) return oidc.status();
    lastProbe = now();
    // Probe in the background; this response reports what is known now, at most seconds old.
    probing = oidc.check().finally(() => {
      probing = undefined;
    });
    probing.catch(() => {});
    return oidc.status();
  }

  app.get(
    '/healthz',
    {
      logLevel: 'warn',
      schema: {
        summary: 'Liveness',
        tags: ['operations'],
        response: { 200: { type: 'object', properties: { status: { type: 'string' } } } },
      },
    },
    async () => ({ status: 'ok' }),
  );

  app.get(
    '/readyz',
    {
      logLevel: 'warn',
      schema: {
        summary: 'Readiness',
        description:
          '503 while the database is unreachable or migrations are pending. The body reports each dependency; a provider outage is reported but does not make the instance unready.',
        tags: ['operations'],
        response: {
          '2xx': { $ref: 'Readiness#' },
          503: { $ref: 'Readiness#' },
        },
      },
    },
    async (_request, reply) => {
      const database = await databaseStatus(store);
      const provider = await providerStatus();
      const extra = options.extra ? await options.extra() : {};
      const ready = database.ok;
      if (!ready) reply.code(503).header('retry-after', '5');
      return {
        status: ready ? 'ready' : 'not_ready',
        checks: {
          database,
          provider: {
            ok: provider.ok,
            ...(provider.lastError ? { detail: provider.lastError } : {}),
            ...(provider.lastSuccessAt
              ? { last_success_at: new Date(provider.lastSuccessAt).toISOString() }
              : {}),
          },
          ...extra,
        },
      };
    },
  );

  app.addSchema({
    $id: 'Readiness',
    type: 'object',
    properties: {
      status: { type: 'string', enum: ['ready', 'not_ready'] },
      checks: {
        type: 'object',
        additionalProperties: {
          type: 'object',
          properties: {
            ok: { type: 'boolean' },
            detail: { type: 'string' },
            last_success_at: { type: 'string' },
          },
        },
      },
    },
  });
}

async function databaseStatus(store: Store): Promise<Dependency> {
  try {
    await store.ping();
    const steps = await store.migrationStatus();
    const pending = steps.filter((s) => s.status === 'pending').length;
    if (pending > 0) return { ok: false, detail: `${pending} migration(s) pending` };
    return { ok: true };
  } catch {
    return { ok: false, detail: 'unreachable' };
  }
}
