import type { Clock } from '../../src/session/types.js';

/** A clock tests move by hand; starts at the real time. */
export class ManualClock implements Clock {
  private offset = 0;
  now(): number {
    return Date.now() + this.offset;
  }
  advance(ms: number): void {
    this.offset += ms;
  }
  /** Back to the real time (a provider on the real clock signs ID tokens Gatehouse must accept). */
  reset(): void {
    this.offset = 0;
  }
}
