/**
 * A tiny browser-like HTTP agent (fetch's Request/Response API over node:http) for tests that drive sign-in over real HTTP: a
 * cookie jar with the RFC 6265bis rules that matter for authentication (host-only and Domain
 * cookies, Path, Secure only over https, Max-Age/Expires, `__Secure-`/`__Host-` prefixes,
 * SameSite Strict/Lax/None with cross-site redirect chains), manual redirect following with every
 * hop recorded, and Fetch Metadata / Origin request headers as a browser sends them.
 *
 * What it is faithful to, on purpose: a `SameSite=Strict` cookie is not sent on a navigation
 * whose initiator or redirect chain is cross-site (the provider's redirect back to the callback),
 * while `Lax` (and no SameSite, treated as Lax) is sent on top-level GET navigations; a `Secure`
 * cookie is neither stored from nor sent over plain http (no "localhost is secure" exception).
 * Not modelled: the public suffix list (the last two labels of a host name are its site),
 * partitioned cookies, cookie count limits.
 */
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { isIP, type LookupFunction } from 'node:net';
import { Readable } from 'node:stream';

export type SameSite = 'strict' | 'lax' | 'none' | 'default';

export interface StoredCookie {
  readonly name: string;
  readonly value: string;
  readonly domain: string;
  readonly hostOnly: boolean;
  readonly path: string;
  readonly secure: boolean;
  readonly httpOnly: boolean;
  readonly sameSite: SameSite;
  /** epoch ms, or null for a session cookie */
  readonly expiresAt: number | null;
  readonly createdAt: number;
}

export interface Hop {
  readonly method: string;
  readonly url: string;
  readonly status: number;
  readonly headers: Headers;
}

export type Body = string | URLSearchParams | Readonly<Record<string, string>> | Uint8Array;

export interface RequestOptions {
  readonly headers?: Readonly<Record<string, string>>;
  /**
   * The page that makes the request (an origin or URL). For get/post it defaults to the target's
   * own origin (a same-origin page's fetch or form); for navigate, to none (a typed URL).
   */
  readonly initiator?: string;
  /** false: send no Origin / Sec-Fetch-* headers (a non-browser client). Default true. */
  readonly fetchMetadata?: boolean;
}

export interface NavigateOptions extends RequestOptions {
  readonly method?: 'GET' | 'POST';
  readonly body?: Body;
  readonly maxRedirects?: number;
  /** Stop before fetching a redirect target for which this returns true (it is not requested). */
  readonly stopAt?: (url: URL) => boolean;
}

export interface NavigationResult {
  /** The last response fetched (the final page, or the redirect that pointed at `stoppedAt`). */
  readonly response: Response;
  readonly url: string;
  readonly status: number;
  /** Every response fetched, in order, the last one included. */
  readonly hops: readonly Hop[];
  /** The redirect target that `stopAt` matched, not fetched; null otherwise. */
  readonly stoppedAt: string | null;
}

export interface BrowserOptions {
  readonly userAgent?: string;
  /** Clock for cookie expiry (epoch ms). */
  readonly now?: () => number;
  readonly maxRedirects?: number;
  /** Extra CA certificate(s) to trust for https test servers. */
  readonly ca?: string | Buffer;
  /**
   * The IP address to connect to for a host name (a hosts-file entry for names DNS cannot
   * resolve here, e.g. app.gatehouse.test); undefined falls back to the normal lookup. The Host
   * header, TLS SNI and certificate check still use the URL's host name.
   */
  readonly resolve?: (hostname: string) => string | undefined;
}

const REDIRECTS = new Set([301, 302, 303, 307, 308]);
const IPV4 = /^\d{1,3}(?:\.\d{1,3}){3}$/;

function isIp(host: string): boolean {
  return IPV4.test(host) || host.startsWith('[');
}

/** The registrable domain, approximated without the public suffix list. */
function registrableDomain(host: string): string {
  if (isIp(host)) return host;
  const labels = host.split('.');
  return labels.length <= 2 ? host : labels.slice(-2).join('.');
}

/** Schemeful site (RFC 6265bis §5.2, HTML "same site"): scheme + registrable domain. */
export function siteOf(url: URL): string {
  return `${url.protocol}//${registrableDomain(url.hostname)}`;
}

