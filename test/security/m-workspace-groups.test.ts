/**
 * SECURITY.md M, rule 61 with Google Workspace groups: two instances on one database, reading the
 * Directory stand-in (test/helpers/directory-stand-in.ts) — ALLOWED_GROUPS at sign-in, removal and
 * suspension ending every session everywhere, role and group changes reaching the next token, the
 * Directory down for less and more than DIRECTORY_MAX_STALE, 200 groups under 4 KB.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Roles } from '../../src/authz/roles.js';
import { ManualClock } from '../helpers/clock.js';
import { type DirectoryStandIn, startDirectoryStandIn } from '../helpers/directory-stand-in.js';
import { type AuthzRig, bearer, rigAudit, startAuthzRig, until } from './support/authz-rig.js';

describe('M. authorization with Google Workspace groups (Directory stand-in)', () => {
  let standIn: DirectoryStandIn;
  let dir: string;
  let clock: ManualClock;
  const rigs: AuthzRig[] = [];
  const TOKEN_TTL_MS = 2_000;
  const RECHECK_MS = 3_000;
  const MAX_STALE_MS = 20_000;

  const start = async () => {
    const rig = await startAuthzRig({
      clock,
      databaseUrl: `sqlite:${join(dir, 'shared.db')}`,
      env: {
        TOKEN_TTL: '2s',
        GOOGLE_GROUPS: 'directory',
        GOOGLE_SERVICE_ACCOUNT_FILE: standIn.keyFile,
        GOOGLE_ADMIN_EMAIL: standIn.adminEmail,
        GOOGLE_DIRECTORY_URL: standIn.url,
        ALLOWED_GROUPS: 'staff@example.com',
        DIRECTORY_RECHECK: '3s',
        DIRECTORY_MAX_STALE: '20s',
        REVOCATION_POLL_INTERVAL: '1s',
      },
      routes: (app) => {
        app.get('/whoami', { preHandler: app.requireUser }, async (request) => ({
          groups: request.user?.groups,
          roles: request.user?.roles,
        }));
        app.get('/ops', { preHandler: app.requireGroup('ops@example.com') }, async () => ({ ok: true }));
      },
    });
    rigs.push(rig);
    return rig;
  };

  /** A client that follows renewals (X-Session-Token), as a bearer client must. */
  const client = (token: string) => {
    let current = token;
    return {
      get token() {
        return current;
      },
      async get(rig: AuthzRig, path: string) {
        const res = await fetch(`${rig.url}${path}`, { headers: bearer(current) });
        const fresh = res.headers.get('x-session-token');
        if (fresh) current = fresh;
        const body = (await res.json()) as Record<string, unknown>;
        return { status: res.status, body, headers: res.headers };
      },
    };
  };

  beforeAll(async () => {
    standIn = await startDirectoryStandIn();
    dir = mkdtempSync(join(tmpdir(), 'gatehouse-m61-'));
    clock = new ManualClock();
    await start();
    await start();
  });
  afterAll(async () => {
    for (const rig of rigs) await rig.close();
    await standIn?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('rule 61: only members of ALLOWED_GROUPS sign in; the refusal is audited', async () => {
    const [a] = rigs;
    standIn.setUser('outsider@example.com', ['other@example.com']);
    await expect(a!.signIn('outsider@example.com')).rejects.toMatchObject({ code: 'forbidden_group' });
    standIn.setUser('gone@example.com', ['staff@example.com'], true);
    await expect(a!.signIn('gone@example.com')).rejects.toMatchObject({ code: 'user_disabled' });
    // Refused before any row is written.
    expect(await a!.gh.store.users.findByEmail('outsider@example.com')).toEqual([]);
    const failed = await a!.gh.store.events.list({ type: 'sign_in_failed' });
    expect(failed.map((e) => e.reason)).toEqual(
      expect.arrayContaining(['not_in_allowed_group', 'workspace_suspended']),
    );
  });

  it('rule 61: a user removed from the allowed group loses access on two instances within DIRECTORY_RECHECK + TOKEN_TTL, with the reason in the audit trail', async () => {
    const [a, b] = rigs;
    standIn.setUser('bob@example.com', ['staff@example.com', 'ops@example.com']);
    const bob = client(await a!.signIn('bob@example.com'));
    expect((await bob.get(a!, '/ops')).status).toBe(200);
    expect((await bob.get(b!, '/ops')).status).toBe(200);

    standIn.setUser('bob@example.com', ['ops@example.com']);
    const removedAt = clock.now();
    // Time passes on both instances; bob keeps calling both until each refuses him.
    const refusedOn = new Map<string, number>();
    const deadline = Date.now() + 15_000;
    while (refusedOn.size < 2 && Date.now() < deadline) {
      clock.advance(500);
      for (const [name, rig] of [
        ['a', a!],
        ['b', b!],
      ] as const) {
        if (refusedOn.has(name)) continue;
        const res = await bob.get(rig, '/ops');
        if (res.status === 401) refusedOn.set(name, clock.now() - removedAt);
      }
      await new Promise((r) => setTimeout(r, 100));
    }
    expect([...refusedOn.keys()].sort()).toEqual(['a', 'b']);
    for (const elapsed of refusedOn.values())
      expect(elapsed).toBeLessThanOrEqual(RECHECK_MS + TOKEN_TTL_MS + 1_000);
    const [account] = await a!.gh.store.users.findByEmail('bob@example.com');
    const revoked = await a!.gh.store.events.list({ userId: account!.id, type: 'sessions_revoked_all' });
    expect(revoked.map((e) => e.reason)).toContain('removed_from_allowed_groups');
    expect(await a!.gh.store.sessions.listForUser(account!.id, { now: new Date(clock.now()) })).toEqual([]);
  });

  it('rule 61: suspension in Workspace ends every session; changed groups reach the next token', async () => {
    const [a, b] = rigs;
    standIn.setUser('cy@example.com', ['staff@example.com']);
    const cy = client(await a!.signIn('cy@example.com'));
    expect((await cy.get(b!, '/ops')).status).toBe(403);
    standIn.setUser('cy@example.com', ['staff@example.com', 'ops@example.com']);
    clock.advance(RECHECK_MS + 1);
    const renewed = await cy.get(b!, '/ops');
    expect(renewed.status).toBe(200);
    expect(renewed.headers.get('x-session-token')).toBeTruthy();
    standIn.setUser('cy@example.com', ['staff@example.com', 'ops@example.com'], true);
    clock.advance(RECHECK_MS + 1);
    const refused = await cy.get(a!, '/whoami');
    expect(refused.status).toBe(401);
    expect(refused.body.code).toBe('session_revoked');
    const [account] = await a!.gh.store.users.findByEmail('cy@example.com');
    const revoked = await a!.gh.store.events.list({ userId: account!.id, type: 'sessions_revoked_all' });
    expect(revoked.map((e) => e.reason)).toEqual(['workspace_suspended']);
  });

  it('rule 61: a role granted by the CLI reaches both instances within the revocation bound', async () => {
    const [a, b] = rigs;
    standIn.setUser('fay@example.com', ['staff@example.com']);
    const fay = client(await a!.signIn('fay@example.com'));
    expect((await fay.get(b!, '/whoami')).body.roles).toEqual([]);
    const [account] = await a!.gh.store.users.findByEmail('fay@example.com');
    // As `gatehouse users grant` does it: another process, only the database in common.
    const roles = new Roles({ store: a!.gh.store, audit: rigAudit(a!), clock });
    await roles.grant(account!.id, 'auditor', { by: 'cli' });
    for (const rig of [a!, b!]) {
      const took = await until(async () => {
        const roles = (await fay.get(rig, '/whoami')).body.roles as string[];
        return roles.includes('auditor');
      }, 5_000);
      expect(took).toBeLessThan(3_000);
    }
  });

  it('Directory down for less than DIRECTORY_MAX_STALE: the last answer serves; longer: 503 directory_unavailable', async () => {
    const [a] = rigs;
    standIn.setUser('dee@example.com', ['staff@example.com', 'ops@example.com']);
    const dee = client(await a!.signIn('dee@example.com'));
    standIn.failWith = 500;
    try {
      clock.advance(RECHECK_MS + 1);
      const stale = await dee.get(a!, '/ops');
      expect(stale.status).toBe(200);
      expect(stale.headers.get('x-session-token')).toBeTruthy();
      clock.advance(MAX_STALE_MS);
      const down = await dee.get(a!, '/ops');
      expect(down.status).toBe(503);
      expect(down.body.code).toBe('directory_unavailable');
      expect(down.headers.get('retry-after')).toBe('30');
    } finally {
      standIn.failWith = null;
    }
    // Back up: the same session renews again (an outage is not a revocation).
    const back = await dee.get(a!, '/ops');
    expect(back.status).toBe(200);
  });

  it('200 groups: the cookie stays under 4 KB and every instance knows the groups', async () => {
    const [a, b] = rigs;
    const many = Array.from(
      { length: 200 },
      (_, i) => `engineering-platform-team-${String(i).padStart(3, '0')}@example.com`,
    );
    standIn.setUser('eve@example.com', ['staff@example.com', 'ops@example.com', ...many]);
    const token = await a!.signIn('eve@example.com');
    const cookie = a!.gh.app.serializeCookie(a!.gh.config.cookie.name, token, {
      path: '/',
      httpOnly: true,
      secure: a!.gh.config.cookie.secure,
      sameSite: 'lax',
      maxAge: 7 * 86_400,
    });
    expect(cookie.length).toBeLessThan(4096);
    expect(token.length).toBeLessThan(1024);
    const eve = client(token);
    const onA = await eve.get(a!, '/whoami');
    expect((onA.body.groups as string[]).length).toBe(202);
    // Instance b has never seen this list: one renewal loads it from the shared store.
    expect((await eve.get(b!, '/ops')).status).toBe(200);
    expect(((await eve.get(b!, '/whoami')).body.groups as string[]).length).toBe(202);
  });
});
