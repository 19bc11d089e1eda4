/**
 * Three Gatehouse instances on one database behind real nginx with TLS (deploy/nginx/
 * gatehouse.conf, rendered as users render it): sign-in through nginx, every instance serves and
 * accepts the session, the cookie is `__Host-` and `Secure` although nginx talks plain HTTP to
 * Gatehouse, and a revocation on one instance is refused by all within 1 s — with Redis (pub/sub)
 * and without it (database polling). The measured delays are printed.
 *
 * Runs on PostgreSQL and MariaDB (TEST_POSTGRES_URL / TEST_MYSQL_URL), with TEST_REDIS_URL and
 * nginx; skipped with a message otherwise, failing under GATEHOUSE_REQUIRE_SERVICES=1.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type CreatedDatabase, DATABASE_TARGETS } from '../helpers/databases.js';
import { nginxSkipReason } from '../helpers/nginx.js';
import { REDIS_URL, redisClient, redisSkipReason } from '../helpers/redis.js';
import {
  type Cluster,
  rawRequest,
  signIn,
  signOut,
  startCluster,
  timesUntilRefusedEverywhere,
} from './cluster.js';

const skip = nginxSkipReason() ?? redisSkipReason();
const REVOCATION_BOUND_MS = 1_000;
/** Polling answers within the interval plus one query; this is the slack for a loaded CI machine. */
const SCHEDULING_SLACK_MS = 250;

const targets = DATABASE_TARGETS.filter((t) => t.name !== 'sqlite');

