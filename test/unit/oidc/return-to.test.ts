import { describe, expect, it } from 'vitest';
import { safeReturnTo } from '../../../src/oidc/return-to.js';
import { testConfig } from './support/config.js';

// Gatehouse at api.example.com, the frontend at app.example.com (a separate origin), one extra origin allowed.
const config = testConfig({
  issuer: 'https://accounts.google.com',
  publicUrl: 'https://api.example.com',
  frontendUrl: 'https://app.example.com/',
  allowedReturnOrigins: ['https://app.example.com', 'https://api.example.com', 'https://admin.example.com'],
});
const FALLBACK = 'https://app.example.com/';

const accepted: Array<[string, string]> = [
  ['/dashboard', 'https://app.example.com/dashboard'],
  ['/a/b?x=1&y=2#frag', 'https://app.example.com/a/b?x=1&y=2#frag'],
  ['/profile/@me', 'https://app.example.com/profile/@me'],
  ['/', 'https://app.example.com/'],
  ['https://app.example.com/settings', 'https://app.example.com/settings'],
  ['https://admin.example.com/x', 'https://admin.example.com/x'],
  ['HTTPS://APP.EXAMPLE.COM/caps', 'https://app.example.com/caps'],
  ['https://app.example.com:443/p', 'https://app.example.com/p'],
  ['/dashboard/../settings', 'https://app.example.com/settings'],
];

const rejected: Array<[string, string | undefined]> = [
  ['undefined', undefined],
  ['empty', ''],
  ['protocol-relative', '//evil.com'],
  ['protocol-relative with path', '//evil.com/app.example.com'],
  ['triple slash', '///evil.com'],
  ['slash-backslash', '/\\evil.com'],
  ['backslash-slash', '\\/evil.com'],
  ['double backslash', '\\\\evil.com'],
  ['encoded backslash', '/%5Cevil.com'],
  ['encoded backslash lower-case', '/%5cevil.com'],
  ['encoded slash after slash', '/%2F%2Fevil.com'],
  ['tab inside //', '/\t/evil.com'],
  ['newline inside //', '/\n/evil.com'],
  ['carriage return', '/\r/evil.com'],
  ['NUL', '/dash\u0000board'],
  ['encoded tab', '/%09/evil.com'],
  ['leading space', ' /dashboard'],
  ['unicode line separator', '/\u2028/evil.com'],
  ['userinfo on allowed origin', 'https://user:pass@app.example.com/'],
  ['@-userinfo to another host', 'https://app.example.com@evil.com/'],
  ['@-userinfo no scheme slashes', 'https:app.example.com@evil.com'],
  ['look-alike suffix', 'https://app.example.com.evil.com/'],
  ['look-alike prefix', 'https://evilapp.example.com/'],
  ['scheme downgrade', 'http://app.example.com/'],
  ['other port', 'https://app.example.com:8443/'],
  ['foreign origin', 'https://evil.com/'],
  ['javascript:', 'javascript:alert(1)'],
  ['JavaScript: mixed case', 'JaVaScRiPt:alert(1)'],
  ['javascript with leading tab', '\tjavascript:alert(1)'],
  ['data:', 'data:text/html,<script>alert(1)</script>'],
  ['vbscript:', 'vbscript:msgbox(1)'],
  ['ftp scheme', 'ftp://app.example.com/'],
  ['scheme without slashes', 'https:/evil.com'],
  ['relative without slash', 'dashboard'],
  ['query only', '?next=//evil.com'],
  ['fragment only', '#x'],
  ['over-long', `/${'a'.repeat(2048)}`],
];

describe('safeReturnTo', () => {
  it.each(accepted)('accepts %s', (raw, expected) => {
    expect(safeReturnTo(raw, config)).toBe(expected);
  });

  it.each(rejected)('falls back for %s', (_name, raw) => {
    expect(safeReturnTo(raw, config)).toBe(FALLBACK);
  });

  it('has at least 20 hostile vectors (SECURITY E21)', () => {
    expect(rejected.length).toBeGreaterThanOrEqual(20);
  });

  it('keeps a resolved return_to of up to 1024 characters; a longer one falls back (SECURITY.md 44)', () => {
    const fits = `/${'a'.repeat(1024 - 'https://app.example.com/'.length)}`;
    expect(safeReturnTo(fits, config)).toBe(`https://app.example.com${fits}`);
    expect(safeReturnTo(`${fits}a`, config)).toBe(config.frontendUrl);
    expect(safeReturnTo(`/${'a'.repeat(2047)}`, config)).toBe(config.frontendUrl);
  });
});
