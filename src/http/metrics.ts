/**
 * Prometheus metrics over HTTP: a request-duration histogram by route template and status for
 * every request, and `GET /metrics` — on the main port, or, with METRICS_PORT, only on a separate
 * small listener (bound to HOST) so the main port never exposes it.
 *
 * The route label is `request.routeOptions.url` (the template, `/sessions/:id`), never the raw
 * URL: raw paths carry ids and attacker-chosen junk, and would explode the label set.
 */
import { createServer, type Server } from 'node:http';
import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import type { Config } from '../config/types.js';
import type { Metrics } from '../metrics/registry.js';

declare module 'fastify' {
  interface FastifyInstance {
    /** This instance's instruments (sign-in outcomes are reported through it). */
    metrics: Metrics;
  }
}

export interface MetricsPluginOptions {
  readonly config: Pick<Config, 'host'> & {
    /** ROUTE_PREFIX; absent = ''. */
    readonly routePrefix?: string;
    readonly metrics: Config['metrics'];
  };
  readonly metrics: Metrics;
}

/** Requests that matched no route share one label. */
const UNMATCHED = 'unmatched';

async function metricsPlugin(app: FastifyInstance, options: MetricsPluginOptions): Promise<void> {
  const { metrics, config } = options;
  app.decorate('metrics', metrics);

  app.addHook('onResponse', (request, reply, done) => {
    metrics.observeHttp(
      request.method,
      request.routeOptions.url ?? UNMATCHED,
      reply.statusCode,
      reply.elapsedTime / 1000,
    );
    done();
  });

  const port = config.metrics.port;
  if (port === undefined) {
    app.get(
      `${config.routePrefix ?? ''}/metrics`,
      { logLevel: 'warn', schema: { hide: true } },
      async (_request, reply) => {
        const body = await metrics.render();
        return reply.header('cache-control', 'no-store').type(metrics.contentType).send(body);
      },
    );
    return;
  }

  let server: Server | undefined;
  app.addHook('onReady', async () => {
    const listener = createServer((req, res) => {
      const path = (req.url ?? '').split('?')[0];
      if (req.method !== 'GET' || path !== '/metrics') {
        res.writeHead(404, { 'content-type': 'text/plain' }).end('not found\n');
        return;
      }
      metrics.render().then(
        (body) =>
          res.writeHead(200, { 'content-type': metrics.contentType, 'cache-control': 'no-store' }).end(body),
        () => res.writeHead(500, { 'content-type': 'text/plain' }).end('metrics unavailable\n'),
      );
    });
    await new Promise<void>((resolve, reject) => {
      listener.once('error', reject);
      listener.listen(port, config.host, () => {
        listener.off('error', reject);
        resolve();
      });
    });
    server = listener;
    const address = listener.address();
    app.log.info(
      { metricsPort: typeof address === 'object' && address ? address.port : port },
      'metrics served on a separate port',
    );
  });
  app.addHook('onClose', async () => {
    const listener = server;
    if (listener === undefined) return;
    server = undefined;
    listener.closeAllConnections();
    await new Promise<void>((resolve) => listener.close(() => resolve()));
  });
}

export default fp(metricsPlugin, { fastify: '5.x', name: 'gatehouse-metrics' });
