/**
 * The database commands as processes (`migrate`, `users`, `sessions`, `events`) on every
 * database: SQLite always, MariaDB and PostgreSQL when TEST_MYSQL_URL / TEST_POSTGRES_URL are set.
 * Users and sessions are created by the sign-in service, as a sign-in does; every change the CLI
 * makes is then read back from the database.
 */
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/index.js';
import { createSessionParts, type SessionParts } from '../../src/session/compose.js';
import { type OpenedStore, openStore } from '../../src/store/index.js';
import type { NewSessionInput } from '../../src/store/types.js';
import { type CreatedDatabase, describeEachDatabase } from '../helpers/databases.js';
import { identityForTest } from '../helpers/identity.js';
import { runCli, tempDir } from './run.js';

const HOUR = 3600_000;

const META = { ip: '203.0.113.7', userAgent: 'test-agent' } as const;

function identity(subject: string, email: string, name: string | null) {
  return identityForTest({
    issuer: 'https://issuer.test',
    subject,
    email,
    emailVerified: true,
    name,
    picture: null,
    hostedDomain: null,
  });
}

/** A session row that expired an hour ago (no sign-in makes one: the purge's fixture). */
function expiredSession(): NewSessionInput {
  const now = Date.now();
  return {
    id: randomBytes(16).toString('base64url'),
    createdAt: new Date(now - 3 * HOUR),
    idleExpiresAt: new Date(now - 2 * HOUR),
    expiresAt: new Date(now - HOUR),
    ...META,
  };
}

