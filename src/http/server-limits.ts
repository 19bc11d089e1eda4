/**
 * What the HTTP server itself enforces before Fastify sees a request (SECURITY.md 45), and how it
 * answers when it refuses one.
 *
 * - `REQUEST_TIMEOUT` bounds the time to receive a whole request, headers and body (Node's
 *   `requestTimeout`; `headersTimeout` is the same bound): a client that sends 5 bytes of a
 *   1000-byte body, or headers one byte at a time (slowloris), is answered 408 and cut off.
 *   Node checks these deadlines on a timer (`connectionsCheckingInterval`, 30 s by default),
 *   which is shortened here so the bound holds to within about a second.
 * - `KEEP_ALIVE_TIMEOUT` closes idle keep-alive connections.
 * - A socket with no traffic either way for the idle bound is closed: long enough for the slowest
 *   legitimate wait (a streamed chat answer within CHAT_TIMEOUT, a sign-in callback's provider
 *   round trips within OIDC_TIMEOUT each), short enough that a client that stops reading its
 *   response does not hold the connection forever.
 * - Bodies are capped by app.ts (`bodyLimit`), headers by Node's 16 KiB `maxHeaderSize`.
 *
 * Node's own refusals (a malformed request 400, oversized headers 431, the timeout 408) are
 * written by `clientErrorHandler` as problem+json with the same stable codes as everything else,
 * instead of Node's or Fastify's plain bodies.
 */
import type { Socket } from 'node:net';
import type { Config } from '../config/types.js';
import { ERRORS, type ErrorCode } from '../errors.js';
import { problemJson } from './problem.js';

export interface ServerLimits {
  readonly requestTimeout: number;
  readonly keepAliveTimeout: number;
  readonly connectionTimeout: number;
  readonly http: {
    readonly requestTimeout: number;
    readonly headersTimeout: number;
    readonly connectionsCheckingInterval: number;
  };
}

export function serverLimits(config: Pick<Config, 'server' | 'chat' | 'oidc'>): ServerLimits {
  const requestMs = config.server.requestTimeoutSeconds * 1000;
  const idleSeconds = Math.max(
    120,
    config.server.requestTimeoutSeconds,
    config.chat.timeoutSeconds + 30,
    4 * config.oidc.timeoutSeconds + 30,
  );
  return {
    requestTimeout: requestMs,
    keepAliveTimeout: config.server.keepAliveTimeoutSeconds * 1000,
    connectionTimeout: idleSeconds * 1000,
    http: {
      requestTimeout: requestMs,
      headersTimeout: requestMs,
      connectionsCheckingInterval: Math.min(1000, Math.max(100, Math.floor(requestMs / 4))),
    },
  };
}

function codeFor(err: { code?: string | undefined }): ErrorCode {
  if (err.code === 'ERR_HTTP_REQUEST_TIMEOUT') return 'request_timeout';
  if (err.code === 'HPE_HEADER_OVERFLOW') return 'headers_too_large';
  return 'bad_request';
}

/** Fastify's `clientErrorHandler`: a problem+json answer, then the connection is closed. */
export function clientErrorHandler(err: { code?: string | undefined }, socket: Socket): void {
  // A reset connection has nobody to answer.
  if (err.code === 'ECONNRESET' || socket.destroyed) return;
  if (socket.writable) {
    const code = codeFor(err);
    const { status, title } = ERRORS[code];
    const body = problemJson(code, undefined);
    socket.write(
      `HTTP/1.1 ${status} ${title}\r\nContent-Type: application/problem+json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nCache-Control: no-store\r\nConnection: close\r\n\r\n${body}`,
    );
  }
  socket.destroy();
}