function potentiallyTrustworthy(url: URL): boolean {
  const host = url.hostname;
  return (
    url.protocol === 'https:' ||
    host === 'localhost' ||
    host.endsWith('.localhost') ||
    /^127\.\d+\.\d+\.\d+$/.test(host) ||
    host === '[::1]'
  );
}

/** RFC 6265 §5.1.3 */
function domainMatches(host: string, domain: string): boolean {
  if (host === domain) return true;
  return !isIp(host) && host.endsWith(`.${domain}`);
}

/** RFC 6265 §5.1.4 */
function defaultPath(url: URL): string {
  const path = url.pathname;
  if (!path.startsWith('/')) return '/';
  const last = path.lastIndexOf('/');
  return last <= 0 ? '/' : path.slice(0, last);
}

function pathMatches(requestPath: string, cookiePath: string): boolean {
  if (requestPath === cookiePath) return true;
  if (!requestPath.startsWith(cookiePath)) return false;
  return cookiePath.endsWith('/') || requestPath.charAt(cookiePath.length) === '/';
}

/** A `lookup` for node:net that answers every query with one address. */
function fixedLookup(address: string): LookupFunction {
  const family = isIP(address);
  if (family === 0) throw new TypeError(`resolve must return an IP address, got ${address}`);
  const lookup = (
    _hostname: string,
    options: { all?: boolean },
    callback: (err: Error | null, address: unknown, family?: number) => void,
  ): void => {
    // net.connect asks for all addresses when autoSelectFamily is on (Node 20's default).
    if (options.all) callback(null, [{ address, family }]);
    else callback(null, address, family);
  };
  return lookup as unknown as LookupFunction;
}

function toUrl(hostOrUrl: string): URL {
  return /^[a-z][a-z0-9+.-]*:\/\//i.test(hostOrUrl) ? new URL(hostOrUrl) : new URL(`http://${hostOrUrl}/`);
}

interface CookieContext {
  /** the request is same-site for cookie purposes */
  readonly sameSite: boolean;
  readonly topLevelNavigation: boolean;
  readonly safeMethod: boolean;
}

function encodeBody(body: Body | undefined): {
  body: string | Uint8Array | undefined;
  type: string | undefined;
} {
  if (body === undefined) return { body: undefined, type: undefined };
  if (typeof body === 'string') return { body, type: 'text/plain;charset=UTF-8' };
  if (body instanceof Uint8Array) return { body, type: undefined };
  const params = body instanceof URLSearchParams ? body : new URLSearchParams(body);
  return { body: params.toString(), type: 'application/x-www-form-urlencoded' };
}

export class BrowserAgent {
  readonly #jar = new Map<string, StoredCookie>();
  readonly #userAgent: string;
  readonly #now: () => number;
  readonly #maxRedirects: number;
  readonly #ca: string | Buffer | undefined;
  readonly #resolve: ((hostname: string) => string | undefined) | undefined;

  constructor(options: BrowserOptions = {}) {
    this.#userAgent = options.userAgent ?? 'GatehouseTestBrowser/1.0';
    this.#now = options.now ?? Date.now;
    this.#maxRedirects = options.maxRedirects ?? 20;
    this.#ca = options.ca;
    this.#resolve = options.resolve;
  }

  // ---- cookie jar -------------------------------------------------------------------------

  /** Cookies that domain-match the host (or URL's host), whatever their path; expired ones purged. */
  cookies(hostOrUrl: string): StoredCookie[] {
    const host = toUrl(hostOrUrl).hostname;
    this.#purge();
    return [...this.#jar.values()].filter((c) =>
      c.hostOnly ? c.domain === host : domainMatches(host, c.domain),
    );
  }

  /** Stores a Set-Cookie value as if received from `hostOrUrl` (http://host/ for a bare host). */
  setCookie(hostOrUrl: string, raw: string): boolean {
    return this.#store(toUrl(hostOrUrl), raw, { sameSite: true, topLevelNavigation: true, safeMethod: true });
  }

  clear(): void {
    this.#jar.clear();
  }

  #purge(): void {
    const now = this.#now();
    for (const [key, c] of this.#jar) if (c.expiresAt !== null && c.expiresAt <= now) this.#jar.delete(key);
  }

