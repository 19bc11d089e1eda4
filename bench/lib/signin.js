/**
 * The real sign-in flow, driven over HTTP as a browser would: GET /login → the provider's
 * authorization endpoint → its sign-in form → POST → the provider's redirects → GET /auth (the
 * callback, timed on its own) → the session cookie. A minimal cookie jar (per origin, honouring
 * Path and deletion) is all the flow needs; test/helpers/browser.ts is the faithful one.
 */

/** @typedef {{ value: string, path: string }} JarCookie */

class Jar {
  /** @type {Map<string, Map<string, JarCookie>>} */
  #byOrigin = new Map();

  /** @param {URL} url @param {Headers} headers */
  store(url, headers) {
    for (const line of headers.getSetCookie()) {
      const [pair = '', ...attributes] = line.split(';');
      const eq = pair.indexOf('=');
      if (eq <= 0) continue;
      const name = pair.slice(0, eq).trim();
      const value = pair.slice(eq + 1).trim();
      let path = '/';
      let expired = false;
      for (const attribute of attributes) {
        const [k = '', v = ''] = attribute.split('=');
        const key = k.trim().toLowerCase();
        if (key === 'path') path = v.trim() || '/';
        if (key === 'max-age' && Number(v) <= 0) expired = true;
        if (key === 'expires' && Date.parse(v) <= Date.now()) expired = true;
      }
      const cookies = this.#byOrigin.get(url.origin) ?? new Map();
      this.#byOrigin.set(url.origin, cookies);
      if (expired || value === '') cookies.delete(name);
      else cookies.set(name, { value, path });
    }
  }

  /** @param {URL} url */
  header(url) {
    const cookies = this.#byOrigin.get(url.origin);
    if (!cookies) return undefined;
    const pairs = [];
    for (const [name, c] of cookies) {
      if (url.pathname === c.path || url.pathname.startsWith(c.path.endsWith('/') ? c.path : `${c.path}/`))
        pairs.push(`${name}=${c.value}`);
    }
    return pairs.length > 0 ? pairs.join('; ') : undefined;
  }

  /** @param {string} origin @param {string} name */
  get(origin, name) {
    return this.#byOrigin.get(origin)?.get(name)?.value;
  }
}

/**
 * @param {Jar} jar
 * @param {string} href
 * @param {{ method?: string, body?: string }} [init]
 */
async function request(jar, href, init = {}) {
  const url = new URL(href);
  /** @type {Record<string, string>} */
  const headers = { 'user-agent': 'gatehouse-bench' };
  const cookie = jar.header(url);
  if (cookie) headers.cookie = cookie;
  if (init.body !== undefined) {
    headers['content-type'] = 'application/x-www-form-urlencoded';
    headers.origin = url.origin;
  }
  const res = await fetch(url, {
    method: init.method ?? 'GET',
    headers,
    body: init.body,
    redirect: 'manual',
  });
  jar.store(url, res.headers);
  const text = await res.text();
  const location = res.headers.get('location');
  return { status: res.status, text, location: location ? new URL(location, url).href : null };
}

const decode = (/** @type {string} */ s) =>
  s
    .replace(/&amp;/g, '&')
    .replace(/&#x2F;/gi, '/')
    .replace(/&#47;/g, '/');

/**
 * Follows redirects while they stay at the provider; returns the last response and, when the
 * provider sends the browser back to the app, that URL (not requested).
 * @param {Jar} jar @param {string} href @param {string} appOrigin @param {{ method?: string, body?: string }} [init]
 */
async function atProvider(jar, href, appOrigin, init) {
  let res = await request(jar, href, init);
  for (let hops = 0; hops < 10; hops++) {
    if (res.status < 300 || res.status >= 400 || !res.location) return { res, back: null };
    if (new URL(res.location).origin === appOrigin) return { res, back: res.location };
    res = await request(jar, res.location);
  }
  throw new Error('too many redirects at the provider');
}

/** @param {string} issuer  ms the provider spent serving requests since the last call */
async function providerTime(issuer) {
  const res = await fetch(`${issuer}/__bench/provider-time`);
  return /** @type {{ ms: number }} */ (await res.json()).ms;
}

/**
 * One complete sign-in. `callbackMs` is the time of the GET /auth request alone, as seen by a
 * client on the same machine: Gatehouse's own work plus its two calls to the provider (token and
 * userinfo endpoints), which are part of any callback. With `issuer` (sequential sign-ins only),
 * `providerMs` is the provider's share of it, so `callbackMs - providerMs` is Gatehouse's own.
 * @param {string} appUrl @param {string} cookieName @param {{ email: string, name: string }} who
 * @param {string} [issuer]
 * @returns {Promise<{ token: string, callbackMs: number, providerMs: number | null, totalMs: number }>}
 */
export async function signIn(appUrl, cookieName, who, issuer) {
  const t0 = performance.now();
  const jar = new Jar();
  const appOrigin = new URL(appUrl).origin;
  const login = await request(jar, `${appUrl}/login`);
  if (login.status !== 302 || !login.location) throw new Error(`/login answered ${login.status}`);
  const form = await atProvider(jar, login.location, appOrigin);
  const action = /<form\b[^>]*\baction="([^"]+)"/.exec(form.res.text)?.[1];
  if (form.res.status !== 200 || !action)
    throw new Error(`no sign-in form at the provider (${form.res.status})`);
  const body = new URLSearchParams({ email: who.email, name: who.name, action: 'sign-in' }).toString();
  const posted = await atProvider(jar, new URL(decode(action), login.location).href, appOrigin, {
    method: 'POST',
    body,
  });
  if (!posted.back) throw new Error(`the provider did not redirect back (${posted.res.status})`);
  if (issuer) await providerTime(issuer);
  const c0 = performance.now();
  const callback = await request(jar, posted.back);
  const callbackMs = performance.now() - c0;
  const providerMs = issuer ? await providerTime(issuer) : null;
  const token = jar.get(appOrigin, cookieName);
  if (callback.status !== 303 || !token) {
    throw new Error(
      `the callback answered ${callback.status} without a session cookie: ${callback.text.slice(0, 200)}`,
    );
  }
  return { token, callbackMs, providerMs, totalMs: performance.now() - t0 };
}

/**
 * Signs out a token (POST /logout, as the demo page's fetch does); the token is then revoked.
 * @param {string} appUrl @param {string} cookieName @param {string} token
 */
export async function signOut(appUrl, cookieName, token) {
  const res = await fetch(`${appUrl}/logout`, {
    method: 'POST',
    headers: {
      cookie: `${cookieName}=${token}`,
      origin: new URL(appUrl).origin,
      'sec-fetch-site': 'same-origin',
    },
  });
  await res.arrayBuffer();
  if (res.status !== 204) throw new Error(`/logout answered ${res.status}`);
}
