import { describe, expect, it } from 'vitest';
import { GatehouseError } from '../../../src/errors.js';
import {
  createTransactionSealer,
  type LoginTransaction,
  TRANSACTION_MAX_AGE_SECONDS,
  transactionCookieName,
} from '../../../src/oidc/transaction.js';

function manualClock(start: number) {
  let now = start;
  return { now: () => now, advance: (ms: number) => (now += ms) };
}

const T0 = Date.UTC(2030, 0, 1);
const tx: LoginTransaction = {
  id: 'aWQtaWQtaWQtaWQtaWQtaWQ',
  state: 'c3RhdGUtc3RhdGUtc3RhdGUtc3RhdGU',
  nonce: 'bm9uY2Utbm9uY2Utbm9uY2Utbm9uY2U',
  verifier: 'dmVyaWZpZXItdmVyaWZpZXItdmVyaWZpZXItdmVyaWY',
  returnTo: 'http://127.0.0.1:8000/dashboard',
  createdAt: T0,
};

function expectRejected(fn: () => unknown, code: string, reason: string): void {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(GatehouseError);
    expect((err as GatehouseError).code).toBe(code);
    expect((err as GatehouseError).reason).toBe(reason);
    return;
  }
  throw new Error('expected a rejection');
}

describe('login transaction sealing', () => {
  it('round-trips and hides the contents', () => {
    const clock = manualClock(T0 + 1000);
    const sealer = createTransactionSealer({ secretKey: 'k'.repeat(40), clock });
    const sealed = sealer.seal(tx);
    expect(sealed).toMatch(/^v1\.[A-Za-z0-9_-]+$/);
    expect(sealed).not.toContain(tx.verifier);
    expect(Buffer.from(sealed.slice(3), 'base64url').toString('latin1')).not.toContain('verifier');
    expect(sealer.open(sealed)).toEqual(tx);
    expect(sealed.length).toBeLessThan(1024);
  });

  it('uses a fresh IV: sealing twice gives different cookies', () => {
    const sealer = createTransactionSealer({ secretKey: 'k'.repeat(40), clock: manualClock(T0) });
    expect(sealer.seal(tx)).not.toBe(sealer.seal(tx));
  });

  it('rejects any tampered byte, truncation, wrong version and garbage', () => {
    const sealer = createTransactionSealer({ secretKey: 'k'.repeat(40), clock: manualClock(T0) });
    const sealed = sealer.seal(tx);
    const body = Buffer.from(sealed.slice(3), 'base64url');
    for (const index of [0, 5, 12, 20, body.length - 17, body.length - 1]) {
      const copy = Buffer.from(body);
      copy[index] = (copy[index] ?? 0) ^ 0x01;
      expectRejected(
        () => sealer.open(`v1.${copy.toString('base64url')}`),
        'login_failed',
        'transaction_invalid',
      );
    }
    for (const bad of [
      sealed.slice(0, -4),
      `v2.${sealed.slice(3)}`,
      '',
      'v1.',
      'v1.!!!!',
      'x'.repeat(5000),
    ]) {
      expectRejected(() => sealer.open(bad), 'login_failed', 'transaction_invalid');
    }
  });

  it('rejects a cookie sealed under another key', () => {
    const a = createTransactionSealer({ secretKey: 'a'.repeat(40), clock: manualClock(T0) });
    const b = createTransactionSealer({ secretKey: 'b'.repeat(40), clock: manualClock(T0) });
    expectRejected(() => b.open(a.seal(tx)), 'login_failed', 'transaction_invalid');
  });

  it('expires after 10 minutes by the injected clock', () => {
    const clock = manualClock(T0);
    const sealer = createTransactionSealer({ secretKey: 'k'.repeat(40), clock });
    const sealed = sealer.seal(tx);
    clock.advance(TRANSACTION_MAX_AGE_SECONDS * 1000);
    expect(sealer.open(sealed).id).toBe(tx.id);
    clock.advance(1);
    expectRejected(() => sealer.open(sealed), 'login_expired', 'transaction_expired');
    expect(sealer.expiresAt(tx).getTime()).toBe(T0 + 600_000);
  });

  it('does not trust a transaction created far in the future', () => {
    const sealer = createTransactionSealer({ secretKey: 'k'.repeat(40), clock: manualClock(T0 - 120_000) });
    expectRejected(() => sealer.open(sealer.seal(tx)), 'login_failed', 'transaction_invalid');
  });

  it('names one cookie per state: distinct, stable, cookie-safe, 16 characters after the prefix', () => {
    const names = new Set<string>();
    for (let i = 0; i < 200; i++) names.add(transactionCookieName('gatehouse_tx_', `state-${i}`));
    expect(names.size).toBe(200);
    const name = transactionCookieName('gatehouse_tx_', tx.state);
    expect(name).toBe(transactionCookieName('gatehouse_tx_', tx.state));
    expect(name).toMatch(/^gatehouse_tx_[A-Za-z0-9_-]{16}$/);
  });

  it('refuses an empty secret (misuse is a TypeError)', () => {
    expect(() => createTransactionSealer({ secretKey: '', clock: manualClock(T0) })).toThrow(TypeError);
  });
});
