/**
 * Small, pure parsers for configuration values. Each returns a `Parsed<T>` instead of throwing,
 * so the loader can collect every problem before reporting (STYLE.md habit 7). Messages name the
 * accepted format; the loader prefixes them with the variable name. Parsers that see URLs never
 * echo the raw value, since a URL may carry a password.
 */

import { isIP } from 'node:net';
import type { DatabaseKind, RateLimit } from './types.js';

export type Parsed<T> =
  | { readonly ok: true; readonly value: T }
  | { readonly ok: false; readonly message: string };

export function ok<T>(value: T): Parsed<T> {
  return { ok: true, value };
}

export function fail<T = never>(message: string): Parsed<T> {
  return { ok: false, message };
}

/** Quote a (non-secret) value for a message, shortened so a pasted blob cannot flood the log. */
export function quote(value: string): string {
  const shown = value.length > 60 ? `${value.slice(0, 57)}...` : value;
  return JSON.stringify(shown);
}

// ---------------------------------------------------------------------------------------------
// Numbers, booleans, enums, lists

const DURATION_FORMAT =
  'write a whole number followed by s, m, h or d (for example 30s, 15m, 24h, 7d); a bare number means seconds';
const UNIT_SECONDS: Record<string, number> = { s: 1, m: 60, h: 3600, d: 86_400 };

/** `30s`, `15m`, `24h`, `7d`, or a bare number of seconds. Result in seconds. */
export function parseDuration(raw: string, options: { allowZero?: boolean } = {}): Parsed<number> {
  const match = /^(\d+)\s*([smhd]?)$/.exec(raw.trim().toLowerCase());
  if (!match) return fail(`${quote(raw)} is not a duration: ${DURATION_FORMAT}`);
  const seconds = Number(match[1]) * (UNIT_SECONDS[match[2] || 's'] ?? 1);
  if (!Number.isSafeInteger(seconds)) return fail(`${quote(raw)} is too large`);
  if (seconds === 0 && !options.allowZero) return fail(`must be longer than zero: ${DURATION_FORMAT}`);
  return ok(seconds);
}

/** A whole decimal number within [min, max]. */
export function parseInteger(raw: string, min: number, max: number): Parsed<number> {
  const text = raw.trim();
  if (!/^\d+$/.test(text)) return fail(`${quote(raw)} is not a whole number between ${min} and ${max}`);
  const value = Number(text);
  if (value < min || value > max) return fail(`${quote(raw)} is out of range: use ${min} to ${max}`);
  return ok(value);
}

/** A TCP port; 0 asks the operating system for a free one (tests use it). */
export function parsePort(raw: string): Parsed<number> {
  const text = raw.trim();
  if (!/^\d+$/.test(text) || Number(text) > 65_535) {
    return fail(`${quote(raw)} is not a port: use a whole number from 0 to 65535 (0 = any free port)`);
  }
  return ok(Number(text));
}

const TRUE_WORDS = new Set(['true', '1', 'yes', 'on']);
const FALSE_WORDS = new Set(['false', '0', 'no', 'off']);

export function parseBoolean(raw: string): Parsed<boolean> {
  const text = raw.trim().toLowerCase();
  if (TRUE_WORDS.has(text)) return ok(true);
  if (FALSE_WORDS.has(text)) return ok(false);
  return fail(`${quote(raw)} is not a boolean: use true or false`);
}

/** One of a closed set of words (case-insensitive; the result is the canonical lower-case word). */
export function parseEnum<T extends string>(raw: string, allowed: readonly T[]): Parsed<T> {
  const text = raw.trim().toLowerCase();
  const found = allowed.find((word) => word === text);
  if (found === undefined) return fail(`${quote(raw)} is not one of: ${allowed.join(', ')}`);
  return ok(found);
}

/** Comma-separated list: entries trimmed, empty entries dropped. */
export function parseList(raw: string): string[] {
  return raw
    .split(',')
    .map((entry) => entry.trim())
    .filter((entry) => entry !== '');
}

/** Apply `parseOne` to each entry of a comma list; every bad entry is reported, joined in one message. */
export function parseEach<T>(raw: string, parseOne: (entry: string) => Parsed<T>): Parsed<T[]> {
  const values: T[] = [];
  const messages: string[] = [];
  for (const entry of parseList(raw)) {
    const parsed = parseOne(entry);
    if (parsed.ok) values.push(parsed.value);
    else messages.push(parsed.message);
  }
  return messages.length > 0 ? fail(messages.join('; ')) : ok(values);
}

/** Keep the first occurrence of each value. */
export function unique<T>(values: Iterable<T>): T[] {
  return [...new Set(values)];
}

const RATE_FORMAT = 'write MAX/WINDOW, for example 30/1m (30 requests per minute) or 600/60';

