/**
 * Proxy mode (DESIGN.md "Proxy mode: UPSTREAM_URL"): the upstreams, the prefix of Gatehouse's own
 * routes, the public paths and the upstream timeout. No upstream configured = standalone mode,
 * which behaves exactly as before (no prefix unless ROUTE_PREFIX says so).
 */

import {
  fail,
  ok,
  type Parsed,
  parseBoolean,
  parseDuration,
  parseHttpUrl,
  parseList,
  quote,
} from './parse.js';
import type { EnvReader } from './reader.js';
import type { Config, Upstream } from './types.js';

/** The prefix of Gatehouse's own routes when an upstream is configured and ROUTE_PREFIX is unset. */
export const DEFAULT_PROXY_PREFIX = '/_gatehouse';

/** Letters, digits and `-._~` per segment: nothing a client or a proxy could decode differently. */
const SAFE_SEGMENT = /^[A-Za-z0-9._~-]+$/;

export function parseRoutePrefix(raw: string): Parsed<string> {
  const text = raw.trim();
  if (text === '/' || text === '') return ok('');
  if (!text.startsWith('/')) return fail(`${quote(raw)} must start with /, like /_gatehouse`);
  if (text.endsWith('/'))
    return fail(`${quote(raw)} must not end with /: write /_gatehouse, not /_gatehouse/`);
  const segments = text.slice(1).split('/');
  if (segments.some((s) => !SAFE_SEGMENT.test(s) || s === '.' || s === '..')) {
    return fail(
      `${quote(raw)} may only hold path segments of letters, digits and - . _ ~ (no empty, . or .. segment)`,
    );
  }
  return ok(text);
}

/** An upstream: http or https origin with an optional base path; no query, fragment or user name. */
export function parseUpstreamUrl(raw: string): Parsed<{ url: string; origin: string }> {
  const parsed = parseHttpUrl(raw);
  if (!parsed.ok) return parsed;
  const url = parsed.value;
  if (url.pathname.includes('%') || url.pathname.includes('/./') || url.pathname.includes('/../')) {
    return fail('has an encoded or dot segment in its path; write the plain base path');
  }
  return ok({ url: `${url.origin}${url.pathname.replace(/\/+$/, '')}`, origin: url.origin });
}

/** One UPSTREAMS entry: `/api/=http://127.0.0.1:9000`. The prefix is matched on whole segments. */
function parseUpstreamEntry(entry: string): Parsed<Upstream> {
  const eq = entry.indexOf('=');
  if (eq <= 0) {
    // Entries are not echoed: the URL part may hold a password.
    return fail('has an entry that is not PREFIX=URL: write it like /api/=http://127.0.0.1:9000');
  }
  const rawPrefix = entry.slice(0, eq).trim();
  const prefix = parseRoutePrefix(rawPrefix.length > 1 ? rawPrefix.replace(/\/$/, '') : rawPrefix);
  if (!prefix.ok) return fail(`has an invalid path prefix: ${prefix.message}`);
  const url = parseUpstreamUrl(entry.slice(eq + 1));
  if (!url.ok) return fail(`entry ${quote(prefix.value || '/')}: the URL ${url.message}`);
  return ok({ prefix: prefix.value, ...url.value });
}

export function parseUpstreams(raw: string): Parsed<Upstream[]> {
  const upstreams: Upstream[] = [];
  for (const entry of parseList(raw)) {
    const parsed = parseUpstreamEntry(entry);
    if (!parsed.ok) return parsed;
    if (upstreams.some((u) => u.prefix === parsed.value.prefix)) {
      return fail(`names the prefix ${quote(parsed.value.prefix || '/')} twice`);
    }
    upstreams.push(parsed.value);
  }
  if (upstreams.length === 0) return fail('lists no upstream: write /api/=http://127.0.0.1:9000,...');
  // Longest prefix first: the first match is the most specific one.
  upstreams.sort((a, b) => b.prefix.length - a.prefix.length);
  return ok(upstreams);
}

