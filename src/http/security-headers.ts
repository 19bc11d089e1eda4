/**
 * Security headers on every response, computed once at start-up. (A per-request helmet pass
 * re-derived the same strings on every request — measurable on the hot path — for headers that
 * depend only on the configuration.)
 *
 * The Content-Security-Policy is strict: scripts and styles only from this origin (the demo page
 * has no inline code), images also as data: URIs and from https (Google serves profile pictures
 * cross-origin), no framing. Routes with their own policy (the API docs, the development provider)
 * replace it.
 */
import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import type { Config } from '../config/types.js';

export function contentSecurityPolicy(config: Config): string {
  const directives: [string, string[]][] = [
    ['default-src', ["'self'"]],
    ['base-uri', ["'none'"]],
    ['script-src', ["'self'"]],
    ['script-src-attr', ["'none'"]],
    ['style-src', ["'self'"]],
    ['img-src', ["'self'", 'data:', 'https:']],
    ['font-src', ["'self'"]],
    ['connect-src', ["'self'"]],
    // Chromium applies form-action to the redirect after a form post: sign-out lands on the frontend.
    ['form-action', ["'self'", ...config.trustedOrigins]],
    ['frame-ancestors', ["'none'"]],
    ['object-src', ["'none'"]],
  ];
  if (config.cookie.secure) directives.push(['upgrade-insecure-requests', []]);
  return directives.map(([name, values]) => [name, ...values].join(' ')).join('; ');
}

export function securityHeaders(config: Config): Readonly<Record<string, string>> {
  return Object.freeze({
    'content-security-policy': contentSecurityPolicy(config),
    'cross-origin-opener-policy': 'same-origin',
    'cross-origin-resource-policy': 'same-origin',
    'origin-agent-cluster': '?1',
    'referrer-policy': 'no-referrer',
    ...(config.cookie.secure ? { 'strict-transport-security': 'max-age=15552000' } : {}),
    'x-content-type-options': 'nosniff',
    'x-dns-prefetch-control': 'off',
    'x-frame-options': 'DENY',
    'x-permitted-cross-domain-policies': 'none',
  });
}

async function securityHeadersPlugin(app: FastifyInstance, options: { config: Config }): Promise<void> {
  const headers = securityHeaders(options.config);
  app.addHook('onRequest', (_request, reply, done) => {
    reply.headers(headers);
    done();
  });
}

export default fp(securityHeadersPlugin, { fastify: '5.x', name: 'gatehouse-security-headers' });
