import { createHash } from 'node:crypto';
import { decodeProtectedHeader, jwtVerify, SignJWT } from 'jose';
import { describe, expect, it } from 'vitest';
import { keyId, MAX_TOKEN_LENGTH, TokenCodec } from '../../../src/session/token.js';
import type { SessionClaims } from '../../../src/session/types.js';
import { ManualClock } from './clock.js';
import { KEY_A, KEY_B, KEY_C, segments, signRaw } from './jwt-fixtures.js';

const clock = new ManualClock();
const now = () => Math.floor(clock.now() / 1000);
const claims = (over: Partial<SessionClaims> = {}): SessionClaims => ({
  sub: 'user-1',
  sid: 'sess-1',
  email: 'ada@example.com',
  iat: now(),
  exp: now() + 900,
  ...over,
});

describe('TokenCodec', () => {
  it('derives kid as the first 8 characters of base64url(SHA-256(key))', () => {
    const expected = createHash('sha256').update(KEY_A).digest('base64url').slice(0, 8);
    expect(keyId(KEY_A)).toBe(expected);
    expect(new TokenCodec([KEY_A, KEY_B], clock).kids).toEqual([keyId(KEY_A), keyId(KEY_B)]);
  });

  it('writes exactly the protected header {"alg":"HS256","typ":"JWT","kid"} and the claims', async () => {
    const codec = new TokenCodec([KEY_A], clock);
    const token = await codec.sign(claims({ name: 'Ada' }));
    const [h] = segments(token);
    expect(Buffer.from(h, 'base64url').toString()).toBe(
      `{"alg":"HS256","typ":"JWT","kid":"${keyId(KEY_A)}"}`,
    );
    expect(decodeProtectedHeader(token)).toEqual({ alg: 'HS256', typ: 'JWT', kid: keyId(KEY_A) });
    const { payload } = await jwtVerify(token, new TextEncoder().encode(KEY_A), {
      algorithms: ['HS256'],
      currentDate: new Date(clock.now()),
    });
    expect(payload).toEqual({ ...claims(), name: 'Ada' });
    expect(codec.verify(token)).toEqual({ ok: true, claims: { ...claims(), name: 'Ada' } });
  });

  it('writes, byte for byte, the token jose SignJWT writes for the same claims and key', async () => {
    const codec = new TokenCodec([KEY_A, KEY_B], clock);
    const names = [undefined, 'Ada', '', 'Zoë “Ö” 日本 🙂', 'a"b\\c\n\u0000', '\ud800 lone surrogate'];
    for (const name of names) {
      const c = claims(name === undefined ? {} : { name });
      const payload: Record<string, string> = { sid: c.sid, email: c.email };
      if (name !== undefined) payload.name = name;
      const reference = await new SignJWT(payload)
        .setProtectedHeader({ alg: 'HS256', typ: 'JWT', kid: keyId(KEY_A) })
        .setSubject(c.sub)
        .setIssuedAt(c.iat)
        .setExpirationTime(c.exp)
        .sign(new TextEncoder().encode(KEY_A));
      const token = await codec.sign(c);
      expect(token).toBe(reference);
      expect(codec.verify(token)).toEqual({ ok: true, claims: c });
    }
  });

  it('carries the Workspace domain as hd when given, and refuses an empty one', async () => {
    const codec = new TokenCodec([KEY_A], clock);
    const token = await codec.sign(claims({ name: 'Ada', hd: 'example.com' }));
    expect(codec.verify(token)).toEqual({
      ok: true,
      claims: { ...claims(), name: 'Ada', hd: 'example.com' },
    });
    expect(() => codec.sign(claims({ hd: '' }))).toThrow(/hd must be/);
    const empty = signRaw(segmentsHeader(token), { ...claims(), hd: '' }, KEY_A);
    expect(codec.verify(empty)).toMatchObject({ ok: false, reason: 'invalid' });
  });

  it('omits name when absent and returns only the known claims', async () => {
    const codec = new TokenCodec([KEY_A], clock);
    const token = await codec.sign(claims());
    const r = codec.verify(token);
    expect(r).toEqual({ ok: true, claims: claims() });
    expect(r.ok && 'name' in r.claims).toBe(false);
    const withExtra = signRaw(segmentsHeader(token), { ...claims(), role: 'admin', aud: 'x' }, KEY_A);
    expect(codec.verify(withExtra)).toEqual({ ok: true, claims: claims() });
  });

  it('rotates keys: old tokens verify while the old key is listed; new tokens carry the first kid', async () => {
    const oldCodec = new TokenCodec([KEY_B], clock);
    const oldToken = await oldCodec.sign(claims());
    const rotated = new TokenCodec([KEY_A, KEY_B], clock);
    expect(rotated.signingKid).toBe(keyId(KEY_A));
    expect(rotated.verify(oldToken)).toEqual({ ok: true, claims: claims() });
    const fresh = await rotated.sign(claims());
    expect(decodeProtectedHeader(fresh).kid).toBe(keyId(KEY_A));
    expect(oldCodec.verify(fresh)).toEqual({ ok: false, reason: 'invalid', detail: 'unknown_key' });
    // The old key retired from the list: its tokens are refused, even when otherwise genuine.
    const retired = new TokenCodec([KEY_A, KEY_C], clock);
    expect(retired.verify(oldToken)).toEqual({ ok: false, reason: 'invalid', detail: 'unknown_key' });
  });

  it('refuses a token signed with another key under a configured kid', async () => {
    const codec = new TokenCodec([KEY_A], clock);
    const token = await codec.sign(claims());
    const forged = signRaw(segmentsHeader(token), claims(), KEY_B);
    expect(codec.verify(forged)).toEqual({ ok: false, reason: 'invalid', detail: 'bad_signature' });
  });

  it('tells expired (genuine, renewal candidate) from invalid, with exp exclusive', async () => {
    const codec = new TokenCodec([KEY_A], clock);
    const start = clock.now();
    const token = await codec.sign(claims({ exp: now() + 10 }));
    clock.set(start + 9_999);
    expect(codec.verify(token).ok).toBe(true);
    clock.set(start + 10_000);
    expect(codec.verify(token)).toMatchObject({ ok: false, reason: 'expired', claims: { sid: 'sess-1' } });
    clock.set(start + 86_400_000);
    expect(codec.verify(token)).toMatchObject({ ok: false, reason: 'expired' });
    clock.set(start);
  });

  it('tolerates 30 s of clock skew on iat, not more', async () => {
    const codec = new TokenCodec([KEY_A], clock);
    const ahead30 = await codec.sign(claims({ iat: now() + 30, exp: now() + 600 }));
    const ahead31 = await codec.sign(claims({ iat: now() + 31, exp: now() + 600 }));
    expect(codec.verify(ahead30).ok).toBe(true);
    expect(codec.verify(ahead31)).toEqual({ ok: false, reason: 'invalid', detail: 'not_yet_valid' });
  });

  it('refuses over-long tokens before any work', async () => {
    const codec = new TokenCodec([KEY_A], clock);
    const long = await codec.sign(claims({ name: 'x'.repeat(4000) }));
    expect(long.length).toBeGreaterThan(MAX_TOKEN_LENGTH);
    expect(codec.verify(long)).toEqual({ ok: false, reason: 'invalid', detail: 'malformed' });
  });

  it('never throws on hostile input', () => {
    const codec = new TokenCodec([KEY_A], clock);
    const inputs: unknown[] = [
      '',
      '.',
      '..',
      '...',
      'a.b.c',
      '\u0000',
      '🚀.🚀.🚀',
      'x'.repeat(1e6),
      Symbol('t'),
      1n,
    ];
    for (let i = 0; i < 2000; i++) {
      const chars = 'AZaz09-_.=+/ \n\u00e9';
      let s = '';
      for (let j = 0; j < (i % 200) + 1; j++) s += chars[(i * 31 + j * 17 + j * j) % chars.length];
      inputs.push(s);
    }
    for (const input of inputs) {
      expect(() => codec.verify(input as string)).not.toThrow();
      expect(codec.verify(input as string).ok).toBe(false);
    }
  });

  it('rejects misuse with TypeError', async () => {
    expect(() => new TokenCodec([], clock)).toThrow(TypeError);
    expect(() => new TokenCodec([''], clock)).toThrow(TypeError);
    expect(new TokenCodec([KEY_A, KEY_A], clock).kids).toEqual([keyId(KEY_A)]);
    const codec = new TokenCodec([KEY_A], clock);
    expect(() => codec.sign(claims({ sub: '' }))).toThrow(TypeError);
    expect(() => codec.sign(claims({ exp: now() }))).toThrow(TypeError);
    expect(() => codec.sign(claims({ iat: 1.5 }))).toThrow(TypeError);
  });
});

