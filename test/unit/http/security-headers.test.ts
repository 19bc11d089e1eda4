import { describe, expect, it } from 'vitest';
import { contentSecurityPolicy, securityHeaders } from '../../../src/http/security-headers.js';
import { testConfig as config } from '../../helpers/config.js';

describe('security headers', () => {
  it('pin scripts and styles to this origin and forbid framing', () => {
    const csp = contentSecurityPolicy(config({}));
    expect(csp).toContain("script-src 'self'");
    expect(csp).toContain("style-src 'self'");
    expect(csp).toContain("frame-ancestors 'none'");
    expect(csp).not.toContain('unsafe-inline');
    expect(csp).not.toContain('upgrade-insecure-requests');
  });

  it('allow form posts to land on the frontend origin (sign-out redirect)', () => {
    const csp = contentSecurityPolicy(
      config({ PUBLIC_URL: 'https://api.example.com', FRONTEND_URL: 'https://app.example.com/' }),
    );
    expect(csp).toContain("form-action 'self' https://api.example.com https://app.example.com");
  });

  it('add HSTS and upgrade-insecure-requests only over https', () => {
    expect(securityHeaders(config({}))['strict-transport-security']).toBeUndefined();
    const https = securityHeaders(config({ PUBLIC_URL: 'https://api.example.com' }));
    expect(https['strict-transport-security']).toBe('max-age=15552000');
    expect(https['content-security-policy']).toContain('upgrade-insecure-requests');
    expect(https['x-content-type-options']).toBe('nosniff');
    expect(https['x-frame-options']).toBe('DENY');
    expect(Object.isFrozen(https)).toBe(true);
  });

  it('widen the policy for Google Identity Services (One Tap) only with real Google credentials', () => {
    const dev = securityHeaders(config({}));
    expect(dev['content-security-policy']).not.toContain('accounts.google.com');
    expect(dev['cross-origin-opener-policy']).toBe('same-origin');
    const other = contentSecurityPolicy(
      config({ OIDC_ISSUER: 'http://127.0.0.1:9/idp', GOOGLE_CLIENT_ID: 'a', GOOGLE_CLIENT_SECRET: 'b' }),
    );
    expect(other).not.toContain('accounts.google.com');
    const google = securityHeaders(
      config({ GOOGLE_CLIENT_ID: 'web.apps.googleusercontent.com', GOOGLE_CLIENT_SECRET: 'secret' }),
    );
    const csp = google['content-security-policy'];
    expect(csp).toContain("script-src 'self' https://accounts.google.com/gsi/client;");
    expect(csp).toContain("style-src 'self' https://accounts.google.com/gsi/style;");
    expect(csp).toContain("frame-src 'self' https://accounts.google.com/gsi/;");
    expect(csp).toContain("connect-src 'self' https://accounts.google.com/gsi/;");
    expect(csp).not.toMatch(/script-src[^;]*https:\/\/accounts\.google\.com\/(?!gsi\/client)/);
    expect(google['cross-origin-opener-policy']).toBe('same-origin-allow-popups');
  });
});
