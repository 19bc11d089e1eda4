/**
 * `gatehouse serve` as a process: it starts with the embedded development provider, serves a
 * whole sign-in, logs one JSON line per request, and on SIGTERM stops accepting connections
 * while a request already in flight completes, then exits 0 — or exits 1 once the shutdown
 * bound passes when a request never completes.
 *
 * Holding a request in flight honestly: the test sends the headers of a real, authenticated
 * `POST /chat` with `Expect: 100-continue`. Node answers `100 Continue` only once it has parsed
 * the headers and handed the request to Fastify, so that interim response is proof the request
 * is in flight (no sleeping); the body is sent only after SIGTERM.
 */
import type { ChildProcess } from 'node:child_process';
import { connect, type Socket } from 'node:net';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { freePort } from '../helpers/ports.js';
import { signInThroughDevIdp } from '../helpers/sign-in.js';
import { startCli, tempDir } from './run.js';

interface Server {
  readonly child: ChildProcess;
  readonly url: string;
  readonly lines: Record<string, unknown>[];
  readonly raw: () => string;
  readonly exited: Promise<{ code: number | null; at: number }>;
}

async function until<T>(
  what: string,
  probe: () => T | undefined | Promise<T | undefined>,
  ms = 20_000,
): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

async function startServe(dir: string, args: string[] = []): Promise<Server> {
  const port = await freePort();
  const child = startCli(['serve', ...args], {
    cwd: dir,
    env: {
      PORT: String(port),
      DATABASE_URL: `sqlite:${join(dir, 'gh.db')}`,
      SECRET_KEY: 's'.repeat(40),
      JWT_SECRET_KEY: 'j'.repeat(40),
      RATE_LIMIT_AUTH: '1000/1m',
    },
  });
  let out = '';
  const lines: Record<string, unknown>[] = [];
  child.stdout?.on('data', (chunk: Buffer) => {
    out += chunk.toString('utf8');
    const parts = out.split('\n');
    out = parts.pop() ?? '';
    for (const line of parts) if (line.trim()) lines.push(JSON.parse(line) as Record<string, unknown>);
  });
  let err = '';
  child.stderr?.on('data', (chunk: Buffer) => {
    err += chunk.toString('utf8');
  });
  const exited = new Promise<{ code: number | null; at: number }>((resolve) =>
    child.once('exit', (code) => resolve({ code, at: Date.now() })),
  );
  await until(`serve to listen (stderr: ${err})`, () =>
    lines.find((l) => String(l.msg).startsWith('Gatehouse listening')) ? true : undefined,
  );
  return { child, url: `http://127.0.0.1:${port}`, lines, raw: () => err, exited };
}

async function signIn(url: string): Promise<string> {
  return (await signInThroughDevIdp(url, { email: 'ada@example.com', name: 'Ada', cookieName: 'gatehouse' }))
    .token;
}

/** Opens POST /chat with its headers only; resolves once Node has dispatched it (100 Continue). */
async function openChatRequest(
  url: string,
  token: string,
  body: string,
): Promise<{ socket: Socket; response: Promise<string> }> {
  const { port } = new URL(url);
  const socket = connect(Number(port), '127.0.0.1');
  let received = '';
  let continued: () => void;
  const gotContinue = new Promise<void>((resolve) => {
    continued = resolve;
  });
  const response = new Promise<string>((resolve, reject) => {
    socket.on('data', (chunk: Buffer) => {
      received += chunk.toString('utf8');
      if (received.startsWith('HTTP/1.1 100 Continue')) continued();
    });
    socket.on('end', () => resolve(received));
    socket.on('error', reject);
  });
  socket.write(
    `POST /chat HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nAuthorization: Bearer ${token}\r\n` +
      `Content-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\n` +
      'Expect: 100-continue\r\nConnection: close\r\n\r\n',
  );
  await gotContinue;
  return { socket, response };
}

function refused(url: string): Promise<boolean> {
  const { port } = new URL(url);
  return new Promise((resolve) => {
    const socket = connect(Number(port), '127.0.0.1');
    socket.once('connect', () => {
      socket.destroy();
      resolve(false);
    });
    socket.once('error', (err: NodeJS.ErrnoException) => resolve(err.code === 'ECONNREFUSED'));
  });
}

describe('gatehouse serve', () => {
  let dir: ReturnType<typeof tempDir>;
  let server: Server | undefined;
  beforeEach(() => {
    dir = tempDir();
  });
  afterEach(async () => {
    if (server && server.child.exitCode === null) {
      server.child.kill('SIGKILL');
      await server.exited;
    }
    server = undefined;
    dir.remove();
  });

  it('finishes a request in flight after SIGTERM, refuses new connections, and exits 0', async () => {
    server = await startServe(dir.path);
    const token = await signIn(server.url);
    const body = JSON.stringify({ message: 'still there?' });
    const { socket, response } = await openChatRequest(server.url, token, body);

    const signalledAt = Date.now();
    server.child.kill('SIGTERM');
    const s = server;
    await until('the shutdown log line', () =>
      s.lines.some((l) => l.msg === 'shutting down: finishing requests in flight') ? true : undefined,
    );
    await until('new connections to be refused', async () => ((await refused(s.url)) ? true : undefined));

    socket.write(body);
    const raw = await response;
    expect(raw).toMatch(/\r\n\r\nHTTP\/1\.1 200 OK\r\n/);
    expect(raw).toContain('"still there?"');

    const exit = await server.exited;
    expect(exit.code).toBe(0);
    expect(exit.at - signalledAt).toBeLessThan(10_000);
    expect(server.lines.some((l) => l.msg === 'stopped')).toBe(true);

    // One line per request with method, route template, status, time and request id.
    const chat = server.lines.find((l) => l.msg === 'request' && l.route === '/chat' && l.method === 'POST');
    expect(chat).toMatchObject({ status: 200, level: 30 });
    expect(typeof chat?.ms).toBe('number');
    expect(typeof chat?.reqId).toBe('string');
    // The token never reaches the log.
    expect(JSON.stringify(server.lines)).not.toContain(token);
  }, 90_000);

  it('exits 1 at the shutdown bound when a request never completes', async () => {
    server = await startServe(dir.path, ['--shutdown-timeout', '1s']);
    const token = await signIn(server.url);
    const { socket } = await openChatRequest(server.url, token, '{"message":"never finished"}');
    const signalledAt = Date.now();
    server.child.kill('SIGTERM');
    const exit = await server.exited;
    socket.destroy();
    expect(exit.code).toBe(1);
    expect(exit.at - signalledAt).toBeGreaterThanOrEqual(1_000);
    expect(exit.at - signalledAt).toBeLessThan(8_000);
    expect(server.lines.some((l) => l.msg === 'shutdown took too long; exiting')).toBe(true);
  }, 90_000);
});
