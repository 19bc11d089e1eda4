/**
 * The provider HTTP client against a real loopback server: what openid-client and jose need of
 * `fetch`, and the bounds it adds (size, abort at any stage, no redirects).
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { gzipSync } from 'node:zlib';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  createProviderHttpClient,
  type ProviderHttpClient,
  ProviderResponseError,
} from '../../../src/oidc/http-client.js';
import { providerFailure } from '../../../src/oidc/provider-errors.js';

type Handler = (req: IncomingMessage, body: string, res: ServerResponse) => void;
let handler: Handler = (_req, _body, res) => res.end();
let server: Server;
let base: string;
let connections = 0;
let client: ProviderHttpClient;

beforeAll(async () => {
  server = createServer((req, res) => {
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (chunk: string) => {
      body += chunk;
    });
    req.on('end', () => handler(req, body, res));
  });
  server.on('connection', () => {
    connections += 1;
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
});
afterEach(async () => {
  await client?.close();
});

/**
 * undici hands a connection back to its pool one event-loop turn after an answer ends (its guard
 * against servers that close despite keep-alive); a request sent sooner opens another one.
 */
const nextTurn = () => new Promise<void>((resolve) => setImmediate(resolve));

const json = (res: ServerResponse, status: number, value: unknown, headers: Record<string, string> = {}) => {
  res.writeHead(status, { 'content-type': 'application/json', ...headers });
  res.end(JSON.stringify(value));
};

