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
import { GOOGLE_ISSUER } from '../core/google.js';

/**
 * True when the demo page offers Google One Tap: real Google credentials (not the development
 * provider, not another issuer). Only then is the policy widened for Google Identity Services.
 */
export function offersOneTap(config: Config): boolean {
  return !config.oidc.devProvider && config.oidc.issuer === GOOGLE_ISSUER;
}

/**
 * Google Identity Services' documented CSP needs, and no more: its script, its stylesheet, the
 * iframe One Tap and the button render in, and its XHR endpoints — all under /gsi/.
 */
const GIS = {
  script: 'https://accounts.google.com/gsi/client',
  style: 'https://accounts.google.com/gsi/style',
  frame: 'https://accounts.google.com/gsi/',
  connect: 'https://accounts.google.com/gsi/',
} as const;

export function contentSecurityPolicy(config: Config): string {
  const gis = offersOneTap(config);
  const directives: [string, string[]][] = [
    ['default-src', ["'self'"]],
    ['base-uri', ["'none'"]],
    ['script-src', ["'self'", ...(gis ? [GIS.script] : [])]],
    ['script-src-attr', ["'none'"]],
    ['style-src', ["'self'", ...(gis ? [GIS.style] : [])]],
    ['img-src', ["'self'", 'data:', 'https:']],
    ['font-src', ["'self'"]],
    ['connect-src', ["'self'", ...(gis ? [GIS.connect] : [])]],
    ...(gis ? ([['frame-src', ["'self'", GIS.frame]]] as [string, string[]][]) : []),
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
    // GIS's popup mode talks to its opener; Google asks for same-origin-allow-popups then.
    'cross-origin-opener-policy': offersOneTap(config) ? 'same-origin-allow-popups' : 'same-origin',
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