  /** RFC 6265bis §5.6 / §5.7, the parts listed in the module comment. */
  #store(url: URL, raw: string, ctx: CookieContext): boolean {
    const now = this.#now();
    const [pair = '', ...attributes] = raw.split(';');
    const eq = pair.indexOf('=');
    if (eq === -1) return false;
    const name = pair.slice(0, eq).trim();
    const value = pair.slice(eq + 1).trim();
    if (name === '' || name.length + value.length > 4096) return false;

    let expiresAt: number | null = null;
    let maxAgeSeen = false;
    let domain: string | null = null;
    let path: string | null = null;
    let secure = false;
    let httpOnly = false;
    let sameSite: SameSite = 'default';
    for (const attribute of attributes) {
      const at = attribute.indexOf('=');
      const key = (at === -1 ? attribute : attribute.slice(0, at)).trim().toLowerCase();
      const val = at === -1 ? '' : attribute.slice(at + 1).trim();
      if (val.length > 1024) continue;
      switch (key) {
        case 'max-age':
          if (/^-?\d+$/.test(val)) {
            const seconds = Number(val);
            expiresAt = seconds <= 0 ? 0 : now + seconds * 1000;
            maxAgeSeen = true;
          }
          break;
        case 'expires': {
          const parsed = Date.parse(val);
          if (!maxAgeSeen && Number.isFinite(parsed)) expiresAt = parsed;
          break;
        }
        case 'domain':
          if (val !== '') domain = val.replace(/^\./, '').toLowerCase();
          break;
        case 'path':
          path = val.startsWith('/') ? val : null;
          break;
        case 'secure':
          secure = true;
          break;
        case 'httponly':
          httpOnly = true;
          break;
        case 'samesite': {
          const v = val.toLowerCase();
          sameSite = v === 'strict' || v === 'lax' || v === 'none' ? v : 'default';
          break;
        }
      }
    }

    const host = url.hostname;
    const https = url.protocol === 'https:';
    let hostOnly = true;
    if (domain !== null && domain !== host) {
      if (!domainMatches(host, domain)) return false;
      hostOnly = false;
    } else if (domain !== null) {
      hostOnly = isIp(host); // Domain=<the host itself> is a domain cookie, except for IP addresses
    }
    const cookieDomain = domain ?? host;
    const cookiePath = path ?? defaultPath(url);

    if (secure && !https) return false;
    if (sameSite === 'none' && !secure) return false;
    const lower = name.toLowerCase();
    if (lower.startsWith('__secure-') && !secure) return false;
    if (lower.startsWith('__host-') && (!secure || !hostOnly || cookiePath !== '/')) return false;
    // A SameSite cookie set by a cross-site subresource request is ignored (§5.7 step 23).
    if (sameSite !== 'none' && !ctx.sameSite && !ctx.topLevelNavigation) return false;
    // Leave secure cookies alone (§5.7 step 16): plain http cannot shadow a Secure cookie.
    if (!https) {
      for (const c of this.#jar.values()) {
        if (
          c.secure &&
          c.name === name &&
          (domainMatches(cookieDomain, c.domain) || domainMatches(c.domain, cookieDomain)) &&
          pathMatches(cookiePath, c.path)
        ) {
          return false;
        }
      }
    }

