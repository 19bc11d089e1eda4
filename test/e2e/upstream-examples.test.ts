/**
 * The upstream examples, run for real: examples/fastapi (Debian's Python packages) and
 * examples/node (jose), each behind real nginx running deploy/nginx/assertion.conf, which asks
 * Gatehouse's /auth/verify and passes X-Gatehouse-Assertion on. A user signs in through nginx and
 * the example answers with their email, taken from a verified signature; assertions that are
 * forged, expired or for another audience, sent straight to the example, get 401; a signed-out
 * session gets nothing through.
 *
 * The examples know only GATEHOUSE_ISSUER, GATEHOUSE_AUDIENCE and GATEHOUSE_JWKS_URL, so they
 * run unchanged behind Gatehouse's proxy mode.
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AssertionIssuer } from '../../src/assertion/issuer.js';
import { type AssertionKey, generateAssertionKey, keyToText } from '../../src/assertion/keys.js';
import { type BrowserAgent, createBrowser } from '../helpers/browser.js';
import { type StartedDevIdp, signInAtDevIdp, startDevIdp } from '../helpers/dev-idp.js';
import { startGatehouse, type TestGatehouse } from '../helpers/gatehouse.js';
import { nginxSkipReason, type RunningNginx, renderTemplate, startNginx } from '../helpers/nginx.js';
import { freePort } from '../helpers/ports.js';
import { rawRequest } from '../security/support/rig.js';

const ROOT = join(import.meta.dirname, '..', '..');
const RECIPE = join(ROOT, 'deploy', 'nginx', 'assertion.conf');
const PYTHON = '/usr/bin/python3';
const REQUIRE_SERVICES = process.env.GATEHOUSE_REQUIRE_SERVICES === '1';

/** Debian's python3-fastapi, python3-uvicorn and python3-jwt (with cryptography), or why not. */
function pythonSkipReason(): string | undefined {
  const probe = spawnSync(PYTHON, ['-c', 'import fastapi, uvicorn, jwt, cryptography'], { encoding: 'utf8' });
  if (probe.status === 0) return undefined;
  const reason = 'python3-fastapi, python3-uvicorn or python3-jwt not installed (apt-get install them)';
  if (REQUIRE_SERVICES) throw new Error(`${reason} (GATEHOUSE_REQUIRE_SERVICES=1)`);
  console.warn(`[examples] FastAPI example skipped: ${reason}`);
  return reason;
}

interface Example {
  readonly name: string;
  readonly skip: string | undefined;
  start(port: number, env: Record<string, string>): ChildProcess;
}

const nginxSkip = nginxSkipReason();
const EXAMPLES: Example[] = [
  {
    name: 'fastapi',
    skip: pythonSkipReason(),
    start: (port, env) =>
      spawn(PYTHON, ['-m', 'uvicorn', 'app:app', '--host', '127.0.0.1', '--port', String(port)], {
        cwd: join(ROOT, 'examples', 'fastapi'),
        env: { PATH: '/usr/bin:/bin', ...env },
        stdio: ['ignore', 'ignore', 'pipe'],
      }),
  },
  {
    name: 'node',
    skip: undefined,
    start: (port, env) =>
      spawn(process.execPath, ['server.mjs'], {
        cwd: join(ROOT, 'examples', 'node'),
        env: { PATH: process.env.PATH ?? '/usr/bin:/bin', PORT: String(port), ...env },
        stdio: ['ignore', 'ignore', 'pipe'],
      }),
  },
];

