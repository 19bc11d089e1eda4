/**
 * Three real `gatehouse serve` processes on PostgreSQL with Redis behind nginx (deploy/nginx/
 * gatehouse.conf): one is killed (SIGKILL) under a bounded load loop. Failed requests are at most
 * those in flight, nginx routes around the dead instance, no user or session is lost. Also prints
 * requests/second through nginx with 1 and 3 instances (GET /auth/verify, autocannon).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type BrowserAgent, createBrowser } from '../helpers/browser.js';
import { type CreatedDatabase, DATABASE_TARGETS } from '../helpers/databases.js';
import { type StartedDevIdp, startDevIdp } from '../helpers/dev-idp.js';
import { nginxSkipReason, type RunningNginx, renderTemplate, startNginx } from '../helpers/nginx.js';
import { freePort } from '../helpers/ports.js';
import { REDIS_URL, redisSkipReason } from '../helpers/redis.js';
import { createCertificate, type TestCertificate } from '../helpers/tls.js';
import {
  GATEHOUSE_TEMPLATE,
  rawRequest,
  sharedSecrets,
  signIn,
  startUpstreamApp,
  type UpstreamApp,
} from './cluster.js';
import { BUILT, loadLoop, measureRps, type ServeProcess, startServe } from './processes.js';

const postgres = DATABASE_TARGETS.find((t) => t.name === 'postgres')!;
const skip =
  nginxSkipReason() ??
  redisSkipReason() ??
  (postgres.available ? undefined : postgres.skipReason) ??
  (BUILT ? undefined : 'dist/ missing: run `npm run build` (npm test does)');
if (skip && process.env.GATEHOUSE_REQUIRE_SERVICES === '1')
  throw new Error(`${skip} (GATEHOUSE_REQUIRE_SERVICES=1)`);

const USERS = 8;
const CONCURRENCY = 8;

describe.skipIf(skip !== undefined)(
  `one of three instances killed under load${skip ? ` — skipped: ${skip}` : ''}`,
  () => {
    let db: CreatedDatabase;
    let idp: StartedDevIdp;
    let app: UpstreamApp;
    let cert: TestCertificate;
    let dir: string;
    let publicUrl: string;
    const procs: ServeProcess[] = [];
    const nginxes: RunningNginx[] = [];
    const sessions: { email: string; token: string; browser: BrowserAgent }[] = [];
    const cookieName = '__Host-gatehouse';

    async function nginxFor(ports: readonly number[], httpsPort: number): Promise<RunningNginx> {
      const sub = mkdtempSync(join(dir, 'nginx-'));
      const conf = renderTemplate(
        GATEHOUSE_TEMPLATE,
        {
          GATEHOUSE_SERVER_NAME: 'localhost',
          GATEHOUSE_LISTEN: `127.0.0.1:${httpsPort}`,
          GATEHOUSE_HTTP_LISTEN: `127.0.0.1:${await freePort()}`,
          GATEHOUSE_TLS_CERT: cert.certPath,
          GATEHOUSE_TLS_KEY: cert.keyPath,
          PROTECTED_APP: app.url,
        },
        ports.map((p) => `127.0.0.1:${p}`),
      );
      const nginx = await startNginx({
        dir: sub,
        confs: { 'gatehouse.conf': conf },
        waitForPorts: [httpsPort],
      });
      nginxes.push(nginx);
      return nginx;
    }

    beforeAll(async () => {
      dir = mkdtempSync(join(tmpdir(), 'gatehouse-kill-'));
      cert = createCertificate(dir);
      db = await postgres.create();
      const httpsPort = await freePort();
      publicUrl = `https://localhost:${httpsPort}`;
      idp = await startDevIdp({ host: 'localhost', redirectUris: [`${publicUrl}/auth`] });
      app = await startUpstreamApp();
      const env = {
        NODE_ENV: 'test',
        PUBLIC_URL: publicUrl,
        DATABASE_URL: db.url,
        REDIS_URL: REDIS_URL!,
        TRUST_PROXY: '127.0.0.1',
        OIDC_ISSUER: idp.issuer,
        GOOGLE_CLIENT_ID: idp.clientId,
        GOOGLE_CLIENT_SECRET: idp.clientSecret,
        LOG_LEVEL: 'warn',
        LOG_FORMAT: 'json',
        RATE_LIMIT_AUTH: '100000/1m',
        RATE_LIMIT_API: '1000000/1m',
        ...sharedSecrets(),
      };
      // Each process is tracked as soon as it is up, so afterAll stops it even if a later one fails.
      const start = async () => {
        procs.push(await startServe(env));
      };
      await start();
      await Promise.all([start(), start()]);
      await nginxFor(
        procs.map((p) => p.port),
        httpsPort,
      );
      for (let i = 0; i < USERS; i++) {
        const browser = createBrowser({ ca: cert.cert });
        const email = `load-${i}@example.com`;
        const { token } = await signIn({ publicUrl, cookieName }, browser, email);
        sessions.push({ email, token, browser });
      }
    }, 150_000);

    afterAll(async () => {
      for (const n of nginxes) await n.stop();
      for (const p of procs) await p.stop();
      await idp?.close();
      await app?.close();
      await db?.drop();
      rmSync(dir, { recursive: true, force: true });
    });

    it('measures requests/second through nginx with 1 and 3 instances (printed, not asserted)', async () => {
      const single = await freePort();
      await nginxFor([procs[0]!.port], single);
      const headers = { cookie: `${cookieName}=${sessions[0]!.token}` };
      const one = await measureRps(`https://localhost:${single}/auth/verify`, headers, 3);
      const three = await measureRps(`${publicUrl}/auth/verify`, headers, 3);
      for (const [n, r] of [
        [1, one],
        [3, three],
      ] as const) {
        console.log(
          `[deploy] GET /auth/verify through nginx, ${n} instance(s): ${Math.round(r.rps)} req/s, p50 ${r.p50} ms, p99 ${r.p99} ms, non-2xx ${r.non2xx}, errors ${r.errors}`,
        );
      }
      expect(one.non2xx + three.non2xx).toBe(0);
      expect(one.rps).toBeGreaterThan(0);
      expect(three.rps).toBeGreaterThan(0);
    });

    it('loses only requests in flight when an instance is killed; nginx routes around it; nothing is lost', async () => {
      const victim = procs[1]!;
      let killedAt = -1;
      const result = await loadLoop({
        url: (i) => `${publicUrl}/${i % 2 === 0 ? 'me' : 'auth/verify'}`,
        headers: (i) => ({ cookie: `${cookieName}=${sessions[i % USERS]!.token}` }),
        ca: cert.cert,
        concurrency: CONCURRENCY,
        total: 1_500,
        deadlineMs: 20_000,
        onProgress: (done) => {
          if (killedAt === -1 && done >= 300) {
            killedAt = done;
            victim.child.kill('SIGKILL');
          }
        },
      });
      expect(await victim.exited).toBeNull(); // killed by the signal, not exited
      console.log(
        `[deploy] kill one of three under load: ${result.ok} ok, ${result.failed} failed (${JSON.stringify(result.statuses)}), killed after ${killedAt}`,
      );
      expect(killedAt).toBeGreaterThan(0);
      // At most the requests in flight at the kill can fail…
      expect(result.failed).toBeLessThanOrEqual(CONCURRENCY);
      // …and once nginx has marked the instance down, everything succeeds.
      const tail = result.timeline.slice(killedAt + 2 * CONCURRENCY);
      expect(tail.length).toBeGreaterThan(300);
      expect(tail.every(Boolean)).toBe(true);

      // No user or session lost: every user is still signed in, on the surviving instances.
      for (const s of sessions) {
        const me = await s.browser.get(`${publicUrl}/me`);
        expect(me.status).toBe(200);
        expect(((await me.json()) as { email: string }).email).toBe(s.email);
        for (const p of [procs[0]!, procs[2]!]) {
          const direct = await rawRequest(`http://127.0.0.1:${p.port}/auth/verify`, {
            headers: { authorization: `Bearer ${s.token}` },
          });
          expect(direct.status).toBe(200);
        }
      }
    });
  },
);
