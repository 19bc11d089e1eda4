import { afterEach, describe, expect, it } from 'vitest';
import { claimsOf, expectCode, flaky, Harness, LocalBus, META, MemoryLogger } from './harness.js';

let harness: Harness | undefined;
afterEach(async () => {
  await harness?.close();
  harness = undefined;
});
function setup(): Harness {
  harness = new Harness();
  return harness;
}

describe('SessionManager: revocation', () => {
  it('is refused at once by the revoking instance, and by another after its next poll', async () => {
    const h = setup();
    const store1 = await h.store();
    const store2 = await h.store();
    const m1 = h.manager(store1);
    const m2 = h.manager(store2);
    await Promise.all([m1.revocation.start(), m2.revocation.start()]);
    const { user, session, token } = await h.signIn(m1, store1);
    expect(m2.service.check(token.token).ok).toBe(true);

    expect(
      await m1.revocation.revoke(session.id, {
        reason: 'user_sign_out',
        type: 'sign_out',
        userId: user.id,
        meta: META,
      }),
    ).toBe(true);
    expect(m1.service.check(token.token)).toMatchObject({ ok: false, reason: 'revoked' });
    expect(m2.service.check(token.token).ok).toBe(true); // not polled yet: the documented ≤ 1 s window
    await m2.revocation.catchUp();
    expect(m2.service.check(token.token)).toMatchObject({
      ok: false,
      reason: 'revoked',
      claims: { sid: session.id },
    });

    expect(await m1.revocation.revoke(session.id, { reason: 'again' })).toBe(false);
    const events = await store1.events.list({ type: 'sign_out' });
    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({
      sessionId: session.id,
      userId: user.id,
      reason: 'user_sign_out',
      ...META,
    });
    expect((await store1.sessions.findById(session.id))?.revokedReason).toBe('user_sign_out');

    // An instance started later loads recent revocations before serving.
    const m3 = h.manager(await h.store());
    expect(m3.service.check(token.token).ok).toBe(true);
    await m3.revocation.start();
    expect(m3.service.check(token.token)).toMatchObject({ ok: false, reason: 'revoked' });

    // An instance that never heard of it still refuses at renewal: the row says revoked.
    const m4 = h.manager(await h.store());
    h.clock.advance(16 * 60_000);
    const check = m4.service.check(token.token);
    expect(check).toMatchObject({ ok: false, reason: 'expired' });
    await expectCode(m4.service.renew(claimsOf(check), META), 'session_revoked');
    expect(m4.service.check(token.token)).toMatchObject({ ok: false, reason: 'revoked' });
  });

  it('reaches other instances through the bus without waiting for a poll', async () => {
    const h = setup();
    const bus = new LocalBus();
    const store = await h.store();
    const m1 = h.manager(store, { bus: bus.endpoint() });
    const m2 = h.manager(await h.store(), { bus: bus.endpoint() });
    await Promise.all([m1.revocation.start(), m2.revocation.start()]);
    const { user, token } = await h.signIn(m1, store);
    const other = await h.signIn(m1, store, 'other');
    const ids = await m1.revocation.revokeAllForUser(user.id, { reason: 'sign_out_everywhere', meta: META });
    expect(ids).toHaveLength(1);
    expect(m2.service.check(token.token)).toMatchObject({ ok: false, reason: 'revoked' });
    expect(m2.service.check(other.token.token).ok).toBe(true);
    expect(await store.events.list({ type: 'sessions_revoked_all', userId: user.id })).toHaveLength(1);
  });

  it('polls on its own timer once started, and stops', async () => {
    const h = setup();
    const store = await h.store();
    const m1 = h.manager(store);
    const m2 = h.manager(await h.store());
    await m2.revocation.start();
    const { session, token } = await h.signIn(m1, store);
    await m1.revocation.revoke(session.id, { reason: 'operator' });
    const deadline = Date.now() + 5_000;
    while (m2.service.check(token.token).ok && Date.now() < deadline)
      await new Promise((r) => setTimeout(r, 20));
    expect(m2.service.check(token.token)).toMatchObject({ ok: false, reason: 'revoked' });
    await m2.revocation.stop();
  });

  it('revokes everything with revokeAll', async () => {
    const h = setup();
    const store = await h.store();
    const m = h.manager(store);
    const signedIn = await Promise.all([h.signIn(m, store), h.signIn(m, store), h.signIn(m, store)]);
    const ids = await m.revocation.revokeAll({ reason: 'operator' });
    expect([...ids].sort()).toEqual(signedIn.map((s) => s.session.id).sort());
    for (const s of signedIn) expect(m.service.check(s.token.token)).toMatchObject({ reason: 'revoked' });
    expect(await m.revocation.revokeAll({ reason: 'operator' })).toEqual([]);
  });

  it('forgets revocations once their tokens must have expired (bounded memory)', async () => {
    const h = setup();
    const store = await h.store();
    const m = h.manager(store);
    await m.revocation.start();
    const { session, token } = await h.signIn(m, store);
    await m.revocation.revoke(session.id, { reason: 'operator' });
    expect(m.revocation.size).toBe(1);
    h.clock.advance(10_000);
    await m.revocation.catchUp(); // re-reads it (overlap window) and moves the watermark past it
    expect(m.revocation.size).toBe(1);
    h.clock.advance(900_000 + 30_000 + 1);
    await m.revocation.catchUp();
    expect(m.revocation.size).toBe(0);
    // Forgotten in memory, still refused: the token has expired and renewal reads the row.
    const check = m.service.check(token.token);
    expect(check).toMatchObject({ ok: false, reason: 'expired' });
    await expectCode(m.service.renew(claimsOf(check), META), 'session_revoked');
  });

  it('survives a database outage: logs once, keeps what it knows, catches up on recovery', async () => {
    const h = setup();
    const real = await h.store();
    const { store, setDown } = flaky(real);
    const logger = new MemoryLogger();
    const m = h.manager(store, { logger });
    const writer = h.manager(real);
    await m.revocation.start();
    const known = await h.signIn(writer, real);
    await writer.revocation.revoke(known.session.id, { reason: 'operator' });
    await m.revocation.catchUp();
    expect(m.service.check(known.token.token)).toMatchObject({ reason: 'revoked' });

    setDown(true);
    const during = await h.signIn(writer, real);
    await writer.revocation.revoke(during.session.id, { reason: 'operator' });
    for (let i = 0; i < 5; i++) {
      h.clock.advance(1_000);
      await expect(m.revocation.catchUp()).resolves.toBeUndefined();
    }
    expect(m.revocation.pollingHealthy).toBe(false);
    expect(m.service.check(known.token.token)).toMatchObject({ reason: 'revoked' });
    expect(logger.entries.filter((e) => e.level === 'warn')).toHaveLength(1);
    expect(logger.entries[0]?.obj).toMatchObject({ event: 'revocation_poll_failed' });

    setDown(false);
    h.clock.advance(1_000);
    await m.revocation.catchUp();
    expect(m.revocation.pollingHealthy).toBe(true);
    expect(m.service.check(during.token.token)).toMatchObject({ reason: 'revoked' });
    expect(logger.entries.map((e) => [e.level, (e.obj as { event?: string }).event])).toEqual([
      ['warn', 'revocation_poll_failed'],
      ['info', 'revocation_poll_recovered'],
    ]);
  });
});
