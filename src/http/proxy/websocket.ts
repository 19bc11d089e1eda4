/**
 * WebSockets in proxy mode (SECURITY.md J.53). An `Upgrade: websocket` request never reaches
 * Fastify's routing: Node hands it to the server's `upgrade` event, and this module
 *
 * 1. normalises the path and picks the upstream exactly as the HTTP route does;
 * 2. refuses a cross-site handshake: an `Origin` must be PUBLIC_URL's origin or in CORS_ORIGINS
 *    (a browser always sends one; without it only a bearer-token client is accepted), so a page
 *    on another site cannot open a socket with the user's cookie (cross-site WebSocket hijacking);
 * 3. authenticates the session like the auth plugin (renewing an expired token from the
 *    database, without issuing a cookie: the handshake response is not the place for one);
 * 4. opens the upstream socket first (with the same header rules as HTTP), then completes the
 *    client's handshake with the upstream's chosen subprotocol, and relays messages both ways;
 * 5. tracks the socket under its session, so revocation or expiry closes it with code 1008.
 *
 * `ws` does the framing on both sides.
 */

import { randomUUID } from 'node:crypto';
import type { IncomingMessage, Server } from 'node:http';
import { STATUS_CODES } from 'node:http';
import type { Duplex } from 'node:stream';
import proxyAddr from '@fastify/proxy-addr';
import WebSocket, { WebSocketServer } from 'ws';
import { type CompiledRules, decide } from '../../authz/rules.js';
import type { Config } from '../../config/types.js';
import { ERRORS, type ErrorCode, GatehouseError } from '../../errors.js';
import type { Logger } from '../../logger.js';
import type { SessionService } from '../../session/service.js';
import type { SessionClaims } from '../../session/types.js';
import { type AuthUser, toUser } from '../auth.js';
import { ruleSubject } from '../authz.js';
import { presentedCredential } from '../credentials.js';
import { PROBLEM_CONTENT_TYPE, problemJson } from '../problem.js';
import type { ConnectionTracker } from './connections.js';
import { normaliseTarget, publicPathMatcher, underPrefix } from './path.js';
import { upstreamRequestHeaders } from './request-headers.js';
import { gatehouseCookieNames } from './response-headers.js';
import type { AssertionSource } from './route.js';
import { chooseUpstream } from './upstream.js';

export interface WebSocketProxyOptions {
  readonly config: Config;
  readonly sessions: SessionService;
  readonly tracker: ConnectionTracker;
  readonly logger: Logger;
  readonly assertions?: AssertionSource | undefined;
  readonly assertionAudience?: string | undefined;
  /** ACCESS_RULES_FILE, compiled (the same rules as HTTP requests). */
  readonly rules: CompiledRules;
  /** Counts a handshake a rule refused (metrics). */
  readonly onDenied?: () => void;
}

/** Handshake headers `ws` sets itself for the upstream connection. */
const HANDSHAKE = [
  'sec-websocket-key',
  'sec-websocket-version',
  'sec-websocket-extensions',
  'sec-websocket-protocol',
  'host',
];
const KEY = /^[+/0-9A-Za-z]{22}==$/;
/** The close code for "policy violation" (RFC 6455 §7.4.1): the session behind the socket ended. */
export const SESSION_ENDED_CLOSE = 1008;

function refuse(socket: Duplex, code: ErrorCode, detail: string, requestId: string): void {
  const status = ERRORS[code].status;
  const body = problemJson(code, detail, requestId);
  const lines = [
    `HTTP/1.1 ${status} ${STATUS_CODES[status] ?? 'Error'}`,
    `Content-Type: ${PROBLEM_CONTENT_TYPE}`,
    `Content-Length: ${Buffer.byteLength(body)}`,
    'Cache-Control: no-store',
    `X-Request-Id: ${requestId}`,
    ...(status === 401 ? ['WWW-Authenticate: Bearer realm="gatehouse"'] : []),
    'Connection: close',
  ];
  socket.end(`${lines.join('\r\n')}\r\n\r\n${body}`);
}

/** A close code one side may send on the other's behalf (1005/1006/1015 are never sent). */
function relayable(code: number): number {
  if (
    code === 1000 ||
    (code >= 1001 && code <= 1003) ||
    (code >= 1007 && code <= 1014) ||
    (code >= 3000 && code <= 4999)
  ) {
    return code;
  }
  return code === 1005 ? 1000 : 1011;
}

/** Above this many unsent bytes towards one side, the other side is not read (back-pressure). */
const HIGH_WATER = 1024 * 1024;

