/**
 * The HTTP client for provider requests (discovery, JWKS, token and userinfo endpoints), in the
 * shape of `fetch` so openid-client and jose can use it (their `customFetch` options).
 *
 * It is undici's (Node's own fetch engine) `Agent` and `request()`: a keep-alive connection pool,
 * which for an https provider also saves the TLS handshake on every sign-in. Not the WHATWG
 * `fetch` layer on top: its stream and spec bookkeeping costs several times the CPU of
 * `request()` for the two back-channel requests of a sign-in (docs/performance.md, "Sign-in
 * callback"). The answers are small JSON documents, so they are read whole, with bounds:
 *
 * - a response body over `maxResponseBytes` is refused, not buffered (undici's `maxResponseSize`),
 *   and so is one that exceeds it after decompression (SECURITY H: a hostile or broken provider
 *   cannot exhaust memory);
 * - the caller's `AbortSignal` (openid-client's and jose's timeouts) aborts the request at any
 *   stage, connecting or reading, and the promise rejects with the signal's reason, as fetch does,
 *   so a timeout is still told apart from other failures (provider-errors.ts); undici's own
 *   connect, headers and body timeouts are a backstop at the same configured timeout;
 * - redirects are never followed (`request()` has no redirect handling; openid-client and jose ask
 *   for `redirect: 'manual'` anyway);
 * - no compression is asked for; a body compressed anyway is decoded, within the same bound;
 * - a request that meets a kept-alive connection the provider had just closed is sent again once,
 *   on a connection of its own (the provider never saw it, or at worst refuses a code twice).
 */
import type { Socket } from 'node:net';
import { brotliDecompressSync, gunzipSync, inflateSync } from 'node:zlib';
import { Agent, buildConnector, Client, type Dispatcher, errors, request } from 'undici';

/** Provider documents are a few KB; 1 MiB is far beyond any honest one. */
export const MAX_PROVIDER_RESPONSE_BYTES = 1024 * 1024;

/** Idle keep-alive connections are closed after this long (below typical server idle timeouts). */
const IDLE_SOCKET_MS = 4_000;
/** The backstop for connect, headers and body when the caller passes no signal (OIDC_TIMEOUT's default). */
const DEFAULT_TIMEOUT_MS = 10_000;

/** The part of `fetch` openid-client and jose call. */
export type ProviderFetch = (url: string | URL, init?: ProviderRequestInit) => Promise<Response>;

export interface ProviderRequestInit {
  readonly method?: string;
  readonly headers?: HeadersInit;
  readonly body?: string | URLSearchParams | ArrayBuffer | Uint8Array | ReadableStream | null;
  readonly signal?: AbortSignal | null;
  readonly redirect?: string;
}

export interface ProviderHttpClientOptions {
  readonly maxResponseBytes?: number;
  /** undici's connect, headers and body timeouts (ms); callers' signals usually fire first. */
  readonly timeoutMs?: number;
  /** How long an idle kept-alive connection stays open (ms). */
  readonly idleMs?: number;
}

export interface ProviderHttpClient {
  readonly fetch: ProviderFetch;
  /** Closes kept-alive connections; requests in flight finish. */
  close(): Promise<void>;
}

/** A response the client refuses; provider-errors.ts reports it as `provider_error`. */
export class ProviderResponseError extends Error {
  override readonly name = 'ProviderResponseError';
}

const NULL_BODY_STATUSES = new Set([101, 204, 205, 304]);

