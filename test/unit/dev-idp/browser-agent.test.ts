import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createBrowser } from '../../helpers/browser.js';

// One loopback server, reached under two host names: `127.0.0.1` (the app's site) and
// `localhost` (another site), which is how the sign-in tests make the provider cross-site.
let server: Server;
let app: string;
let other: string;
const seen: { path: string; method: string }[] = [];

interface Echo {
  method: string;
  cookie: string | null;
  origin: string | null;
  site: string | null;
  mode: string | null;
  body: string;
}

beforeAll(async () => {
  server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://x');
    seen.push({ path: url.pathname, method: req.method ?? '' });
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      if (url.pathname === '/set') {
        res.writeHead(200, { 'set-cookie': url.searchParams.getAll('c') }).end('set');
      } else if (url.pathname === '/redirect') {
        const status = Number(url.searchParams.get('status') ?? '302');
        const headers: Record<string, string | string[]> = { location: url.searchParams.get('to') ?? '/' };
        const cookies = url.searchParams.getAll('c');
        if (cookies.length) headers['set-cookie'] = cookies;
        res.writeHead(status, headers).end();
      } else if (url.pathname === '/loop') {
        res.writeHead(302, { location: '/loop' }).end();
      } else {
        const echo: Echo = {
          method: req.method ?? '',
          cookie: req.headers.cookie ?? null,
          origin: req.headers.origin ?? null,
          site: (req.headers['sec-fetch-site'] as string | undefined) ?? null,
          mode: (req.headers['sec-fetch-mode'] as string | undefined) ?? null,
          body: Buffer.concat(chunks).toString('utf8'),
        };
        res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(echo));
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const { port } = server.address() as AddressInfo;
  app = `http://127.0.0.1:${port}`;
  other = `http://localhost:${port}`;
});

afterAll(async () => {
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
});

async function echo(response: Response): Promise<Echo> {
  return (await response.json()) as Echo;
}

const sameSiteCookies = ['s=1; Path=/; SameSite=Strict', 'l=1; Path=/; SameSite=Lax', 'd=1; Path=/'];

function setUrl(origin: string, cookies: readonly string[]): string {
  const q = new URLSearchParams();
  for (const c of cookies) q.append('c', c);
  return `${origin}/set?${q}`;
}

describe('browser agent: SameSite', () => {
  it('sends Strict, Lax and default cookies on a typed, same-site navigation', async () => {
    const browser = createBrowser();
    await browser.get(setUrl(app, sameSiteCookies));
    const nav = await browser.navigate(`${app}/echo`);
    const body = await echo(nav.response);
    expect(body.cookie).toBe('s=1; l=1; d=1');
    expect(body.site).toBe('none');
    expect(body.mode).toBe('navigate');
  });

  it('withholds Strict but sends Lax on a cross-site top-level GET navigation', async () => {
    const browser = createBrowser();
    await browser.get(setUrl(app, sameSiteCookies));
    const body = await echo((await browser.navigate(`${app}/echo`, { initiator: other })).response);
    expect(body.cookie).toBe('l=1; d=1');
    expect(body.site).toBe('cross-site');
  });

  it('withholds Strict after a cross-site redirect in the chain, even for a typed URL', async () => {
    const browser = createBrowser();
    await browser.get(setUrl(app, sameSiteCookies));
    const nav = await browser.navigate(`${other}/redirect?to=${encodeURIComponent(`${app}/echo`)}`);
    expect((await echo(nav.response)).cookie).toBe('l=1; d=1');
    expect(nav.hops.map((h) => h.status)).toEqual([302, 200]);
  });

  it('withholds Lax on a cross-site POST navigation and on cross-site fetches', async () => {
    const browser = createBrowser();
    await browser.get(setUrl(app, sameSiteCookies));
    const post = await browser.navigate(`${app}/echo`, {
      method: 'POST',
      body: { a: '1' },
      initiator: other,
    });
    const posted = await echo(post.response);
    expect(posted.cookie).toBeNull();
    expect(posted.origin).toBe(other);
    expect(posted.body).toBe('a=1');
    const fetched = await echo(await browser.get(`${app}/echo`, { initiator: other }));
    expect(fetched.cookie).toBeNull();
    expect(fetched.site).toBe('cross-site');
    expect(fetched.mode).toBe('cors');
  });

  it('sends everything on a same-origin fetch, with Origin on POST', async () => {
    const browser = createBrowser();
    await browser.get(setUrl(app, sameSiteCookies));
    const body = await echo(await browser.post(`${app}/echo`, { x: 'y' }));
    expect(body.cookie).toBe('s=1; l=1; d=1');
    expect(body.origin).toBe(app);
    expect(body.site).toBe('same-origin');
    const bare = await echo(await browser.post(`${app}/echo`, 'x', { fetchMetadata: false }));
    expect(bare.origin).toBeNull();
    expect(bare.site).toBeNull();
  });

  it('ignores SameSite cookies set by a cross-site subresource request, keeps them from navigations', async () => {
    const browser = createBrowser();
    await browser.get(setUrl(app, ['sub=1; SameSite=Lax; Path=/']), { initiator: other });
    expect(browser.cookies('127.0.0.1').map((c) => c.name)).toEqual([]);
    await browser.navigate(setUrl(app, ['nav=1; SameSite=Strict; Path=/']), { initiator: other });
    expect(browser.cookies('127.0.0.1').map((c) => c.name)).toEqual(['nav']);
  });
});

