/** Profile claims: what a picture may be, and how free text is bounded (SECURITY D20). */
import { describe, expect, it } from 'vitest';
import { cleanPicture, cleanText, MAX_PICTURE_LENGTH } from '../../../src/oidc/profile.js';

const svg = `data:image/svg+xml;base64,${Buffer.from('<svg/>').toString('base64')}`;

describe('cleanPicture', () => {
  it('keeps https URLs, from any issuer', () => {
    for (const loopbackIssuer of [false, true]) {
      expect(cleanPicture('https://lh3.googleusercontent.com/a/x=s96-c', { loopbackIssuer })).toBe(
        'https://lh3.googleusercontent.com/a/x=s96-c',
      );
    }
  });

  it('drops http URLs and inlined images unless the issuer is a loopback development one', () => {
    expect(cleanPicture('http://example.com/a.png', { loopbackIssuer: false })).toBeNull();
    expect(cleanPicture(svg, { loopbackIssuer: false })).toBeNull();
    expect(cleanPicture('http://127.0.0.1:3000/a.png', { loopbackIssuer: true })).toBe(
      'http://127.0.0.1:3000/a.png',
    );
    expect(cleanPicture(svg, { loopbackIssuer: true })).toBe(svg);
  });

  it('drops other schemes, non-strings, malformed and oversized values', () => {
    for (const loopbackIssuer of [false, true]) {
      for (const value of [
        'javascript:alert(1)',
        'data:text/html;base64,PHNjcmlwdD4=',
        'ftp://example.com/a.png',
        'not a url',
        42,
        null,
        `https://example.com/${'a'.repeat(MAX_PICTURE_LENGTH)}`,
      ]) {
        expect(cleanPicture(value, { loopbackIssuer })).toBeNull();
      }
    }
  });
});

describe('cleanText', () => {
  it('strips controls, trims, bounds by code points, and turns empty into null', () => {
    expect(cleanText(' Zoë\u0000 ', 10)).toBe('Zoë');
    expect(cleanText('😀😀😀', 2)).toBe('😀😀');
    expect(cleanText('\u0001\u0002', 10)).toBeNull();
    expect(cleanText(7, 10)).toBeNull();
  });
});
