/**
 * The verified-token memory of TokenCodec: a token seen before skips the HMAC and the parse, but
 * never the time checks, and the memory stays bounded.
 */
import { describe, expect, it } from 'vitest';
import { REFUSED_CACHE_SIZE, TokenCodec, VERIFIED_CACHE_SIZE } from '../../../src/session/token.js';
import { ManualClock } from './clock.js';
import { KEY_A, KEY_B } from './jwt-fixtures.js';

const clock = new ManualClock();
const seconds = () => Math.floor(clock.now() / 1000);

async function fresh(codec: TokenCodec, ttl = 900, sid = 'sess-1') {
  return codec.sign({ sub: 'user-1', sid, email: 'ada@example.com', iat: seconds(), exp: seconds() + ttl });
}

describe('TokenCodec verified-token memory', () => {
  it('answers a repeated token like the first time', async () => {
    const codec = new TokenCodec([KEY_A], clock);
    const token = await fresh(codec);
    const first = codec.verify(token);
    expect(first.ok).toBe(true);
    expect(codec.verify(token)).toEqual(first);
  });

  it('still expires a remembered token exactly at exp', async () => {
    const start = clock.now();
    const codec = new TokenCodec([KEY_A], clock);
    const token = await fresh(codec, 60);
    expect(codec.verify(token).ok).toBe(true);
    clock.advance(59_000);
    expect(codec.verify(token).ok).toBe(true);
    clock.advance(1_000);
    expect(codec.verify(token)).toMatchObject({ ok: false, reason: 'expired' });
    clock.set(start);
  });

  it('refuses a remembered token whose iat is in the future after the clock moved back', async () => {
    const start = clock.now();
    const codec = new TokenCodec([KEY_A], clock);
    const token = await fresh(codec);
    expect(codec.verify(token).ok).toBe(true);
    clock.set(start - 120_000);
    expect(codec.verify(token)).toMatchObject({ ok: false, reason: 'invalid', detail: 'not_yet_valid' });
    clock.set(start);
  });

  it('never remembers a tampered token: one changed character is verified and refused', async () => {
    const codec = new TokenCodec([KEY_A], clock);
    const token = await fresh(codec);
    expect(codec.verify(token).ok).toBe(true);
    const tampered = `${token.slice(0, -1)}${token.endsWith('A') ? 'Q' : 'A'}`;
    expect(codec.verify(tampered)).toMatchObject({ ok: false, reason: 'invalid' });
  });

  it('never lets a remembered signature vouch for another payload', async () => {
    const codec = new TokenCodec([KEY_A], clock);
    const token = await fresh(codec);
    expect(codec.verify(token).ok).toBe(true);
    // The remembered token's own signature under a payload that claims another user.
    const [header, , signature] = token.split('.');
    const payload = Buffer.from(
      JSON.stringify({
        sid: 'sess-1',
        email: 'eve@example.com',
        sub: 'user-2',
        iat: seconds(),
        exp: seconds() + 900,
      }),
    ).toString('base64url');
    const spliced = `${header}.${payload}.${signature}`;
    expect(codec.verify(spliced)).toMatchObject({ ok: false, reason: 'invalid', detail: 'bad_signature' });
    expect(codec.verify(spliced)).toMatchObject({ ok: false, reason: 'invalid', detail: 'bad_signature' });
    // The genuine token is still recognised.
    expect(codec.verify(token)).toMatchObject({ ok: true, claims: { sub: 'user-1' } });
  });

  it('stays bounded: the oldest token is verified again once the memory is full', async () => {
    const codec = new TokenCodec([KEY_A], clock);
    const first = await fresh(codec, 900, 'first');
    codec.verify(first);
    for (let i = 0; i < VERIFIED_CACHE_SIZE; i++) codec.verify(await fresh(codec, 900, `s${i}`));
    // Still correct after eviction (verified from scratch).
    expect(codec.verify(first).ok).toBe(true);
    expect(codec.cachedTokens).toBeLessThanOrEqual(VERIFIED_CACHE_SIZE);
  });

  it('remembers a refused token with its reason, but never a refusal that time can undo', async () => {
    const codec = new TokenCodec([KEY_A], clock);
    const other = new TokenCodec([KEY_B], clock);
    const token = await fresh(codec);
    const forged = `${token.slice(0, token.lastIndexOf('.'))}.${(await fresh(other)).split('.')[2]}`;
    const foreign = await fresh(other);
    expect(codec.verify(forged)).toMatchObject({ ok: false, reason: 'invalid', detail: 'bad_signature' });
    expect(codec.verify(foreign)).toMatchObject({ ok: false, reason: 'invalid', detail: 'unknown_key' });
    expect(codec.cachedRefusals).toBe(2);
    expect(codec.verify(forged)).toMatchObject({ detail: 'bad_signature' });
    expect(codec.verify(foreign)).toMatchObject({ detail: 'unknown_key' });
    expect(codec.cachedRefusals).toBe(2);

    // Issued two minutes ahead (another instance's clock): refused now, valid once time catches up.
    const start = clock.now();
    const early = await codec.sign({
      sub: 'user-1',
      sid: 'sess-early',
      email: 'ada@example.com',
      iat: seconds() + 120,
      exp: seconds() + 900,
    });
    expect(codec.verify(early)).toMatchObject({ detail: 'not_yet_valid' });
    expect(codec.cachedRefusals).toBe(2);
    clock.advance(120_000);
    expect(codec.verify(early).ok).toBe(true);
    clock.set(start);
  });

  it('keeps refusals bounded and apart: a flood of junk never evicts a verified token', async () => {
    const codec = new TokenCodec([KEY_A], clock);
    const good = await fresh(codec);
    expect(codec.verify(good).ok).toBe(true);
    for (let i = 0; i < REFUSED_CACHE_SIZE * 2; i++) codec.verify(`junk-${i}`);
    expect(codec.cachedRefusals).toBe(REFUSED_CACHE_SIZE);
    expect(codec.cachedTokens).toBe(1);
    expect(codec.verify(good).ok).toBe(true);
    // The oldest junk was let go and is refused again from scratch, with the same answer.
    expect(codec.verify('junk-0')).toMatchObject({ ok: false, reason: 'invalid', detail: 'malformed' });
  });
});
