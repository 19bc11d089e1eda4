/**
 * Prometheus metrics over HTTP: a request-duration histogram by route template and status for
 * every request, and `GET /metrics` — with METRICS_PORT only on a separate small listener (bound
 * to HOST) so the main port never exposes it; without it on the main port, but only to the
 * METRICS_ALLOW addresses (loopback by default), and never to a request relayed by a proxy that
 * is not in TRUST_PROXY (such a proxy makes every client look like loopback). Anyone else gets
 * the same 404 as an unknown path (SECURITY.md 47).
 *
 * The route label is `request.routeOptions.url` (the template, `/sessions/:id`), never the raw
 * URL: raw paths carry ids and attacker-chosen junk, and would explode the label set.
 */
import { createServer, type Server } from 'node:http';
import { BlockList, isIP } from 'node:net';
import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import type { Config } from '../config/types.js';
import type { Metrics } from '../metrics/registry.js';
import { sendProblem } from './problem.js';

declare module 'fastify' {
  interface FastifyInstance {
    /** This instance's instruments (sign-in outcomes are reported through it). */
    metrics: Metrics;
  }
}

export interface MetricsPluginOptions {
  readonly config: Pick<Config, 'host' | 'trustProxy'> & { readonly metrics: Config['metrics'] };
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
    const allowed = allowList(config.metrics.allow);
    const noTrustedProxy = config.trustProxy.length === 0;
    app.get('/metrics', { logLevel: 'warn', schema: { hide: true } }, async (request, reply) => {
      const relayedByUnknownProxy =
        noTrustedProxy &&
        (request.headers['x-forwarded-for'] !== undefined || request.headers.forwarded !== undefined);
      if (relayedByUnknownProxy || !allows(allowed, request.ip)) {
        return sendProblem(reply, 'not_found', `No route matches ${request.method} on this path.`);
      }
      const body = await metrics.render();
      return reply.header('cache-control', 'no-store').type(metrics.contentType).send(body);
    });
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

function allowList(entries: readonly string[]): BlockList {
  const list = new BlockList();
  for (const entry of entries) {
    const [address, prefix] = entry.split('/') as [string, string | undefined];
    const type = isIP(address) === 6 ? 'ipv6' : 'ipv4';
    if (prefix === undefined) list.addAddress(address, type);
    else list.addSubnet(address, Number(prefix), type);
  }
  return list;
}

function allows(list: BlockList, ip: string): boolean {
  const family = isIP(ip);
  if (family === 0) return false;
  // An IPv4 client on a dual-stack socket appears as ::ffff:a.b.c.d.
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(ip);
  if (mapped) return list.check(mapped[1]!, 'ipv4');
  return list.check(ip, family === 6 ? 'ipv6' : 'ipv4');
}

export default fp(metricsPlugin, { fastify: '5.x', name: 'gatehouse-metrics' });
