/**
 * The proxy's pure rules: one normalised path (SECURITY.md J.50), public-path patterns, upstream
 * choice, and the header rules of what the upstream receives and what the client gets back (J.51).
 */
import { describe, expect, it } from 'vitest';
import { encodeIdentityHeader } from '../../../src/http/identity-headers.js';
import {
  compilePathPattern,
  normaliseTarget,
  publicPathMatcher,
  underPrefix,
} from '../../../src/http/proxy/path.js';
import { upstreamRequestHeaders, withoutGatehouseCookies } from '../../../src/http/proxy/request-headers.js';
import { clientResponseHeaders, gatehouseCookieNames } from '../../../src/http/proxy/response-headers.js';
import { chooseUpstream } from '../../../src/http/proxy/upstream.js';

describe('normaliseTarget', () => {
  it.each([
    ['/', '/'],
    ['/a/b', '/a/b'],
    ['/a/./b', '/a/b'],
    ['/a/../b', '/b'],
    ['/public/../admin', '/admin'],
    ['/public/%2e%2e/admin', '/admin'],
    ['/public/%2E%2e/admin', '/admin'],
    ['/public/.%2e/admin', '/admin'],
    ['//admin', '/admin'],
    ['/a//b///c', '/a/b/c'],
    ['/../../etc/passwd', '/etc/passwd'],
    ['/a/b/', '/a/b/'],
    ['/a/b/.', '/a/b/'],
    ['/a/b/..', '/a/'],
    ['/%41dmin', '/Admin'],
    ['/caf%c3%a9', '/caf%C3%A9'],
    ['/a%20b', '/a%20b'],
  ])('%s → %s', (raw, path) => {
    const result = normaliseTarget(raw);
    expect(result).toEqual({ ok: true, path, query: '' });
  });

  it('keeps the query as sent', () => {
    expect(normaliseTarget('/a/../b?x=%2F&y=..')).toEqual({ ok: true, path: '/b', query: '?x=%2F&y=..' });
  });

  it.each([
    ['/a%2Fb', /encoded slash/],
    ['/a%2fb', /encoded slash/],
    ['/a%5Cb', /encoded slash or backslash/],
    ['/a%5cb', /encoded slash or backslash/],
    ['/a%00b', /NUL/],
    ['/a\\b', /backslash/],
    ['/a%zzb', /malformed/],
    ['/a%2', /malformed/],
    ['http://evil.example/a', /starting with \//],
    ['*', /starting with \//],
  ])('refuses %s', (raw, detail) => {
    const result = normaliseTarget(raw);
    expect(result.ok).toBe(false);
    if (!result.ok) expect(result.detail).toMatch(detail);
  });
});

describe('path patterns', () => {
  it('exact, one segment, any depth; case- and slash-exact (a grant fails closed)', () => {
    const isPublic = publicPathMatcher(['/health', '/static/*', '/docs/**']);
    for (const path of ['/health', '/static/a.js', '/docs', '/docs/', '/docs/a/b'])
      expect(isPublic(path), path).toBe(true);
    for (const path of [
      '/Health',
      '/health/',
      '/healthz',
      '/static/',
      '/static/a/b',
      '/static',
      '/doc',
      '/docsx',
    ]) {
      expect(isPublic(path), path).toBe(false);
    }
    expect(compilePathPattern('/a/*/c')('/a/b/c')).toBe(true);
    expect(publicPathMatcher([])('/anything')).toBe(false);
  });

  it('prefixes match whole segments', () => {
    expect(underPrefix('/_gatehouse', '/_gatehouse')).toBe(true);
    expect(underPrefix('/_gatehouse/me', '/_gatehouse')).toBe(true);
    expect(underPrefix('/_gatehousex', '/_gatehouse')).toBe(false);
    expect(underPrefix('/anything', '')).toBe(true);
  });

  it('chooses the first (longest) matching upstream and prepends its base path', () => {
    const upstreams = [
      { prefix: '/api', url: 'http://a:1/base', origin: 'http://a:1' },
      { prefix: '', url: 'http://b:2', origin: 'http://b:2' },
    ];
    expect(chooseUpstream(upstreams, '/api/x')).toMatchObject({ origin: 'http://a:1', path: '/base/api/x' });
    expect(chooseUpstream(upstreams, '/apix')).toMatchObject({ origin: 'http://b:2', path: '/apix' });
    expect(chooseUpstream(upstreams.slice(0, 1), '/other')).toBeUndefined();
  });
});

describe('request header rules', () => {
  const isGatehouseCookie = gatehouseCookieNames('gatehouse', 'gatehouse-tx-');
  const base = {
    isGatehouseCookie,
    isGatehouseToken: (token: string) => token === 'gh-token',
    user: { id: 'u1', email: 'a@example.com', name: 'Zoë', roles: [], groups: [] },
    requestId: 'req-1',
    forwardedFor: ['203.0.113.9', '10.0.0.1'],
    forwardedProto: 'https',
    forwardedHost: 'app.example.com',
    host: undefined,
    assertion: undefined,
  };

  it('removes hop-by-hop, forwarding, spoofed identity and Gatehouse credentials; sets what Gatehouse vouches for', () => {
    const headers = upstreamRequestHeaders(
      {
        connection: 'keep-alive',
        'keep-alive': 'timeout=5',
        te: 'trailers',
        upgrade: 'h2c',
        'proxy-authorization': 'Basic x',
        'x-forwarded-for': '6.6.6.6',
        forwarded: 'for=6.6.6.6',
        'x-real-ip': '6.6.6.6',
        'x-auth-user-id': 'admin',
        'x-auth-email': 'admin@example.com',
        'x-auth-anything': 'x',
        'x-gatehouse-assertion': 'forged',
        cookie: 'gatehouse=gh-token; a=1; GATEHOUSE=x; gatehouse-tx-1=y; b=2',
        authorization: 'Bearer gh-token',
        accept: 'application/json',
      },
      base,
    );
    expect(headers).toEqual({
      accept: 'application/json',
      cookie: 'a=1; b=2',
      'x-auth-user-id': 'u1',
      'x-auth-email': 'a@example.com',
      'x-auth-name': 'Zo%C3%AB',
      'x-auth-roles': '',
      'x-auth-groups': '',
      'x-request-id': 'req-1',
      'x-forwarded-for': '203.0.113.9, 10.0.0.1',
      'x-forwarded-proto': 'https',
      'x-forwarded-host': 'app.example.com',
    });
  });

  it("keeps another scheme's Authorization and a bearer that is not Gatehouse's", () => {
    expect(upstreamRequestHeaders({ authorization: 'Basic dXNlcjpwdw==' }, base).authorization).toBe(
      'Basic dXNlcjpwdw==',
    );
    expect(upstreamRequestHeaders({ authorization: 'Bearer their-own' }, base).authorization).toBe(
      'Bearer their-own',
    );
  });

  it('sends no identity for an anonymous public request, and the assertion when one is given', () => {
    const anonymous = upstreamRequestHeaders({}, { ...base, user: null, assertion: 'ignored' });
    expect(
      Object.keys(anonymous).filter((h) => h.startsWith('x-auth-') || h.startsWith('x-gatehouse-')),
    ).toEqual([]);
    expect(upstreamRequestHeaders({}, { ...base, assertion: 'eyJ.x.y' })['x-gatehouse-assertion']).toBe(
      'eyJ.x.y',
    );
    expect(upstreamRequestHeaders({ host: 'client.example' }, { ...base, host: 'client.example' }).host).toBe(
      'client.example',
    );
  });

  it('identity values go through the shared encoder: anything but visible ASCII, and % itself, percent-encoded', () => {
    expect(encodeIdentityHeader('plain-ascii@example.com')).toBe('plain-ascii@example.com');
    expect(encodeIdentityHeader('Ann Lee')).toBe('Ann%20Lee');
    expect(encodeIdentityHeader('100%')).toBe('100%25');
    expect(encodeIdentityHeader('a\r\nX-Evil: 1')).toBe('a%0D%0AX-Evil:%201');
    expect(decodeURIComponent(encodeIdentityHeader('李 🙂 Zoë'))).toBe('李 🙂 Zoë');
  });

  it('drops the Cookie header when nothing else is left', () => {
    expect(withoutGatehouseCookies('gatehouse=x', isGatehouseCookie)).toBeUndefined();
    expect(withoutGatehouseCookies(' ; ', isGatehouseCookie)).toBeUndefined();
    expect(withoutGatehouseCookies('x=1;gatehouse=2', isGatehouseCookie)).toBe('x=1');
  });
});

describe('response header rules', () => {
  it("drops Set-Cookie for Gatehouse's names (any case or prefix) and hop-by-hop headers", () => {
    const isOurs = gatehouseCookieNames('__Host-gatehouse', '__Host-gatehouse-tx-');
    const headers = clientResponseHeaders(
      {
        connection: 'close',
        'keep-alive': 'timeout=5',
        'content-type': 'text/plain',
        'set-cookie': [
          'gatehouse=a',
          '__Host-gatehouse=b; Secure',
          '__secure-GATEHOUSE=c',
          'gatehouse-tx-1=d',
          '__Host-gatehouse-tx-2=e',
          'theirs=f',
          'gatehousefan=g',
        ],
      },
      isOurs,
    );
    expect(headers).toEqual({ 'content-type': 'text/plain', 'set-cookie': ['theirs=f', 'gatehousefan=g'] });
    expect(clientResponseHeaders({ 'set-cookie': ['gatehouse=x'] }, isOurs)).toEqual({});
  });
});
