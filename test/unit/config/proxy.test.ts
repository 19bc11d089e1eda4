/**
 * Proxy-mode settings (DESIGN.md "Proxy mode: UPSTREAM_URL"): upstreams, the route prefix and
 * what follows it, public paths, timeout; each invalid value refused with a message that says how
 * to write it.
 */
import { describe, expect, it } from 'vitest';
import { load, problems, problemVariables } from './helpers.js';

describe('proxy mode settings', () => {
  it('standalone by default: no upstream, no prefix, routes where they always were', () => {
    const { config } = load({});
    expect(config.proxy.upstreams).toEqual([]);
    expect(config.routePrefix).toBe('');
    expect(config.redirectUrl).toBe('http://127.0.0.1:8000/auth');
    expect(config.oidc.issuer).toBe('http://127.0.0.1:8000/dev-idp');
  });

  it('UPSTREAM_URL turns on the /_gatehouse prefix; REDIRECT_URL and the development provider follow it', () => {
    const { config } = load({ UPSTREAM_URL: 'http://127.0.0.1:9000/' });
    expect(config.proxy.upstreams).toEqual([
      { prefix: '', url: 'http://127.0.0.1:9000', origin: 'http://127.0.0.1:9000' },
    ]);
    expect(config.routePrefix).toBe('/_gatehouse');
    expect(config.redirectUrl).toBe('http://127.0.0.1:8000/_gatehouse/auth');
    expect(config.oidc.issuer).toBe('http://127.0.0.1:8000/_gatehouse/dev-idp');
    expect(config.proxy.timeoutSeconds).toBe(60);
    expect(config.proxy.preserveHost).toBe(false);
    // A frontend given explicitly is kept; the cookie path is unaffected (always /).
    expect(config.frontendUrl).toBe('http://127.0.0.1:8000/');
  });

  it('keeps a base path on the upstream and an explicit ROUTE_PREFIX', () => {
    const { config } = load({ UPSTREAM_URL: 'https://api.internal:8443/v1/', ROUTE_PREFIX: '/auth-gw' });
    expect(config.proxy.upstreams[0]).toMatchObject({
      url: 'https://api.internal:8443/v1',
      origin: 'https://api.internal:8443',
    });
    expect(config.redirectUrl).toBe('http://127.0.0.1:8000/auth-gw/auth');
  });

  it('UPSTREAMS sorts longest prefix first and matches whole segments', () => {
    const { config } = load({
      UPSTREAMS: '/=http://127.0.0.1:3000, /api/=http://127.0.0.1:9000,/api/v2=http://127.0.0.1:9002',
    });
    expect(config.proxy.upstreams.map((u) => [u.prefix, u.url])).toEqual([
      ['/api/v2', 'http://127.0.0.1:9002'],
      ['/api', 'http://127.0.0.1:9000'],
      ['', 'http://127.0.0.1:3000'],
    ]);
  });

  it('ROUTE_PREFIX works in standalone mode too, and is validated', () => {
    expect(load({ ROUTE_PREFIX: '/gh' }).config.redirectUrl).toBe('http://127.0.0.1:8000/gh/auth');
    for (const bad of ['gh', '/gh/', '/g h', '/a/../b', '/%2e', '//x', '/a\\b']) {
      expect(problemVariables({ ROUTE_PREFIX: bad }), bad).toEqual(['ROUTE_PREFIX']);
    }
    expect(problemVariables({ UPSTREAM_URL: 'http://127.0.0.1:9000', ROUTE_PREFIX: '/' })).toEqual([
      'ROUTE_PREFIX',
    ]);
  });

  it('refuses upstream URLs that are not plain http(s) origins with a base path', () => {
    const cases: Record<string, RegExp> = {
      'ftp://host': /http:\/\/ or https:\/\//,
      'http://user:pw@host': /user name or password/,
      'http://host/?a=1': /query/,
      'http://host/#x': /fragment/,
      'not a url': /absolute http\(s\) URL/,
      'http://host/a%2Fb': /encoded or dot segment/,
    };
    for (const [value, message] of Object.entries(cases)) {
      const found = problems({ UPSTREAM_URL: value });
      expect(
        found.map((p) => p.variable),
        value,
      ).toEqual(['UPSTREAM_URL']);
      expect(found[0]?.message, value).toMatch(message);
    }
  });

  it('refuses malformed UPSTREAMS, both upstream settings at once, and a prefix under ROUTE_PREFIX', () => {
    expect(problems({ UPSTREAMS: 'http://127.0.0.1:9000' })[0]?.message).toMatch(/PREFIX=URL/);
    expect(problems({ UPSTREAMS: '/a=http://me:hunter2@x' })[0]?.message).not.toContain('hunter2');
    expect(problems({ UPSTREAMS: '/a=http://x,/a/=http://y' })[0]?.message).toMatch(/twice/);
    expect(problems({ UPSTREAMS: '/a=ftp://x' })[0]?.message).toMatch(/the URL must start with http/);
    expect(
      problemVariables({ UPSTREAM_URL: 'http://127.0.0.1:1', UPSTREAMS: '/=http://127.0.0.1:2' }),
    ).toEqual(['UPSTREAMS']);
    expect(problemVariables({ UPSTREAMS: '/_gatehouse/x=http://127.0.0.1:2' })).toEqual(['UPSTREAMS']);
  });

  it('PUBLIC_PATHS patterns: exact, one segment, any depth; wildcards only as whole segments', () => {
    const { config } = load({
      UPSTREAM_URL: 'http://127.0.0.1:9000',
      PUBLIC_PATHS: '/health, /static/*,/docs/**',
    });
    expect(config.proxy.publicPaths).toEqual(['/health', '/static/*', '/docs/**']);
    for (const bad of ['health', '/static/*.css', '/a/**/b', '/a/../b', '/a%2fb']) {
      expect(problemVariables({ UPSTREAM_URL: 'http://127.0.0.1:9000', PUBLIC_PATHS: bad }), bad).toEqual([
        'PUBLIC_PATHS',
      ]);
    }
  });

  it('UPSTREAM_TIMEOUT and PRESERVE_HOST parse; without an upstream they only warn', () => {
    const { config } = load({
      UPSTREAM_URL: 'http://127.0.0.1:9000',
      UPSTREAM_TIMEOUT: '5s',
      PRESERVE_HOST: 'true',
    });
    expect(config.proxy.timeoutSeconds).toBe(5);
    expect(config.proxy.preserveHost).toBe(true);
    expect(problemVariables({ UPSTREAM_URL: 'http://127.0.0.1:9000', UPSTREAM_TIMEOUT: 'soon' })).toEqual([
      'UPSTREAM_TIMEOUT',
    ]);
    expect(load({ PRESERVE_HOST: 'true' }).warnings.join('\n')).toMatch(/PRESERVE_HOST has no effect/);
  });
});
