import { describe, expect, it } from 'vitest';
import { clearSessionCookie, sessionCookie } from '../../../src/http/cookies.js';
import { readBearer } from '../../../src/http/credentials.js';
import { testConfig } from '../session/config.js';

const token = { token: 'a.b.c', expiresAt: Date.UTC(2030, 0, 1, 12, 15) };
const sessionEnd = new Date(Date.UTC(2030, 0, 8, 12));

describe('session cookie', () => {
  it('is HttpOnly, SameSite=Lax, Path=/, and lives until the session ends', () => {
    const c = sessionCookie(testConfig(), token, sessionEnd);
    expect(c).toEqual({
      name: 'gatehouse',
      value: 'a.b.c',
      options: { httpOnly: true, secure: false, sameSite: 'lax', path: '/', expires: sessionEnd },
    });
    expect('domain' in c.options).toBe(false);
  });

  it('follows the configured name, Secure flag and domain', () => {
    const host = sessionCookie(
      testConfig({ cookie: { name: '__Host-gatehouse', secure: true } }),
      token,
      sessionEnd,
    );
    expect(host.name).toBe('__Host-gatehouse');
    expect(host.options.secure).toBe(true);
    const shared = testConfig({
      cookie: { name: '__Secure-gatehouse', secure: true, domain: 'example.com' },
    });
    expect(sessionCookie(shared, token, sessionEnd).options.domain).toBe('example.com');
  });

  it('refuses prefix rules browsers would silently break', () => {
    const hostWithDomain = testConfig({
      cookie: { name: '__Host-gatehouse', secure: true, domain: 'example.com' },
    });
    expect(() => sessionCookie(hostWithDomain, token, sessionEnd)).toThrow(TypeError);
    const insecure = testConfig({ cookie: { name: '__Secure-gatehouse', secure: false } });
    expect(() => clearSessionCookie(insecure)).toThrow(TypeError);
    expect(() => sessionCookie(testConfig(), token, new Date(Number.NaN))).toThrow(TypeError);
  });

  it('is cleared with the same name, path and domain, empty and expired', () => {
    const config = testConfig({
      cookie: { name: '__Secure-gatehouse', secure: true, domain: 'example.com' },
    });
    expect(clearSessionCookie(config)).toEqual({
      name: '__Secure-gatehouse',
      value: '',
      options: {
        httpOnly: true,
        secure: true,
        sameSite: 'lax',
        path: '/',
        domain: 'example.com',
        expires: new Date(0),
      },
    });
  });
});

describe('readBearer', () => {
  it('reads one token68 credential, scheme case-insensitive', () => {
    expect(readBearer('Bearer abc.DEF-_~+/=')).toBe('abc.DEF-_~+/=');
    expect(readBearer('bearer x')).toBe('x');
    expect(readBearer('BEARER x')).toBe('x');
    expect(readBearer('Bearer  x')).toBe('x'); // RFC 6750: 1*SP
  });

  it('agrees with the grammar /^bearer +(token68)$/i on generated headers', () => {
    const grammar = /^bearer +([A-Za-z0-9._~+/-]+=*)$/i;
    const scheme = /^bearer(?:\s|$)/i;
    const reference = (h: string) =>
      grammar.exec(h)?.[1] ?? (scheme.test(h.trimStart()) ? 'malformed' : undefined);
    const pieces = [
      'Bearer',
      'bearer',
      'BeArEr',
      'Bearex',
      'Basic',
      'Bearer\t',
      ' ',
      '  ',
      '\t',
      'abc',
      'A.b-c_d~e+f/g',
      '=',
      '==',
      'x=y',
      '\u0000',
      'é',
      ',',
      '"',
      '\n',
      '',
    ];
    let seed = 7;
    const next = () => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return seed;
    };
    for (let i = 0; i < 20_000; i++) {
      let h = '';
      const parts = 1 + (next() % 5);
      for (let j = 0; j < parts; j++) h += pieces[next() % pieces.length];
      expect(readBearer(h), JSON.stringify(h)).toBe(reference(h));
    }
  });

  it('ignores absent headers and other schemes', () => {
    expect(readBearer(undefined)).toBeUndefined();
    expect(readBearer('')).toBeUndefined();
    expect(readBearer('Basic dXNlcjpwYXNz')).toBeUndefined();
    expect(readBearer('Bearerx abc')).toBeUndefined();
  });

  it('calls malformed Bearer headers malformed', () => {
    for (const h of [
      'Bearer',
      'Bearer ',
      'Bearer a b',
      'Bearer a,b',
      'Bearer\ta',
      'Bearer a=b',
      'Bearer "a"',
      'Bearer é',
      ' Bearer a',
      'Bearer a ',
    ]) {
      expect({ h, r: readBearer(h) }).toEqual({ h, r: 'malformed' });
    }
  });
});
