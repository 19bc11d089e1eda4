import type { Clock } from '../../../src/session/types.js';

/** A clock the test moves by hand (ms since the epoch). */
export class ManualClock implements Clock {
  #now: number;
  constructor(start: number = Date.UTC(2030, 0, 1, 12, 0, 0)) {
    this.#now = start;
  }
  now(): number {
    return this.#now;
  }
  set(ms: number): void {
    this.#now = ms;
  }
  advance(ms: number): void {
    this.#now += ms;
  }
}
