import { describe, expect, it } from 'vitest';
import { RevocationSet } from '../../../src/session/revocations.js';
import { ManualClock } from './clock.js';

describe('RevocationSet', () => {
  it('answers has() for added ids until their time, then forgets them', () => {
    const clock = new ManualClock();
    const set = new RevocationSet(clock);
    set.add(['a', 'b'], clock.now() + 1000);
    expect(set.has('a')).toBe(true);
    expect(set.has('b')).toBe(true);
    expect(set.has('c')).toBe(false);
    expect(set.size).toBe(2);
    clock.advance(999);
    expect(set.prune()).toBe(0);
    expect(set.has('a')).toBe(true);
    clock.advance(1);
    expect(set.prune()).toBe(2);
    expect(set.has('a')).toBe(false);
    expect(set.size).toBe(0);
  });

  it('keeps the later expiry when an id is added again, and prunes in order', () => {
    const clock = new ManualClock();
    const set = new RevocationSet(clock);
    set.add(['a'], clock.now() + 1000);
    set.add(['b'], clock.now() + 2000);
    set.add(['a'], clock.now() + 3000); // re-learned: lives longer
    set.add(['b'], clock.now() + 500); // an earlier time never shortens an entry
    clock.advance(2000);
    set.prune();
    expect([set.has('a'), set.has('b')]).toEqual([true, false]);
    clock.advance(1000);
    set.prune();
    expect(set.size).toBe(0);
  });

  it('stays bounded under a stream of revocations', () => {
    const clock = new ManualClock();
    const set = new RevocationSet(clock);
    const retention = 930_000;
    for (let i = 0; i < 5000; i++) {
      set.add([`s${i}`], clock.now() + retention);
      clock.advance(1000); // one revocation a second
    }
    // Only the revocations of the last `retention` remain (add() prunes as it goes).
    expect(set.size).toBe(930);
    expect(set.has('s4999')).toBe(true);
    expect(set.has('s0')).toBe(false);
  });

  it('ignores empty ids and rejects a non-finite time', () => {
    const set = new RevocationSet(new ManualClock());
    set.add(['', 'x'], Date.UTC(2031, 0, 1));
    expect(set.size).toBe(1);
    expect(() => set.add(['y'], Number.NaN)).toThrow(TypeError);
  });
});

describe('RevocationSet bound (SECURITY.md 42)', () => {
  it('at the bound, drops expired entries first, then hands everything over to the owner', () => {
    const clock = new ManualClock();
    const overflows: number[] = [];
    const set = new RevocationSet(clock, {
      maxEntries: 3,
      marginMs: 30_000,
      onOverflow: (untilMs) => overflows.push(untilMs) > 0,
    });
    set.add(['a'], clock.now() + 1000);
    set.add(['b', 'c'], clock.now() + 5000);
    clock.advance(1000);
    set.add(['d'], clock.now() + 5000); // 'a' has expired: room without an overflow
    expect(overflows).toEqual([]);
    expect([set.has('b'), set.has('c'), set.has('d')]).toEqual([true, true, true]);
    set.add(['e'], clock.now() + 5000);
    expect(overflows).toEqual([clock.now() + 30_000]);
    expect(set.overflows).toBe(1);
    expect(set.size).toBe(1);
    expect(set.has('e')).toBe(true);
  });

  it('without an owner to hand over to, keeps every entry (memory before un-revocation)', () => {
    const clock = new ManualClock();
    const set = new RevocationSet(clock, { maxEntries: 2 });
    set.add(['a', 'b', 'c'], clock.now() + 1000);
    expect([set.has('a'), set.has('b'), set.has('c')]).toEqual([true, true, true]);
  });
});
