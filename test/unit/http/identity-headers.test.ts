import { describe, expect, it } from 'vitest';
import { encodeIdentityHeader } from '../../../src/http/identity-headers.js';

describe('encodeIdentityHeader (SECURITY.md 43)', () => {
  it('passes visible ASCII but % unchanged and escapes every other UTF-8 byte', () => {
    expect(encodeIdentityHeader('ada.lovelace+x@example.com')).toBe('ada.lovelace+x@example.com');
    expect(encodeIdentityHeader('a%b')).toBe('a%25b');
    expect(encodeIdentityHeader('a b\tc\u007f')).toBe('a%20b%09c%7F');
    expect(encodeIdentityHeader('Ève')).toBe('%C3%88ve');
    expect(encodeIdentityHeader('山田')).toBe('%E5%B1%B1%E7%94%B0');
    expect(encodeIdentityHeader('😀')).toBe('%F0%9F%98%80');
    expect(encodeIdentityHeader('')).toBe('');
  });

  it('always yields visible ASCII, decodable back to the value', () => {
    for (const value of ['zoë@example.com', 'zoÃ«@example.com', '100% real', 'tab\there', 'ÿ', '😀 ok']) {
      const encoded = encodeIdentityHeader(value);
      expect(encoded).toMatch(/^[\x21-\x7e]*$/);
      expect(decodeURIComponent(encoded)).toBe(value);
    }
  });

  it('is injective, lone surrogates included', () => {
    const values = ['zoë', 'zoÃ«', 'zo%C3%AB', '\ud800', '\ufffd', '\udc00', '\ud800\udc00'];
    const encoded = values.map(encodeIdentityHeader);
    expect(new Set(encoded).size).toBe(values.length);
    expect(encodeIdentityHeader('\ud800')).toBe('%ED%A0%80');
  });
});
