/**
 * The README's proxy-mode quick start, run for real: the FastAPI example (Debian's Python
 * packages) and the Node example, each behind Gatehouse in proxy mode (`UPSTREAM_URL`, own
 * routes under /_gatehouse). A user signs in through Gatehouse with the embedded development
 * provider, and the upstream — which has no OAuth code — answers with that user's email, taken
 * from the verified X-Gatehouse-Assertion; without a session nothing reaches it, and after
 * signing out the old cookie gets nothing through either.
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startGatehouse, type TestGatehouse } from '../helpers/gatehouse.js';
import { freePort } from '../helpers/ports.js';
import { signInThroughDevIdp } from '../helpers/sign-in.js';

const ROOT = join(import.meta.dirname, '..', '..');
const PYTHON = '/usr/bin/python3';
const REQUIRE_SERVICES = process.env.GATEHOUSE_REQUIRE_SERVICES === '1';
const pythonReady =
  spawnSync(PYTHON, ['-c', 'import fastapi, uvicorn, jwt, cryptography'], { encoding: 'utf8' }).status === 0;
if (!pythonReady && REQUIRE_SERVICES) {
  throw new Error(
    'python3-fastapi, python3-uvicorn or python3-jwt not installed (GATEHOUSE_REQUIRE_SERVICES=1)',
  );
}
if (!pythonReady)
  console.warn('[examples] FastAPI behind proxy mode skipped: Debian Python packages missing');

const EXAMPLES = [
  {
    name: 'fastapi',
    ready: pythonReady,
    start: (port: number, env: Record<string, string>): ChildProcess =>
      spawn(PYTHON, ['-m', 'uvicorn', 'app:app', '--host', '127.0.0.1', '--port', String(port)], {
        cwd: join(ROOT, 'examples', 'fastapi'),
        env: { PATH: '/usr/bin:/bin', ...env },
        stdio: ['ignore', 'ignore', 'pipe'],
      }),
  },
  {
    name: 'node',
    ready: true,
    start: (port: number, env: Record<string, string>): ChildProcess =>
      spawn(process.execPath, ['server.mjs'], {
        cwd: join(ROOT, 'examples', 'node'),
        env: { PATH: process.env.PATH ?? '/usr/bin:/bin', PORT: String(port), ...env },
        stdio: ['ignore', 'ignore', 'pipe'],
      }),
  },
];

async function waitFor(url: string, child: ChildProcess): Promise<void> {
  const deadline = Date.now() + 20_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`the example exited (${child.exitCode})`);
    const ok = await fetch(url).then(
      (r) => r.status === 200,
      () => false,
    );
    if (ok) return;
    if (Date.now() > deadline) throw new Error(`the example did not answer at ${url}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

for (const example of EXAMPLES) {
  describe.skipIf(!example.ready)(`examples/${example.name} behind proxy mode`, () => {
    let gh: TestGatehouse;
    let child: ChildProcess;

    beforeAll(async () => {
      const port = await freePort();
      const upstreamPort = await freePort();
      const gatehouse = `http://127.0.0.1:${port}`;
      const upstream = `http://127.0.0.1:${upstreamPort}`;
      // What the README tells the upstream: the issuer (PUBLIC_URL + prefix), its own origin as
      // the audience, and the JWKS URL.
      child = example.start(upstreamPort, {
        GATEHOUSE_ISSUER: `${gatehouse}/_gatehouse`,
        GATEHOUSE_AUDIENCE: upstream,
        GATEHOUSE_JWKS_URL: `${gatehouse}/_gatehouse/.well-known/jwks.json`,
      });
      await waitFor(`${upstream}/health`, child);
      gh = await startGatehouse({
        env: { PORT: String(port), PUBLIC_URL: gatehouse, UPSTREAM_URL: upstream },
      });
    }, 60_000);
    afterAll(async () => {
      child?.kill();
      await gh?.close();
    });

    it('signs in through Gatehouse and the upstream answers with the verified email', async () => {
      const anonymous = await fetch(`${gh.url}/chat`, { headers: { accept: 'application/json' } });
      expect(anonymous.status).toBe(401);

      const { browser, token } = await signInThroughDevIdp(`${gh.url}/_gatehouse`, {
        email: 'ada@example.com',
        name: 'Ada',
        cookieName: gh.config.cookie.name,
      });
      const chat = await browser.get(`${gh.url}/chat`);
      expect(chat.status).toBe(200);
      const body = (await chat.json()) as { message: string; user: { user_email: string } };
      expect(body).toMatchObject({ message: 'Welcome!', user: { user_email: 'ada@example.com' } });

      // Signed out: the same browser (and its old cookie) gets nothing through.
      const out = await browser.post(`${gh.url}/_gatehouse/logout`, '', { headers: { origin: gh.url } });
      expect(out.status).toBe(204);
      const after = await fetch(`${gh.url}/chat`, {
        headers: { accept: 'application/json', cookie: `${gh.config.cookie.name}=${token}` },
      });
      expect(after.status).toBe(401);
      expect(((await after.json()) as { code: string }).code).toBe('session_revoked');
    });
  });
}
