/**
 * examples/cli against a real server with the development provider (offline): sign in with an ID
 * token, call /me with the access token, refresh when it expires (the refresh token rotates),
 * sign out with /auth/revoke — the session is then revoked and the client is signed out.
 */
import { execFile, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startGatehouse, type TestGatehouse } from '../helpers/gatehouse.js';
import { type HostileProvider, startHostileProvider } from '../helpers/hostile-provider.js';

const CLIENT = join(import.meta.dirname, '..', '..', 'examples', 'cli', 'gatehouse-client.mjs');

interface Run {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

describe('examples/cli: a native client against the development provider', () => {
  let gh: TestGatehouse;
  let dir: string;
  let state: string;

  const client = (...args: string[]): Promise<Run> =>
    new Promise((resolve) => {
      execFile(
        process.execPath,
        [CLIENT, ...args, '--server', gh.url, '--state', state],
        { timeout: 20_000 },
        (err, stdout, stderr) => {
          const code = err === null ? 0 : typeof err.code === 'number' ? err.code : 1;
          resolve({ code, stdout, stderr });
        },
      );
    });
  const saved = () =>
    JSON.parse(readFileSync(state, 'utf8')) as {
      refresh_token: string;
      session_id: string;
      expires_at: number;
    };

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'gatehouse-native-cli-'));
    state = join(dir, 'tokens.json');
    // A short token lifetime so the access token expires within the test.
    gh = await startGatehouse({ env: { TOKEN_TTL: '4s' } });
    expect(gh.config.oidc.devProvider).toBe(true);
  });
  afterAll(async () => {
    await gh?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('signs in, calls /me, refreshes when the access token expires, and signs out', async () => {
    const login = await client('login', '--email', 'cli@example.com');
    expect(login.code, login.stderr).toBe(0);
    const first = saved();
    expect(login.stdout).toContain(first.session_id);
    const session = await gh.gatehouse.store.sessions.findById(first.session_id);
    expect(session).toMatchObject({ clientKind: 'api', signInMethod: 'id_token' });

    const me = await client('me');
    expect(me.code, me.stderr).toBe(0);
    expect(JSON.parse(me.stdout)).toMatchObject({ email: 'cli@example.com' });
    expect(me.stderr).not.toContain('refreshed');

    // Wait for the access token's own expiry (a condition with a deadline, not a fixed sleep).
    const deadline = Date.now() + 10_000;
    while (Date.now() < first.expires_at && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    expect(Date.now()).toBeGreaterThanOrEqual(first.expires_at);
    const later = await client('me');
    expect(later.code, later.stderr).toBe(0);
    expect(later.stderr).toContain('refreshed the access token');
    const second = saved();
    expect(second.refresh_token).not.toBe(first.refresh_token);
    expect(second.session_id).toBe(first.session_id);

    const logout = await client('logout');
    expect(logout.code, logout.stderr).toBe(0);
    const ended = await gh.gatehouse.store.sessions.findById(first.session_id);
    expect(ended?.revokedAt).not.toBeNull();
    const after = await client('me');
    expect(after.code).toBe(1);
    expect(after.stderr).toContain('not signed in');
  });
});

describe('examples/cli: Google’s installed-app loopback flow (a stand-in provider plays Google)', () => {
  let idp: HostileProvider;
  let gh: TestGatehouse;
  let dir: string;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'gatehouse-native-cli-'));
    idp = await startHostileProvider({ host: 'localhost' });
    gh = await startGatehouse({
      env: {
        OIDC_ISSUER: idp.issuer,
        GOOGLE_CLIENT_ID: idp.clientId,
        GOOGLE_CLIENT_SECRET: idp.clientSecret,
      },
    });
  });
  afterAll(async () => {
    await gh?.close();
    await idp?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('signs in through the browser at the provider and a loopback redirect, then calls /me', async () => {
    const state = join(dir, 'tokens.json');
    const child = spawn(
      process.execPath,
      [
        CLIENT,
        'login',
        '--server',
        gh.url,
        '--state',
        state,
        '--issuer',
        idp.issuer,
        '--google-client-id',
        idp.clientId,
        '--google-client-secret',
        idp.clientSecret,
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let stderr = '';
    let stdout = '';
    child.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk.toString('utf8');
    });
    child.stdout.on('data', (chunk: Buffer) => {
      stdout += chunk.toString('utf8');
    });
    const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
    try {
      // The person opens the printed URL: the provider signs in and redirects to the loopback.
      const deadline = Date.now() + 15_000;
      let url: string | undefined;
      while (url === undefined && Date.now() < deadline) {
        url = /^(http\S+\/authorize\S*)$/m.exec(stderr)?.[1];
        if (url === undefined) await new Promise((resolve) => setTimeout(resolve, 50));
      }
      expect(url, stderr).toBeDefined();
      const authorize = new URL(url!);
      expect(authorize.searchParams.get('code_challenge_method')).toBe('S256');
      expect(authorize.searchParams.get('redirect_uri')).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/callback$/);
      const atProvider = await fetch(authorize, { redirect: 'manual' });
      expect(atProvider.status).toBe(302);
      const back = await fetch(atProvider.headers.get('location')!);
      expect(back.status).toBe(200);
      expect(await exited, stderr).toBe(0);
    } finally {
      child.kill();
    }
    expect(stdout).toMatch(/signed in: session /);
    const tokens = JSON.parse(readFileSync(state, 'utf8')) as { session_id: string; access_token: string };
    const session = await gh.gatehouse.store.sessions.findById(tokens.session_id);
    expect(session).toMatchObject({ clientKind: 'api', signInMethod: 'id_token' });
    const me = await fetch(`${gh.url}/me`, { headers: { authorization: `Bearer ${tokens.access_token}` } });
    expect(me.status).toBe(200);
  });
});
