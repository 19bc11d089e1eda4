import { afterEach, describe, expect, it } from 'vitest';
import { createSessionParts } from '../../../src/session/compose.js';
import { claimsOf, expectCode, flaky, Harness, META, START } from './harness.js';

const floorS = (ms: number) => Math.floor(ms / 1000) * 1000;
const HOUR = 3_600_000;

let harness: Harness | undefined;
afterEach(async () => {
  await harness?.close();
  harness = undefined;
});
function setup(overrides: ConstructorParameters<typeof Harness>[0] = {}): Harness {
  harness = new Harness(overrides);
  return harness;
}

describe('SessionService: issuing and checking', () => {
  it('creates session rows with 128-bit ids and whole-second expiries', async () => {
    const h = setup();
    const store = await h.store();
    const fixed = Buffer.from('00112233445566778899aabbccddeeff', 'hex');
    const m = h.manager(store);
    const signedIn = await Promise.all(Array.from({ length: 100 }, () => h.signIn(m, store, 'same')));
    const ids = new Set(signedIn.map((r) => r.session.id));
    expect(ids.size).toBe(100);
    for (const id of ids) expect(id).toMatch(/^[A-Za-z0-9_-]{22}$/);
    const injected = createSessionParts({
      store,
      config: h.config,
      clock: h.clock,
      random: () => Buffer.from(fixed),
    });
    const { session: s } = await h.signIn(injected, store);
    expect(s).toMatchObject({
      id: fixed.toString('base64url'),
      createdAt: new Date(START),
      expiresAt: new Date(floorS(START + 7 * 24 * HOUR)),
      idleExpiresAt: new Date(floorS(START + 24 * HOUR)),
      ip: META.ip,
      userAgent: META.userAgent,
    });
  });

  it('issues a token that checks without the database and never outlives its session', async () => {
    const h = setup();
    const store = await h.store();
    const m = h.manager(store);
    const { user, session, token } = await h.signIn(m, store);
    expect(token.expiresAt).toBe(floorS(START + 900_000));
    const check = m.service.check(token.token);
    expect(check).toEqual({
      ok: true,
      claims: {
        sub: user.id,
        sid: session.id,
        email: user.email,
        name: user.name,
        iat: Math.floor(START / 1000),
        exp: token.expiresAt / 1000,
      },
    });
    // A session ending in 10 minutes gets a 10-minute token; one ending within the second, none.
    const short = await m.service.issue(user, { ...session, idleExpiresAt: new Date(START + 600_000) });
    expect(short.expiresAt).toBe(floorS(START + 600_000));
    await expectCode(
      m.service.issue(user, { ...session, expiresAt: new Date(START + 500) }),
      'session_expired',
    );
    const anon = await h.signIn(m, store, 'anon');
    expect('name' in claimsOf(m.service.check(anon.token.token))).toBe(false);
  });

  it('refuses tampered tokens as invalid, never throwing', async () => {
    const h = setup();
    const store = await h.store();
    const m = h.manager(store);
    const { token } = await h.signIn(m, store);
    const t = token.token;
    const flipped = t.slice(0, 40) + (t[40] === 'A' ? 'B' : 'A') + t.slice(41);
    for (const bad of [
      flipped,
      `${t}x`,
      t.slice(0, -2),
      '',
      'not a token',
      `${t}.${t}`,
      'a'.repeat(10_000),
    ]) {
      expect(m.service.check(bad)).toMatchObject({ ok: false, reason: 'invalid' });
    }
    expect(() => m.service.check(undefined as unknown as string)).not.toThrow();
  });
});