describe('browser agent: cookie jar', () => {
  it('keeps host-only cookies to their host', async () => {
    const browser = createBrowser();
    await browser.get(setUrl(app, ['h=1; Path=/']));
    expect(browser.cookies('127.0.0.1')).toHaveLength(1);
    expect(browser.cookies('localhost')).toHaveLength(0);
    expect((await echo(await browser.get(`${other}/echo`))).cookie).toBeNull();
  });

  it('never stores or sends Secure cookies over http; __Host- and __Secure- need Secure', async () => {
    const browser = createBrowser();
    await browser.get(
      setUrl(app, ['sec=1; Secure; Path=/', '__Host-h=1; Secure; Path=/', '__Secure-s=1; Path=/']),
    );
    expect(browser.cookies('127.0.0.1')).toEqual([]);

    expect(browser.setCookie('https://secure.example', '__Host-ok=1; Secure; Path=/; SameSite=Lax')).toBe(
      true,
    );
    expect(
      browser.setCookie('https://secure.example', '__Host-dom=1; Secure; Path=/; Domain=secure.example'),
    ).toBe(false);
    expect(browser.setCookie('https://secure.example', '__Host-path=1; Secure; Path=/x')).toBe(false);
    expect(browser.setCookie('https://secure.example', '__Secure-ok=1; Secure')).toBe(true);
    expect(browser.setCookie('https://secure.example', 'none=1; SameSite=None')).toBe(false);
    expect(browser.setCookie('https://secure.example', 'none=1; SameSite=None; Secure')).toBe(true);
    // Plain http cannot overwrite a Secure cookie of the same name.
    expect(browser.setCookie('http://secure.example', '__Host-ok=2; Path=/')).toBe(false);
    expect(
      browser
        .cookies('secure.example')
        .map((c) => c.name)
        .sort(),
    ).toEqual(['__Host-ok', '__Secure-ok', 'none']);
  });

  it('deletes on Max-Age=0 and on a past Expires; Max-Age wins over Expires', async () => {
    let now = Date.parse('2030-01-01T00:00:00Z');
    const browser = createBrowser({ now: () => now });
    browser.setCookie('a.example', 'x=1');
    browser.setCookie('a.example', 'y=1');
    browser.setCookie('a.example', 'z=1; Max-Age=60; Expires=Thu, 01 Jan 1970 00:00:00 GMT');
    browser.setCookie('a.example', 'x=; Max-Age=0');
    browser.setCookie('a.example', 'y=; Expires=Thu, 01 Jan 1970 00:00:00 GMT');
    expect(browser.cookies('a.example').map((c) => c.name)).toEqual(['z']);
    now += 61_000;
    expect(browser.cookies('a.example')).toEqual([]);
  });

  it('matches Path on segment boundaries and orders longer paths first', async () => {
    const browser = createBrowser();
    await browser.get(setUrl(app, ['root=1; Path=/', 'deep=1; Path=/echo']));
    expect((await echo(await browser.get(`${app}/echo/x`))).cookie).toBe('deep=1; root=1');
    expect((await echo(await browser.get(`${app}/echox`))).cookie).toBe('root=1');
  });

  it('shares a Domain cookie with subdomains and refuses a foreign Domain', () => {
    const browser = createBrowser();
    expect(browser.setCookie('http://a.example.test/', 'd=1; Domain=.example.test')).toBe(true);
    expect(browser.setCookie('http://a.example.test/', 'f=1; Domain=other.test')).toBe(false);
    expect(browser.cookies('b.example.test').map((c) => c.name)).toEqual(['d']);
    expect(browser.cookies('example.test').map((c) => c.name)).toEqual(['d']);
    expect(browser.cookies('notexample.test')).toEqual([]);
  });

  it('clear() empties the jar', async () => {
    const browser = createBrowser();
    await browser.get(setUrl(app, ['c=1']));
    browser.clear();
    expect(browser.cookies('127.0.0.1')).toEqual([]);
  });
});