/** Polls `url` until it answers 200, with a deadline (the example has started). */
async function waitForHealth(url: string, child: ChildProcess, output: () => string): Promise<void> {
  const deadline = Date.now() + 20_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`the example exited (${child.exitCode}):\n${output()}`);
    const ok = await rawRequest(url).then(
      (res) => res.status === 200,
      () => false,
    );
    if (ok) return;
    if (Date.now() > deadline) throw new Error(`the example did not answer at ${url}:\n${output()}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

interface Stack {
  readonly publicUrl: string;
  readonly audience: string;
  readonly exampleUrl: string;
  readonly gh: TestGatehouse;
  readonly key: AssertionKey;
  readonly idp: StartedDevIdp;
  readonly cookieName: string;
  close(): Promise<void>;
}

async function startStack(example: Example): Promise<Stack> {
  const dir = mkdtempSync(join(tmpdir(), `gatehouse-example-${example.name}-`));
  const closers: (() => Promise<void>)[] = [async () => rmSync(dir, { recursive: true, force: true })];
  const close = async () => {
    for (const fn of closers.reverse()) await fn().catch(() => {});
  };
  try {
    const nginxPort = await freePort();
    const examplePort = await freePort();
    const publicUrl = `http://127.0.0.1:${nginxPort}`;
    const audience = `${publicUrl}/api/`;
    const idp = await startDevIdp({ host: 'localhost', redirectUris: [`${publicUrl}/auth`] });
    closers.push(() => idp.close());
    const key = generateAssertionKey();
    const gh = await startGatehouse({
      databaseUrl: `sqlite:${join(dir, 'gatehouse.db')}`,
      env: {
        PUBLIC_URL: publicUrl,
        TRUST_PROXY: '127.0.0.1',
        OIDC_ISSUER: idp.issuer,
        GOOGLE_CLIENT_ID: idp.clientId,
        GOOGLE_CLIENT_SECRET: idp.clientSecret,
        ASSERTION_KEYS: keyToText(key),
      },
    });
    closers.push(() => gh.close());
    const exampleUrl = `http://127.0.0.1:${examplePort}`;
    const conf = renderTemplate(
      RECIPE,
      {
        ASSERTION_LISTEN: `127.0.0.1:${nginxPort}`,
        ASSERTION_SERVER_NAME: '127.0.0.1',
        PROTECTED_APP: `${exampleUrl}/`,
        APP_AUDIENCE: audience,
      },
      [`127.0.0.1:${gh.config.port}`],
    );
    const nginx: RunningNginx = await startNginx({
      dir,
      confs: { 'assertion.conf': conf },
      waitForPorts: [nginxPort],
    });
    closers.push(() => nginx.stop());

    let output = '';
    const child = example.start(examplePort, {
      GATEHOUSE_ISSUER: publicUrl,
      GATEHOUSE_AUDIENCE: audience,
      // The example reaches Gatehouse directly, as a service on the same network would.
      GATEHOUSE_JWKS_URL: `http://127.0.0.1:${gh.config.port}/.well-known/jwks.json`,
    });
    child.stderr?.on('data', (chunk: Buffer) => {
      output += chunk.toString();
    });
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    closers.push(async () => {
      if (child.exitCode === null && child.pid !== undefined) {
        child.kill('SIGTERM');
        await exited;
      }
    });
    await waitForHealth(`${exampleUrl}/health`, child, () => output);
    return { publicUrl, audience, exampleUrl, gh, key, idp, cookieName: gh.config.cookie.name, close };
  } catch (err) {
    await close();
    throw err;
  }
}

async function signIn(
  stack: Stack,
  email: string,
  name: string,
): Promise<{ browser: BrowserAgent; cookie: string }> {
  const browser = createBrowser();
  const login = await browser.get(`${stack.publicUrl}/login`);
  expect(login.status).toBe(302);
  const { callbackUrl, initiator } = await signInAtDevIdp(browser, login.headers.get('location')!, {
    email,
    name,
  });
  const callback = await browser.navigate(callbackUrl, { initiator, stopAt: () => true });
  expect(callback.hops[0]!.status).toBe(303);
  const token = browser.cookies('127.0.0.1').find((c) => c.name === stack.cookieName)?.value;
  if (!token) throw new Error('no session cookie after sign-in');
  return { browser, cookie: `${stack.cookieName}=${token}` };
}

