/** Shared fixtures for the store suites: a migrated store per database target, and inputs. */
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll } from 'vitest';
import type { VerifiedIdentity } from '../../../src/oidc/types.js';
import { type OpenedStore, openStore } from '../../../src/store/index.js';
import type { NewSessionInput, UserProfileInput } from '../../../src/store/types.js';
import type { CreatedDatabase, DatabaseTarget } from '../../helpers/databases.js';
import { identityForTest } from '../../helpers/identity.js';

export const DAY = 24 * 60 * 60 * 1000;

/** A migrated store on a throwaway database, opened before the block's tests and dropped after. */
export function useStore(target: DatabaseTarget): {
  readonly store: OpenedStore;
  readonly database: CreatedDatabase;
} {
  let store: OpenedStore | undefined;
  let database: CreatedDatabase | undefined;
  beforeAll(async () => {
    database = await target.create();
    store = await openStore(database.config);
    await store.migrate();
  });
  afterAll(async () => {
    await store?.close();
    await database?.drop();
  });
  return {
    get store() {
      if (!store) throw new Error('store not opened yet');
      return store;
    },
    get database() {
      if (!database) throw new Error('database not created yet');
      return database;
    },
  };
}

let epochs = 0;
/**
 * A distinct year per test (2100, 2101, …), so that global queries (countActive, revokeAll,
 * purge) in one test never see the sessions of another: each test's sessions expire within it.
 */
export function nextEpoch(): number {
  return Date.UTC(2100 + epochs++, 0, 1);
}

export function randomId(bytes = 16): string {
  return randomBytes(bytes).toString('base64url');
}

export function profile(overrides: Partial<UserProfileInput> = {}): VerifiedIdentity {
  const subject = overrides.subject ?? randomId(9);
  return identityForTest({
    issuer: 'https://issuer.test',
    subject,
    email: `user-${subject}@example.com`,
    emailVerified: true,
    name: 'Ada Lovelace',
    picture: 'https://example.com/ada.png',
    hostedDomain: null,
    ...overrides,
  });
}

export function sessionInput(at: number, overrides: Partial<NewSessionInput> = {}): NewSessionInput {
  return {
    id: randomId(),
    createdAt: new Date(at),
    expiresAt: new Date(at + 7 * DAY),
    idleExpiresAt: new Date(at + DAY),
    ip: '203.0.113.7',
    userAgent: 'Mozilla/5.0 (test)',
    ...overrides,
  };
}

/** Signs in and returns the created session, failing the test on a refusal. */
export async function signedIn(store: OpenedStore, at: number, p: VerifiedIdentity = profile()) {
  const result = await store.signIn(p, sessionInput(at));
  if ('disabled' in result) throw new Error('unexpected refusal');
  return result;
}