export function createProviderHttpClient(options: ProviderHttpClientOptions = {}): ProviderHttpClient {
  const maxBytes = options.maxResponseBytes ?? MAX_PROVIDER_RESPONSE_BYTES;
  const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const connector = buildConnector({ timeout: timeoutMs });
  // Bytes each live connection had read when it was handed over (a TLS handshake reads some):
  // a connection that has read more since has carried an answer, i.e. it was reused.
  const readAtConnect = new Map<string, number>();
  const connect: buildConnector.connector = (connectOptions, callback) => {
    connector(connectOptions, (err, socket) => {
      if (err) {
        callback(err, null);
        return;
      }
      const key = socketKey(socket);
      readAtConnect.set(key, socket.bytesRead);
      // Forgotten a turn after the close, once the failure it caused has been looked at.
      socket.once('close', () => setImmediate(() => readAtConnect.delete(key)));
      callback(null, socket);
    });
  };
  const dispatcherOptions = {
    connect,
    maxResponseSize: maxBytes,
    headersTimeout: timeoutMs,
    bodyTimeout: timeoutMs,
    keepAliveTimeout: options.idleMs ?? IDLE_SOCKET_MS,
    keepAliveMaxTimeout: options.idleMs ?? IDLE_SOCKET_MS,
  };
  const agent = new Agent({ ...dispatcherOptions, connections: 32 });

  async function providerFetch(input: string | URL, init: ProviderRequestInit = {}): Promise<Response> {
    const signal = init.signal ?? undefined;
    signal?.throwIfAborted();
    let url: URL;
    try {
      url = new URL(input);
    } catch {
      throw new TypeError('invalid provider URL');
    }
    if (url.protocol !== 'https:' && url.protocol !== 'http:') {
      throw new TypeError('provider URLs must be http or https');
    }
    const headers: Record<string, string> = {};
    for (const [name, value] of new Headers(init.headers)) headers[name] = value;
    headers['user-agent'] ??= 'gatehouse';
    const body = requestBody(init.body);
    const method = (init.method ?? 'GET') as Dispatcher.HttpMethod;
    const send = (dispatcher: Dispatcher) =>
      receive(url, { method, headers, body, signal, dispatcher }, signal);

    try {
      return await send(agent);
    } catch (err) {
      // A kept-alive connection the provider closed just as it was reused fails before any
      // answer: that one request is sent again, once (what Node's documentation advises for
      // `reusedSocket`). On a connection of its own, never another pooled one that may be stale
      // too. A failure on a fresh connection is the provider's answer.
      if (signal?.aborted || !wasStale(err)) throw err;
      const fresh = new Client(url.origin, dispatcherOptions);
      try {
        return await send(fresh);
      } finally {
        fresh.close().catch(() => {});
      }
    }
  }

  function wasStale(err: unknown): boolean {
    if (!(err instanceof errors.SocketError) || err.socket === null) return false;
    const { localAddress, localPort, remoteAddress, remotePort, bytesRead } = err.socket;
    const atConnect = readAtConnect.get(`${localAddress}:${localPort}>${remoteAddress}:${remotePort}`);
    return atConnect !== undefined && bytesRead !== undefined && bytesRead > atConnect;
  }

  async function receive(
    url: URL,
    init: Omit<Dispatcher.RequestOptions, 'origin' | 'path'> & { dispatcher: Dispatcher },
    signal: AbortSignal | undefined,
  ): Promise<Response> {
    let answer: Dispatcher.ResponseData;
    try {
      answer = await request(url, init);
    } catch (err) {
      throw tooLarge(err);
    }
    const declared = Number(answer.headers['content-length']);
    if (Number.isFinite(declared) && declared > maxBytes) {
      answer.body.destroy();
      throw new ProviderResponseError('the provider response is too large');
    }
    let raw: Buffer;
    try {
      raw = Buffer.from(await answer.body.arrayBuffer());
    } catch (err) {
      // An abort mid-body surfaces as the signal's reason, as it does before the headers.
      if (signal?.aborted) throw signal.reason;
      throw tooLarge(err);
    }
    return toResponse(answer, raw, maxBytes);
  }

  return {
    fetch: providerFetch,
    close: () => agent.close(),
  };
}

function socketKey(socket: Socket): string {
  return `${socket.localAddress}:${socket.localPort}>${socket.remoteAddress}:${socket.remotePort}`;
}

function tooLarge(err: unknown): unknown {
  return err instanceof errors.ResponseExceededMaxSizeError
    ? new ProviderResponseError('the provider response is too large', { cause: err })
    : err;
}

/** Provider requests carry a form (token endpoint) or nothing; streams are not needed. */
function requestBody(body: ProviderRequestInit['body']): string | Buffer | undefined {
  if (body === undefined || body === null) return undefined;
  if (typeof body === 'string') return body;
  if (body instanceof URLSearchParams) return body.toString();
  if (body instanceof ArrayBuffer) return Buffer.from(body);
  if (body instanceof Uint8Array) return Buffer.from(body.buffer, body.byteOffset, body.byteLength);
  throw new TypeError('unsupported provider request body');
}

function toResponse(answer: Dispatcher.ResponseData, raw: Buffer, maxBytes: number): Response {
  const status = answer.statusCode;
  const encodingHeader = answer.headers['content-encoding'];
  const encoding = (typeof encodingHeader === 'string' ? encodingHeader : 'identity').trim().toLowerCase();
  const body = decode(raw, encoding, maxBytes);
  const headers = new Headers();
  for (const [name, value] of Object.entries(answer.headers)) {
    // The body is handed over decoded, as fetch hands it over.
    if (value === undefined || name === 'content-encoding' || name === 'content-length') continue;
    for (const one of Array.isArray(value) ? value : [value]) headers.append(name, one);
  }
  // Response() throws a RangeError for a status outside 200–599: that is a broken provider.
  // Buffer.from(ArrayBuffer) and zlib return Buffers over plain (not shared) ArrayBuffers.
  return new Response(NULL_BODY_STATUSES.has(status) ? null : (body as Uint8Array<ArrayBuffer>), {
    status,
    headers,
  });
}

function decode(raw: Buffer, encoding: string, maxBytes: number): Buffer {
  const limit = { maxOutputLength: maxBytes };
  try {
    switch (encoding) {
      case 'identity':
      case '':
        return raw;
      case 'gzip':
      case 'x-gzip':
        return gunzipSync(raw, limit);
      case 'deflate':
        return inflateSync(raw, limit);
      case 'br':
        return brotliDecompressSync(raw, limit);
      default:
        throw new ProviderResponseError('the provider response has an unknown content encoding');
    }
  } catch (err) {
    if (err instanceof ProviderResponseError) throw err;
    throw new ProviderResponseError('the provider response could not be decompressed', { cause: err });
  }
}