for (const example of EXAMPLES) {
  const skip = nginxSkip ?? example.skip;
  describe.skipIf(skip !== undefined)(
    `examples/${example.name} behind nginx auth_request${skip ? ` — skipped: ${skip}` : ''}`,
    () => {
      let stack: Stack;
      beforeAll(async () => {
        stack = await startStack(example);
      }, 60_000);
      afterAll(async () => {
        await stack?.close();
      });

      it("answers /chat and /me with the signed-in user's identity, verified by signature", async () => {
        const { cookie } = await signIn(stack, 'ada@example.com', 'Ada Lovelace');
        const chat = await rawRequest(`${stack.publicUrl}/api/chat`, {
          headers: { cookie, 'x-gatehouse-assertion': 'forged.by.client' },
        });
        expect(chat.status, chat.body).toBe(200);
        const body = JSON.parse(chat.body) as {
          message: string;
          user: { user_email: string; user_id: string };
        };
        expect(body.message).toBe('Welcome!');
        expect(body.user.user_email).toBe('ada@example.com');
        const me = JSON.parse(
          (await rawRequest(`${stack.publicUrl}/api/me`, { headers: { cookie } })).body,
        ) as {
          email: string;
          name: string;
          sub: string;
        };
        expect(me).toMatchObject({ email: 'ada@example.com', name: 'Ada Lovelace', sub: body.user.user_id });
      });

      // The FastAPI example's user-specific route (the Node one keeps to /chat and /me).
      if (example.name === 'fastapi')
        it('keeps each user to their own notes', async () => {
          const ada = await signIn(stack, 'ada-notes@example.com', 'Ada');
          const bob = await signIn(stack, 'bob-notes@example.com', 'Bob');
          const post = await rawRequest(`${stack.publicUrl}/api/notes`, {
            method: 'POST',
            headers: { cookie: ada.cookie, 'content-type': 'application/json' },
            body: JSON.stringify({ text: 'only for Ada' }),
          });
          expect(post.status, post.body).toBe(201);
          const mine = JSON.parse(
            (await rawRequest(`${stack.publicUrl}/api/notes`, { headers: { cookie: ada.cookie } })).body,
          );
          expect(mine).toEqual({ user_email: 'ada-notes@example.com', notes: ['only for Ada'] });
          const theirs = JSON.parse(
            (await rawRequest(`${stack.publicUrl}/api/notes`, { headers: { cookie: bob.cookie } })).body,
          );
          expect(theirs).toEqual({ user_email: 'bob-notes@example.com', notes: [] });
        });

      it('refuses, when sent straight to it, a missing, forged, expired, tampered or wrong-audience assertion', async () => {
        const nowSeconds = Math.floor(Date.now() / 1000);
        const real = new AssertionIssuer({ keys: [stack.key], issuer: stack.publicUrl });
        // Same kid, another key: a forgery that names a published key.
        const forger = new AssertionIssuer({
          keys: [{ ...generateAssertionKey(), kid: stack.key.kid }],
          issuer: stack.publicUrl,
        });
        const subject = {
          id: 'u-direct',
          email: 'direct@example.com',
          name: null,
          hostedDomain: null,
          sessionId: 's-direct',
          tokenExp: nowSeconds + 600,
        };
        const claims = (aud: string, iat: number, exp: number) => real.claimsFor(subject, aud, iat, exp);
        const call = (assertion?: string) =>
          rawRequest(`${stack.exampleUrl}/chat`, {
            headers: assertion === undefined ? {} : { 'x-gatehouse-assertion': assertion },
          });

        // The control: a genuine assertion for this audience is accepted.
        const good = real.sign(claims(stack.audience, nowSeconds, nowSeconds + 300));
        const accepted = await call(good);
        expect(accepted.status, accepted.body).toBe(200);
        expect(JSON.parse(accepted.body).user.user_email).toBe('direct@example.com');

        const [h, p, s] = good.split('.');
        const payload = JSON.parse(Buffer.from(p!, 'base64url').toString()) as Record<string, unknown>;
        const tampered = `${h}.${Buffer.from(JSON.stringify({ ...payload, email: 'admin@example.com' })).toString('base64url')}.${s}`;
        const refused = {
          missing: undefined,
          garbage: 'not-a-jwt',
          forged: forger.sign(claims(stack.audience, nowSeconds, nowSeconds + 300)),
          expired: real.sign(claims(stack.audience, nowSeconds - 3600, nowSeconds - 3000)),
          'other audience': real.sign(claims('https://other.example.com/', nowSeconds, nowSeconds + 300)),
          'other issuer': new AssertionIssuer({ keys: [stack.key], issuer: 'https://evil.example.com' }).sign(
            {
              ...claims(stack.audience, nowSeconds, nowSeconds + 300),
              iss: 'https://evil.example.com',
            },
          ),
          tampered,
        };
        for (const [label, assertion] of Object.entries(refused)) {
          const res = await call(assertion);
          expect(res.status, `${label}: ${res.body}`).toBe(401);
          expect(res.body).not.toContain('direct@example.com');
        }
      });

      it('lets nothing through for a signed-out session', async () => {
        const { browser, cookie } = await signIn(stack, 'leaving@example.com', 'Leaving');
        expect((await rawRequest(`${stack.publicUrl}/api/chat`, { headers: { cookie } })).status).toBe(200);
        const logout = await browser.post(`${stack.publicUrl}/logout`, '', {
          headers: { origin: stack.publicUrl },
        });
        expect(logout.status).toBe(204);
        const after = await rawRequest(`${stack.publicUrl}/api/chat`, {
          headers: { cookie, accept: 'application/json' },
        });
        expect(after.status).toBe(401);
        // Gatehouse's problem, not the example's answer: the request never reached it.
        expect(String(after.headers['content-type'])).toContain('application/problem+json');
        expect(after.body).not.toContain('Welcome!');
        const anonymous = await rawRequest(`${stack.publicUrl}/api/chat`, {
          headers: { accept: 'application/json' },
        });
        expect(anonymous.status).toBe(401);
      });
    },
  );
}
