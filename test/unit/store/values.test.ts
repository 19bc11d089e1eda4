/**
 * Values that must survive every database the same way: hostile profile claims
 * (SECURITY.md D.20), Unicode, and timestamps to the millisecond.
 */
import { describe, expect, it } from 'vitest';
import { GatehouseError } from '../../../src/errors.js';
import { describeEachDatabase } from '../../helpers/databases.js';
import { nextEpoch, profile, randomId, sessionInput, signedIn, useStore } from './setup.js';

describeEachDatabase('Store values', (target) => {
  const ctx = useStore(target);

  describe('hostile strings', () => {
    it('stores a 4000-character name, HTML and SQL verbatim', async () => {
      const { store } = ctx;
      const t0 = nextEpoch();
      const long = 'ñ'.repeat(3990) + '😀'.repeat(10);
      const html = `<script>alert(1)</script>' OR '1'='1"; DROP TABLE users; -- \u202Eevil`;
      const a = await signedIn(store, t0, profile({ name: long }));
      const b = await signedIn(
        store,
        t0,
        profile({ name: html, picture: `https://example.com/p.png?q=${'x'.repeat(2000)}` }),
      );
      expect((await store.users.findById(a.user.id))?.name).toBe(long);
      expect((await store.users.findById(b.user.id))?.name).toBe(html);
      expect((await store.users.findById(b.user.id))?.picture).toBe(
        `https://example.com/p.png?q=${'x'.repeat(2000)}`,
      );
    });

    it('truncates an oversized name on a code-point boundary and drops an oversized picture', async () => {
      const { store } = ctx;
      const { user } = await signedIn(
        store,
        nextEpoch(),
        profile({ name: '😀'.repeat(5000), picture: `https://e.com/${'a'.repeat(9000)}` }),
      );
      const stored = await store.users.findById(user.id);
      expect(stored?.name).toBe('😀'.repeat(4096));
      expect(stored?.picture).toBeNull();
    });

    it('replaces NUL in display text and rejects it in identity keys', async () => {
      const { store } = ctx;
      const t0 = nextEpoch();
      const { user, session } = await store
        .signIn(profile({ name: 'a\u0000b' }), sessionInput(t0, { userAgent: 'ua\u0000x' }))
        .then((r) => ('session' in r ? r : Promise.reject(new Error('refused'))));
      expect((await store.users.findById(user.id))?.name).toBe('a\uFFFDb');
      expect((await store.sessions.findById(session.id))?.userAgent).toBe('ua\uFFFDx');
      for (const bad of [profile({ subject: 'a\u0000b' }), profile({ email: 'a\u0000@example.com' })]) {
        const err = await store.signIn(bad, sessionInput(t0)).catch((e: unknown) => e);
        expect(err).toBeInstanceOf(GatehouseError);
        expect(err).toMatchObject({ code: 'login_failed', reason: 'invalid_profile' });
      }
      const message = await store.chat.append(user.id, 'user', 'x\u0000y 😀', new Date(t0));
      expect((await store.chat.list(user.id)).map((m) => m.content)).toEqual([message.content]);
      expect(message.content).toBe('x\uFFFDy 😀');
    });

    it('accepts identity keys at their full size and refuses longer ones without touching the database', async () => {
      const { store } = ctx;
      const t0 = nextEpoch();
      const subject = `${'s'.repeat(254)}😀`;
      const email = `${'e'.repeat(64)}@${'d'.repeat(251)}.com`;
      expect(email).toHaveLength(320);
      const { user } = await signedIn(store, t0, profile({ subject, email }));
      expect(await store.users.findById(user.id)).toMatchObject({ subject, email });
      const before = await store.users.count();
      for (const bad of [
        profile({ subject: 's'.repeat(256) }),
        profile({ email: `x${email}` }),
        profile({ hostedDomain: 'h'.repeat(256) }),
      ]) {
        await expect(store.signIn(bad, sessionInput(t0))).rejects.toMatchObject({ code: 'login_failed' });
      }
      expect(await store.users.count()).toBe(before);
    });

    it('round-trips Unicode emails and finds them exactly', async () => {
      const { store } = ctx;
      const t0 = nextEpoch();
      const tag = randomId(4);
      for (const email of [
        `пользователь-${tag}@пример.рф`,
        `δοκιμή-${tag}@παράδειγμα.δοκιμή`,
        `😀-${tag}@example.com`,
        `用户-${tag}@例子.广告`,
      ]) {
        const { user } = await signedIn(store, t0, profile({ email }));
        expect(await store.users.findByEmail(email)).toEqual([user]);
      }
      expect(await store.users.findByEmail(`ПОЛЬЗОВАТЕЛЬ-${tag}@ПРИМЕР.РФ`)).toEqual([]);
    });

    it('truncates user agents over 512 characters', async () => {
      const { store } = ctx;
      const { session } = await store
        .signIn(profile(), sessionInput(nextEpoch(), { userAgent: 'U'.repeat(5000), ip: '1'.repeat(100) }))
        .then((r) => ('session' in r ? r : Promise.reject(new Error('refused'))));
      const stored = await store.sessions.findById(session.id);
      expect(stored?.userAgent).toBe('U'.repeat(512));
      expect(stored?.ip).toHaveLength(64);
      expect(session).toEqual(stored);
    });
  });

  describe('timestamps', () => {
    it('round-trip exactly to the millisecond, in UTC', async () => {
      const { store } = ctx;
      const t0 = nextEpoch() + 123_456_789; // some hours into the year, .789 ms
      const input = sessionInput(t0, { expiresAt: new Date(t0 + 1), idleExpiresAt: new Date(t0 + 999) });
      const result = await store.signIn(profile(), input);
      if (!('session' in result)) throw new Error('refused');
      const found = await store.sessions.findWithUser(input.id);
      expect(found?.session.createdAt.toISOString()).toBe(new Date(t0).toISOString());
      expect(found?.session.expiresAt.getTime()).toBe(t0 + 1);
      expect(found?.session.idleExpiresAt.getTime()).toBe(t0 + 999);
      expect(found?.user.firstLoggedIn.getTime()).toBe(t0);
      // Range queries compare instants, not text, at millisecond resolution.
      expect(await store.sessions.countActive(new Date(t0))).toBe(1);
      expect(await store.sessions.countActive(new Date(t0 + 1))).toBe(0);
    });

    it('refuses invalid and out-of-range dates as misuse', async () => {
      const { store } = ctx;
      await expect(store.consumeTransaction(randomId(), new Date(Number.NaN))).rejects.toThrow(TypeError);
      await expect(store.consumeTransaction(randomId(), new Date(Date.UTC(10_000, 0, 1)))).rejects.toThrow(
        TypeError,
      );
      expect(
        await store.consumeTransaction(randomId(), new Date(Date.UTC(9999, 11, 31, 23, 59, 59, 999))),
      ).toBe(true);
    });
  });
});
