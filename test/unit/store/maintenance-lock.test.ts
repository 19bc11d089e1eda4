/**
 * The maintenance leader lock: among stores (instances) on one database, one runs the purge at a
 * time, the others skip the round without waiting; the lock is released when the work settles,
 * also when it fails; a database that is down is an outage, not a crash.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GatehouseError } from '../../../src/errors.js';
import { type OpenedStore, openStore } from '../../../src/store/index.js';
import { databaseConfigFor, describeEachDatabase } from '../../helpers/databases.js';
import { nextEpoch, signedIn, useStore } from './setup.js';

function deferred(): { promise: Promise<void>; resolve: () => void } {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => {
    resolve = r;
  });
  return { promise, resolve };
}

describeEachDatabase('Store.withMaintenanceLock', (target) => {
  const ctx = useStore(target);
  let second: OpenedStore;
  beforeAll(async () => {
    second = await openStore(ctx.database.config);
  });
  afterAll(async () => second?.close());

  it('lets one instance in at a time; the other skips without waiting', async () => {
    const inside = deferred();
    const release = deferred();
    const first = ctx.store.withMaintenanceLock(async () => {
      inside.resolve();
      await release.promise;
      return 'first';
    });
    await inside.promise;
    const started = Date.now();
    expect(await second.withMaintenanceLock(async () => 'second')).toEqual({ ran: false });
    expect(await ctx.store.withMaintenanceLock(async () => 'again')).toEqual({ ran: false });
    expect(Date.now() - started).toBeLessThan(2000);
    release.resolve();
    expect(await first).toEqual({ ran: true, value: 'first' });
    expect(await second.withMaintenanceLock(async () => 'second')).toEqual({ ran: true, value: 'second' });
  });

  it('releases the lock when the work throws, and passes the error through', async () => {
    const boom = new Error('purge failed');
    await expect(
      ctx.store.withMaintenanceLock(async () => {
        throw boom;
      }),
    ).rejects.toBe(boom);
    expect(await second.withMaintenanceLock(async () => 1)).toEqual({ ran: true, value: 1 });
  });

  it('does not hold a pool connection: the work can use the store, even with a pool of one', async () => {
    const small = await openStore({ ...ctx.database.config, poolSize: 1 });
    try {
      const at = nextEpoch();
      await signedIn(small, at);
      const result = await small.withMaintenanceLock(() =>
        small.sessions.purgeExpired(new Date(at + 400 * 86_400_000)),
      );
      expect(result).toEqual({ ran: true, value: 1 });
    } finally {
      await small.close();
    }
  });

  it('runs exactly one of many concurrent contenders', async () => {
    const release = deferred();
    let entered = 0;
    let settled = 0;
    const contenders = [ctx.store, second, ctx.store, second, second].map((s) =>
      s
        .withMaintenanceLock(async () => {
          entered++;
          await release.promise;
        })
        .finally(() => {
          settled++;
        }),
    );
    // The winner waits inside until released; the four losers must come back on their own.
    const deadline = Date.now() + 5000;
    while ((entered < 1 || settled < 4) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    expect({ entered, settled }).toEqual({ entered: 1, settled: 4 });
    release.resolve();
    const results = await Promise.all(contenders);
    expect(results.filter((r) => r.ran)).toHaveLength(1);
    expect(entered).toBe(1);
  });
});

describe('Store.withMaintenanceLock with the database down', () => {
  for (const url of ['mysql://root@127.0.0.1:1/gatehouse', 'postgres://postgres@127.0.0.1:1/gatehouse']) {
    it(`${url.split(':')[0]}: rejects with service_unavailable and never runs the work`, async () => {
      const store = await openStore(databaseConfigFor(url, { queryTimeoutSeconds: 2 }));
      let ran = false;
      try {
        const err = await store
          .withMaintenanceLock(async () => {
            ran = true;
          })
          .catch((e: unknown) => e);
        expect(err).toBeInstanceOf(GatehouseError);
        expect(err).toMatchObject({ code: 'service_unavailable', status: 503 });
        expect(ran).toBe(false);
      } finally {
        await store.close();
      }
    });
  }
});
