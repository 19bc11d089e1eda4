/** Migrations: accurate status, idempotent, and safe when several instances start at once. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type OpenedStore, openStore } from '../../../src/store/index.js';
import { migrationsFor } from '../../../src/store/migrations/index.js';
import { type CreatedDatabase, databaseConfigFor, describeEachDatabase } from '../../helpers/databases.js';

const NAMES = Object.keys(migrationsFor('sqlite')).sort();

describeEachDatabase('Store migrations', (target) => {
  let database: CreatedDatabase;
  const stores: OpenedStore[] = [];

  beforeAll(async () => {
    database = await target.create();
    for (let i = 0; i < 3; i++) stores.push(await openStore(database.config));
  });
  afterAll(async () => {
    await Promise.all(stores.map((s) => s.close()));
    await database.drop();
  });

  it('has the same migrations on every dialect', () => {
    expect(Object.keys(migrationsFor('mysql')).sort()).toEqual(NAMES);
    expect(Object.keys(migrationsFor('postgres')).sort()).toEqual(NAMES);
    expect(NAMES[0]).toBe('0001_initial');
  });

  it('reports everything pending on an empty database', async () => {
    const [store] = stores;
    expect(await store?.migrationStatus()).toEqual(NAMES.map((name) => ({ name, status: 'pending' })));
  });

  it('applies each migration exactly once when three instances migrate at once', async () => {
    const results = await Promise.all(stores.map((s) => s.migrate()));
    for (const name of NAMES) {
      const statuses = results.map((steps) => steps.find((step) => step.name === name)?.status);
      expect(statuses.filter((s) => s === 'applied_now')).toHaveLength(1);
      expect(statuses.filter((s) => s === 'applied')).toHaveLength(2);
    }
    for (const store of stores) {
      expect(await store.migrationStatus()).toEqual(NAMES.map((name) => ({ name, status: 'applied' })));
    }
    // Every instance can use the schema right away.
    await Promise.all(stores.map((s) => s.users.count()));
  });

  it('is idempotent', async () => {
    const [store] = stores;
    expect(await store?.migrate()).toEqual(NAMES.map((name) => ({ name, status: 'applied' })));
    expect(await store?.migrationStatus()).toEqual(NAMES.map((name) => ({ name, status: 'applied' })));
  });
});

describe('Store on sqlite::memory:', () => {
  it('migrates and serves a private in-memory database per store', async () => {
    const a = await openStore(databaseConfigFor('sqlite::memory:'));
    const b = await openStore(databaseConfigFor('sqlite::memory:'));
    try {
      expect((await a.migrate()).map((s) => s.status)).toEqual(NAMES.map(() => 'applied_now'));
      expect(await a.consumeTransaction('tx-1', new Date(Date.UTC(2100, 0, 1)))).toBe(true);
      expect(await b.migrationStatus()).toEqual(NAMES.map((name) => ({ name, status: 'pending' })));
    } finally {
      await Promise.all([a.close(), b.close()]);
    }
  });
});
