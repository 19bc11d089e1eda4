/**
 * The HTTP client for provider requests (discovery, JWKS, token and userinfo endpoints), in the
 * shape of `fetch` so openid-client and jose can use it (their `customFetch` options).
 *
 * Why not the global `fetch`: a sign-in makes two back-channel requests, and the WHATWG machinery
 * of Node's fetch (streams, spec bookkeeping) costs ~0.3–1 ms of CPU per request against ~0.1 ms
 * for `node:http` with a keep-alive agent (docs/performance.md, "Sign-in callback"). The answers
 * are small JSON documents, so this client reads them whole, with a bound:
 *
 * - a response body over `maxResponseBytes` (after decompression) is refused, not buffered
 *   (SECURITY.md H: a hostile or broken provider cannot exhaust memory);
 * - the caller's `AbortSignal` (openid-client's and jose's timeouts) aborts the request at any
 *   stage, connecting or reading, and the promise rejects with the signal's reason, as fetch does,
 *   so a timeout is still told apart from other failures (provider-errors.ts);
 * - redirects are never followed (openid-client and jose ask for `redirect: 'manual'`);
 * - no compression is asked for; a body compressed anyway is decoded, within the same bound;
 * - connections are kept alive and reused, which for an https provider also saves the TLS
 *   handshake on every sign-in; a request that meets a connection the provider had just closed
 *   is sent again once on a fresh one (what Node's documentation advises for `reusedSocket`).
 */
import http from 'node:http';
import https from 'node:https';
import { brotliDecompressSync, gunzipSync, inflateSync } from 'node:zlib';

/** Provider documents are a few KB; 1 MiB is far beyond any honest one. */
export const MAX_PROVIDER_RESPONSE_BYTES = 1024 * 1024;

/** Idle keep-alive connections are closed after this long (below typical server idle timeouts). */
const IDLE_SOCKET_MS = 4_000;

/** The part of `fetch` openid-client and jose call. */
export type ProviderFetch = (url: string | URL, init?: ProviderRequestInit) => Promise<Response>;

export interface ProviderRequestInit {
  readonly method?: string;
  readonly headers?: HeadersInit;
  readonly body?: string | URLSearchParams | ArrayBuffer | Uint8Array | ReadableStream | null;
  readonly signal?: AbortSignal | null;
  readonly redirect?: string;
}

export interface ProviderHttpClient {
  readonly fetch: ProviderFetch;
  /** Closes idle kept-alive connections; requests in flight finish. */
  close(): void;
}

/** A response the client refuses; provider-errors.ts reports it as `provider_error`. */
export class ProviderResponseError extends Error {
  override readonly name = 'ProviderResponseError';
}

/** A reused connection that failed before any answer (see providerFetch). */
class StaleConnection extends Error {
  constructor(readonly original: unknown) {
    super('a kept-alive connection was closed by the provider');
  }
}

const unwrap = (err: unknown): unknown => (err instanceof StaleConnection ? err.original : err);

const NULL_BODY_STATUSES = new Set([101, 204, 205, 304]);