describe('provider HTTP client', () => {
  it('sends method, headers and a form body; answers a Response with status, headers and JSON', async () => {
    client = createProviderHttpClient();
    let seen: { method?: string; headers?: IncomingMessage['headers']; body?: string } = {};
    handler = (req, body, res) => {
      seen = { method: req.method, headers: req.headers, body };
      json(res, 201, { ok: true, name: 'Zoë' }, { 'x-extra': 'a' });
    };
    const response = await client.fetch(`${base}/token`, {
      method: 'POST',
      headers: { accept: 'application/json', authorization: 'Basic abc' },
      body: new URLSearchParams({ grant_type: 'authorization_code', code: 'a b&c' }),
    });
    expect(response).toBeInstanceOf(Response);
    expect(response.status).toBe(201);
    expect(response.headers.get('x-extra')).toBe('a');
    expect(response.headers.get('content-type')).toBe('application/json');
    expect(await response.json()).toEqual({ ok: true, name: 'Zoë' });
    expect(seen.method).toBe('POST');
    expect(seen.body).toBe('grant_type=authorization_code&code=a+b%26c');
    expect(seen.headers?.authorization).toBe('Basic abc');
    expect(seen.headers?.['content-length']).toBe(String(seen.body?.length));
    expect(seen.headers?.['user-agent']).toBe('gatehouse');
  });

  it('accepts a Headers object (as jose passes) and keeps a given user-agent', async () => {
    client = createProviderHttpClient();
    let agent: string | undefined;
    handler = (req, _body, res) => {
      agent = req.headers['user-agent'];
      json(res, 200, { keys: [] });
    };
    const response = await client.fetch(new URL(`${base}/jwks`), {
      headers: new Headers({ 'user-agent': 'jose/test', accept: 'application/json' }),
    });
    expect(await response.json()).toEqual({ keys: [] });
    expect(agent).toBe('jose/test');
  });

  it('keeps the connection alive between requests', async () => {
    client = createProviderHttpClient();
    handler = (_req, _body, res) => json(res, 200, {});
    const before = connections;
    for (let i = 0; i < 5; i++) {
      await (await client.fetch(`${base}/userinfo`)).json();
      await nextTurn();
    }
    expect(connections - before).toBe(1);
  });

  it('sends a request again, once, when the kept-alive connection it reused was closed', async () => {
    client = createProviderHttpClient();
    const perSocket = new WeakMap<object, number>();
    const seen: string[] = [];
    // The provider drops every connection on its second request, without answering: what a
    // client sees when the provider closed an idle connection just as it was reused.
    handler = (req, _body, res) => {
      const n = (perSocket.get(req.socket) ?? 0) + 1;
      perSocket.set(req.socket, n);
      seen.push(`${req.url} #${n}`);
      if (n === 2) req.socket.destroy();
      else json(res, 200, { ok: req.url });
    };
    expect(await (await client.fetch(`${base}/first`)).json()).toEqual({ ok: '/first' });
    await nextTurn();
    expect(await (await client.fetch(`${base}/second`)).json()).toEqual({ ok: '/second' });
    expect(seen).toEqual(['/first #1', '/second #2', '/second #1']);

    // Only once: a provider that drops the second attempt too is a failure the caller sees. (The
    // resend went on a connection of its own; one more answered request puts a reusable one back.)
    expect(await (await client.fetch(`${base}/again`)).json()).toEqual({ ok: '/again' });
    await nextTurn();
    handler = (req) => {
      seen.push(`${req.url} dropped`);
      req.socket.destroy();
    };
    seen.length = 0;
    await expect(client.fetch(`${base}/third`)).rejects.toMatchObject({ code: 'UND_ERR_SOCKET' });
    expect(seen).toEqual(['/third dropped', '/third dropped']);

    // And never on a fresh connection: that failure is the provider's answer.
    await client.close();
    client = createProviderHttpClient();
    seen.length = 0;
    await expect(client.fetch(`${base}/fourth`)).rejects.toMatchObject({ code: 'UND_ERR_SOCKET' });
    expect(seen).toEqual(['/fourth dropped']);
  });

  it('does not follow redirects: the 302 itself is the answer', async () => {
    client = createProviderHttpClient();
    const paths: string[] = [];
    handler = (req, _body, res) => {
      paths.push(req.url ?? '');
      res.writeHead(302, { location: `${base}/elsewhere` });
      res.end();
    };
    const response = await client.fetch(`${base}/token`, { redirect: 'manual' });
    expect(response.status).toBe(302);
    expect(response.headers.get('location')).toBe(`${base}/elsewhere`);
    expect(paths).toEqual(['/token']);
  });

  it('answers 204 with no body', async () => {
    client = createProviderHttpClient();
    handler = (_req, _body, res) => {
      res.writeHead(204);
      res.end();
    };
    const response = await client.fetch(`${base}/x`);
    expect(response.status).toBe(204);
    expect(response.body).toBeNull();
  });

  it('refuses a body over the limit, declared or streamed, without buffering it', async () => {
    client = createProviderHttpClient({ maxResponseBytes: 1000 });
    handler = (_req, _body, res) => json(res, 200, { big: 'x'.repeat(2000) });
    await expect(client.fetch(`${base}/declared`)).rejects.toBeInstanceOf(ProviderResponseError);

    let written = 0;
    let closed = false;
    let serverSawClose: () => void = () => {};
    const hungUp = new Promise<void>((resolve) => {
      serverSawClose = resolve;
    });
    handler = (_req, _body, res) => {
      res.writeHead(200, { 'content-type': 'application/json' }); // chunked: no length declared
      res.on('close', () => {
        closed = true;
        serverSawClose();
      });
      const pump = () => {
        while (!closed && written < 10_000_000) {
          written += 1000;
          if (!res.write('x'.repeat(1000))) return void res.once('drain', pump);
        }
        res.end();
      };
      pump();
    };
    await expect(client.fetch(`${base}/streamed`)).rejects.toThrow('too large');
    // The client hung up: the server stopped far short of the 10 MB it would have sent.
    await hungUp;
    expect(written).toBeLessThan(10_000_000);
  });

  it('decodes a gzip body it did not ask for, within the same limit', async () => {
    client = createProviderHttpClient({ maxResponseBytes: 1000 });
    let accepted: string | undefined;
    handler = (req, _body, res) => {
      accepted = req.headers['accept-encoding'];
      res.writeHead(200, { 'content-type': 'application/json', 'content-encoding': 'gzip' });
      res.end(gzipSync(JSON.stringify({ sub: 'abc' })));
    };
    const response = await client.fetch(`${base}/userinfo`);
    expect(await response.json()).toEqual({ sub: 'abc' });
    expect(response.headers.get('content-encoding')).toBeNull();
    expect(accepted).toBeUndefined();

    // 5 MB of zeros gzip to a few KB: the decoded size is what counts.
    handler = (_req, _body, res) => {
      res.writeHead(200, { 'content-type': 'application/json', 'content-encoding': 'gzip' });
      res.end(gzipSync(Buffer.alloc(5_000_000)));
    };
    await expect(client.fetch(`${base}/bomb`)).rejects.toBeInstanceOf(ProviderResponseError);

    handler = (_req, _body, res) => {
      res.writeHead(200, { 'content-encoding': 'zstd-unknown' });
      res.end('abc');
    };
    await expect(client.fetch(`${base}/odd`)).rejects.toThrow('unknown content encoding');
  });

  it("rejects with the signal's reason when the timeout fires before the headers or mid-body", async () => {
    client = createProviderHttpClient();
    handler = () => {
      // never answers
    };
    const silent = client.fetch(`${base}/stall`, { signal: AbortSignal.timeout(50) });
    await expect(silent).rejects.toMatchObject({ name: 'TimeoutError' });
    expect(providerFailure(await silent.catch((err: unknown) => err), 'token_request').code).toBe(
      'provider_timeout',
    );

    handler = (_req, _body, res) => {
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': '100' });
      res.write('{"partial":'); // and then nothing
    };
    const dripping = client.fetch(`${base}/drip`, { signal: AbortSignal.timeout(50) });
    await expect(dripping).rejects.toMatchObject({ name: 'TimeoutError' });
    expect(providerFailure(await dripping.catch((err: unknown) => err), 'userinfo').code).toBe(
      'provider_timeout',
    );

    const controller = new AbortController();
    controller.abort(new Error('gone'));
    await expect(client.fetch(`${base}/x`, { signal: controller.signal })).rejects.toThrow('gone');
  });

  it('rejects, never hangs, on a refused connection, a bad status and an unsupported URL', async () => {
    client = createProviderHttpClient();
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const port = (closed.address() as AddressInfo).port;
    await new Promise<void>((resolve) => closed.close(() => resolve()));
    await expect(client.fetch(`http://127.0.0.1:${port}/`)).rejects.toMatchObject({ code: 'ECONNREFUSED' });

    handler = (_req, _body, res) => {
      res.writeHead(600);
      res.end('x');
    };
    await expect(client.fetch(`${base}/odd-status`)).rejects.toBeInstanceOf(RangeError);

    await expect(client.fetch('ftp://127.0.0.1/x')).rejects.toBeInstanceOf(TypeError);
    await expect(client.fetch('not a url')).rejects.toBeInstanceOf(TypeError);
  });
  it('is cut off by its own timeout when a caller passes no signal, and that is a provider_timeout', async () => {
    client = createProviderHttpClient({ timeoutMs: 100 });
    handler = () => {
      // never answers
    };
    const failure = await client.fetch(`${base}/stall`).catch((err: unknown) => err);
    expect(failure).toMatchObject({ code: 'UND_ERR_HEADERS_TIMEOUT' });
    expect(providerFailure(failure, 'discovery').code).toBe('provider_timeout');

    handler = (_req, _body, res) => {
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': '100' });
      res.write('{"partial":'); // and then nothing
    };
    const midBody = await client.fetch(`${base}/drip`).catch((err: unknown) => err);
    expect(providerFailure(midBody, 'jwks').code).toBe('provider_timeout');
  });

  it('lets a slow answer arrive: the idle limit applies to idle connections only', async () => {
    // Scaled down: an answer taking several idle periods (as a 4.6 s answer against the 4 s
    // idle limit) still arrives.
    client = createProviderHttpClient({ idleMs: 50 });
    handler = (_req, _body, res) => {
      setTimeout(() => json(res, 200, { slow: true }), 250);
    };
    const response = await client.fetch(`${base}/slow`, { signal: AbortSignal.timeout(5_000) });
    expect(await response.json()).toEqual({ slow: true });
  });
});
