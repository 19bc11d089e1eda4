import { describe, expect, it } from 'vitest';
import { load, problems } from './helpers.js';

describe('cookie rules', () => {
  it('plain http: `gatehouse`, not Secure', () => {
    expect(load({ PUBLIC_URL: 'http://127.0.0.1:8000' }).config.cookie).toEqual({
      name: 'gatehouse',
      secure: false,
      domain: undefined,
      transactionPrefix: 'gatehouse-tx-',
    });
  });

  it('https without a domain: `__Host-gatehouse`', () => {
    expect(load({ PUBLIC_URL: 'https://gate.example.com' }).config.cookie).toEqual({
      name: '__Host-gatehouse',
      secure: true,
      domain: undefined,
      transactionPrefix: '__Host-gatehouse-tx-',
    });
  });

  it('https with COOKIE_DOMAIN: `__Secure-gatehouse`, domain lower-cased without its leading dot', () => {
    const { config } = load({ PUBLIC_URL: 'https://app.example.com', COOKIE_DOMAIN: '.Example.COM' });
    expect(config.cookie).toEqual({
      name: '__Secure-gatehouse',
      secure: true,
      domain: 'example.com',
      // Transaction cookies never need a shared domain, so they keep the stricter prefix.
      transactionPrefix: '__Host-gatehouse-tx-',
    });
  });

  it('plain http with COOKIE_DOMAIN: `gatehouse` with the domain', () => {
    const { config } = load({ PUBLIC_URL: 'http://app.example.test:8000', COOKIE_DOMAIN: 'example.test' });
    expect(config.cookie).toMatchObject({ name: 'gatehouse', secure: false, domain: 'example.test' });
  });

  it('COOKIE_DOMAIN may equal the host', () => {
    const { config } = load({ PUBLIC_URL: 'https://app.example.com', COOKIE_DOMAIN: 'app.example.com' });
    expect(config.cookie.domain).toBe('app.example.com');
  });

  it.each([
    ['https://app.example.com', 'ample.com', /neither/],
    ['https://app.example.com', 'other.example.com', /neither/],
    ['https://app.example.com', 'com', /top-level domain/],
    ['https://10.0.0.1', '10.0.0.1', /IP address/],
  ])('PUBLIC_URL %s refuses COOKIE_DOMAIN %s', (publicUrl, domain, pattern) => {
    expect(problems({ PUBLIC_URL: publicUrl, COOKIE_DOMAIN: domain })).toEqual([
      { variable: 'COOKIE_DOMAIN', message: expect.stringMatching(pattern) },
    ]);
  });
});
