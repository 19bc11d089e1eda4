import { describe, expect, it } from 'vitest';
import { createMemoryStore, memoryAdapterFactory } from '../../../src/dev-idp/memory-adapter.js';

describe('development provider memory adapter', () => {
  it('honours each artefact expiry', async () => {
    let now = 1_000_000;
    const adapter = memoryAdapterFactory(createMemoryStore({ now: () => now }))('AuthorizationCode');
    await adapter.upsert('code-1', { grantId: 'g1' }, 60);
    expect(await adapter.find('code-1')).toEqual({ grantId: 'g1' });
    now += 60_000;
    expect(await adapter.find('code-1')).toBeUndefined();
  });

  it('marks consumption, destroys, and revokes everything under a grant', async () => {
    const store = createMemoryStore();
    const codes = memoryAdapterFactory(store)('AuthorizationCode');
    const tokens = memoryAdapterFactory(store)('AccessToken');
    await codes.upsert('c', { grantId: 'g' }, 60);
    await tokens.upsert('t', { grantId: 'g' }, 60);
    await tokens.upsert('other', { grantId: 'h' }, 60);
    await codes.consume('c');
    expect(typeof (await codes.find('c'))?.consumed).toBe('number');
    await codes.revokeByGrantId('g');
    expect(await codes.find('c')).toBeUndefined();
    expect(await tokens.find('t')).toBeUndefined();
    expect(await tokens.find('other')).toBeDefined();
    await tokens.destroy('other');
    expect(await tokens.find('other')).toBeUndefined();
  });

  it('finds sessions by uid and keeps models apart', async () => {
    const store = createMemoryStore();
    const sessions = memoryAdapterFactory(store)('Session');
    const interactions = memoryAdapterFactory(store)('Interaction');
    await sessions.upsert('s1', { uid: 'u1' }, 60);
    expect(await sessions.findByUid('u1')).toEqual({ uid: 'u1' });
    expect(await interactions.find('s1')).toBeUndefined();
  });

  it('stays bounded: expired entries go first, then the oldest', async () => {
    let now = 0;
    const store = createMemoryStore({ maxEntries: 10, now: () => now });
    const adapter = memoryAdapterFactory(store)('Interaction');
    for (let i = 0; i < 5; i++) await adapter.upsert(`short-${i}`, {}, 1);
    for (let i = 0; i < 5; i++) await adapter.upsert(`long-${i}`, {}, 3600);
    now = 2_000;
    await adapter.upsert('new', {}, 3600);
    expect(store.entries.size).toBe(6);
    expect(await adapter.find('long-0')).toBeDefined();
    for (let i = 0; i < 20; i++) await adapter.upsert(`more-${i}`, {}, 3600);
    expect(store.entries.size).toBeLessThanOrEqual(10);
    expect(await adapter.find('more-19')).toBeDefined();
    expect(await adapter.find('long-0')).toBeUndefined();
  });
});
