/**
 * The Store contract, run on SQLite, MySQL/MariaDB and PostgreSQL (STYLE.md habit 9): one suite,
 * every backend, real databases.
 */
import { describe, expect, it } from 'vitest';
import { describeEachDatabase } from '../../helpers/databases.js';
import { DAY, nextEpoch, profile, randomId, sessionInput, signedIn, useStore } from './setup.js';

describeEachDatabase('Store contract', (target) => {
  const ctx = useStore(target);

  describe('users', () => {
    it('inserts on first sign-in, then updates the profile by (issuer, subject)', async () => {
      const { store } = ctx;
      const t0 = nextEpoch();
      const p = profile();
      const first = await signedIn(store, t0, p);
      expect(first.user).toMatchObject({
        issuer: p.issuer,
        subject: p.subject,
        email: p.email,
        emailVerified: true,
        name: 'Ada Lovelace',
        picture: 'https://example.com/ada.png',
        hostedDomain: null,
        lastAccessed: null,
        disabledAt: null,
      });
      expect(first.user.id).toMatch(/^[0-9a-f-]{36}$/);
      expect(first.user.firstLoggedIn.getTime()).toBe(t0);
      expect(first.user.lastLogin.getTime()).toBe(t0);

      const t1 = t0 + 3_600_123;
      const changed = {
        ...p,
        email: `new-${p.email}`,
        name: 'Ada King',
        picture: null,
        hostedDomain: 'example.com',
        emailVerified: true as const,
      };
      const second = await signedIn(store, t1, changed);
      expect(second.user.id).toBe(first.user.id);
      expect(second.user).toMatchObject({
        email: changed.email,
        name: 'Ada King',
        picture: null,
        hostedDomain: 'example.com',
      });
      expect(second.user.firstLoggedIn.getTime()).toBe(t0);
      expect(second.user.lastLogin.getTime()).toBe(t1);
      expect(await store.users.findById(first.user.id)).toEqual(second.user);
      expect(await store.users.findByEmail(changed.email)).toEqual([second.user]);
      expect(await store.users.findByEmail(p.email)).toEqual([]);
    });

    it('never merges by email: a new subject with a known email is another user', async () => {
      const { store } = ctx;
      const t0 = nextEpoch();
      const email = `shared-${randomId(6)}@example.com`;
      const a = await signedIn(store, t0, profile({ email }));
      const b = await signedIn(store, t0 + 1000, profile({ email }));
      const c = await signedIn(
        store,
        t0 + 2000,
        profile({ email, issuer: 'https://other.test', subject: a.user.subject }),
      );
      expect(new Set([a.user.id, b.user.id, c.user.id]).size).toBe(3);
      const found = await store.users.findByEmail(email);
      expect(found.map((u) => u.id)).toEqual([a.user.id, b.user.id, c.user.id]);
    });

    it('treats subjects as exact strings (case and trailing spaces matter)', async () => {
      const { store } = ctx;
      const t0 = nextEpoch();
      const base = `Sub${randomId(6)}`;
      const ids = new Set<string>();
      for (const subject of [base, base.toLowerCase(), base.toUpperCase(), `${base} `]) {
        ids.add((await signedIn(store, t0, profile({ subject }))).user.id);
      }
      expect(ids.size).toBe(4);
    });

    it('refuses a disabled user without a session or a profile change, and lets them back when enabled', async () => {
      const { store } = ctx;
      const t0 = nextEpoch();
      const p = profile();
      const { user } = await signedIn(store, t0, p);
      const disabledAt = new Date(t0 + 1000);
      const disabled = await store.users.setDisabled(user.id, disabledAt);
      expect(disabled?.disabledAt?.getTime()).toBe(disabledAt.getTime());

      const refused = await store.signIn({ ...p, name: 'Changed' }, sessionInput(t0 + 2000));
      expect(refused).toMatchObject({ disabled: true, user: { id: user.id, name: 'Ada Lovelace' } });
      expect('session' in refused).toBe(false);
      expect((await store.users.findById(user.id))?.lastLogin.getTime()).toBe(t0);
      expect(await store.sessions.listForUser(user.id, { includeInactive: true })).toHaveLength(1);

      expect((await store.users.setDisabled(user.id, null))?.disabledAt).toBeNull();
      const back = await signedIn(store, t0 + 3000, p);
      expect(back.user.id).toBe(user.id);
      expect(
        await store.users.setDisabled('00000000-0000-0000-0000-000000000000', new Date(t0)),
      ).toBeUndefined();
    });

    it('counts and lists users in sign-up order', async () => {
      const { store } = ctx;
      const before = await store.users.count();
      const t0 = nextEpoch();
      const a = await signedIn(store, t0);
      const b = await signedIn(store, t0 + 1);
      expect(await store.users.count()).toBe(before + 2);
      const all = await store.users.list({ limit: 10_000 });
      const ids = all.map((u) => u.id);
      expect(ids.indexOf(a.user.id)).toBeLessThan(ids.indexOf(b.user.id));
      expect(await store.users.list({ limit: 1, offset: ids.indexOf(b.user.id) })).toEqual([b.user]);
      await expect(store.users.list({ limit: -1 })).rejects.toThrow(TypeError);
    });
  });

  describe('sessions', () => {
    it('creates, finds, and finds with its user', async () => {
      const { store } = ctx;
      const t0 = nextEpoch();
      const input = sessionInput(t0, { ip: '2001:db8::1', userAgent: 'curl/8' });
      const result = await store.signIn(profile(), input);
      if ('disabled' in result) throw new Error('refused');
      const expected = {
        id: input.id,
        userId: result.user.id,
        createdAt: input.createdAt,
        expiresAt: input.expiresAt,
        idleExpiresAt: input.idleExpiresAt,
        lastSeenAt: input.createdAt,
        revokedAt: null,
        revokedReason: null,
        ip: '2001:db8::1',
        userAgent: 'curl/8',
        clientKind: 'web',
        signInMethod: 'oidc_callback',
      };
      expect(result.session).toEqual(expected);
      expect(await store.sessions.findById(input.id)).toEqual(expected);
      expect(await store.sessions.findWithUser(input.id)).toEqual({ session: expected, user: result.user });
      expect(await store.sessions.findById('nope')).toBeUndefined();
      expect(await store.sessions.findWithUser('nope')).toBeUndefined();
    });

    it('touch moves last_seen_at, idle expiry and the user last_accessed', async () => {
      const { store } = ctx;
      const t0 = nextEpoch();
      const { user, session } = await signedIn(store, t0);
      await store.sessions.touch(session.id, user.id, new Date(t0 + 60_001), new Date(t0 + 60_001 + DAY));
      const found = await store.sessions.findWithUser(session.id);
      expect(found?.session.lastSeenAt.getTime()).toBe(t0 + 60_001);
      expect(found?.session.idleExpiresAt.getTime()).toBe(t0 + 60_001 + DAY);
      expect(found?.user.lastAccessed?.getTime()).toBe(t0 + 60_001);
    });

    it('touch leaves a revoked session, and its user, as they were', async () => {
      const { store } = ctx;
      const t0 = nextEpoch();
      const { user, session } = await signedIn(store, t0);
      expect(await store.sessions.revoke(session.id, new Date(t0 + 5), 'user_sign_out')).toBe(true);
      await store.sessions.touch(session.id, user.id, new Date(t0 + 60_001), new Date(t0 + 60_001 + DAY));
      // Another user's id with this session id moves nothing either.
      const other = await signedIn(store, t0);
      await store.sessions.touch(
        other.session.id,
        user.id,
        new Date(t0 + 70_001),
        new Date(t0 + 70_001 + DAY),
      );
      const found = await store.sessions.findWithUser(session.id);
      expect(found?.session.lastSeenAt).toEqual(session.lastSeenAt);
      expect(found?.session.idleExpiresAt).toEqual(session.idleExpiresAt);
      expect(found?.user.lastAccessed).toBeNull();
      expect((await store.sessions.findById(other.session.id))?.lastSeenAt).toEqual(other.session.lastSeenAt);
    });

    it('revokes one session once', async () => {
      const { store } = ctx;
      const t0 = nextEpoch();
      const { session } = await signedIn(store, t0);
      expect(await store.sessions.revoke(session.id, new Date(t0 + 5), 'user_sign_out')).toBe(true);
      expect(await store.sessions.revoke(session.id, new Date(t0 + 6), 'operator')).toBe(false);
      expect(await store.sessions.findById(session.id)).toMatchObject({
        revokedAt: new Date(t0 + 5),
        revokedReason: 'user_sign_out',
      });
      expect(await store.sessions.revoke('missing', new Date(t0), 'x')).toBe(false);
    });

    it('lists, counts, revokes all for a user, and reports revocations since a time', async () => {
      const { store } = ctx;
      const t0 = nextEpoch();
      const p = profile();
      const s1 = await signedIn(store, t0, p);
      const s2 = await signedIn(store, t0 + 10, p);
      const s3 = await signedIn(store, t0 + 20, p);
      const other = await signedIn(store, t0 + 30);
      const userId = s1.user.id;

      expect(
        (await store.sessions.listForUser(userId, { now: new Date(t0 + 100) })).map((s) => s.id),
      ).toEqual([s3.session.id, s2.session.id, s1.session.id]);
      expect(await store.sessions.countActive(new Date(t0 + 100))).toBe(4);
      expect((await store.sessions.list({ activeAt: new Date(t0 + 100) })).map((s) => s.id)).toEqual([
        other.session.id,
        s3.session.id,
        s2.session.id,
        s1.session.id,
      ]);

      await store.sessions.revoke(s2.session.id, new Date(t0 + 200), 'user_sign_out');
      const revoked = await store.sessions.revokeAllForUser(
        userId,
        new Date(t0 + 300),
        'sign_out_everywhere',
      );
      expect([...revoked].sort()).toEqual([s1.session.id, s3.session.id].sort());
      expect(await store.sessions.revokeAllForUser(userId, new Date(t0 + 301), 'again')).toEqual([]);
      expect(await store.sessions.listForUser(userId, { now: new Date(t0 + 400) })).toEqual([]);
      expect(await store.sessions.listForUser(userId, { includeInactive: true })).toHaveLength(3);
      expect(await store.sessions.countActive(new Date(t0 + 400))).toBe(1);

      const since = await store.sessions.revokedSince(new Date(t0 + 200));
      expect(since).toEqual([
        { id: s2.session.id, revokedAt: new Date(t0 + 200) },
        ...[s1.session.id, s3.session.id].sort().map((id) => ({ id, revokedAt: new Date(t0 + 300) })),
      ]);
      expect(await store.sessions.revokedSince(new Date(t0 + 201))).toHaveLength(2);
      expect(await store.sessions.revokedSince(new Date(t0 + 200), 1)).toHaveLength(1);

      const all = await store.sessions.revokeAll(new Date(t0 + 500), 'operator');
      expect(all).toEqual([other.session.id]);
      expect(await store.sessions.countActive(new Date(t0 + 600))).toBe(0);
    });

    it('counts a session active only before its idle and absolute expiries', async () => {
      const { store } = ctx;
      const t0 = nextEpoch();
      await store.signIn(
        profile(),
        sessionInput(t0, { idleExpiresAt: new Date(t0 + 1000), expiresAt: new Date(t0 + 5000) }),
      );
      await store.signIn(
        profile(),
        sessionInput(t0, { idleExpiresAt: new Date(t0 + 9000), expiresAt: new Date(t0 + 3000) }),
      );
      expect(await store.sessions.countActive(new Date(t0 + 999))).toBe(2);
      expect(await store.sessions.countActive(new Date(t0 + 1000))).toBe(1);
      expect(await store.sessions.countActive(new Date(t0 + 3000))).toBe(0);
    });

    it('purges expired sessions and used transactions, keeping a revoked session until it expires', async () => {
      const { store } = ctx;
      const t0 = nextEpoch();
      const keep = await signedIn(store, t0);
      const idle = await store.signIn(profile(), sessionInput(t0, { idleExpiresAt: new Date(t0 + 10) }));
      const revoked = await signedIn(store, t0);
      await store.sessions.revoke(revoked.session.id, new Date(t0 + 20), 'operator');
      await store.consumeTransaction(`tx-${randomId()}`, new Date(t0 + 30));
      const liveTx = `tx-${randomId()}`;
      await store.consumeTransaction(liveTx, new Date(t0 + 10 * DAY));

      // Everything of earlier tests (earlier epochs) is past too, so count only what we can name.
      const deleted = await store.sessions.purgeExpired(new Date(t0 + 1000));
      expect(deleted).toBeGreaterThanOrEqual(2);
      expect(await store.sessions.findById(keep.session.id)).toBeDefined();
      expect(await store.sessions.findById('session' in idle ? idle.session.id : '')).toBeUndefined();
      // SECURITY.md 41: the revocation is remembered while a token of the session could verify.
      expect(await store.sessions.findById(revoked.session.id)).toMatchObject({ revokedReason: 'operator' });
      expect(await store.consumeTransaction(liveTx, new Date(t0 + 10 * DAY))).toBe(false);
      expect(await store.sessions.purgeExpired(new Date(t0 + 1000))).toBe(0);
      // Once its idle expiry (one day) has passed, the revoked row goes too.
      await store.sessions.purgeExpired(new Date(t0 + DAY + 1));
      expect(await store.sessions.findById(revoked.session.id)).toBeUndefined();
    });

    it("tells the database's time, and never records a revocation before it", async () => {
      const { store } = ctx;
      const before = Date.now();
      const dbNow = (await store.sessions.databaseTime()).getTime();
      // The services run on this host: the same clock, within a generous bound.
      expect(Math.abs(dbNow - before)).toBeLessThan(60_000);
      const session = await signedIn(store, Date.now());
      // A revoker whose clock is an hour behind.
      expect(await store.sessions.revoke(session.session.id, new Date(dbNow - 3_600_000), 'operator')).toBe(
        true,
      );
      const row = await store.sessions.findById(session.session.id);
      expect(row!.revokedAt!.getTime()).toBeGreaterThanOrEqual(dbNow);
    });

    it('gives 50 concurrent first sign-ins of one subject one user and 50 sessions', async () => {
      const { store } = ctx;
      const t0 = nextEpoch();
      const p = profile();
      const results = await Promise.all(
        Array.from({ length: 50 }, (_, i) => store.signIn({ ...p, name: `try ${i}` }, sessionInput(t0 + i))),
      );
      const userIds = new Set(results.map((r) => r.user.id));
      expect(userIds.size).toBe(1);
      expect(results.every((r) => 'session' in r)).toBe(true);
      expect(await store.users.findByEmail(p.email)).toHaveLength(1);
      const [userId] = [...userIds];
      expect(await store.sessions.listForUser(userId ?? '', { includeInactive: true })).toHaveLength(50);
    });
  });

  describe('events', () => {
    it('records, filters newest first, and purges', async () => {
      const { store } = ctx;
      const t0 = nextEpoch();
      const userId = crypto.randomUUID();
      await store.events.record({
        type: 'sign_in_failed',
        reason: 'state_mismatch',
        ip: '198.51.100.1',
        userAgent: 'ua',
        at: new Date(t0),
      });
      await store.events.record({ type: 'sign_in', userId, sessionId: randomId(), at: new Date(t0 + 1) });
      await store.events.record({ type: 'sign_out', userId, reason: 'user_sign_out', at: new Date(t0 + 2) });

      const mine = await store.events.list({ userId });
      expect(mine.map((e) => e.type)).toEqual(['sign_out', 'sign_in']);
      expect(mine[0]).toMatchObject({
        userId,
        reason: 'user_sign_out',
        sessionId: null,
        createdAt: new Date(t0 + 2),
      });
      expect(typeof mine[0]?.id).toBe('number');
      const failed = await store.events.list({ type: 'sign_in_failed', since: new Date(t0) });
      expect(failed).toHaveLength(1);
      expect(failed[0]).toMatchObject({
        userId: null,
        reason: 'state_mismatch',
        ip: '198.51.100.1',
        userAgent: 'ua',
      });
      expect(await store.events.list({ since: new Date(t0 + 1), limit: 1 })).toHaveLength(1);
      expect((await store.events.list({ since: new Date(t0) })).length).toBe(3);

      expect(await store.events.purgeOlderThan(new Date(t0 + 2))).toBeGreaterThanOrEqual(2);
      expect(
        (await store.events.list({ since: new Date(0) })).every((e) => e.createdAt.getTime() >= t0 + 2),
      ).toBe(true);
    });
  });

  describe('chat', () => {
    it('appends, pages newest first with an id cursor, and keeps users apart', async () => {
      const { store } = ctx;
      const t0 = nextEpoch();
      const alice = (await signedIn(store, t0)).user;
      const bob = (await signedIn(store, t0)).user;
      const sent = [];
      for (let i = 0; i < 5; i++) {
        sent.push(
          await store.chat.append(alice.id, i % 2 ? 'assistant' : 'user', `message ${i}`, new Date(t0 + i)),
        );
      }
      const bobs = await store.chat.append(bob.id, 'user', 'bob only', new Date(t0));
      expect(sent[0]).toEqual({
        id: sent[0]?.id,
        userId: alice.id,
        role: 'user',
        content: 'message 0',
        createdAt: new Date(t0),
      });

      const page1 = await store.chat.list(alice.id, { limit: 2 });
      expect(page1.map((m) => m.content)).toEqual(['message 4', 'message 3']);
      const page2 = await store.chat.list(alice.id, { limit: 2, before: page1[1]?.id });
      expect(page2.map((m) => m.content)).toEqual(['message 2', 'message 1']);
      const page3 = await store.chat.list(alice.id, { limit: 2, before: page2[1]?.id });
      expect(page3).toEqual([sent[0]]);
      expect(await store.chat.list(alice.id, { before: page3[0]?.id })).toEqual([]);
      expect(await store.chat.count(alice.id)).toBe(5);
      expect((await store.chat.list(bob.id)).map((m) => m.content)).toEqual(['bob only']);
      // Alice's messages have lower ids than Bob's, yet a cursor never reaches them.
      expect(await store.chat.list(bob.id, { before: bobs.id })).toEqual([]);
      expect(await store.chat.list(bob.id, { before: bobs.id + 1 })).toEqual([bobs]);
    });

    it('appends a message and its reply together, or neither (appendExchange)', async () => {
      const { store } = ctx;
      const t0 = nextEpoch();
      const carol = (await signedIn(store, t0)).user;
      const { message, reply } = await store.chat.appendExchange(
        carol.id,
        { content: 'hello', at: new Date(t0) },
        { content: 'hi Carol', at: new Date(t0 + 5) },
      );
      expect(message).toMatchObject({
        userId: carol.id,
        role: 'user',
        content: 'hello',
        createdAt: new Date(t0),
      });
      expect(reply).toMatchObject({ role: 'assistant', content: 'hi Carol', createdAt: new Date(t0 + 5) });
      expect(reply.id).toBeGreaterThan(message.id);
      expect(await store.chat.list(carol.id)).toEqual([reply, message]);

      // The reply cannot be written (its time is out of range) after the message was inserted in
      // the same transaction: the message is rolled back with it.
      await expect(
        store.chat.appendExchange(
          carol.id,
          { content: 'lost', at: new Date(t0 + 10) },
          { content: 'never', at: new Date(Number.NaN) },
        ),
      ).rejects.toThrow(TypeError);
      expect(await store.chat.count(carol.id)).toBe(2);
    });
  });

  describe('roles', () => {
    it('grants once, lists sorted, revokes once, and keeps users apart', async () => {
      const { store } = ctx;
      const t0 = nextEpoch();
      const { user } = await signedIn(store, t0);
      const { user: other } = await signedIn(store, t0);
      expect(await store.roles.listForUser(user.id)).toEqual([]);
      expect(await store.roles.grant(user.id, 'ops', new Date(t0), 'cli')).toBe(true);
      expect(await store.roles.grant(user.id, 'admin', new Date(t0 + 1), 'bootstrap')).toBe(true);
      expect(await store.roles.grant(user.id, 'admin', new Date(t0 + 2), 'cli')).toBe(false);
      expect(await store.roles.listForUser(user.id)).toEqual(['admin', 'ops']);
      expect(await store.roles.listForUser(other.id)).toEqual([]);
      expect(await store.roles.grants(user.id)).toEqual([
        { userId: user.id, role: 'admin', grantedAt: new Date(t0 + 1), grantedBy: 'bootstrap' },
        { userId: user.id, role: 'ops', grantedAt: new Date(t0), grantedBy: 'cli' },
      ]);
      expect(await store.roles.revoke(user.id, 'ops')).toBe(true);
      expect(await store.roles.revoke(user.id, 'ops')).toBe(false);
      expect(await store.roles.listForUser(user.id)).toEqual(['admin']);
    });

    it('compares role names exactly and gives one row under 10 concurrent grants', async () => {
      const { store } = ctx;
      const { user } = await signedIn(store, nextEpoch());
      const results = await Promise.all(
        Array.from({ length: 10 }, () => store.roles.grant(user.id, 'editor', new Date(), 'cli')),
      );
      expect(results.filter(Boolean)).toHaveLength(1);
      expect(await store.roles.grant(user.id, 'editor-x', new Date(), 'cli')).toBe(true);
      expect(await store.roles.listForUser(user.id)).toEqual(['editor', 'editor-x']);
    });
  });

  describe('role changes', () => {
    it('records the last change per user, lists changes since a time, and purges old ones', async () => {
      const { store } = ctx;
      const t0 = nextEpoch();
      const a = randomId(8);
      const b = randomId(8);
      await store.authzChanges.record(a, new Date(t0));
      await store.authzChanges.record(b, new Date(t0 + 1000));
      await store.authzChanges.record(a, new Date(t0 + 2000));
      const since = (await store.authzChanges.since(new Date(t0))).filter(
        (c) => c.userId === a || c.userId === b,
      );
      expect(since).toEqual([
        { userId: b, changedAt: new Date(t0 + 1000) },
        { userId: a, changedAt: new Date(t0 + 2000) },
      ]);
      expect((await store.authzChanges.since(new Date(t0 + 1500))).map((c) => c.userId)).toContain(a);
      expect((await store.authzChanges.since(new Date(t0 + 1500))).map((c) => c.userId)).not.toContain(b);
      expect(await store.authzChanges.purge(new Date(t0 + 1500))).toBeGreaterThanOrEqual(1);
      expect((await store.authzChanges.since(new Date(t0))).map((c) => c.userId)).not.toContain(b);
    });
  });

  describe('directory answers', () => {
    it('stores, replaces and reads the last Directory answer per user (200 groups)', async () => {
      const { store } = ctx;
      const t0 = nextEpoch();
      const { user } = await signedIn(store, t0);
      expect(await store.directory.get(user.id)).toBeUndefined();
      const many = Array.from(
        { length: 200 },
        (_, i) => `group-${String(i).padStart(3, '0')}-with-a-long-name@example.com`,
      );
      await store.directory.put(user.id, many, new Date(t0));
      expect(await store.directory.get(user.id)).toEqual({ groups: many, checkedAt: new Date(t0) });
      await store.directory.put(user.id, ['ops@example.com'], new Date(t0 + 5000));
      expect(await store.directory.get(user.id)).toEqual({
        groups: ['ops@example.com'],
        checkedAt: new Date(t0 + 5000),
      });
    });
  });

  describe('login transactions', () => {
    it('is consumed once', async () => {
      const { store } = ctx;
      const id = randomId(32);
      const expires = new Date(nextEpoch());
      expect(await store.consumeTransaction(id, expires)).toBe(true);
      expect(await store.consumeTransaction(id, expires)).toBe(false);
      await expect(store.consumeTransaction('x'.repeat(65), expires)).rejects.toThrow(TypeError);
    });

    it('is consumed exactly once under 20 concurrent calls', async () => {
      const { store } = ctx;
      const id = randomId(32);
      const expires = new Date(nextEpoch());
      const results = await Promise.all(
        Array.from({ length: 20 }, () => store.consumeTransaction(id, expires)),
      );
      expect(results.filter(Boolean)).toHaveLength(1);
    });
  });
});
