/**
 * `npm start` on a fresh machine: no .env, no variables — the built server in development mode,
 * SQLite under ./data, and the embedded development provider at /dev-idp. A browser-like agent
 * signs in through it and calls /chat.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createBrowser } from '../helpers/browser.js';
import { signInAtDevIdp } from '../helpers/dev-idp.js';
import { freePort } from '../helpers/ports.js';

const ROOT = resolve(import.meta.dirname, '..', '..');
const BIN = join(ROOT, 'bin', 'gatehouse.js');

async function waitForHealth(url: string, child: ChildProcess, deadlineMs: number): Promise<void> {
  const deadline = Date.now() + deadlineMs;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`server exited early with ${child.exitCode}`);
    try {
      const res = await fetch(`${url}/healthz`);
      if (res.status === 200) return;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error('server did not become healthy in time');
}

describe('npm start with no configuration', () => {
  let dir: string;
  let child: ChildProcess;
  let url: string;
  let output = '';

  beforeAll(async () => {
    expect(
      existsSync(join(ROOT, 'dist', 'cli', 'main.js')),
      'run `npm run build` first (npm test does)',
    ).toBe(true);
    dir = mkdtempSync(join(tmpdir(), 'gatehouse-start-'));
    const port = await freePort();
    url = `http://127.0.0.1:${port}`;
    const env: NodeJS.ProcessEnv = {
      PATH: process.env.PATH,
      HOME: process.env.HOME,
      PORT: String(port),
      LOG_FORMAT: 'json',
    };
    child = spawn(process.execPath, [BIN, 'serve'], { cwd: dir, env, stdio: ['ignore', 'pipe', 'pipe'] });
    child.stdout?.on('data', (d) => {
      output += String(d);
    });
    child.stderr?.on('data', (d) => {
      output += String(d);
    });
    await waitForHealth(url, child, 20_000);
  });

  afterAll(async () => {
    if (child && child.exitCode === null) {
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      await exited;
    }
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('says the development provider is in use, keeps data in ./data, and serves the demo page', async () => {
    expect(output).toMatch(/development/i);
    expect(existsSync(join(dir, 'data', 'gatehouse.db'))).toBe(true);
    const page = await fetch(`${url}/`);
    expect(page.status).toBe(200);
    expect(await page.text()).toContain('Sign in with Google');
    const settings = (await (await fetch(`${url}/config.json`)).json()) as { dev_provider: boolean };
    expect(settings.dev_provider).toBe(true);
  });

  it('signs in through /dev-idp and calls /chat', async () => {
    const browser = createBrowser();
    const login = await browser.get(`${url}/login`);
    expect(login.status).toBe(302);
    const authorizationUrl = login.headers.get('location')!;
    expect(authorizationUrl.startsWith(`${url}/dev-idp/`)).toBe(true);
    const { callbackUrl, initiator } = await signInAtDevIdp(browser, authorizationUrl, {
      email: 'dev@example.com',
      name: 'Dev',
    });
    const back = await browser.navigate(callbackUrl, { initiator });
    expect(back.hops[0]!.status).toBe(303);
    const chat = await browser.get(`${url}/chat`);
    expect(chat.status).toBe(200);
    expect(((await chat.json()) as { user: { user_email: string } }).user.user_email).toBe('dev@example.com');
  });

  it('stops cleanly on SIGTERM', async () => {
    const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
    child.kill('SIGTERM');
    expect(await exited).toBe(0);
  });
});