describe('SessionManager: renewal', () => {
  it('renews after TOKEN_TTL: new token, last_seen_at, idle expiry and last_accessed updated', async () => {
    const h = setup();
    const store = await h.store();
    const m = h.manager(store);
    const { user, session, token } = await h.signIn(m, store);
    h.clock.set(token.expiresAt - 1);
    expect(m.service.check(token.token).ok).toBe(true);
    h.clock.set(token.expiresAt);
    const expired = m.service.check(token.token);
    expect(expired).toMatchObject({ ok: false, reason: 'expired' });

    h.clock.advance(5 * 60_000);
    const now = h.clock.now();
    const renewed = await m.service.renew(claimsOf(expired), META);
    expect(m.service.check(renewed.token.token)).toEqual({ ok: true, claims: renewed.claims });
    expect(renewed.claims).toMatchObject({ sid: session.id, sub: user.id, iat: Math.floor(now / 1000) });
    expect(renewed.token.expiresAt).toBe(floorS(now + 900_000));

    const row = await store.sessions.findById(session.id);
    expect(row?.lastSeenAt).toEqual(new Date(now));
    expect(row?.idleExpiresAt).toEqual(new Date(floorS(now + 24 * HOUR)));
    expect(row?.expiresAt).toEqual(session.expiresAt);
    expect((await store.users.findById(user.id))?.lastAccessed).toEqual(new Date(now));
    expect(renewed.session.lastSeenAt).toEqual(new Date(now));
    expect(renewed.user.lastAccessed).toEqual(new Date(now));
  });

  it('holds the idle timeout exactly: 1 ms before accepted, at and after refused', async () => {
    // TOKEN_TTL equal to the idle limit: the loader refuses a longer one.
    const h = setup({ session: { ttlSeconds: 8 * 3600, idleTtlSeconds: 600, tokenTtlSeconds: 600 } });
    const store = await h.store();
    const m = h.manager(store);
    const a = await h.signIn(m, store);
    const b = await h.signIn(m, store);
    const idleEnd = floorS(START + 600_000);
    expect(a.session.idleExpiresAt).toEqual(new Date(idleEnd));
    // The token ends with the idle limit: the hot path agrees with the row.
    expect(a.token.expiresAt).toBe(idleEnd);

    h.clock.set(idleEnd - 1);
    expect(m.service.check(a.token.token).ok).toBe(true);
    const renewed = await m.service.renew(claimsOf(m.service.check(a.token.token)), META);
    expect(renewed.session.idleExpiresAt).toEqual(new Date(floorS(idleEnd - 1 + 600_000)));

    h.clock.set(idleEnd);
    const check = m.service.check(b.token.token);
    expect(check).toMatchObject({ ok: false, reason: 'expired' });
    await expectCode(m.service.renew(claimsOf(check), META), 'session_expired', 'idle_timeout');
    h.clock.set(idleEnd + 1);
    await expectCode(m.service.renew(claimsOf(check), META), 'session_expired', 'idle_timeout');
    expect(m.service.check(renewed.token.token).ok).toBe(true);
  });

  it('holds the absolute timeout exactly, however often the session is renewed', async () => {
    const h = setup({ session: { ttlSeconds: 3600, idleTtlSeconds: 1800, tokenTtlSeconds: 900 } });
    const store = await h.store();
    const m = h.manager(store);
    const { session, token } = await h.signIn(m, store);
    const end = floorS(START + HOUR);
    expect(session.expiresAt).toEqual(new Date(end));

    let current = token;
    for (let i = 1; i <= 3; i++) {
      h.clock.set(START + i * 900_000);
      const check = m.service.check(current.token);
      expect(check).toMatchObject({ ok: false, reason: 'expired' });
      current = (await m.service.renew(claimsOf(check), META)).token;
    }
    // Renewed 15 min before the end: both the token and the idle limit stop at the absolute expiry.
    expect(current.expiresAt).toBe(end);
    expect((await store.sessions.findById(session.id))?.idleExpiresAt).toEqual(new Date(end));

    h.clock.set(end - 1);
    const live = m.service.check(current.token);
    expect(live.ok).toBe(true);
    await m.service.renew(claimsOf(live), META);
    h.clock.set(end);
    const check = m.service.check(current.token);
    expect(check).toMatchObject({ ok: false, reason: 'expired' });
    await expectCode(m.service.renew(claimsOf(check), META), 'session_expired', 'absolute_timeout');
  });

  it('refuses a subject that does not own the session, and a session that is gone', async () => {
    const h = setup();
    const store = await h.store();
    const m = h.manager(store);
    const { token } = await h.signIn(m, store);
    const claims = claimsOf(m.service.check(token.token));
    await expectCode(
      m.service.renew({ ...claims, sub: 'someone-else' }, META),
      'invalid_token',
      'subject_mismatch',
    );
    await expectCode(m.service.renew({ ...claims, sid: 'AAAAAAAAAAAAAAAAAAAAAA' }, META), 'session_expired');
  });

  it('lets concurrent renewals of one session all succeed', async () => {
    const h = setup();
    const store = await h.store();
    const m = h.manager(store);
    const { token } = await h.signIn(m, store);
    h.clock.advance(20 * 60_000);
    const claims = claimsOf(m.service.check(token.token));
    const results = await Promise.all(Array.from({ length: 8 }, () => m.service.renew(claims, META)));
    for (const r of results) expect(m.service.check(r.token.token).ok).toBe(true);
  });

  it('passes service_unavailable from the store through unchanged', async () => {
    const h = setup();
    const real = await h.store();
    const { store, setDown } = flaky(real);
    const m = h.manager(store);
    const { token } = await h.signIn(m, real);
    h.clock.advance(20 * 60_000);
    setDown(true);
    await expectCode(
      m.service.renew(claimsOf(m.service.check(token.token)), META),
      'service_unavailable',
      'test',
    );
    setDown(false);
    await expect(m.service.renew(claimsOf(m.service.check(token.token)), META)).resolves.toBeDefined();
  });
});

