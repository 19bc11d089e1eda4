/**
 * Logs: one JSON line per request (method, route template, status, time, request id), sign-in
 * outcomes with their reasons, and never a secret — no session token, cookie, authorization code,
 * client secret or signing key — after a whole sign-in, API calls by cookie and by bearer, and a
 * sign-out, over real HTTP with a real provider on another site.
 */
import { Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger, REDACT_PATHS } from '../../src/logger.js';
import { createBrowser } from '../helpers/browser.js';
import { signInAtDevIdp } from '../helpers/dev-idp.js';
import type { TestGatehouse } from '../helpers/gatehouse.js';
import { type Fixture, startWithProvider } from '../helpers/sign-in.js';

const SECRET_KEY = 'sealing-key-that-must-never-be-logged-0123456789';
const JWT_SECRET_KEY = 'signing-key-that-must-never-be-logged-0123456789';

describe('logging', () => {
  let gh: TestGatehouse;
  let idp: Fixture['idp'];
  let fx: Fixture;
  const secrets: string[] = [];

  beforeAll(async () => {
    fx = await startWithProvider({ env: { SECRET_KEY, JWT_SECRET_KEY, LOG_LEVEL: 'trace' } });
    ({ gh, idp } = fx);
    secrets.push(SECRET_KEY, JWT_SECRET_KEY, idp.clientSecret);

    const browser = createBrowser();
    const login = await browser.get(`${gh.url}/login`);
    const txCookie = browser
      .cookies('127.0.0.1')
      .find((c) => c.name.startsWith(gh.config.cookie.transactionPrefix));
    if (txCookie) secrets.push(txCookie.value);
    const { callbackUrl } = await signInAtDevIdp(browser, login.headers.get('location')!, {
      email: 'ada@example.com',
      name: 'Ada',
    });
    const code = new URL(callbackUrl).searchParams.get('code');
    if (code) secrets.push(code);
    await browser.navigate(callbackUrl);
    const token = browser.cookies('127.0.0.1').find((c) => c.name === gh.config.cookie.name)!.value;
    secrets.push(token);

    expect((await browser.get(`${gh.url}/chat`)).status).toBe(200);
    const bearer = await fetch(`${gh.url}/me`, {
      headers: { authorization: `Bearer ${token}`, cookie: `other=x; ${gh.config.cookie.name}=${token}` },
    });
    expect(bearer.status).toBe(200);
    // A failed sign-in: a callback whose state matches no transaction.
    await fetch(`${gh.url}/auth?code=${code}&state=forged`, {
      redirect: 'manual',
      headers: { cookie: `${gh.config.cookie.name}=${token}` },
    });
    expect((await browser.post(`${gh.url}/logout`, '', { headers: { origin: gh.url } })).status).toBe(204);
  }, 60_000);

  afterAll(async () => fx?.close());

  it('writes one line per request with method, route template, status, time and request id', () => {
    const requests = gh.logs.filter((l) => l.msg === 'request');
    const chat = requests.find((l) => l.route === '/chat');
    expect(chat).toMatchObject({ method: 'GET', status: 200, level: 30 });
    expect(typeof chat?.ms).toBe('number');
    expect(chat?.reqId).toMatch(/^[0-9a-f-]{36}$/);
    const auth = requests.filter((l) => l.route === '/auth');
    expect(auth.map((l) => l.status)).toEqual([303, 303]);
    // Request ids differ per request.
    expect(new Set(requests.map((l) => l.reqId)).size).toBe(requests.length);
  });

  it('logs sign-in outcomes with their reasons', () => {
    expect(gh.logs.some((l) => l.msg === 'sign-in succeeded' && typeof l.userId === 'string')).toBe(true);
    const failed = gh.logs.find((l) => l.msg === 'sign-in failed');
    expect(failed?.code).toBeTypeOf('string');
    expect(failed?.reason ?? failed?.code).toMatch(/^[a-z_]+$/);
  });

  it('never writes a token, cookie, authorization code or secret', () => {
    const text = JSON.stringify(gh.logs);
    expect(gh.logs.length).toBeGreaterThan(10);
    for (const secret of secrets) expect(text).not.toContain(secret);
    expect(text).not.toMatch(/eyJ[\w-]+\.[\w-]+\.[\w-]+/); // no JWT of any kind
  });

  it('redacts credentials wherever a caller logs request or response headers', () => {
    const lines: string[] = [];
    const sink = new Writable({
      write(chunk, _e, cb) {
        lines.push(String(chunk));
        cb();
      },
    });
    const logger = createLogger({ logLevel: 'info', logPretty: false }, { destination: sink });
    logger.info(
      {
        req: { headers: { cookie: 'gatehouse=abc.def.ghi', authorization: 'Bearer abc.def.ghi' } },
        res: { headers: { 'set-cookie': 'gatehouse=abc.def.ghi' } },
        provider: {
          access_token: 'at-123',
          id_token: 'it-123',
          refresh_token: 'rt-123',
          client_secret: 'cs-123',
        },
        login: { code_verifier: 'cv-123' },
        db: { password: 'pw-123' },
      },
      'with secrets',
    );
    expect(REDACT_PATHS.length).toBeGreaterThan(0);
    const line = JSON.parse(lines[0] ?? '{}') as Record<string, unknown>;
    expect(JSON.stringify(line)).not.toMatch(/abc\.def\.ghi|at-123|it-123|rt-123|cs-123|cv-123|pw-123/);
    expect(JSON.stringify(line)).toContain('[redacted]');
    expect(line.msg).toBe('with secrets');
  });
});
