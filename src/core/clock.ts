/**
 * Time, injected: every module that reads the clock takes a `Clock`, so tests can move time
 * (oauth2-proxy injects `clock func() time.Time` into its CSRF cookie the same way).
 */

/** Milliseconds since the epoch. */
export interface Clock {
  now(): number;
}

export const systemClock: Clock = { now: () => Date.now() };
