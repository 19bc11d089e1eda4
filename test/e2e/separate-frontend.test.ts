/**
 * The tutorial's recommended deployment: a separate frontend origin that serves its own pages and
 * proxies Gatehouse's routes under the same origin. Gatehouse runs with PUBLIC_URL set to the
 * frontend's origin, so the callback (REDIRECT_URL) is the frontend's /auth and the session
 * cookie lands on the frontend's host; the browser never talks to Gatehouse directly. The proxy
 * here is a tiny node:http server (nginx does the same in deploy/).
 */
import { readFileSync } from 'node:fs';
import { createServer, request as httpRequest, type IncomingMessage, type Server } from 'node:http';
import { extname, join } from 'node:path';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { describeWithChromium, launchChromium, watchPage } from '../helpers/chromium.js';
import { startDevIdp } from '../helpers/dev-idp.js';
import { startGatehouse, type TestGatehouse } from '../helpers/gatehouse.js';
import { freePort } from '../helpers/ports.js';
import { clickThrough, EXPECTED_CONSOLE } from './flow.js';

const WEB = join(process.cwd(), 'web');
const STATIC: Record<string, string> = {
  '/': 'index.html',
  '/app.js': 'app.js',
  '/style.css': 'style.css',
  '/google-g.svg': 'google-g.svg',
  '/gatehouse.svg': 'gatehouse.svg',
};
const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
};
/** Gatehouse's routes that the frontend proxies (the rest of the origin is the frontend's own). */
const PROXIED = /^\/(login|auth|logout|me|chat|sessions|config\.json)(\/|\?|$)/;

interface Proxied {
  readonly method: string;
  readonly path: string;
  readonly hasSessionCookie: boolean;
}

function startFrontend(port: number, backend: string, cookieName: string, seen: Proxied[]): Promise<Server> {
  const server = createServer((req, res) => {
    const path = req.url ?? '/';
    if (PROXIED.test(path)) {
      seen.push({
        method: req.method ?? 'GET',
        path,
        hasSessionCookie: (req.headers.cookie ?? '').includes(`${cookieName}=`),
      });
      const upstream = httpRequest(
        `${backend}${path}`,
        {
          method: req.method,
          headers: {
            ...req.headers,
            'x-forwarded-for': req.socket.remoteAddress ?? '',
            'x-forwarded-proto': 'http',
            'x-forwarded-host': req.headers.host ?? '',
          },
        },
        (answer: IncomingMessage) => {
          res.writeHead(answer.statusCode ?? 502, answer.headers);
          answer.pipe(res); // streamed as it comes: server-sent events pass straight through
        },
      );
      upstream.on('error', () => res.writeHead(502).end());
      req.pipe(upstream);
      return;
    }
    const file = STATIC[path.split('?')[0] ?? ''];
    if (req.method !== 'GET' || !file) {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('not found');
      return;
    }
    res.writeHead(200, {
      'content-type': TYPES[extname(file)] ?? 'application/octet-stream',
      // The frontend's own strict policy, as Gatehouse sets for its copy of the page.
      'content-security-policy':
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: https:; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
      'referrer-policy': 'no-referrer',
      'x-content-type-options': 'nosniff',
    });
    res.end(readFileSync(join(WEB, file)));
  });
  return new Promise((resolve) => server.listen(port, '127.0.0.1', () => resolve(server)));
}

describeWithChromium('demo page on a separate frontend origin that proxies Gatehouse', () => {
  let gh: TestGatehouse;
  let idp: Awaited<ReturnType<typeof startDevIdp>>;
  let browser: Browser;
  let frontend: Server;
  let frontendUrl: string;
  const seen: Proxied[] = [];

  beforeAll(async () => {
    const [frontendPort, backendPort] = await Promise.all([freePort(), freePort()]);
    frontendUrl = `http://127.0.0.1:${frontendPort}`;
    [idp, browser] = await Promise.all([
      startDevIdp({ host: 'localhost', redirectUris: [`${frontendUrl}/auth`] }),
      launchChromium(),
    ]);
    gh = await startGatehouse({
      env: {
        PORT: String(backendPort),
        // What the browser sees: every URL Gatehouse builds (callback, redirects, cookie) is the frontend's.
        PUBLIC_URL: frontendUrl,
        TRUST_PROXY: '127.0.0.1',
        OIDC_ISSUER: idp.issuer,
        GOOGLE_CLIENT_ID: idp.clientId,
        GOOGLE_CLIENT_SECRET: idp.clientSecret,
      },
    });
    frontend = await startFrontend(
      frontendPort,
      `http://127.0.0.1:${backendPort}`,
      gh.config.cookie.name,
      seen,
    );
  });
  afterAll(async () => {
    await browser?.close();
    frontend?.closeAllConnections();
    await new Promise<void>((resolve) => (frontend ? frontend.close(() => resolve()) : resolve()));
    await gh?.close();
    await idp?.close();
  });

  it('signs in through the frontend, and the API calls from the frontend carry the session', async () => {
    expect(gh.url).toBe(frontendUrl);
    const context = await browser.newContext();
    const page = await context.newPage();
    const watch = await watchPage(page, EXPECTED_CONSOLE);
    try {
      await clickThrough(context, page, {
        appUrl: frontendUrl,
        cookieName: gh.config.cookie.name,
        person: { email: 'fran@example.com', name: 'Fran Tend' },
      });
    } finally {
      await context.close();
    }
    expect(watch.problems).toEqual([]);

    // The callback came to the frontend, and the API calls went through it with the cookie.
    expect(seen.some((r) => r.path.startsWith('/auth?'))).toBe(true);
    for (const route of ['/me', '/chat/messages?limit=20', '/sessions']) {
      expect(seen.some((r) => r.path === route && r.hasSessionCookie)).toBe(true);
    }
    expect(seen.filter((r) => r.method === 'POST' && r.path === '/chat' && r.hasSessionCookie)).toHaveLength(
      2,
    );
    expect(seen.some((r) => r.method === 'POST' && r.path === '/logout' && r.hasSessionCookie)).toBe(true);
  });
});
