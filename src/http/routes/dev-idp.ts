/**
 * Mounts the embedded development provider at /dev-idp on the same port. Requests are handed to
 * it raw (before Fastify parses any body): it is a complete OpenID provider with its own routing.
 */
import type { FastifyInstance } from 'fastify';
import type { DevIdp } from '../../dev-idp/index.js';

export async function devIdpRoutes(
  app: FastifyInstance,
  options: { devIdp: DevIdp; mountPath: string },
): Promise<void> {
  const { devIdp, mountPath } = options;
  const handler = {
    schema: { hide: true },
    logLevel: 'warn' as const,
    // onRequest runs before body parsing, so the stream reaches the provider untouched.
    onRequest: (
      request: { raw: import('node:http').IncomingMessage },
      reply: { hijack(): void; raw: import('node:http').ServerResponse },
    ) => {
      reply.hijack();
      devIdp.handle(request.raw, reply.raw);
    },
    handler: async () => undefined,
  };
  app.route({ method: ['GET', 'POST'], url: mountPath, ...handler });
  app.route({ method: ['GET', 'POST'], url: `${mountPath}/*`, ...handler });
}