for (const target of targets) {
  for (const mode of ['redis', 'polling'] as const) {
    const title = `scale-out behind nginx [${target.name}, ${mode}]`;
    if (skip || !target.available) {
      if (!skip && process.env.GATEHOUSE_REQUIRE_SERVICES === '1') {
        describe(title, () => {
          it(`needs ${target.name}`, () => {
            throw new Error(`${target.skipReason} (GATEHOUSE_REQUIRE_SERVICES=1)`);
          });
        });
      } else {
        describe.skip(`${title} — skipped: ${skip ?? target.skipReason}`, () => {});
      }
      continue;
    }

    describe(title, () => {
      let db: CreatedDatabase;
      let cluster: Cluster;

      beforeAll(async () => {
        db = await target.create();
        cluster = await startCluster({
          databaseUrl: db.url,
          instances: 3,
          redisUrl: mode === 'redis' ? REDIS_URL : undefined,
        });
      });

      afterAll(async () => {
        await cluster?.close();
        await db?.drop();
      });

      it('signs in through nginx; every instance serves and accepts the __Host-, Secure cookie', async () => {
        const browser = cluster.browser();
        const { token, setCookie } = await signIn(cluster, browser, `ada-${mode}@example.com`, 'Ada');
        expect(cluster.cookieName).toBe('__Host-gatehouse');
        expect(setCookie).toMatch(/^__Host-gatehouse=/);
        expect(setCookie).toMatch(/;\s*Secure/i);
        expect(setCookie).toMatch(/;\s*HttpOnly/i);
        expect(setCookie).toMatch(/;\s*Path=\//i);
        expect(setCookie).not.toMatch(/Domain=/i);

        const before = cluster.instances.map((gh) => countRequests(gh.logs, '/me'));
        for (let i = 0; i < 12; i++) {
          const me = await browser.get(`${cluster.publicUrl}/me`);
          expect(me.status).toBe(200);
          expect(((await me.json()) as { email: string }).email).toBe(`ada-${mode}@example.com`);
        }
        const served = cluster.instances.map((gh, i) => countRequests(gh.logs, '/me') - before[i]!);
        expect(served.every((n) => n > 0)).toBe(true);

        // Each instance, straight (plain HTTP, bypassing nginx), accepts the same token.
        for (let i = 0; i < cluster.instances.length; i++) {
          const res = await rawRequest(`${cluster.direct(i)}/auth/verify`, {
            headers: { authorization: `Bearer ${token}` },
          });
          expect(res.status).toBe(200);
        }
      });

      it(`refuses a signed-out session on every instance within ${REVOCATION_BOUND_MS} ms`, async () => {
        const delays: number[] = [];
        for (let round = 0; round < 3; round++) {
          const browser = cluster.browser();
          const { token } = await signIn(cluster, browser, `bob-${round}-${mode}@example.com`);
          // Every instance accepts it first (and so has nothing cached that would refuse it).
          for (let i = 0; i < 3; i++) {
            const ok = await rawRequest(`${cluster.direct(i)}/auth/verify`, {
              headers: { authorization: `Bearer ${token}` },
            });
            expect(ok.status).toBe(200);
          }
          expect(await signOut(cluster, browser)).toBe(204);
          delays.push(...(await timesUntilRefusedEverywhere(cluster, token, performance.now())));
        }
        const max = Math.max(...delays);
        console.log(
          `[deploy] revocation delay (${target.name}, ${mode}): max ${max.toFixed(1)} ms, median ${median(delays).toFixed(1)} ms over ${delays.length} instance-checks`,
        );
        expect(max).toBeLessThan(REVOCATION_BOUND_MS + (mode === 'polling' ? SCHEDULING_SLACK_MS : 0));
      });

      it('sign out everywhere and disabling a user reach every instance too', async () => {
        const browser = cluster.browser();
        const email = `carol-${mode}@example.com`;
        const first = await signIn(cluster, browser, email);
        const other = cluster.browser();
        const second = await signIn(cluster, other, email);

        const all = await rawRequest(`${cluster.publicUrl}/sessions`, {
          method: 'DELETE',
          headers: { cookie: `${cluster.cookieName}=${first.token}`, origin: cluster.publicUrl },
          ca: cluster.cert.cert,
        });
        expect(all.status).toBe(204);
        let since = performance.now();
        for (const token of [first.token, second.token]) {
          const each = await timesUntilRefusedEverywhere(cluster, token, since);
          expect(Math.max(...each)).toBeLessThan(REVOCATION_BOUND_MS + SCHEDULING_SLACK_MS);
        }

        // An operator disables the user on instance 0 (what `gatehouse users disable` does).
        const third = await signIn(cluster, cluster.browser(), email);
        const [user] = await cluster.instances[0]!.gatehouse.store.users.findByEmail(email);
        const userId = user!.id;
        await cluster.instances[0]!.gatehouse.accounts.disable(userId, { reason: 'operator' });
        since = performance.now();
        const each = await timesUntilRefusedEverywhere(cluster, third.token, since);
        expect(Math.max(...each)).toBeLessThan(REVOCATION_BOUND_MS + SCHEDULING_SLACK_MS);
      });

      if (mode === 'redis') {
        it('believes X-Forwarded-* from nginx only: forged headers sent straight to an instance change nothing', async () => {
          const redis = redisClient();
          try {
            const octet = () => 10 + Math.floor(Math.random() * 240);
            const direct = `127.0.${octet()}.${octet()}`;
            const viaNginx = `127.0.${octet()}.${octet()}`;
            const forged = {
              'x-forwarded-for': '203.0.113.7',
              'x-forwarded-proto': 'http',
              'x-forwarded-host': 'evil.example',
              'x-forwarded-port': '8443',
            };
            // Straight to an instance from `direct`: the socket address counts, the URLs stay.
            const res = await rawRequest(`${cluster.direct(1)}/login`, {
              headers: forged,
              localAddress: direct,
            });
            expect(res.status).toBe(302);
            const location = new URL(String(res.headers.location));
            expect(location.searchParams.get('redirect_uri')).toBe(`${cluster.publicUrl}/auth`);
            expect(String(res.headers['set-cookie'])).toMatch(/;\s*Secure/i);
            expect(await redis.get(`gatehouse:rl:GET/login:${direct}`)).toBe('1');
            expect(await redis.exists('gatehouse:rl:GET/login:203.0.113.7')).toBe(0);

            // Through nginx from `viaNginx`: nginx's X-Forwarded-For is believed (the key is the
            // real client, not nginx's 127.0.0.1), and the client's forged one was replaced.
            const proxied = await rawRequest(`${cluster.publicUrl}/login`, {
              headers: forged,
              localAddress: viaNginx,
              ca: cluster.cert.cert,
            });
            expect(proxied.status).toBe(302);
            expect(new URL(String(proxied.headers.location)).searchParams.get('redirect_uri')).toBe(
              `${cluster.publicUrl}/auth`,
            );
            expect(await redis.get(`gatehouse:rl:GET/login:${viaNginx}`)).toBe('1');
            expect(await redis.exists('gatehouse:rl:GET/login:203.0.113.7')).toBe(0);
          } finally {
            redis.disconnect();
          }
        });

        it('reports Redis in /readyz', async () => {
          const res = await rawRequest(`${cluster.direct(0)}/readyz`);
          const body = JSON.parse(res.body) as { checks: Record<string, { ok: boolean; detail?: string }> };
          expect(res.status).toBe(200);
          expect(body.checks.redis?.ok).toBe(true);
        });
      }
    });
  }
}

function countRequests(logs: readonly Record<string, unknown>[], route: string): number {
  return logs.filter((l) => l.msg === 'request' && l.route === route && l.status === 200).length;
}

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? 0;
}
