/**
 * Proxy mode's HTTP route (DESIGN.md "Proxy mode: UPSTREAM_URL"): every request outside
 * Gatehouse's own routes is normalised (path.ts), matched to an upstream (upstream.ts),
 * authenticated unless PUBLIC_PATHS says otherwise, and streamed to the upstream with
 * @fastify/reply-from (undici) — request and response bodies both ways, never buffered.
 *
 * Registered as an encapsulated plugin, so its content-type parser (the raw stream, no limit)
 * and reply-from's decorator touch no other route.
 */
import replyFrom from '@fastify/reply-from';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { decide } from '../../authz/rules.js';
import type { Config } from '../../config/types.js';
import { ERRORS, type ErrorCode, isGatehouseError } from '../../errors.js';
import type { SessionService } from '../../session/service.js';
import type { AuthUser } from '../auth.js';
import { ruleSubject, sendForbidden } from '../authz.js';
import { sendProblem } from '../problem.js';
import { isBrowserNavigation } from '../routes/forward-auth.js';
import { securityHeaders } from '../security-headers.js';
import type { ConnectionTracker } from './connections.js';
import { normaliseTarget, publicPathMatcher, underPrefix } from './path.js';
import { upstreamRequestHeaders } from './request-headers.js';
import { clientResponseHeaders, gatehouseCookieNames } from './response-headers.js';
import { chooseUpstream } from './upstream.js';

/** Signs identity assertions for upstreams (`X-Gatehouse-Assertion`); optional. */
export interface AssertionSource {
  /** The header value for this user and audience, or undefined to send none. */
  assertionFor(user: AuthUser, audience: string): string | undefined;
}

export interface ProxyRouteOptions {
  readonly config: Config;
  readonly sessions: SessionService;
  readonly tracker: ConnectionTracker;
  readonly assertions?: AssertionSource | undefined;
  /** ASSERTION_AUDIENCE; default: the chosen upstream's origin. */
  readonly assertionAudience?: string | undefined;
}

/** OPTIONS is answered by the CORS plugin (Gatehouse decides which origins may send credentials). */
const METHODS = ['DELETE', 'GET', 'HEAD', 'PATCH', 'POST', 'PUT'];

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

/** A navigation gets a small page instead of JSON; an API call gets the problem. */
function sendFailure(
  request: FastifyRequest,
  reply: FastifyReply,
  code: ErrorCode,
  detail: string,
): FastifyReply {
  if (!isBrowserNavigation(request)) return sendProblem(reply, code, detail);
  const { status, title } = ERRORS[code];
  const page = `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>${escapeHtml(title)}</title></head><body><h1>${escapeHtml(title)}</h1><p>${escapeHtml(detail)}</p><p>Request id: ${escapeHtml(request.id)}</p></body></html>\n`;
  return reply.code(status).header('cache-control', 'no-store').type('text/html; charset=utf-8').send(page);
}

/** `true` for errors that mean "no headers within UPSTREAM_TIMEOUT". */
function isTimeout(error: unknown): boolean {
  const e = error as { statusCode?: unknown; code?: unknown; cause?: { code?: unknown } } | null;
  return e?.statusCode === 504 || e?.cause?.code === 'UND_ERR_HEADERS_TIMEOUT';
}

