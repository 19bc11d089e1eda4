import type { Clock } from '../../src/core/clock.js';

/**
 * A clock tests move by hand (ms since the epoch). Without a start it follows the real time plus
 * whatever it was advanced by — needed when a provider on the real clock signs ID tokens that
 * Gatehouse must accept; with a start (or after `set`) it stands still until moved.
 */
export class ManualClock implements Clock {
  #base: number | undefined;
  #offset = 0;

  constructor(start?: number) {
    this.#base = start;
  }
  now(): number {
    return (this.#base ?? Date.now()) + this.#offset;
  }
  advance(ms: number): void {
    this.#offset += ms;
  }
  /** Stand still at `ms`. */
  set(ms: number): void {
    this.#base = ms;
    this.#offset = 0;
  }
  /** Undo every advance (a following clock is back on the real time). */
  reset(): void {
    this.#offset = 0;
  }
}
