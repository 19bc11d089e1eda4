/**
 * `gatehouse doctor` as a process, against a real OpenID provider (the development provider,
 * standalone on `localhost`) and a real SQLite database: a correct configuration passes with
 * the URLs to register; broken ones (unreachable provider, cross-site frontend, uncreatable
 * database, invalid settings) fail with the line that says why and the documented exit code.
 */
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startDevIdp } from '../helpers/dev-idp.js';
import { freePort } from '../helpers/ports.js';
import { runCli, tempDir } from './run.js';

describe('gatehouse doctor', () => {
  let dir: ReturnType<typeof tempDir>;
  let idp: Awaited<ReturnType<typeof startDevIdp>>;
  let env: Record<string, string>;
  let port: number;

  beforeAll(async () => {
    dir = tempDir();
    port = await freePort();
    idp = await startDevIdp({ host: 'localhost', redirectUris: [`http://127.0.0.1:${port}/auth`] });
    env = {
      PORT: String(port),
      DATABASE_URL: `sqlite:${join(dir.path, 'gh.db')}`,
      OIDC_ISSUER: idp.issuer,
      GOOGLE_CLIENT_ID: idp.clientId,
      GOOGLE_CLIENT_SECRET: idp.clientSecret,
      SECRET_KEY: 'k'.repeat(48),
      JWT_SECRET_KEY: 'j'.repeat(48),
    };
    const migrated = await runCli(['migrate'], { cwd: dir.path, env });
    expect(migrated.code, migrated.stderr).toBe(0);
  }, 60_000);

  afterAll(async () => {
    await idp?.close();
    dir?.remove();
  });

  it('passes a correct configuration and prints the two URLs for Google Cloud Console', async () => {
    const result = await runCli(['doctor'], { cwd: dir.path, env });
    expect(result.code, result.stdout).toBe(0);
    const lines = result.stdout.split('\n');
    expect(lines).toContain(`· Authorized redirect URI:      http://127.0.0.1:${port}/auth`);
    expect(lines).toContain(`· Authorized JavaScript origin: http://127.0.0.1:${port}`);
    expect(result.stdout).toMatch(
      /✓ discovery reachable: http:\/\/localhost:\d+\/dev-idp\/\.well-known\/openid-configuration/,
    );
    expect(result.stdout).toMatch(/✓ JWKS reachable: .* \(\d+ keys?\)/);
    expect(result.stdout).toContain('✓ migrated');
    expect(result.stdout).toContain('OK — 0 errors');
  }, 60_000);

  it('reports the checks as JSON with --json', async () => {
    const result = await runCli(['doctor', '--json'], { cwd: dir.path, env });
    expect(result.code).toBe(0);
    const body = JSON.parse(result.stdout) as {
      ok: boolean;
      checks: { group: string; status: string; message: string }[];
    };
    expect(body.ok).toBe(true);
    expect(body.checks.find((c) => c.group === 'Database' && c.status === 'ok')).toBeDefined();
    expect(body.checks.every((c) => ['ok', 'warn', 'error', 'info'].includes(c.status))).toBe(true);
  }, 60_000);

  it('fails (exit 1) when the provider is unreachable, naming the discovery URL', async () => {
    const closed = await freePort();
    const result = await runCli(['doctor'], {
      cwd: dir.path,
      env: { ...env, OIDC_ISSUER: `http://127.0.0.1:${closed}`, OIDC_TIMEOUT: '3s' },
    });
    expect(result.code).toBe(1);
    expect(result.stdout).toContain(
      `✗ discovery unreachable: http://127.0.0.1:${closed}/.well-known/openid-configuration (ECONNREFUSED`,
    );
    expect(result.stdout).toContain('FAILED — 1 error');
  }, 60_000);

  it('fails when the frontend is cross-site, explaining why the cookie will not be sent', async () => {
    const result = await runCli(['doctor', '--offline'], {
      cwd: dir.path,
      env: {
        ...env,
        FRONTEND_URL: 'http://localhost:3000/',
        ALLOWED_RETURN_ORIGINS: 'http://localhost:3000',
      },
    });
    expect(result.code).toBe(1);
    expect(result.stdout).toContain('✗ FRONTEND_URL (http://localhost:3000) is cross-site to PUBLIC_URL');
    expect(result.stdout).toContain(
      '! the frontend (http://localhost:3000) is another origin but not in CORS_ORIGINS',
    );
  }, 60_000);

  it('accepts a same-site https frontend, with __Host- or __Secure- as COOKIE_DOMAIN says', async () => {
    const https = {
      ...env,
      PUBLIC_URL: 'https://api.example.com',
      FRONTEND_URL: 'https://app.example.com/',
      CORS_ORIGINS: 'https://app.example.com',
      TRUST_PROXY: '127.0.0.1',
    };
    const hostOnly = await runCli(['doctor', '--offline'], { cwd: dir.path, env: https });
    expect(hostOnly.code, hostOnly.stdout).toBe(0);
    expect(hostOnly.stdout).toContain('✓ __Host-gatehouse: Secure, HttpOnly, SameSite=Lax, host-only');
    expect(hostOnly.stdout).toContain(
      '✓ FRONTEND_URL (https://app.example.com) is same-site with PUBLIC_URL',
    );
    expect(hostOnly.stdout).toContain('✓ X-Forwarded-* believed only from 127.0.0.1');

    const shared = await runCli(['doctor', '--offline'], {
      cwd: dir.path,
      env: { ...https, COOKIE_DOMAIN: 'example.com', TRUST_PROXY: undefined },
    });
    expect(shared.code, shared.stdout).toBe(0);
    expect(shared.stdout).toContain(
      '✓ __Secure-gatehouse: Secure, HttpOnly, SameSite=Lax, shared with example.com',
    );
    expect(shared.stdout).toContain('! PUBLIC_URL is https but TRUST_PROXY is off');
  }, 60_000);

  it('checks the redirect URI against what Google accepts', async () => {
    const result = await runCli(['doctor', '--offline'], {
      cwd: dir.path,
      env: {
        ...env,
        OIDC_ISSUER: undefined,
        GOOGLE_CLIENT_ID: '1234-abc.apps.googleusercontent.com',
        PUBLIC_URL: 'http://10.1.2.3:8000',
      },
    });
    expect(result.code).toBe(1);
    expect(result.stdout).toContain('✗ Google accepts http redirect URIs only for localhost');
  }, 60_000);

  it('notes a SQLite file serve will create, and fails when it cannot be created', async () => {
    const missing = await runCli(['doctor'], {
      cwd: dir.path,
      env: { ...env, DATABASE_URL: `sqlite:${join(dir.path, 'new', 'none.db')}` },
    });
    expect(missing.code, missing.stdout).toBe(0);
    expect(missing.stdout).toContain('none.db does not exist yet: `gatehouse serve` creates and migrates it');
    expect(existsSync(join(dir.path, 'new'))).toBe(false);

    const file = join(dir.path, 'plain-file');
    writeFileSync(file, '');
    const blocked = await runCli(['doctor'], {
      cwd: dir.path,
      env: { ...env, DATABASE_URL: `sqlite:${join(file, 'none.db')}` },
    });
    expect(blocked.code).toBe(1);
    expect(blocked.stdout).toContain(
      `does not exist and cannot be created: ${file} is not a writable directory`,
    );
  }, 60_000);

  it('exits 78 with one line per configuration problem', async () => {
    const result = await runCli(['doctor'], {
      cwd: dir.path,
      env: { ...env, CORS_ORIGINS: '*', SESSION_TTL: 'forever' },
    });
    expect(result.code).toBe(78);
    expect(result.stdout).toMatch(/✗ CORS_ORIGINS: /);
    expect(result.stdout).toMatch(/✗ SESSION_TTL: /);
  }, 60_000);
});