describe('browser agent: navigation', () => {
  it('turns POST into GET on 303 (and 302), keeps it on 307, recording every hop', async () => {
    const browser = createBrowser();
    const to = encodeURIComponent(`${app}/echo`);
    const see = await browser.navigate(`${app}/redirect?status=303&to=${to}`, {
      method: 'POST',
      body: { a: '1' },
    });
    expect(see.hops.map((h) => [h.method, h.status])).toEqual([
      ['POST', 303],
      ['GET', 200],
    ]);
    expect((await echo(see.response)).body).toBe('');
    const keep = await browser.navigate(`${app}/redirect?status=307&to=${to}`, {
      method: 'POST',
      body: { a: '1' },
    });
    expect(keep.hops.map((h) => h.method)).toEqual(['POST', 'POST']);
    expect((await echo(keep.response)).body).toBe('a=1');
    expect(keep.url).toBe(`${app}/echo`);
  });

  it('stores cookies set on redirects and sends them on the next hop', async () => {
    const browser = createBrowser();
    const to = encodeURIComponent(`${app}/echo`);
    const nav = await browser.navigate(`${app}/redirect?c=${encodeURIComponent('r=1; Path=/')}&to=${to}`);
    expect((await echo(nav.response)).cookie).toBe('r=1');
    expect(nav.hops[0]?.headers.getSetCookie()).toEqual(['r=1; Path=/']);
  });

  it('stops before a redirect target chosen by stopAt, without requesting it', async () => {
    const browser = createBrowser();
    const before = seen.filter((s) => s.path === '/never').length;
    const nav = await browser.navigate(`${app}/redirect?to=${encodeURIComponent(`${other}/never?x=1`)}`, {
      stopAt: (u) => u.hostname === 'localhost',
    });
    expect(nav.stoppedAt).toBe(`${other}/never?x=1`);
    expect(nav.status).toBe(302);
    expect(seen.filter((s) => s.path === '/never').length).toBe(before);
  });

  it('gives up after the maximum number of redirects', async () => {
    await expect(createBrowser({ maxRedirects: 5 }).navigate(`${app}/loop`)).rejects.toThrow(
      /too many redirects/,
    );
  });
});
