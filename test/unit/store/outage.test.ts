/**
 * Outages (SECURITY.md H.38): an unreachable database, a refused connection or a query that
 * times out makes every Store method reject with `service_unavailable` (503 + Retry-After), and
 * the store serves again by itself once the database answers.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import mysql from 'mysql2/promise';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GatehouseError } from '../../../src/errors.js';
import { type OpenedStore, openStore } from '../../../src/store/index.js';
import { type CreatedDatabase, databaseConfigFor, describeEachDatabase } from '../../helpers/databases.js';
import { profile, sessionInput } from './setup.js';
import { startStallProxy } from './stall-proxy.js';

async function expectUnavailable(promise: Promise<unknown>): Promise<void> {
  const err = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(GatehouseError);
  expect(err).toMatchObject({
    code: 'service_unavailable',
    status: 503,
    retryAfterSeconds: 5,
    reason: 'database_unavailable',
    detail: 'The database is unavailable',
  });
  expect((err as Error).cause).toBeDefined();
}

/** Every kind of call, read and write, transactional or not. */
async function expectAllUnavailable(store: OpenedStore): Promise<void> {
  const now = new Date();
  await expectUnavailable(store.ping());
  await expectUnavailable(store.migrate());
  await expectUnavailable(store.migrationStatus());
  await expectUnavailable(store.signIn(profile(), sessionInput(now.getTime())));
  await expectUnavailable(store.consumeTransaction('tx', now));
  await expectUnavailable(store.users.count());
  await expectUnavailable(store.sessions.findWithUser('x'));
  await expectUnavailable(store.sessions.revokeAll(now, 'operator'));
  await expectUnavailable(store.events.record({ type: 'sign_out', at: now }));
  await expectUnavailable(store.chat.list('x'));
}

describe('Store outage: nothing listening', () => {
  for (const url of ['mysql://root@127.0.0.1:1/gatehouse', 'postgres://postgres@127.0.0.1:1/gatehouse']) {
    it(`${url.split(':')[0]}: rejects every call with service_unavailable, quickly`, async () => {
      const store = await openStore(databaseConfigFor(url, { queryTimeoutSeconds: 2 }));
      try {
        const started = Date.now();
        await expectAllUnavailable(store);
        expect(Date.now() - started).toBeLessThan(5000);
      } finally {
        await store.close();
      }
    });
  }

  it('sqlite: an unopenable path is an outage, and heals when the path becomes usable', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'gatehouse-outage-'));
    const blocker = join(dir, 'data');
    writeFileSync(blocker, 'not a directory');
    const store = await openStore(databaseConfigFor(`sqlite:${join(blocker, 'gatehouse.db')}`));
    try {
      await expectAllUnavailable(store);
      rmSync(blocker);
      await store.migrate();
      expect(await store.users.count()).toBe(0);
    } finally {
      await store.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describeEachDatabase('Store outage: query timeout and recovery', (target) => {
  let database: CreatedDatabase;
  let store: OpenedStore;

  beforeAll(async () => {
    database = await target.create();
    store = await openStore(databaseConfigFor(database.url, { queryTimeoutSeconds: 1, poolSize: 2 }));
    await store.migrate();
  });
  afterAll(async () => {
    await store.close();
    await database.drop();
  });

  it('answers service_unavailable while a lock holds it past the timeout, then serves again', async () => {
    // Another client takes a table lock the store's write must wait for.
    let release: () => Promise<void>;
    if (target.name === 'postgres') {
      const client = new pg.Client({ connectionString: database.url });
      await client.connect();
      await client.query('begin');
      await client.query('lock table auth_events in access exclusive mode');
      release = async () => {
        await client.query('rollback');
        await client.end();
      };
    } else if (target.name === 'mysql') {
      const conn = await mysql.createConnection(database.url);
      await conn.query('lock tables auth_events write');
      release = async () => {
        await conn.query('unlock tables');
        await conn.end();
      };
    } else {
      const path = database.config.sqlitePath ?? '';
      const conn = new Database(path);
      conn.exec('begin immediate');
      release = async () => {
        conn.exec('rollback');
        conn.close();
      };
    }

    const started = Date.now();
    try {
      await expectUnavailable(store.events.record({ type: 'sign_out', at: new Date() }));
    } finally {
      await release();
    }
    // Bounded by the timeout (and, on SQLite, its few busy retries) — not by the lock holder.
    expect(Date.now() - started).toBeLessThan(8000);

    // No restart: the pool replaces what it lost.
    await store.events.record({ type: 'sign_out', at: new Date() });
    expect(await store.events.list()).toHaveLength(1);
    await Promise.all([store.ping(), store.ping(), store.ping()]);
  });
});

describeEachDatabase('Store outage: a link that stops answering', (target) => {
  it.skipIf(target.name === 'sqlite')(
    'times out, answers service_unavailable, and recovers when the link does',
    async () => {
      const database = await target.create();
      const upstream = new URL(database.url);
      const proxy = await startStallProxy(
        upstream.hostname,
        Number(upstream.port || (target.name === 'mysql' ? 3306 : 5432)),
      );
      const viaProxy = new URL(database.url);
      viaProxy.hostname = '127.0.0.1';
      viaProxy.port = String(proxy.port);
      const store = await openStore(
        databaseConfigFor(viaProxy.toString(), { queryTimeoutSeconds: 1, poolSize: 2 }),
      );
      try {
        await store.migrate();
        proxy.stall();
        const started = Date.now();
        await expectUnavailable(store.users.count());
        // The client-side deadline (timeout + 2 s), not the dead link, bounds the wait.
        expect(Date.now() - started).toBeLessThan(6000);
        proxy.resume();
        const deadline = Date.now() + 10_000;
        for (;;) {
          const ok = await store.users.count().then(
            (n) => n === 0,
            () => false,
          );
          if (ok) break;
          if (Date.now() > deadline) throw new Error('the store did not recover');
          await new Promise((resolve) => setTimeout(resolve, 100));
        }
        await Promise.all([store.ping(), store.ping(), store.ping()]);
      } finally {
        await store.close();
        await proxy.close();
        await database.drop();
      }
    },
  );
});
