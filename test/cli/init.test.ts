/** `gatehouse init` as a process: writes a valid .env with strong secrets, never overwrites without --force. */
import { existsSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseEnv } from 'node:util';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { runCli, tempDir } from './run.js';

describe('gatehouse init', () => {
  let dir: ReturnType<typeof tempDir>;
  beforeEach(() => {
    dir = tempDir();
  });
  afterEach(() => dir.remove());

  it('writes .env non-interactively from flags, with distinct strong secrets, mode 600', async () => {
    const result = await runCli(
      [
        'init',
        '--yes',
        '--public-url',
        'https://api.example.com/',
        '--frontend-url',
        'https://app.example.com/',
        '--database-url',
        'sqlite:./gh.db',
      ],
      { cwd: dir.path },
    );
    expect(result.code, result.stderr).toBe(0);
    const path = join(dir.path, '.env');
    expect(statSync(path).mode & 0o777).toBe(0o600);
    const env = parseEnv(readFileSync(path, 'utf8'));
    expect(env.PUBLIC_URL).toBe('https://api.example.com');
    expect(env.FRONTEND_URL).toBe('https://app.example.com/');
    expect(env.DATABASE_URL).toBe('sqlite:./gh.db');
    expect(Buffer.from(env.SECRET_KEY ?? '', 'base64url').length).toBeGreaterThanOrEqual(32);
    expect(Buffer.from(env.JWT_SECRET_KEY ?? '', 'base64url').length).toBeGreaterThanOrEqual(32);
    expect(env.SECRET_KEY).not.toBe(env.JWT_SECRET_KEY);
    // Secrets are never echoed.
    expect(result.stdout).not.toContain(env.SECRET_KEY);
    expect(result.stdout).not.toContain(env.JWT_SECRET_KEY);
  }, 60_000);

  it('never overwrites an existing .env without --force', async () => {
    const path = join(dir.path, '.env');
    writeFileSync(path, 'PUBLIC_URL=http://127.0.0.1:9999\n');
    const refused = await runCli(['init', '--yes'], { cwd: dir.path });
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain('--force');
    expect(readFileSync(path, 'utf8')).toBe('PUBLIC_URL=http://127.0.0.1:9999\n');

    const forced = await runCli(['init', '--yes', '--force'], { cwd: dir.path });
    expect(forced.code, forced.stderr).toBe(0);
    expect(parseEnv(readFileSync(path, 'utf8')).PUBLIC_URL).toBe('http://127.0.0.1:8000');
  }, 60_000);

  it('writes nothing and exits 78 when the answers would not load', async () => {
    const result = await runCli(['init', '--yes', '--production', '--public-url', 'http://api.example.com'], {
      cwd: dir.path,
    });
    expect(result.code).toBe(78);
    expect(result.stderr).toContain('PUBLIC_URL');
    expect(result.stderr).toContain('GOOGLE_CLIENT_ID');
    expect(existsSync(join(dir.path, '.env'))).toBe(false);
  }, 60_000);

  it('prints JSON with --json (secrets masked) and the result passes doctor --offline', async () => {
    const result = await runCli(['init', '--json', '--port', '8123'], { cwd: dir.path });
    expect(result.code, result.stderr).toBe(0);
    const body = JSON.parse(result.stdout) as { written: Record<string, string> };
    expect(body.written.SECRET_KEY).toBe('generated');
    expect(body.written.PUBLIC_URL).toBe('http://127.0.0.1:8123');
    const doctor = await runCli(['doctor', '--offline'], { cwd: dir.path });
    expect(doctor.code, doctor.stdout).toBe(0);
    expect(doctor.stdout).toContain('Authorized redirect URI:      http://127.0.0.1:8123/auth');
    // Secrets came from the file, so none were generated for the process.
    expect(doctor.stdout).not.toContain('generated a random key');
  }, 60_000);

  it('right after init, doctor says OK: the database serve will create on first start is a note', async () => {
    const init = await runCli(['init', '--yes'], { cwd: dir.path });
    expect(init.code, init.stderr).toBe(0);
    const doctor = await runCli(['doctor'], { cwd: dir.path });
    expect(doctor.code, doctor.stdout).toBe(0);
    expect(doctor.stdout).toContain(
      '· ./data/gatehouse.db does not exist yet: `gatehouse serve` creates and migrates it on first start',
    );
    expect(doctor.stdout).toMatch(/OK — 0 errors/);
    // doctor did not create it (an empty, unmigrated file would be worse than none).
    expect(existsSync(join(dir.path, 'data', 'gatehouse.db'))).toBe(false);
  }, 60_000);
});