/** `30/1m` → { max: 30, windowSeconds: 60 }. */
export function parseRateLimit(raw: string): Parsed<RateLimit> {
  const match = /^(\d+)\s*\/\s*(\S+)$/.exec(raw.trim());
  if (!match) return fail(`${quote(raw)} is not a rate limit: ${RATE_FORMAT}`);
  const max = Number(match[1]);
  const window = parseDuration(match[2]!);
  if (max < 1 || !Number.isSafeInteger(max))
    return fail(`${quote(raw)}: MAX must be at least 1; ${RATE_FORMAT}`);
  if (!window.ok) return fail(`${quote(raw)}: the window is not a duration; ${RATE_FORMAT}`);
  return ok({ max, windowSeconds: window.value });
}

// ---------------------------------------------------------------------------------------------
// Names: hosts, domains, emails

const LABEL = '[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?';
const DOMAIN_RE = new RegExp(`^${LABEL}(?:\\.${LABEL})*$`);

/** A DNS name such as `example.com` (lower-cased). No wildcards, no leading dot, no `@`. */
export function parseDomain(raw: string): Parsed<string> {
  const text = raw.trim().toLowerCase();
  if (text.length > 253 || !DOMAIN_RE.test(text)) {
    return fail(
      `${quote(raw)} is not a domain name: write it like example.com (no @, no wildcard, no dot first)`,
    );
  }
  return ok(text);
}

/** An email address, lower-cased; matched exactly against verified ID-token claims. */
export function parseEmail(raw: string): Parsed<string> {
  const text = raw.trim().toLowerCase();
  const at = text.lastIndexOf('@');
  const local = text.slice(0, at);
  if (at <= 0 || /[\s@<>,;]/.test(local) || !parseDomain(text.slice(at + 1)).ok) {
    return fail(`${quote(raw)} is not an email address: write it like someone@example.com`);
  }
  return ok(text);
}

/** A listen address: an IP address or a host name. */
export function parseHost(raw: string): Parsed<string> {
  const text = raw.trim();
  if (isIP(text) !== 0 || DOMAIN_RE.test(text.toLowerCase())) return ok(text);
  return fail(`${quote(raw)} is not an IP address or host name (for example 127.0.0.1, 0.0.0.0 or ::)`);
}

/** 127.0.0.0/8, ::1 and `localhost` (also bracketed IPv6 as URL.hostname gives it). */
export function isLoopbackHost(hostname: string): boolean {
  const host = hostname.toLowerCase().replace(/^\[(.*)\]$/, '$1');
  if (host === 'localhost' || host.endsWith('.localhost')) return true;
  if (isIP(host) === 4) return host.startsWith('127.');
  if (isIP(host) === 6) return host === '::1' || host === '0:0:0:0:0:0:0:1';
  return false;
}

// ---------------------------------------------------------------------------------------------
// URLs and origins

