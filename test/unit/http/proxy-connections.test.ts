/**
 * The connection tracker with a real RevocationSet: revocations close a session's connections
 * and only its own, a revocation that raced ahead of tracking still closes, and an expired token
 * is re-checked (kept with a new deadline while live, closed once ended).
 */
import { afterEach, describe, expect, it } from 'vitest';
import { ConnectionTracker, type TrackedConnection } from '../../../src/http/proxy/connections.js';
import { RevocationSet } from '../../../src/session/revocations.js';
import { ManualClock } from '../../helpers/clock.js';
import { until } from '../../helpers/proxy.js';

function connection(sessionId: string, expiresAt: number, closed: string[]): TrackedConnection {
  return { sessionId, userId: 'u', expiresAt, close: (reason) => closed.push(`${sessionId}:${reason}`) };
}

describe('RevocationSet.onAdded', () => {
  it('announces newly added ids once, from every add, until the listener is removed', () => {
    const set = new RevocationSet(new ManualClock());
    const heard: string[][] = [];
    const off = set.onAdded((ids) => heard.push([...ids]));
    set.add(['a', 'b'], Date.now() + 60_000);
    set.add(['b', 'c'], Date.now() + 120_000);
    set.add([], Date.now() + 60_000);
    off();
    set.add(['d'], Date.now() + 60_000);
    expect(heard).toEqual([['a', 'b'], ['c']]);
    expect(set.has('d')).toBe(true);
  });
});

describe('ConnectionTracker', () => {
  let tracker: ConnectionTracker | undefined;
  afterEach(() => tracker?.stop());

  it('closes the connections of a revoked session, and only those', () => {
    const clock = new ManualClock();
    const revocations = new RevocationSet(clock);
    tracker = new ConnectionTracker({ revocations, clock, recheck: async () => 'ended' });
    tracker.start();
    const closed: string[] = [];
    tracker.track(connection('s1', clock.now() + 60_000, closed));
    tracker.track(connection('s1', clock.now() + 60_000, closed));
    const untrack = tracker.track(connection('s2', clock.now() + 60_000, closed));
    revocations.add(['s1'], clock.now() + 60_000);
    expect(closed).toEqual(['s1:revoked', 's1:revoked']);
    expect(tracker.size).toBe(1);
    untrack();
    expect(tracker.size).toBe(0);
    revocations.add(['s2'], clock.now() + 60_000);
    expect(closed).toHaveLength(2);
  });

  it('closes at once a connection whose session was revoked before it was tracked', () => {
    const clock = new ManualClock();
    const revocations = new RevocationSet(clock);
    revocations.add(['late'], clock.now() + 60_000);
    tracker = new ConnectionTracker({ revocations, clock, recheck: async () => 'ended' });
    const closed: string[] = [];
    tracker.track(connection('late', clock.now() + 60_000, closed));
    expect(closed).toEqual(['late:revoked']);
    expect(tracker.size).toBe(0);
  });

  it('re-checks at token expiry: live gets a new deadline, ended is closed, a failure retries later', async () => {
    const clock = new ManualClock();
    const answers: (number | 'ended' | Error)[] = [];
    const asked: string[] = [];
    tracker = new ConnectionTracker({
      revocations: new RevocationSet(clock),
      clock,
      recheck: async (c) => {
        asked.push(c.sessionId);
        const next = answers.shift()!;
        if (next instanceof Error) throw next;
        return next;
      },
      onError: () => undefined,
    });
    tracker.start();
    const closed: string[] = [];
    const live = connection('s', clock.now() + 1000, closed);
    tracker.track(live);
    const renewedUntil = clock.now() + 600_000;
    answers.push(new Error('database down'), renewedUntil, 'ended');
    clock.advance(2000);
    expect(await until(() => asked.length === 1, 2000)).toBe(true);
    expect(closed).toEqual([]);
    clock.advance(10_000);
    // After the failure the tracker waited (5 s) before asking again; now the session is live.
    expect(await until(() => live.expiresAt === renewedUntil, 2000)).toBe(true);
    expect(closed).toEqual([]);
    clock.advance(600_000);
    expect(await until(() => closed.length === 1, 2000)).toBe(true);
    expect(closed).toEqual(['s:expired']);
    expect(tracker.size).toBe(0);
  });
});