describe('SessionManager: disabling users', () => {
  it('disableUser revokes every session; renewal then refuses; enableUser records it', async () => {
    const h = setup();
    const store = await h.store();
    const m = h.manager(store);
    const a = await h.signIn(m, store, 'ada');
    const b = await h.signIn(m, store, 'ada');
    expect(b.user.id).toBe(a.user.id);
    const disabled = await m.accounts.disable(a.user.id, { reason: 'operator', meta: META });
    expect(disabled?.disabledAt).toEqual(new Date(START));
    for (const s of [a, b]) expect(m.service.check(s.token.token)).toMatchObject({ reason: 'revoked' });
    expect(await store.events.list({ type: 'user_disabled', userId: a.user.id })).toHaveLength(1);

    const fresh = h.manager(await h.store()); // knows nothing in memory
    h.clock.advance(16 * 60_000);
    await expectCode(
      fresh.service.renew(claimsOf(fresh.service.check(a.token.token)), META),
      'session_revoked',
    );

    const enabled = await m.accounts.enable(a.user.id, { reason: 'operator' });
    expect(enabled?.disabledAt).toBeNull();
    expect(await store.events.list({ type: 'user_enabled' })).toHaveLength(1);
    expect(await m.accounts.disable('no-such-user', { reason: 'operator' })).toBeUndefined();
  });

  it('refuses renewal for a user disabled behind its back, and revokes that session', async () => {
    const h = setup();
    const store = await h.store();
    const m = h.manager(store);
    const { user, session, token } = await h.signIn(m, store);
    await store.users.setDisabled(user.id, new Date(h.clock.now()));
    h.clock.advance(16 * 60_000);
    const check = m.service.check(token.token);
    expect(check).toMatchObject({ ok: false, reason: 'expired' });
    await expectCode(m.service.renew(claimsOf(check), META), 'user_disabled');
    expect((await store.sessions.findById(session.id))?.revokedReason).toBe('user_disabled');
    expect(m.service.check(token.token)).toMatchObject({ reason: 'revoked' });
  });
});
