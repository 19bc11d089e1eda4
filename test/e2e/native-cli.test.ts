/**
 * examples/cli against a real server with the development provider (offline): sign in with an ID
 * token, call /me with the access token, refresh when it expires (the refresh token rotates),
 * sign out with /auth/revoke — the session is then revoked and the client is signed out.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startGatehouse, type TestGatehouse } from '../helpers/gatehouse.js';

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