describeEachDatabase('gatehouse database commands', (target) => {
  let db: CreatedDatabase;
  let store: OpenedStore;
  let dir: ReturnType<typeof tempDir>;
  let env: Record<string, string>;
  const cli = (...args: string[]) => runCli(args, { cwd: dir.path, env, timeoutMs: 30_000 });
  const json = async <T>(...args: string[]): Promise<T> => {
    const result = await cli(...args, '--json');
    expect(result.code, `${args.join(' ')}: ${result.stderr}`).toBe(0);
    return JSON.parse(result.stdout) as T;
  };
  let sessions: SessionParts;
  const signIn = (email: string, subject: string) =>
    sessions.service.signIn(identity(subject, email, email), META);

  beforeAll(async () => {
    db = await target.create();
    dir = tempDir();
    env = { DATABASE_URL: db.url, SECRET_KEY: 's'.repeat(40), JWT_SECRET_KEY: 'j'.repeat(40) };
    store = await openStore(db.config);
    // The server's own sign-in service, on the configuration these commands load.
    const { config } = loadConfig({ env, dotenv: false });
    sessions = createSessionParts({ store, config });
  }, 60_000);

  afterAll(async () => {
    await store?.close();
    await db?.drop();
    dir?.remove();
  });

  it('refuses to work on an unmigrated database, then migrates it (status before and after)', async () => {
    const refused = await cli('users', 'list');
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain('run `gatehouse migrate` first');

    const pending = await cli('migrate', '--status');
    expect(pending.code).toBe(1);
    expect(pending.stdout).toMatch(/! \S+ {2}— pending/);

    const applied = await json<{ migrations: { name: string; status: string }[] }>('migrate');
    expect(applied.migrations.length).toBeGreaterThan(0);
    expect(applied.migrations.every((m) => m.status === 'applied_now')).toBe(true);

    const again = await cli('migrate');
    expect(again.code).toBe(0);
    expect(again.stdout).toContain('Nothing to apply.');
    expect((await cli('migrate', '--status')).code).toBe(0);
  }, 120_000);

  it('lists and shows users, and fails (exit 1) for an unknown one', async () => {
    const ada = await signIn('ada@example.com', 'ada');
    await signIn('grace@example.com', 'grace');
    const list = await json<{ users: { id: string; email: string }[] }>('users', 'list');
    expect(list.users.map((u) => u.email).sort()).toEqual(['ada@example.com', 'grace@example.com']);

    const human = await cli('users', 'list');
    expect(human.stdout).toMatch(/ID\s+EMAIL\s+NAME\s+LAST LOGIN\s+STATUS/);
    expect(human.stdout).toContain('ada@example.com');

    const show = await json<{ user: { id: string }; sessions: { id: string }[] }>(
      'users',
      'show',
      'ADA@example.com',
    );
    expect(show.user.id).toBe(ada.user.id);
    expect(show.sessions.map((s) => s.id)).toContain(ada.session.id);

    const unknown = await cli('users', 'show', 'nobody@example.com');
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toContain('no user nobody@example.com');
  }, 120_000);

  it('revokes one session by id, recording it in the audit trail', async () => {
    const { user, session } = await signIn('ada@example.com', 'ada');
    const result = await json<{ revoked: string[] }>('sessions', 'revoke', session.id);
    expect(result.revoked).toEqual([session.id]);
    const row = await store.sessions.findById(session.id);
    expect(row?.revokedAt).not.toBeNull();
    expect(row?.revokedReason).toBe('operator');
    const events = await store.events.list({ userId: user.id, type: 'session_revoked' });
    expect(events.map((e) => e.sessionId)).toContain(session.id);

    const live = await json<{ sessions: { id: string }[] }>('sessions', 'list');
    expect(live.sessions.map((s) => s.id)).not.toContain(session.id);
    const all = await json<{ sessions: { id: string; revoked_at: string | null }[] }>(
      'sessions',
      'list',
      '--all',
    );
    expect(all.sessions.find((s) => s.id === session.id)?.revoked_at).not.toBeNull();

    expect((await cli('sessions', 'revoke', 'no-such-session')).code).toBe(1);
  }, 120_000);

  it('lists the client kind and sign-in method of each session (table and --json)', async () => {
    const web = await signIn('kim@example.com', 'kim');
    const app = await sessions.service.signIn(identity('kim', 'kim@example.com', 'kim@example.com'), {
      ...META,
      clientKind: 'ios',
      method: 'id_token',
    });
    expect(app.refreshToken).toMatch(/^[A-Za-z0-9_-]{43}$/);
    const listed = await json<{ sessions: { id: string; client_kind: string; sign_in_method: string }[] }>(
      'sessions',
      'list',
      '--user',
      'kim@example.com',
    );
    expect(listed.sessions.find((s) => s.id === web.session.id)).toMatchObject({
      client_kind: 'web',
      sign_in_method: 'oidc_callback',
    });
    expect(listed.sessions.find((s) => s.id === app.session.id)).toMatchObject({
      client_kind: 'ios',
      sign_in_method: 'id_token',
    });
    const table = await cli('sessions', 'list', '--user', 'kim@example.com');
    expect(table.stdout).toMatch(/CLIENT\s+METHOD/);
    expect(table.stdout.split('\n').find((line) => line.includes(app.session.id))).toMatch(
      /\bios\s+id_token\b/,
    );
  }, 120_000);

  it("revokes every session of a user by email, and lists a user's sessions", async () => {
    const a = await signIn('grace@example.com', 'grace');
    const b = await signIn('grace@example.com', 'grace');
    const mine = await json<{ sessions: { id: string }[] }>(
      'sessions',
      'list',
      '--user',
      'grace@example.com',
    );
    expect(mine.sessions.map((s) => s.id)).toEqual(expect.arrayContaining([a.session.id, b.session.id]));
    const result = await json<{ revoked: string[] }>('sessions', 'revoke', '--user', 'grace@example.com');
    expect(result.revoked).toEqual(expect.arrayContaining([a.session.id, b.session.id]));
    expect(await store.sessions.listForUser(a.user.id)).toEqual([]);
  }, 120_000);

  it('disables a user (every session revoked, audited), then enables them again', async () => {
    const { user, session } = await signIn('linus@example.com', 'linus');
    const disabled = await cli('users', 'disable', 'linus@example.com');
    expect(disabled.code, disabled.stderr).toBe(0);
    expect(disabled.stdout).toContain('disabled linus@example.com');
    expect((await store.users.findById(user.id))?.disabledAt).not.toBeNull();
    expect((await store.sessions.findById(session.id))?.revokedAt).not.toBeNull();
    const types = (await store.events.list({ userId: user.id })).map((e) => e.type);
    expect(types).toEqual(expect.arrayContaining(['user_disabled', 'sessions_revoked_all']));
    // A disabled user's sign-in creates no session.
    const before = await store.sessions.listForUser(user.id, { includeInactive: true });
    await expect(
      sessions.service.signIn(identity('linus', 'linus@example.com', null), META),
    ).rejects.toMatchObject({ code: 'user_disabled' });
    expect(await store.sessions.listForUser(user.id, { includeInactive: true })).toHaveLength(before.length);

    const enabled = await json<{ user: { disabled_at: string | null } }>('users', 'enable', user.id);
    expect(enabled.user.disabled_at).toBeNull();
    expect((await store.users.findById(user.id))?.disabledAt).toBeNull();
  }, 120_000);

  it('shows the audit trail with user, type and since filters', async () => {
    await store.events.record({
      type: 'sign_in_failed',
      reason: 'state_mismatch',
      ip: '198.51.100.1',
      at: new Date(),
    });
    await store.events.record({
      type: 'sign_in_failed',
      reason: 'old_one',
      at: new Date(Date.now() - 3 * HOUR),
    });
    const failed = await json<{ events: { type: string; reason: string }[] }>(
      'events',
      '--type',
      'sign_in_failed',
      '--since',
      '1h',
    );
    // Newest first; the disabled user's refused sign-in (first test) was audited by the service.
    expect(failed.events.map((e) => e.reason)).toEqual(['state_mismatch', 'user_disabled']);

    const linus = await json<{ events: { type: string; user_id: string }[] }>(
      'events',
      '--user',
      'linus@example.com',
    );
    expect(linus.events.map((e) => e.type)).toEqual(
      expect.arrayContaining(['user_enabled', 'user_disabled']),
    );
    const [linusUser] = await store.users.findByEmail('linus@example.com');
    expect(linus.events.every((e) => e.user_id === linusUser?.id)).toBe(true);

    const human = await cli('events', '--limit', '3');
    expect(human.code).toBe(0);
    expect(human.stdout).toMatch(/TIME\s+TYPE\s+USER/);
    expect(human.stdout.trim().split('\n')).toHaveLength(4);
  }, 120_000);

  it('revokes every session with --all, and purges expired rows and old events', async () => {
    const { session } = await signIn('ada@example.com', 'ada');
    const result = await json<{ revoked: string[] }>('sessions', 'revoke', '--all');
    expect(result.revoked).toContain(session.id);
    expect(await store.sessions.countActive(new Date())).toBe(0);

    const old = expiredSession();
    await store.signIn(identity('old', 'old@example.com', null), old);
    const purged = await json<{ deleted: number }>('sessions', 'purge');
    expect(purged.deleted).toBeGreaterThan(0);
    expect(await store.sessions.findById(old.id)).toBeUndefined();

    await store.events.record({
      type: 'sign_out',
      reason: 'ancient',
      at: new Date(Date.now() - 100 * 24 * HOUR),
    });
    const events = await json<{ deleted: number }>('events', 'purge');
    expect(events.deleted).toBe(1);
  }, 120_000);
});
