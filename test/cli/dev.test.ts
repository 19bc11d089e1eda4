/**
 * `gatehouse dev id-token`: an ID token from the running server's development provider, which
 * POST /auth/google accepts; refused when the development provider is not in use.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startGatehouse, type TestGatehouse } from '../helpers/gatehouse.js';
import { runCli, tempDir } from './run.js';

describe('gatehouse dev id-token', () => {
  let gh: TestGatehouse;
  let dir: ReturnType<typeof tempDir>;
  beforeAll(async () => {
    gh = await startGatehouse();
    dir = tempDir();
  });
  afterAll(async () => {
    await gh?.close();
    dir?.remove();
  });

  it('mints a token the server accepts once, for the configured audience by default', async () => {
    const env = { PUBLIC_URL: gh.url, SECRET_KEY: 's'.repeat(40), JWT_SECRET_KEY: 'j'.repeat(40) };
    const result = await runCli(
      ['dev', 'id-token', '--email', 'dev-cli@example.com', '--name', 'Dev', '--json'],
      {
        cwd: dir.path,
        env,
        timeoutMs: 20_000,
      },
    );
    expect(result.code, result.stderr).toBe(0);
    const { id_token } = JSON.parse(result.stdout) as { id_token: string };
    const payload = JSON.parse(Buffer.from(id_token.split('.')[1]!, 'base64url').toString('utf8'));
    expect(payload).toMatchObject({
      iss: gh.config.oidc.issuer,
      aud: gh.config.oidc.clientId,
      azp: gh.config.oidc.clientId,
      email: 'dev-cli@example.com',
      email_verified: true,
      name: 'Dev',
    });
    const post = () =>
      fetch(`${gh.url}/auth/google`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ id_token, client: 'api' }),
      });
    expect((await post()).status).toBe(200);
    expect((await post()).status).toBe(401);
  });

  it('mints for another audience, which the server then refuses', async () => {
    const response = await fetch(
      `${gh.url}/dev-idp/id-token?email=other@example.com&aud=someone-else.apps.googleusercontent.com`,
    );
    const { id_token } = (await response.json()) as { id_token: string };
    const answer = await fetch(`${gh.url}/auth/google`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ id_token, client: 'api' }),
    });
    expect(answer.status).toBe(401);
  });

  it('serves a small form without parameters, under the provider’s own strict headers', async () => {
    const page = await fetch(`${gh.url}/dev-idp/id-token`);
    expect(page.status).toBe(200);
    expect(page.headers.get('content-security-policy')).toContain("default-src 'none'");
    const html = await page.text();
    expect(html).toContain('<form method="get" action="/dev-idp/id-token">');
    expect(html).toContain(`value="${gh.config.oidc.clientId}"`);
    const bad = await fetch(`${gh.url}/dev-idp/id-token?email=not-an-email`);
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as { error: string }).error).toBe('invalid_request');
  });

  it('is refused when real provider credentials are configured', async () => {
    const result = await runCli(['dev', 'id-token', '--email', 'x@example.com'], {
      cwd: dir.path,
      env: { GOOGLE_CLIENT_ID: 'real.apps.googleusercontent.com', GOOGLE_CLIENT_SECRET: 'secret' },
      timeoutMs: 20_000,
    });
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('development provider is not in use');
  });
});
