import { afterEach, describe, expect, it } from 'vitest';
import { POLL_OVERLAP_MS, RevocationPoller } from '../../../src/session/poller.js';
import { RevocationSet } from '../../../src/session/revocations.js';
import type { Store } from '../../../src/store/types.js';
import { Harness, MemoryLogger } from './harness.js';

let harness: Harness | undefined;
afterEach(async () => {
  await harness?.close();
  harness = undefined;
});

async function setup(sessions: number) {
  harness = new Harness();
  const h = harness;
  const store = await h.store();
  const m = h.manager(store);
  const ids: string[] = [];
  for (let i = 0; i < sessions; i++) ids.push((await h.signIn(m, store)).session.id);
  const set = new RevocationSet(h.clock);
  const poller = (s: Store, pageSize?: number) =>
    new RevocationPoller({
      sessions: s.sessions,
      set,
      clock: h.clock,
      logger: new MemoryLogger(),
      intervalMs: 1000,
      retentionMs: 930_000,
      lookbackMs: 990_000,
      pageSize,
    });
  return { h, store, ids, set, poller };
}

describe('RevocationPoller', () => {
  it('pages through more revocations than one page, including many at one instant', async () => {
    const { h, store, ids, set, poller } = await setup(9);
    // Three revoked one by one, then six at the same instant (revokeAll).
    for (const id of ids.slice(0, 3)) {
      h.clock.advance(1);
      await store.sessions.revoke(id, new Date(h.clock.now()), 'test');
    }
    h.clock.advance(1);
    expect(await store.sessions.revokeAll(new Date(h.clock.now()), 'test')).toHaveLength(6);
    await poller(store, 2).pollOnce();
    expect(ids.filter((id) => !set.has(id))).toEqual([]);
  });

  it('re-reads an overlap window, so a revoking instance with a slower clock is not missed', async () => {
    const { h, store, ids, set, poller } = await setup(2);
    const p = poller(store);
    await p.pollOnce(); // watermark = now
    h.clock.advance(1000);
    const [a, b] = ids as [string, string];
    // Written by instances whose clocks run behind ours.
    await store.sessions.revoke(a, new Date(h.clock.now() - 1000 - POLL_OVERLAP_MS + 1), 'slow clock');
    await store.sessions.revoke(b, new Date(h.clock.now() - 1000 - POLL_OVERLAP_MS - 1), 'too slow');
    await p.pollOnce();
    expect(set.has(a)).toBe(true);
    expect(set.has(b)).toBe(false); // beyond the documented overlap
  });

  it('start() loads revocations from the last TOKEN_TTL + margin and stop() ends the timer', async () => {
    const { h, store, ids, set, poller } = await setup(2);
    const [recent, old] = ids as [string, string];
    await store.sessions.revoke(recent, new Date(h.clock.now() - 900_000), 'recent');
    await store.sessions.revoke(old, new Date(h.clock.now() - 1_000_000), 'old');
    const p = poller(store);
    await p.start();
    await p.stop();
    expect(set.has(recent)).toBe(true);
    expect(set.has(old)).toBe(false); // its tokens have all expired; renewal reads the row
  });
});