    const key = `${cookieDomain};${hostOnly};${cookiePath};${name}`;
    const previous = this.#jar.get(key);
    if (expiresAt !== null && expiresAt <= now) {
      this.#jar.delete(key);
      return true;
    }
    this.#jar.set(key, {
      name,
      value,
      domain: cookieDomain,
      hostOnly,
      path: cookiePath,
      secure,
      httpOnly,
      sameSite,
      expiresAt,
      createdAt: previous?.createdAt ?? now,
    });
    return true;
  }

  /** RFC 6265bis §5.8.3: the Cookie header for a request. */
  #cookieHeader(url: URL, ctx: CookieContext): string | undefined {
    this.#purge();
    const host = url.hostname;
    const https = url.protocol === 'https:';
    const selected = [...this.#jar.values()].filter((c) => {
      if (c.hostOnly ? c.domain !== host : !domainMatches(host, c.domain)) return false;
      if (!pathMatches(url.pathname, c.path)) return false;
      if (c.secure && !https) return false;
      if (c.sameSite === 'strict') return ctx.sameSite;
      if (c.sameSite === 'lax' || c.sameSite === 'default') {
        return ctx.sameSite || (ctx.topLevelNavigation && ctx.safeMethod);
      }
      return true;
    });
    selected.sort((a, b) => b.path.length - a.path.length || a.createdAt - b.createdAt);
    return selected.length === 0 ? undefined : selected.map((c) => `${c.name}=${c.value}`).join('; ');
  }

  // ---- requests ---------------------------------------------------------------------------

  async #send(
    method: string,
    url: URL,
    body: Body | undefined,
    ctx: CookieContext,
    generated: Record<string, string>,
    options: RequestOptions,
  ): Promise<Response> {
    const encoded = encodeBody(body);
    const headers = new Headers({ 'user-agent': this.#userAgent, ...generated });
    if (encoded.type) headers.set('content-type', encoded.type);
    const cookie = this.#cookieHeader(url, ctx);
    if (cookie) headers.set('cookie', cookie);
    // Explicit headers win (a test may send a tampered or duplicated Cookie header on purpose).
    for (const [k, v] of Object.entries(options.headers ?? {})) headers.set(k, v);
    const response = await this.#transport(method, url, headers, encoded.body);
    for (const raw of response.headers.getSetCookie()) this.#store(url, raw, ctx);
    return response;
  }

  /**
   * node:http rather than fetch: Node's fetch (undici) overwrites Sec-Fetch-Mode with `cors`,
   * and server code may rightly tell navigations (`navigate`) from API calls by it.
   */
  #transport(
    method: string,
    url: URL,
    headers: Headers,
    body: string | Uint8Array | undefined,
  ): Promise<Response> {
    const payload =
      body === undefined ? undefined : typeof body === 'string' ? Buffer.from(body, 'utf8') : body;
    const outgoing: Record<string, string> = Object.fromEntries(headers);
    if (payload !== undefined) outgoing['content-length'] = String(payload.byteLength);
    const send = url.protocol === 'https:' ? httpsRequest : httpRequest;
    const address = this.#resolve?.(url.hostname.replace(/^\[|\]$/g, ''));
    return new Promise((resolve, reject) => {
      const req = send(
        url,
        {
          method,
          headers: outgoing,
          agent: false,
          ...(this.#ca ? { ca: this.#ca } : {}),
          ...(address !== undefined ? { lookup: fixedLookup(address) } : {}),
        },
        (res) => {
          const responseHeaders = new Headers();
          for (let i = 0; i + 1 < res.rawHeaders.length; i += 2) {
            responseHeaders.append(res.rawHeaders[i] ?? '', res.rawHeaders[i + 1] ?? '');
          }
          const status = res.statusCode ?? 0;
          const nullBody = method === 'HEAD' || status === 204 || status === 205 || status === 304;
          if (nullBody) res.resume();
          const stream = nullBody ? null : (Readable.toWeb(res) as ReadableStream<Uint8Array>);
          resolve(
            new Response(stream, { status, statusText: res.statusMessage ?? '', headers: responseHeaders }),
          );
        },
      );
      req.on('error', reject);
      req.end(payload);
    });
  }

  #fetchRequest(
    method: string,
    target: string,
    body: Body | undefined,
    options: RequestOptions,
  ): Promise<Response> {
    const url = new URL(target);
    const initiator = new URL(options.initiator ?? url.origin);
    const sameOrigin = initiator.origin === url.origin;
    const sameSite = siteOf(initiator) === siteOf(url);
    const generated: Record<string, string> = {};
    if (options.fetchMetadata !== false) {
      if (potentiallyTrustworthy(url)) {
        generated['sec-fetch-site'] = sameOrigin ? 'same-origin' : sameSite ? 'same-site' : 'cross-site';
        generated['sec-fetch-mode'] = sameOrigin ? 'same-origin' : 'cors';
        generated['sec-fetch-dest'] = 'empty';
      }
      // Fetch §3.1 "append a request Origin header": always for non-GET/HEAD, and for CORS.
      if (!sameOrigin || (method !== 'GET' && method !== 'HEAD')) generated.origin = initiator.origin;
    }
    const safeMethod = method === 'GET' || method === 'HEAD';
    return this.#send(
      method,
      url,
      body,
      { sameSite, topLevelNavigation: false, safeMethod },
      generated,
      options,
    );
  }

  /** One request from a page's script (no redirect following); cookies attached and stored. */
  get(url: string, options: RequestOptions = {}): Promise<Response> {
    return this.#fetchRequest('GET', url, undefined, options);
  }

  /** One POST from a page's script or form (no redirect following). */
  post(url: string, body: Body, options: RequestOptions = {}): Promise<Response> {
    return this.#fetchRequest('POST', url, body, options);
  }

  /**
   * A top-level navigation: a typed URL, or a link/form on the `initiator` page. Redirects are
   * followed as a browser does (303, and 301/302 after POST, become GET; 307/308 keep the method)
   * and each request's cookies follow the SameSite rules for the whole chain so far.
   */
  async navigate(target: string, options: NavigateOptions = {}): Promise<NavigationResult> {
    const initiator = options.initiator === undefined ? null : new URL(options.initiator);
    const maxRedirects = options.maxRedirects ?? this.#maxRedirects;
    const hops: Hop[] = [];
    const chain: URL[] = [];
    let method: string = options.method ?? 'GET';
    let body = options.body;
    let url = new URL(target);

    for (;;) {
      url.hash = '';
      chain.push(url);
      const current = url;
      const site = siteOf(current);
      // RFC 6265bis §5.2.1: same-site only if the initiator and every URL in the redirect chain
      // are same-site with the URL being requested.
      const sameSite =
        (initiator === null || siteOf(initiator) === site) && chain.every((u) => siteOf(u) === site);
      const generated: Record<string, string> = {
        accept: 'text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8',
      };
      if (options.fetchMetadata !== false) {
        if (potentiallyTrustworthy(current)) {
          generated['sec-fetch-site'] = this.#fetchSite(initiator, chain, current);
          generated['sec-fetch-mode'] = 'navigate';
          generated['sec-fetch-dest'] = 'document';
          generated['sec-fetch-user'] = '?1';
        }
        if (method === 'POST') {
          // After a cross-origin redirect the origin of a replayed POST is opaque (Fetch §4.4).
          const origin = initiator?.origin ?? 'null';
          generated.origin = chain.every((u) => u.origin === chain[0]?.origin) ? origin : 'null';
        }
      }
      const safeMethod = method === 'GET' || method === 'HEAD';
      const response = await this.#send(
        method,
        current,
        body,
        { sameSite, topLevelNavigation: true, safeMethod },
        generated,
        options,
      );
      hops.push({ method, url: current.href, status: response.status, headers: response.headers });

      const location = response.headers.get('location');
      if (!REDIRECTS.has(response.status) || location === null) {
        return { response, url: current.href, status: response.status, hops, stoppedAt: null };
      }
      const next = new URL(location, current);
      if (next.protocol !== 'http:' && next.protocol !== 'https:') {
        throw new Error(`navigation redirected to a non-http URL: ${next.protocol}`);
      }
      if (options.stopAt?.(next)) {
        return { response, url: current.href, status: response.status, hops, stoppedAt: next.href };
      }
      await response.body?.cancel();
      if (hops.length > maxRedirects) {
        throw new Error(`too many redirects (${hops.length}): ${hops.map((h) => h.url).join(' -> ')}`);
      }
      if (response.status === 303 ? method !== 'HEAD' : response.status <= 302 && method === 'POST') {
        method = 'GET';
        body = undefined;
      }
      url = next;
    }
  }

  /** Fetch Metadata §2.1 (Sec-Fetch-Site) for a navigation with its redirect chain. */
  #fetchSite(initiator: URL | null, chain: readonly URL[], current: URL): string {
    if (initiator === null) return 'none';
    let value = 'same-origin';
    for (const u of chain) {
      if (u.origin === initiator.origin) continue;
      value = 'same-site';
      if (siteOf(u) !== siteOf(initiator)) return 'cross-site';
    }
    return siteOf(current) === siteOf(initiator) ? value : 'cross-site';
  }
}

export function createBrowser(options: BrowserOptions = {}): BrowserAgent {
  return new BrowserAgent(options);
}