/**
 * A PUBLIC_PATHS pattern: an absolute path; `*` stands for one whole segment, a final `**` for
 * any depth. Matched case-sensitively against the normalised path (SECURITY.md J.50).
 */
export function parsePublicPath(raw: string): Parsed<string> {
  const text = raw.trim();
  if (!text.startsWith('/')) return fail(`${quote(raw)} must start with /`);
  const segments = text.slice(1).split('/');
  for (const [index, segment] of segments.entries()) {
    if (segment === '**' && index !== segments.length - 1) {
      return fail(`${quote(raw)}: ** may only be the last segment (/docs/**)`);
    }
    if (segment.includes('*') && segment !== '*' && segment !== '**') {
      return fail(`${quote(raw)}: * must be a whole segment (/static/*), not part of one`);
    }
    if (segment === '.' || segment === '..' || /[%\\?#\s]/.test(segment)) {
      return fail(`${quote(raw)} holds a dot segment, %, \\, ?, # or a space`);
    }
  }
  return ok(text);
}

export function resolveProxy(reader: EnvReader): { routePrefix: string; proxy: Config['proxy'] } | undefined {
  const single = reader.read('UPSTREAM_URL', parseUpstreamUrl, undefined);
  const several = reader.read('UPSTREAMS', parseUpstreams, undefined);
  const publicPaths = reader.read(
    'PUBLIC_PATHS',
    (raw) => {
      const out: string[] = [];
      for (const entry of parseList(raw)) {
        const parsed = parsePublicPath(entry);
        if (!parsed.ok) return parsed;
        out.push(parsed.value);
      }
      return ok(out);
    },
    [],
  );
  const timeoutSeconds = reader.read('UPSTREAM_TIMEOUT', (raw) => parseDuration(raw), 60);
  const preserveHost = reader.read('PRESERVE_HOST', parseBoolean, false);

  let upstreams: Upstream[] = [];
  if (single !== undefined && several !== undefined) {
    reader.problem(
      'UPSTREAMS',
      'cannot be combined with UPSTREAM_URL: set one of them (UPSTREAM_URL=X is UPSTREAMS=/=X)',
    );
  } else if (single !== undefined) {
    upstreams = [{ prefix: '', ...single }];
  } else if (several !== undefined) {
    upstreams = several;
  }
  const proxied = reader.isSet('UPSTREAM_URL') || reader.isSet('UPSTREAMS');
  const routePrefix = reader.read('ROUTE_PREFIX', parseRoutePrefix, proxied ? DEFAULT_PROXY_PREFIX : '');
  if (proxied && routePrefix === '') {
    reader.problem(
      'ROUTE_PREFIX',
      "must not be / or empty in proxy mode: the upstream owns every path outside Gatehouse's own routes",
    );
  }
  if (routePrefix !== undefined && routePrefix !== '') {
    for (const upstream of upstreams) {
      if (upstream.prefix === routePrefix || upstream.prefix.startsWith(`${routePrefix}/`)) {
        reader.problem(
          'UPSTREAMS',
          `the prefix ${quote(upstream.prefix)} lies under ROUTE_PREFIX (${routePrefix}), which is Gatehouse's own`,
        );
      }
    }
  }
  if (!proxied) {
    for (const name of ['PUBLIC_PATHS', 'UPSTREAM_TIMEOUT', 'PRESERVE_HOST']) {
      if (reader.isSet(name)) reader.warn(`${name} has no effect without UPSTREAM_URL or UPSTREAMS`);
    }
  }
  if (
    routePrefix === undefined ||
    publicPaths === undefined ||
    timeoutSeconds === undefined ||
    preserveHost === undefined ||
    (proxied && upstreams.length === 0)
  ) {
    return undefined;
  }
  return { routePrefix, proxy: { upstreams, publicPaths, timeoutSeconds, preserveHost } };
}
