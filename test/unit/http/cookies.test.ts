import { describe, expect, it } from 'vitest';
import { readCookie, readCookiesWithPrefix } from '../../../src/http/cookies.js';
import { isAllowedOrigin } from '../../../src/http/csrf.js';

describe('readCookie', () => {
  it.each([
    [undefined, { kind: 'none' }],
    ['', { kind: 'none' }],
    ['other=1', { kind: 'none' }],
    ['gatehouse=abc', { kind: 'one', value: 'abc' }],
    ['a=1; gatehouse=abc; b=2', { kind: 'one', value: 'abc' }],
    ['a=1;gatehouse=abc', { kind: 'one', value: 'abc' }],
    ['gatehouse-tx-1=zzz; gatehouse=abc', { kind: 'one', value: 'abc' }],
    ['xgatehouse=abc', { kind: 'none' }],
    ['gatehouse=', { kind: 'one', value: '' }],
    ['gatehouse=abc; gatehouse=def', { kind: 'duplicate' }],
    ['gatehouse=abc;  gatehouse=abc', { kind: 'duplicate' }],
  ])('%j → %j', (header, expected) => {
    expect(readCookie(header, 'gatehouse')).toEqual(expected);
  });

  it('never confuses a longer name that shares the prefix', () => {
    expect(readCookie('gatehousex=1; gatehouse=2', 'gatehouse')).toEqual({ kind: 'one', value: '2' });
  });
});

describe('readCookiesWithPrefix', () => {
  it('collects transaction cookies, first one wins', () => {
    expect(readCookiesWithPrefix('a=1; tx-a=1; tx-b=2; tx-a=3', 'tx-')).toEqual({ 'tx-a': '1', 'tx-b': '2' });
  });
  it('ignores prototype names', () => {
    const out = readCookiesWithPrefix('__proto__=1; tx-constructor=2', 'tx-');
    expect(Object.getPrototypeOf(out)).toBe(Object.prototype);
    expect(out['tx-constructor']).toBe('2');
  });
});

describe('isAllowedOrigin', () => {
  const trusted = new Set(['https://app.example.com', 'https://api.example.com']);
  it.each([
    [{ origin: 'https://app.example.com' }, true],
    [{ origin: 'https://evil.example' }, false],
    [{ origin: 'null' }, false],
    [{ origin: 'null', 'sec-fetch-site': 'same-origin' }, true],
    [{ origin: 'null', 'sec-fetch-site': 'cross-site' }, false],
    [{ origin: 'null', 'sec-fetch-site': 'same-site' }, false],
    [{ origin: 'http://app.example.com' }, false],
    [{ origin: 'https://app.example.com.evil.com' }, false],
    [{ 'sec-fetch-site': 'same-origin' }, true],
    [{ 'sec-fetch-site': 'cross-site' }, false],
    [{ 'sec-fetch-site': 'same-site' }, false],
    [{}, true],
  ])('%j → %s', (headers, expected) => {
    expect(isAllowedOrigin(headers, trusted)).toBe(expected);
  });
});
