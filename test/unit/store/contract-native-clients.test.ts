/**
 * The Store contract for native clients (migration 0003), on SQLite, MySQL/MariaDB and
 * PostgreSQL: session client kinds, single-use ID tokens, refresh-token rotation — including the
 * race of many rotations of one token from two store instances (two pools) at once.
 */
import { createHash } from 'node:crypto';
import { expect, it } from 'vitest';
import { openStore } from '../../../src/store/index.js';
import type { NewRefreshToken } from '../../../src/store/types.js';
import { describeEachDatabase } from '../../helpers/databases.js';
import { DAY, nextEpoch, profile, randomId, sessionInput, signedIn, useStore } from './setup.js';

const sha = (value: string) => createHash('sha256').update(value).digest('hex');

function tokenFor(sessionId: string, at: number, overrides: Partial<NewRefreshToken> = {}): NewRefreshToken {
  return {
    hash: sha(randomId(32)),
    sessionId,
    family: randomId(),
    generation: 0,
    createdAt: new Date(at),
    expiresAt: new Date(at + 7 * DAY),
    ...overrides,
  };
}

describeEachDatabase('Store contract: native clients', (target) => {
  const ctx = useStore(target);

  it('keeps a session’s client kind and sign-in method; browser sessions default to web/oidc_callback', async () => {
    const { store } = ctx;
    const t0 = nextEpoch();
    const web = await signedIn(store, t0);
    expect(web.session).toMatchObject({ clientKind: 'web', signInMethod: 'oidc_callback' });
    const native = await store.signIn(
      profile(),
      sessionInput(t0, { clientKind: 'android', signInMethod: 'id_token' }),
    );
    if ('disabled' in native) throw new Error('unexpected refusal');
    expect(native.session).toMatchObject({ clientKind: 'android', signInMethod: 'id_token' });
    expect(await store.sessions.findById(native.session.id)).toEqual(native.session);
    expect((await store.sessions.findWithUser(native.session.id))?.session).toEqual(native.session);
    expect(await store.sessions.listForUser(native.user.id, { now: new Date(t0) })).toEqual([native.session]);
  });

  it('consumes an ID token hash once, also under 20 concurrent calls', async () => {
    const { store } = ctx;
    const expires = new Date(nextEpoch());
    const hash = sha(randomId());
    expect(await store.consumeIdToken(hash, expires)).toBe(true);
    expect(await store.consumeIdToken(hash, expires)).toBe(false);
    const other = sha(randomId());
    const results = await Promise.all(Array.from({ length: 20 }, () => store.consumeIdToken(other, expires)));
    expect(results.filter(Boolean)).toHaveLength(1);
    await expect(store.consumeIdToken('not-a-hash', expires)).rejects.toThrow(TypeError);
  });

  it('finds a refresh token with its session and user, rotates it once, then reports it used', async () => {
    const { store } = ctx;
    const t0 = nextEpoch();
    const { session, user } = await signedIn(store, t0);
    const first = tokenFor(session.id, t0);
    await store.refreshTokens.insert(first);
    const found = await store.refreshTokens.findWithSession(first.hash);
    expect(found?.token).toEqual({ ...first, usedAt: null });
    expect(found?.session).toEqual(session);
    expect(found?.user.id).toBe(user.id);
    expect(await store.refreshTokens.findWithSession(sha('unknown'))).toBeUndefined();

    const next = {
      ...tokenFor(session.id, t0 + 1000, { family: first.family, generation: 1 }),
      sealed: 'sealed-1',
    };
    expect(await store.refreshTokens.rotate(first.hash, next, new Date(t0 + 1000))).toEqual({
      kind: 'rotated',
    });
    expect((await store.refreshTokens.findWithSession(next.hash))?.token).toMatchObject({
      family: first.family,
      generation: 1,
      usedAt: null,
    });
    const again = { ...tokenFor(session.id, t0 + 2000), sealed: 'sealed-2' };
    expect(await store.refreshTokens.rotate(first.hash, again, new Date(t0 + 2000))).toEqual({
      kind: 'used',
      usedAt: new Date(t0 + 1000),
      successorSealed: 'sealed-1',
    });
    expect((await store.refreshTokens.findWithSession(first.hash))?.successorSealed).toBe('sealed-1');
    // The losing call stored nothing.
    expect(await store.refreshTokens.findWithSession(again.hash)).toBeUndefined();
    expect(await store.refreshTokens.rotate(sha('unknown'), again, new Date(t0 + 2000))).toEqual({
      kind: 'unknown',
    });
  });

  it('does not rotate an expired refresh token', async () => {
    const { store } = ctx;
    const t0 = nextEpoch();
    const { session } = await signedIn(store, t0);
    const token = tokenFor(session.id, t0, { expiresAt: new Date(t0 + 1000) });
    await store.refreshTokens.insert(token);
    const next = { ...tokenFor(session.id, t0 + 1000), sealed: 'x' };
    expect(await store.refreshTokens.rotate(token.hash, next, new Date(t0 + 1000))).toEqual({
      kind: 'unknown',
    });
    expect(await store.refreshTokens.findWithSession(next.hash)).toBeUndefined();
  });

  it('gives exactly one successor when 40 rotations of one token race from two instances', async () => {
    const { store } = ctx;
    const second = await openStore(ctx.database.config);
    try {
      const t0 = nextEpoch();
      const { session } = await signedIn(store, t0);
      const token = tokenFor(session.id, t0);
      await store.refreshTokens.insert(token);
      const successors = Array.from({ length: 40 }, (_, i) => ({
        ...tokenFor(session.id, t0 + 1000, { family: token.family, generation: 1 }),
        sealed: `sealed-${i}`,
      }));
      const outcomes = await Promise.all(
        successors.map((s, i) =>
          (i % 2 === 0 ? store : second).refreshTokens.rotate(token.hash, s, new Date(t0 + 1000)),
        ),
      );
      const winners = outcomes.flatMap((o, i) => (o.kind === 'rotated' ? [i] : []));
      expect(winners).toHaveLength(1);
      const winner = winners[0] as number;
      for (const [i, outcome] of outcomes.entries()) {
        if (i !== winner)
          expect(outcome).toEqual({
            kind: 'used',
            usedAt: new Date(t0 + 1000),
            successorSealed: `sealed-${winner}`,
          });
      }
      const stored = await Promise.all(successors.map((s) => store.refreshTokens.findWithSession(s.hash)));
      expect(stored.filter((s) => s !== undefined)).toHaveLength(1);
    } finally {
      await second.close();
    }
  });

  it('purges refresh tokens and used ID tokens past their expiry, and only those', async () => {
    const { store } = ctx;
    const t0 = nextEpoch();
    const { session } = await signedIn(store, t0);
    const old = tokenFor(session.id, t0, { expiresAt: new Date(t0 + 10) });
    const live = tokenFor(session.id, t0);
    await store.refreshTokens.insert(old);
    await store.refreshTokens.insert(live);
    const oldId = sha(randomId());
    const liveId = sha(randomId());
    await store.consumeIdToken(oldId, new Date(t0 + 10));
    await store.consumeIdToken(liveId, new Date(t0 + DAY));
    expect(await store.sessions.purgeExpired(new Date(t0 + 1000))).toBeGreaterThanOrEqual(2);
    expect(await store.refreshTokens.findWithSession(old.hash)).toBeUndefined();
    expect(await store.refreshTokens.findWithSession(live.hash)).toBeDefined();
    expect(await store.consumeIdToken(oldId, new Date(t0 + DAY))).toBe(true);
    expect(await store.consumeIdToken(liveId, new Date(t0 + DAY))).toBe(false);
  });
});