export async function proxyRoutes(app: FastifyInstance, options: ProxyRouteOptions): Promise<void> {
  const { config, sessions, tracker, assertions } = options;
  const { upstreams, timeoutSeconds, preserveHost } = config.proxy;
  const isPublic = publicPathMatcher(config.proxy.publicPaths);
  const isGatehouseCookie = gatehouseCookieNames(config.cookie.name, config.cookie.transactionPrefix);
  const isGatehouseToken = (token: string): boolean => {
    const check = sessions.check(token);
    return check.ok || check.reason !== 'invalid';
  };
  const ownHeaders = Object.keys(securityHeaders(config));

  await app.register(replyFrom, {
    disableRequestLogging: true,
    undici: {
      // UPSTREAM_TIMEOUT bounds the wait for response headers; bodies (SSE, downloads) may stream
      // for as long as the session lives (connections.ts closes them when it ends).
      headersTimeout: timeoutSeconds * 1000,
      bodyTimeout: 0,
      // reply-from turns certificate checks off unless told otherwise; an https upstream is verified.
      connect: { rejectUnauthorized: true },
    },
    // Never replay a request on its own: the upstream decides about retries, not the proxy.
    retryMethods: [],
  });

  // The body is the raw request stream, forwarded as it arrives: no parser, no size limit here
  // (Gatehouse's own 64 KiB limit is for its own routes).
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', (_request, payload, done) => done(null, payload));

  app.route({
    method: METHODS,
    url: '/*',
    exposeHeadRoute: false,
    schema: { hide: true },
    handler: async (request, reply) => {
      const target = normaliseTarget(request.raw.url ?? '');
      if (!target.ok) return sendFailure(request, reply, 'bad_request', target.detail);
      // The prefix is Gatehouse's own even where no own route matched: it is never proxied.
      if (underPrefix(target.path, config.routePrefix)) {
        return sendFailure(request, reply, 'not_found', 'No such route.');
      }
      const chosen = chooseUpstream(upstreams, target.path);
      if (chosen === undefined)
        return sendFailure(request, reply, 'not_found', 'No upstream serves this path.');

      // ACCESS_RULES_FILE decides on the same normalised path the upstream receives (SECURITY.md
      // 50, 60); PUBLIC_PATHS and a rule's `public` both open a path to anonymous callers.
      const rule = { method: request.method, path: target.path };
      const open = isPublic(target.path) || decide(app.accessRules, rule, null).kind === 'public';
      let user: AuthUser | null = null;
      try {
        user = await app.authenticate(request, reply);
      } catch (err) {
        // On a public path a bad or ended session only means "anonymous".
        if (!open) {
          if (!isGatehouseError(err)) throw err;
          return refuse(request, reply, target.path + target.query, err.code, err.detail);
        }
      }
      if (user === null && !open) {
        return refuse(
          request,
          reply,
          target.path + target.query,
          'not_authenticated',
          'Sign in first: no session cookie or bearer token was presented.',
        );
      }

      if (user !== null && decide(app.accessRules, rule, ruleSubject(user)).kind === 'deny') {
        app.metrics.accessDenied('proxy');
        return sendForbidden(request, reply, 'An access rule refuses this request for your account.');
      }

      const signedIn = user;
      const assertion =
        signedIn !== null && assertions !== undefined
          ? assertions.assertionFor(signedIn, options.assertionAudience ?? chosen.origin)
          : undefined;
      try {
        return reply.from(chosen.path, {
          getUpstream: () => chosen.origin,
          rewriteRequestHeaders: (req, headers) =>
            upstreamRequestHeaders(headers, {
              isGatehouseCookie,
              isGatehouseToken,
              user: signedIn,
              requestId: req.id,
              forwardedFor: req.ips ? [...req.ips].reverse() : [req.ip],
              forwardedProto: req.protocol,
              forwardedHost: req.host,
              host: preserveHost ? req.headers.host : undefined,
              assertion,
            }),
          rewriteHeaders: (headers) => {
            // The upstream's response as it came: Gatehouse's own security headers are for its pages.
            for (const name of ownHeaders) reply.removeHeader(name);
            return clientResponseHeaders(headers, isGatehouseCookie);
          },
          onResponse: (_req, _reply, res) => {
            if (signedIn !== null) trackStream(reply, res.stream, signedIn);
            reply.send(res.stream);
          },
          onError: (_reply, { error }) => {
            request.log.warn({ err: { code: (error as { code?: string }).code } }, 'upstream failed');
            if (isTimeout(error)) {
              sendFailure(request, reply, 'upstream_timeout', 'The upstream did not answer in time.');
            } else {
              sendFailure(request, reply, 'upstream_unavailable', 'The upstream could not be reached.');
            }
          },
        });
      } catch {
        // reply-from refuses some paths it cannot represent (a segment starting with `..`,
        // percent-encoded bytes that are not UTF-8) by throwing before anything is sent.
        return sendFailure(request, reply, 'bad_request', 'The path cannot be forwarded.');
      }
    },
  });

  /** A streamed response belongs to its session: it ends when the session does (SECURITY.md J.53). */
  function trackStream(
    reply: FastifyReply,
    stream: NodeJS.ReadableStream & { destroy(): void },
    user: AuthUser,
  ) {
    const untrack = tracker.track({
      sessionId: user.sessionId,
      userId: user.id,
      expiresAt: user.tokenExp * 1000,
      close: () => {
        stream.destroy();
        reply.raw.destroy();
      },
    });
    reply.raw.once('close', untrack);
  }

  /** Without a (valid) session: navigations go to sign in, everything else gets the 401 problem. */
  function refuse(
    request: FastifyRequest,
    reply: FastifyReply,
    pathAndQuery: string,
    code: ErrorCode,
    detail: string,
  ): FastifyReply {
    const readOnly = request.method === 'GET' || request.method === 'HEAD';
    if (ERRORS[code].status === 401 && readOnly && isBrowserNavigation(request)) {
      const login = new URL(`${config.publicUrl}${config.routePrefix}/login`);
      login.searchParams.set('return_to', `${config.publicUrl}${pathAndQuery}`);
      return reply.header('cache-control', 'no-store').redirect(login.toString(), 302);
    }
    return sendProblem(reply, code, detail);
  }
}