function segmentsHeader(token: string): string {
  return Buffer.from(segments(token)[0], 'base64url').toString('utf8');
}

describe('TokenCodec: lifetime bound and renew-before mark (SECURITY.md 41, 42)', () => {
  it('answers a token longer-lived than maxLifetimeSeconds as expired (a renewal candidate)', async () => {
    const long = new TokenCodec([KEY_A], clock);
    const token = await long.sign(claims({ iat: now(), exp: now() + 3600 }));
    const short = new TokenCodec([KEY_A], clock, { maxLifetimeSeconds: 600 });
    expect(long.verify(token).ok).toBe(true);
    expect(short.verify(token)).toMatchObject({ ok: false, reason: 'expired' });
    const fits = await short.sign(claims({ iat: now(), exp: now() + 600 }));
    expect(short.verify(fits).ok).toBe(true);
  });

  it('after renewIssuedBefore, tokens issued until then are expired (cached ones too), later ones pass', async () => {
    const codec = new TokenCodec([KEY_A], clock);
    const earlier = await codec.sign(claims({ iat: now() - 10, exp: now() + 600 }));
    expect(codec.verify(earlier).ok).toBe(true); // now cached
    codec.renewIssuedBefore(clock.now());
    expect(codec.verify(earlier)).toMatchObject({ ok: false, reason: 'expired' });
    const later = await codec.sign(claims({ iat: now() + 1, exp: now() + 600 }));
    expect(codec.verify(later).ok).toBe(true);
    codec.renewIssuedBefore(clock.now() - 60_000); // never moves back
    expect(codec.verify(earlier)).toMatchObject({ ok: false, reason: 'expired' });
  });
});