/** An absolute http(s) URL without userinfo, fragment or (unless allowed) query; the raw value is never echoed. */
export function parseHttpUrl(raw: string, options: { allowQuery?: boolean } = {}): Parsed<URL> {
  let url: URL;
  try {
    url = new URL(raw.trim());
  } catch {
    return fail('is not an absolute http(s) URL: write it like https://example.com/path');
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:')
    return fail('must start with http:// or https://');
  if (url.username !== '' || url.password !== '') return fail('must not contain a user name or password');
  if (!options.allowQuery && (url.search !== '' || raw.includes('?')))
    return fail('must not contain a query (?...)');
  if (url.hash !== '' || raw.includes('#')) return fail('must not contain a fragment (#...)');
  return ok(url);
}

/** PUBLIC_URL-style base URL: the origin plus path, without a trailing slash. */
export function baseUrlString(url: URL): string {
  return `${url.origin}${url.pathname.replace(/\/+$/, '')}`;
}

const ORIGIN_RE = /^[a-z][a-z0-9+.-]*:\/\/[^/?#\s]+\/?$/i;

/**
 * An exact origin `scheme://host[:port]`, normalised through URL().origin (lower-case host,
 * default port dropped). `*` and `null` are refused: a wildcard with credentials is what the
 * Fetch standard forbids, and `null` is sent by sandboxed documents and file: pages, so
 * trusting it trusts anyone.
 */
export function parseOrigin(raw: string): Parsed<string> {
  const text = raw.trim();
  if (text === '*') {
    return fail(
      '"*" is not allowed: Gatehouse answers with credentials (cookies), and a wildcard origin with credentials would let any site act as the signed-in user; list each origin exactly',
    );
  }
  if (text.toLowerCase() === 'null') {
    return fail('"null" is not allowed: sandboxed frames and local files send it, so it identifies no one');
  }
  const format = 'write an exact origin like https://app.example.com or http://localhost:3000 (no path)';
  if (!ORIGIN_RE.test(text)) return fail(`is not an origin: ${format}`);
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    return fail(`is not an origin: ${format}`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') return fail(`must be http or https: ${format}`);
  if (url.username !== '' || url.password !== '')
    return fail(`must not contain a user name or password: ${format}`);
  return ok(url.origin);
}

// ---------------------------------------------------------------------------------------------
// TRUST_PROXY

const TRUST_EVERYTHING = new Set(['true', '*', 'all', 'yes', '1']);
const NEVER_EVERYTHING =
  'TRUST_PROXY never means "everything": trusting X-Forwarded-* from any address lets every client forge its IP and URL. List the addresses or CIDRs of your proxies (for example 127.0.0.1, 10.0.0.0/8 or loopback)';

/**
 * One TRUST_PROXY entry: an IP address, a CIDR, or `loopback` (127.0.0.1/8 and ::1).
 * Returns the list it stands for, in the forms proxy-addr (Fastify's trustProxy) accepts.
 */
export function parseTrustProxyEntry(raw: string): Parsed<string[]> {
  const text = raw.trim().toLowerCase();
  if (TRUST_EVERYTHING.has(text)) return fail(`${quote(raw)} is not allowed: ${NEVER_EVERYTHING}`);
  if (text === 'loopback') return ok(['127.0.0.1/8', '::1']);
  const slash = text.indexOf('/');
  const address = slash === -1 ? text : text.slice(0, slash);
  const family = isIP(address);
  const format = 'use an IP address, a CIDR such as 10.0.0.0/8, or loopback';
  if (family === 0) return fail(`${quote(raw)} is not an IP address or CIDR: ${format}`);
  if (slash === -1) return ok([text]);
  const prefixText = text.slice(slash + 1);
  const maxPrefix = family === 4 ? 32 : 128;
  if (!/^\d{1,3}$/.test(prefixText) || Number(prefixText) > maxPrefix) {
    return fail(`${quote(raw)} has a bad prefix length: use /1 to /${maxPrefix}`);
  }
  // Any /0 (0.0.0.0/0, ::/0, 10.0.0.0/0) covers the whole address family.
  if (Number(prefixText) === 0) return fail(`${quote(raw)} is not allowed: ${NEVER_EVERYTHING}`);
  return ok([text]);
}

export function parseTrustProxy(raw: string): Parsed<string[]> {
  const parsed = parseEach(raw, parseTrustProxyEntry);
  return parsed.ok ? ok(unique(parsed.value.flat())) : parsed;
}

// ---------------------------------------------------------------------------------------------
// Database and Redis URLs

export interface DatabaseUrl {
  readonly url: string;
  readonly kind: DatabaseKind;
  readonly sqlitePath: string | undefined;
  readonly redactedUrl: string;
}

const DATABASE_FORMAT =
  'use sqlite:PATH (for example sqlite:./data/gatehouse.db or sqlite::memory:), mysql://USER:PASSWORD@HOST:3306/DB, mariadb://..., or postgres://USER:PASSWORD@HOST:5432/DB';

const SERVER_SCHEMES: Record<string, DatabaseKind> = {
  'mysql:': 'mysql',
  'mariadb:': 'mysql',
  'postgres:': 'postgres',
  'postgresql:': 'postgres',
};

/** Query parameters that carry a password in libpq / mysql connection strings. */
const SECRET_PARAMS = new Set(['password', 'pass', 'pwd', 'sslpassword']);

/** The URL with its password (and password-like query parameters) replaced by `***`. */
export function redactUrl(raw: string): string {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    return '***';
  }
  if (url.password !== '') url.password = '***';
  for (const key of [...url.searchParams.keys()]) {
    if (SECRET_PARAMS.has(key.toLowerCase())) url.searchParams.set(key, '***');
  }
  return url.href.replace(/%2A%2A%2A/gi, '***');
}

export function parseDatabaseUrl(raw: string): Parsed<DatabaseUrl> {
  const text = raw.trim();
  if (/^sqlite:/i.test(text)) {
    const path = text.slice('sqlite:'.length);
    if (path.startsWith('//')) return fail(`the sqlite:// form is not used: ${DATABASE_FORMAT}`);
    if (path === '') return fail(`names no file: ${DATABASE_FORMAT}`);
    return ok({ url: text, kind: 'sqlite', sqlitePath: path, redactedUrl: text });
  }
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    return fail(`is not a database URL: ${DATABASE_FORMAT}`);
  }
  const kind = SERVER_SCHEMES[url.protocol.toLowerCase()];
  if (kind === undefined) return fail(`has an unsupported scheme: ${DATABASE_FORMAT}`);
  if (url.hostname === '') return fail(`names no host: ${DATABASE_FORMAT}`);
  return ok({ url: text, kind, sqlitePath: undefined, redactedUrl: redactUrl(text) });
}

export function parseRedisUrl(raw: string): Parsed<{ url: string; redactedUrl: string }> {
  const text = raw.trim();
  const format = 'use redis://[:PASSWORD@]HOST[:6379][/DB] or rediss:// for TLS';
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    return fail(`is not a Redis URL: ${format}`);
  }
  if (url.protocol !== 'redis:' && url.protocol !== 'rediss:')
    return fail(`must start with redis:// or rediss://: ${format}`);
  if (url.hostname === '') return fail(`names no host: ${format}`);
  return ok({ url: text, redactedUrl: redactUrl(text) });
}
