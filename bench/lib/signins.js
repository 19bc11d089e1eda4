/**
 * Full sign-ins per second, one after another and several at once, and the time of the /auth
 * callback alone. Every sign-in is a distinct user, so each one inserts a user and a session.
 *
 * The callback is timed twice: by this client (`callbackMs`: loopback and this process's own
 * HTTP client included) and, when the server was started with lib/server-timing.cjs, on the server
 * itself (`serverCallback`, after the server stops). Subtracting what the provider spent answering
 * the server's token and userinfo requests leaves Gatehouse's own share.
 */
import { median } from './load.js';
import { signIn } from './signin.js';

/** @param {number[]} xs @param {number} q */
function quantile(xs, q) {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(q * s.length))] ?? 0;
}

const ms = (/** @type {number} */ x) => Math.round(x * 100) / 100;
let serial = 0;
/** Sign-ins before the measured ones (a server in service has long been warm). */
export const WARMUP_SIGN_INS = 10;

/**
 * @param {string} url @param {string} cookieName @param {string} issuer @param {number} sequential
 * @param {{ workers: number, each: number }} concurrent
 */
export async function signInMany(url, cookieName, issuer, sequential, concurrent) {
  const who = () => {
    serial += 1;
    return { email: `bench-${serial}@bench.example`, name: `Bench User ${serial}` };
  };
  // Sign-ins first, not counted: discovery, JWKS, the provider's connections and JIT warm-up.
  /** @type {string[]} */
  const tokens = [];
  for (let i = 0; i < WARMUP_SIGN_INS; i++) tokens.push((await signIn(url, cookieName, who())).token);
  /** @type {number[]} */
  const callback = [];
  /** @type {number[]} */
  const provider = [];
  /** @type {number[]} */
  const total = [];
  let t0 = performance.now();
  for (let i = 0; i < sequential; i++) {
    const r = await signIn(url, cookieName, who(), issuer);
    callback.push(r.callbackMs);
    if (r.providerMs !== null) provider.push(r.providerMs);
    total.push(r.totalMs);
    tokens.push(r.token);
  }
  const sequentialSeconds = (performance.now() - t0) / 1000;

  t0 = performance.now();
  /** @type {number[]} */
  const concurrentCallback = [];
  await Promise.all(
    Array.from({ length: concurrent.workers }, async () => {
      for (let i = 0; i < concurrent.each; i++)
        concurrentCallback.push((await signIn(url, cookieName, who())).callbackMs);
    }),
  );
  const concurrentSeconds = (performance.now() - t0) / 1000;
  const count = concurrent.workers * concurrent.each;
  return {
    sequential: {
      count: sequential,
      seconds: ms(sequentialSeconds),
      perSecond: ms(sequential / sequentialSeconds),
    },
    concurrent: {
      count,
      inFlight: concurrent.workers,
      seconds: ms(concurrentSeconds),
      perSecond: ms(count / concurrentSeconds),
      callbackP50Ms: ms(median(concurrentCallback)),
    },
    callbackMs: { p50: ms(median(callback)), p99: ms(quantile(callback, 0.99)) },
    /** The provider's time during each sequential callback, in order (for serverCallback). */
    providerMs: provider.map(ms),
    wholeSignInMs: { p50: ms(median(total)), p99: ms(quantile(total, 0.99)) },
    tokens,
  };
}

/**
 * The callback as the server timed it (lib/server-timing.cjs), and Gatehouse's own share: the
 * server's time minus the provider's, callback by callback. `serverDurations` are in arrival
 * order: the warm-up sign-ins, then the sequential ones, then the concurrent ones.
 * @param {number[]} serverDurations @param {number[]} providerMs
 */
export function serverCallback(serverDurations, providerMs) {
  const sequential = serverDurations.slice(WARMUP_SIGN_INS, WARMUP_SIGN_INS + providerMs.length);
  if (sequential.length !== providerMs.length || sequential.length === 0) return null;
  const own = sequential.map((x, i) => x - (providerMs[i] ?? 0));
  return {
    serverMs: { p50: ms(median(sequential)), p99: ms(quantile(sequential, 0.99)) },
    providerMs: { p50: ms(median(providerMs)), p99: ms(quantile(providerMs, 0.99)) },
    ownMs: { p50: ms(median(own)), p99: ms(quantile(own, 0.99)) },
  };
}