/** Relays messages from one socket to the other, pausing the reader while the writer is behind. */
function forward(from: WebSocket, to: WebSocket): void {
  from.on('message', (data, isBinary) => {
    if (to.readyState !== WebSocket.OPEN) return;
    to.send(data, { binary: isBinary }, () => {
      if (from.isPaused && to.bufferedAmount < HIGH_WATER) from.resume();
    });
    if (to.bufferedAmount >= HIGH_WATER) from.pause();
  });
}

export function attachWebSocketProxy(server: Server, options: WebSocketProxyOptions): { close(): void } {
  const { config, sessions, tracker, logger, assertions } = options;
  const isPublic = publicPathMatcher(config.proxy.publicPaths);
  const isGatehouseCookie = gatehouseCookieNames(config.cookie.name, config.cookie.transactionPrefix);
  const allowedOrigins = new Set([config.publicOrigin, ...config.corsOrigins]);
  const trust = config.trustProxy.length > 0 ? proxyAddr.compile([...config.trustProxy]) : undefined;
  const chosenProtocol = new WeakMap<IncomingMessage, string>();
  const wss = new WebSocketServer({
    noServer: true,
    perMessageDeflate: false,
    // The client gets the subprotocol the upstream chose, or none.
    handleProtocols: (_protocols, request) => chosenProtocol.get(request) ?? false,
  });
  const live = new Set<WebSocket>();

  /** The session behind the handshake, renewed if its token expired; throws GatehouseError. */
  async function authenticate(req: IncomingMessage): Promise<AuthUser | null> {
    // The same reading of the credential as every HTTP request (src/http/credentials.ts).
    const presented = presentedCredential(req.headers, config.cookie.name, (t) => sessions.check(t));
    if (presented.kind === 'none') return null;
    if (presented.kind === 'error') throw presented.error;
    const { token, via } = presented;
    const check = sessions.check(token);
    let claims: SessionClaims;
    if (check.ok) claims = check.claims;
    else if (check.reason === 'expired') {
      const ua = req.headers['user-agent'];
      const renewed = await sessions.renew(check.claims, {
        ip: req.socket.remoteAddress ?? null,
        userAgent: typeof ua === 'string' ? ua.slice(0, 512) : null,
      });
      claims = renewed.claims;
    } else if (check.reason === 'revoked')
      throw new GatehouseError('session_revoked', 'This session has been signed out.');
    else throw new GatehouseError('invalid_token', 'The session token is not valid.');
    return toUser(sessions, claims, via);
  }

  function upstreamHeaders(req: IncomingMessage, user: AuthUser | null, requestId: string, audience: string) {
    const headers = { ...req.headers };
    for (const name of HANDSHAKE) delete headers[name];
    const peer = req.socket.remoteAddress ?? '';
    const chain = trust ? proxyAddr.all(req, trust).reverse() : [peer];
    const trusted = trust?.(peer, 0) === true;
    const forwardedProto =
      trusted && typeof req.headers['x-forwarded-proto'] === 'string'
        ? req.headers['x-forwarded-proto'].split(',')[0]!.trim()
        : 'encrypted' in req.socket && req.socket.encrypted
          ? 'https'
          : 'http';
    const forwardedHost =
      trusted && typeof req.headers['x-forwarded-host'] === 'string'
        ? req.headers['x-forwarded-host']
        : req.headers.host;
    return upstreamRequestHeaders(headers, {
      isGatehouseCookie,
      isGatehouseToken: (token) => {
        const check = sessions.check(token);
        return check.ok || check.reason !== 'invalid';
      },
      user,
      requestId,
      forwardedFor: chain,
      forwardedProto,
      forwardedHost,
      host: config.proxy.preserveHost ? req.headers.host : undefined,
      assertion:
        user !== null && assertions !== undefined ? assertions.assertionFor(user, audience) : undefined,
    });
  }

  async function onUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): Promise<void> {
    const requestId = randomUUID();
    socket.on('error', () => socket.destroy());
    if ((req.headers.upgrade ?? '').toLowerCase() !== 'websocket') {
      return refuse(socket, 'bad_request', 'Only WebSocket upgrades are accepted.', requestId);
    }
    const key = req.headers['sec-websocket-key'];
    if (
      req.method !== 'GET' ||
      typeof key !== 'string' ||
      !KEY.test(key) ||
      req.headers['sec-websocket-version'] !== '13'
    ) {
      return refuse(socket, 'bad_request', 'The WebSocket handshake is malformed.', requestId);
    }
    const target = normaliseTarget(req.url ?? '');
    if (!target.ok) return refuse(socket, 'bad_request', target.detail, requestId);
    if (underPrefix(target.path, config.routePrefix))
      return refuse(socket, 'not_found', 'No such route.', requestId);
    const chosen = chooseUpstream(config.proxy.upstreams, target.path);
    if (chosen === undefined) return refuse(socket, 'not_found', 'No upstream serves this path.', requestId);

    // The same access rules as HTTP requests (SECURITY.md 60), on the same normalised path.
    const rule = { method: 'GET', path: target.path };
    const open = isPublic(target.path) || decide(options.rules, rule, null).kind === 'public';
    let user: AuthUser | null = null;
    try {
      user = await authenticate(req);
    } catch (err) {
      if (!(err instanceof GatehouseError)) throw err;
      if (!open) return refuse(socket, err.code, err.detail, requestId);
    }
    if (user !== null && !open && decide(options.rules, rule, ruleSubject(user)).kind === 'deny') {
      options.onDenied?.();
      return refuse(socket, 'forbidden', 'An access rule refuses this request for your account.', requestId);
    }
    if (user === null && !open) {
      return refuse(
        socket,
        'not_authenticated',
        'Sign in first: no session cookie or bearer token was presented.',
        requestId,
      );
    }
    const origin = req.headers.origin;
    const sameSite =
      origin !== undefined ? allowedOrigins.has(origin) : user === null || user.via === 'bearer';
    if (!sameSite) {
      logger.info({ origin }, 'cross-site WebSocket refused');
      return refuse(
        socket,
        'forbidden',
        'This WebSocket was opened from a site that is not allowed.',
        requestId,
      );
    }

    const url = new URL(`${chosen.path}${target.query}`, chosen.origin);
    url.protocol = url.protocol === 'https:' ? 'wss:' : 'ws:';
    const protocols = (req.headers['sec-websocket-protocol'] ?? '')
      .split(',')
      .map((p) => p.trim())
      .filter((p) => p !== '');
    const upstream = new WebSocket(url, protocols, {
      headers: upstreamHeaders(req, user, requestId, options.assertionAudience ?? chosen.origin) as Record<
        string,
        string
      >,
      handshakeTimeout: config.proxy.timeoutSeconds * 1000,
      perMessageDeflate: false,
      followRedirects: false,
    });
    // Settled once: opened, refused, or failed (terminate() during the handshake also emits 'error').
    let settled = false;
    const abandon = () => upstream.terminate();
    socket.once('close', abandon);
    upstream.once('unexpected-response', (_request, response) => {
      settled = true;
      response.resume();
      upstream.terminate();
      refuse(socket, 'upstream_unavailable', 'The upstream refused the WebSocket.', requestId);
    });
    upstream.on('error', (err) => {
      if (settled) return;
      settled = true;
      const timeout = /timed out/i.test(err.message);
      refuse(
        socket,
        timeout ? 'upstream_timeout' : 'upstream_unavailable',
        timeout ? 'The upstream did not answer in time.' : 'The upstream could not be reached.',
        requestId,
      );
    });
    upstream.once('open', () => {
      settled = true;
      socket.off('close', abandon);
      if (upstream.protocol !== '') chosenProtocol.set(req, upstream.protocol);
      wss.handleUpgrade(req, socket, head, (client) => relay(client, upstream, user));
    });
  }

  function relay(client: WebSocket, upstream: WebSocket, user: AuthUser | null): void {
    live.add(client);
    live.add(upstream);
    forward(client, upstream);
    forward(upstream, client);
    const closeOther = (other: WebSocket, code: number, reason: Buffer) => {
      if (other.readyState === WebSocket.OPEN) other.close(relayable(code), reason);
      else if (other.readyState === WebSocket.CONNECTING) other.terminate();
    };
    client.on('close', (code, reason) => closeOther(upstream, code, reason));
    upstream.on('close', (code, reason) => closeOther(client, code, reason));
    client.on('error', () => upstream.terminate());
    upstream.on('error', () => client.terminate());

    if (user === null) return;
    const untrack = tracker.track({
      sessionId: user.sessionId,
      userId: user.id,
      expiresAt: user.tokenExp * 1000,
      close: (reason) => {
        client.close(SESSION_ENDED_CLOSE, reason === 'revoked' ? 'session revoked' : 'session expired');
        upstream.close(1001, 'session ended');
        // A peer that never answers the close frame is cut off.
        setTimeout(() => {
          client.terminate();
          upstream.terminate();
        }, 1000).unref();
      },
    });
    client.once('close', () => {
      untrack();
      live.delete(client);
      live.delete(upstream);
    });
  }

  const listener = (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    onUpgrade(req, socket, head).catch((err: unknown) => {
      logger.error({ err }, 'WebSocket upgrade failed');
      socket.destroy();
    });
  };
  server.on('upgrade', listener);
  return {
    close() {
      server.off('upgrade', listener);
      for (const ws of live) ws.terminate();
      wss.close();
    },
  };
}
