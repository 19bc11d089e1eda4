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
});