export function createProviderHttpClient(options: { maxResponseBytes?: number } = {}): ProviderHttpClient {
  const maxBytes = options.maxResponseBytes ?? MAX_PROVIDER_RESPONSE_BYTES;
  const agentOptions = { keepAlive: true, maxSockets: 32, maxFreeSockets: 8, timeout: IDLE_SOCKET_MS };
  const agents = { http: new http.Agent(agentOptions), https: new https.Agent(agentOptions) };

  function providerFetch(input: string | URL, init: ProviderRequestInit = {}): Promise<Response> {
    const signal = init.signal ?? undefined;
    if (signal?.aborted) return Promise.reject(signal.reason);
    let url: URL;
    try {
      url = new URL(input);
    } catch {
      return Promise.reject(new TypeError('invalid provider URL'));
    }
    const secure = url.protocol === 'https:';
    if (!secure && url.protocol !== 'http:') {
      return Promise.reject(new TypeError('provider URLs must be http or https'));
    }
    const headers: Record<string, string> = {};
    for (const [name, value] of new Headers(init.headers)) headers[name] = value;
    headers['user-agent'] ??= 'gatehouse';
    let body: string | Buffer | undefined;
    try {
      body = requestBody(init.body);
    } catch (err) {
      return Promise.reject(err);
    }
    if (body !== undefined) headers['content-length'] = String(Buffer.byteLength(body));

    const options = { method: init.method ?? 'GET', headers, agent: secure ? agents.https : agents.http };
    // A kept-alive connection the provider closed just as it was reused fails before any answer:
    // that one request is sent again, once, on a fresh connection (the provider never saw it, or
    // at worst refuses a code twice). Any other failure is the caller's.
    return attempt(url, secure, options, body, signal).catch((err: unknown) => {
      if (!(err instanceof StaleConnection) || signal?.aborted) throw unwrap(err);
      // `agent: false`: a new connection of its own, never another pooled one that may be stale too.
      return attempt(url, secure, { ...options, agent: false }, body, signal).catch((again: unknown) => {
        throw unwrap(again);
      });
    });
  }

  function attempt(
    url: URL,
    secure: boolean,
    options: http.RequestOptions,
    body: string | Buffer | undefined,
    signal: AbortSignal | undefined,
  ): Promise<Response> {
    return new Promise<Response>((resolve, reject) => {
      let settled = false;
      let answered = false;
      const finish = (outcome: () => void): void => {
        if (settled) return;
        settled = true;
        signal?.removeEventListener('abort', onAbort);
        outcome();
      };
      const fail = (err: unknown): void => {
        finish(() => reject(err));
        request.destroy();
      };
      const onAbort = (): void => fail(signal?.reason);

      const request = (secure ? https : http).request(url, options, (response) => {
        answered = true;
        const declared = Number(response.headers['content-length']);
        if (Number.isFinite(declared) && declared > maxBytes) {
          fail(new ProviderResponseError('the provider response is too large'));
          return;
        }
        const chunks: Buffer[] = [];
        let size = 0;
        response.on('data', (chunk: Buffer) => {
          size += chunk.length;
          if (size > maxBytes) fail(new ProviderResponseError('the provider response is too large'));
          else chunks.push(chunk);
        });
        response.on('error', fail);
        response.on('end', () => {
          try {
            const result = toResponse(response, Buffer.concat(chunks, size), maxBytes);
            finish(() => resolve(result));
          } catch (err) {
            fail(err);
          }
        });
      });
      request.on('error', (err: NodeJS.ErrnoException) => {
        const stale =
          !answered && request.reusedSocket && (err.code === 'ECONNRESET' || err.code === 'EPIPE');
        fail(stale ? new StaleConnection(err) : err);
      });
      signal?.addEventListener('abort', onAbort, { once: true });
      request.end(body);
    });
  }

  return {
    fetch: providerFetch,
    close() {
      agents.http.destroy();
      agents.https.destroy();
    },
  };
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

function toResponse(response: http.IncomingMessage, raw: Buffer, maxBytes: number): Response {
  const status = response.statusCode ?? 0;
  const encoding = (response.headers['content-encoding'] ?? 'identity').trim().toLowerCase();
  const body = decode(raw, encoding, maxBytes);
  const headers = new Headers();
  const pairs = response.rawHeaders;
  for (let i = 0; i + 1 < pairs.length; i += 2) {
    const name = pairs[i]!.toLowerCase();
    // The body is handed over decoded, as fetch hands it over.
    if (name === 'content-encoding' || name === 'content-length') continue;
    headers.append(name, pairs[i + 1]!);
  }
  // Response() throws a RangeError for a status outside 200–599: that is a broken provider.
  // Buffer.concat and zlib return Buffers over plain (not shared) ArrayBuffers.
  return new Response(NULL_BODY_STATUSES.has(status) ? null : (body as Uint8Array<ArrayBuffer>), {
    status,
    statusText: response.statusMessage ?? '',
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
