/**
 * Error classification against errors the real drivers raise: deadlocks are retried and never
 * reach a client; a duplicate key is recognised; a refused connection is an outage.
 */
import { sql } from 'kysely';
import { expect, it } from 'vitest';
import { guard, isUnavailable, isUniqueViolation, retryKind } from '../../../src/store/errors.js';
import { openStore } from '../../../src/store/index.js';
import { databaseConfigFor, describeEachDatabase } from '../../helpers/databases.js';
import { nextEpoch, randomId, signedIn, useStore } from './setup.js';

describeEachDatabase('Store error classification', (target) => {
  const ctx = useStore(target);

  it.skipIf(target.name === 'sqlite')(
    'retries a real deadlock and gives up as service_unavailable',
    async () => {
      const { store } = ctx;
      const t0 = nextEpoch();
      const a = (await signedIn(store, t0)).user.id;
      const b = (await signedIn(store, t0)).user.id;
      // Two transactions lock the same two rows in opposite orders: the database must kill one.
      let firstLocked!: () => void;
      let secondLocked!: () => void;
      const bothLocked = Promise.all([
        new Promise<void>((r) => {
          firstLocked = r;
        }),
        new Promise<void>((r) => {
          secondLocked = r;
        }),
      ]);
      const crossing = (mine: string, theirs: string, locked: () => void) =>
        store.db.transaction().execute(async (trx) => {
          await trx.updateTable('users').set({ name: 'x' }).where('id', '=', mine).execute();
          locked();
          await bothLocked;
          await trx.updateTable('users').set({ name: 'y' }).where('id', '=', theirs).execute();
        });
      const outcomes = await Promise.allSettled([crossing(a, b, firstLocked), crossing(b, a, secondLocked)]);
      const failures = outcomes.filter((o): o is PromiseRejectedResult => o.status === 'rejected');
      expect(failures).toHaveLength(1);
      const deadlock = failures[0]?.reason;
      expect(retryKind(deadlock)).toBe('deadlock');

      let calls = 0;
      const value = await guard(async () => {
        calls++;
        if (calls === 1) throw deadlock;
        return 'done';
      });
      expect([value, calls]).toEqual(['done', 2]);

      calls = 0;
      const err = await guard(async () => {
        calls++;
        throw deadlock;
      }).catch((e: unknown) => e);
      expect(calls).toBe(4);
      expect(err).toMatchObject({ code: 'service_unavailable', cause: deadlock });
    },
  );

  it('recognises a duplicate key and passes other errors through unchanged', async () => {
    const { store } = ctx;
    const id = randomId();
    const at = new Date(nextEpoch());
    expect(await store.consumeTransaction(id, at)).toBe(true);
    const duplicate = await store.db
      .insertInto('used_transactions')
      .values({ id, expires_at: target.name === 'sqlite' ? at.toISOString() : at })
      .execute()
      .catch((e: unknown) => e);
    expect(isUniqueViolation(duplicate)).toBe(true);
    expect(isUnavailable(duplicate)).toBe(false);
    const syntax = await sql`select from where`.execute(store.db).catch((e: unknown) => e);
    expect(isUnavailable(syntax)).toBe(false);
    const passed = await guard(() => Promise.reject(syntax)).catch((e: unknown) => e);
    expect(passed).toBe(syntax);
  });

  // Regression (outage suite, MariaDB killed under traffic): the connection died inside a
  // transaction, Kysely's ROLLBACK then failed with mysql2's code-less "Can't add new command when
  // connection is in closed state", and that error — not an outage — reached the client as a 500.
  it.skipIf(target.name === 'sqlite')(
    'a connection killed inside a transaction is an outage, rollback included',
    async () => {
      const { store } = ctx;
      const mysqlKill = (id: number) => sql`kill ${sql.lit(id)}`;
      const pgKill = (id: number) => sql`select pg_terminate_backend(${sql.lit(id)})`;
      const err = await guard(() =>
        store.db.transaction().execute(async (trx) => {
          const { rows } = await (target.name === 'mysql'
            ? sql<{ id: number }>`select connection_id() as id`
            : sql<{ id: number }>`select pg_backend_pid() as id`
          ).execute(trx);
          const id = Number(rows[0]?.id);
          // Another connection of the pool ends this one, as a server going away would.
          await (target.name === 'mysql' ? mysqlKill(id) : pgKill(id)).execute(store.db);
          await sql`select 1`.execute(trx);
        }),
      ).catch((e: unknown) => e);
      expect(err).toMatchObject({ code: 'service_unavailable', status: 503 });
      // The pool discards the dead connection and serves again.
      expect(await store.users.count()).toBeGreaterThanOrEqual(0);
    },
  );
});

it('classifies a refused connection as an outage (raw driver error)', async () => {
  const store = await openStore(databaseConfigFor('postgres://postgres@127.0.0.1:1/x'));
  try {
    const raw = await sql`select 1`.execute(store.db).catch((e: unknown) => e);
    expect(isUnavailable(raw)).toBe(true);
    expect(retryKind(raw)).toBeUndefined();
  } finally {
    await store.close();
  }
});
