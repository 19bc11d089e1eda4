/**
 * Proxy-mode fixtures: a Gatehouse whose UPSTREAM_URL is a real local upstream, sessions minted
 * the way a sign-in leaves them (user + session row, then a token), and raw-socket requests for
 * what fetch and node:http refuse to send.
 */
import { connect } from 'node:net';
import WebSocket from 'ws';
import type { Clock } from '../../src/core/clock.js';
import { startGatehouse, type TestGatehouse } from './gatehouse.js';
import { identityForTest } from './identity.js';
import { startUpstream, type TestUpstream } from './upstream.js';

export interface ProxyFixture {
  readonly gh: TestGatehouse;
  readonly upstream: TestUpstream;
  /** Gatehouse's base URL (what clients call). */
  readonly url: string;
  close(): Promise<void>;
}

export interface ProxyFixtureOptions {
  readonly env?: Record<string, string | undefined>;
  readonly clock?: Clock;
  readonly databaseUrl?: string;
  /** Reuse an upstream (two instances in front of one upstream). */
  readonly upstream?: TestUpstream;
}

export async function startProxy(options: ProxyFixtureOptions = {}): Promise<ProxyFixture> {
  const upstream = options.upstream ?? (await startUpstream());
  const gh = await startGatehouse({
    ...(options.clock ? { clock: options.clock } : {}),
    ...(options.databaseUrl ? { databaseUrl: options.databaseUrl } : {}),
    env: { UPSTREAM_URL: upstream.url, LOG_LEVEL: 'warn', ...options.env },
  });
  return {
    gh,
    upstream,
    url: gh.url,
    async close() {
      await gh.close();
      if (options.upstream === undefined) await upstream.close();
    },
  };
}

export interface MintedSession {
  readonly token: string;
  readonly sessionId: string;
  readonly userId: string;
  /** `Cookie` header value carrying the session. */
  readonly cookie: string;
}

let subjects = 0;

/** A user and a session as a sign-in would leave them, and a token for it. */
export async function mintSession(
  gh: TestGatehouse,
  email: string,
  name: string | null = 'Test User',
): Promise<MintedSession> {
  const { user, session, token } = await gh.gatehouse.sessions.signIn(
    identityForTest({
      issuer: 'https://issuer.example',
      subject: `proxy-${email}-${++subjects}`,
      email,
      emailVerified: true,
      name,
      picture: null,
      hostedDomain: null,
    }),
    { ip: '127.0.0.1', userAgent: 'test' },
  );
  return {
    token: token.token,
    sessionId: session.id,
    userId: user.id,
    cookie: `${gh.config.cookie.name}=${token.token}`,
  };
}

/** Writes `bytes` on a fresh TCP connection and returns everything read until the server closes or `ms` pass. */
export function rawExchange(url: string, bytes: string | Buffer, ms = 3000): Promise<string> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve, reject) => {
    const socket = connect(Number(port), hostname);
    const chunks: Buffer[] = [];
    const timer = setTimeout(() => socket.destroy(), ms);
    socket.on('data', (c: Buffer) => chunks.push(c));
    socket.on('error', reject);
    socket.on('close', () => {
      clearTimeout(timer);
      resolve(Buffer.concat(chunks).toString('latin1'));
    });
    socket.write(bytes);
  });
}

/** Polls until `check` holds or `deadlineMs` pass (never a fixed sleep). */
export async function until(
  check: () => boolean | Promise<boolean>,
  deadlineMs: number,
  stepMs = 20,
): Promise<boolean> {
  const end = Date.now() + deadlineMs;
  while (Date.now() < end) {
    if (await check()) return true;
    await new Promise((resolve) => setTimeout(resolve, stepMs));
  }
  return check();
}

/** What a browser sends when the user opens a URL. */
export const NAVIGATION = {
  'sec-fetch-mode': 'navigate',
  'sec-fetch-dest': 'document',
  accept: 'text/html',
} as const;

export interface OpenSocket {
  readonly ws: WebSocket;
  readonly first: { url: string; headers: Record<string, string | undefined>; protocol: string };
  readonly closed: { code?: number; reason?: string };
}

/** Opens a WebSocket through Gatehouse and waits for the upstream's first message. */
export function openSocket(
  url: string,
  headers: Record<string, string>,
  protocols: string[] = [],
): Promise<OpenSocket> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, protocols, { headers });
    const closed: OpenSocket['closed'] = {};
    ws.on('close', (code, reason) => {
      closed.code = code;
      closed.reason = reason.toString();
    });
    ws.once('unexpected-response', (_req, res) => reject(new Error(`handshake answered ${res.statusCode}`)));
    ws.once('error', reject);
    ws.once('message', (data) =>
      resolve({ ws, first: JSON.parse(String(data)) as OpenSocket['first'], closed }),
    );
  });
}

/** The status a refused handshake got. */
export function refusedWith(
  url: string,
  headers: Record<string, string>,
): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, { headers });
    ws.once('open', () => reject(new Error('the handshake was accepted')));
    ws.once('unexpected-response', (_req, res) => {
      let body = '';
      res.on('data', (c) => {
        body += c;
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    ws.once('error', () => undefined);
  });
}
