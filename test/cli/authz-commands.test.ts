/**
 * `gatehouse users grant|revoke-role` and `gatehouse rules check|explain` as processes, on SQLite
 * (the store's roles methods run on every database in test/unit/store/contract.test.ts).
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/index.js';
import { createSessionParts } from '../../src/session/compose.js';
import { type OpenedStore, openStore } from '../../src/store/index.js';
import { startDirectoryStandIn } from '../helpers/directory-stand-in.js';
import { identityForTest } from '../helpers/identity.js';
import { runCli, tempDir } from './run.js';

describe('gatehouse users grant / revoke-role, rules', () => {
  let dir: ReturnType<typeof tempDir>;
  let env: Record<string, string>;
  let store: OpenedStore;
  const cli = (...args: string[]) => runCli(args, { cwd: dir.path, env, timeoutMs: 30_000 });

  beforeAll(async () => {
    dir = tempDir();
    env = {
      DATABASE_URL: `sqlite:${join(dir.path, 'g.db')}`,
      SECRET_KEY: 's'.repeat(40),
      JWT_SECRET_KEY: 'j'.repeat(40),
    };
    const { config } = loadConfig({ env, dotenv: false });
    store = await openStore(config.database);
    await store.migrate();
    const { service } = createSessionParts({ store, config });
    await service.signIn(
      identityForTest({
        issuer: 'https://issuer.test',
        subject: 'ada',
        email: 'ada@example.com',
        emailVerified: true,
        name: 'Ada',
        picture: null,
        hostedDomain: null,
      }),
      { ip: null, userAgent: null },
    );
  }, 60_000);
  afterAll(async () => {
    await store?.close();
    dir?.remove();
  });

  it('grants and takes away a role, audited, with --json', async () => {
    const granted = await cli('users', 'grant', 'ada@example.com', 'admin', '--json');
    expect(granted.code, granted.stderr).toBe(0);
    expect(JSON.parse(granted.stdout)).toMatchObject({ role: 'admin', changed: true, roles: ['admin'] });
    const again = await cli('users', 'grant', 'ada@example.com', 'admin');
    expect(again.code).toBe(0);
    expect(again.stdout).toContain('already has admin');
    const [ada] = await store.users.findByEmail('ada@example.com');
    expect(await store.roles.listForUser(ada!.id)).toEqual(['admin']);
    const shown = JSON.parse((await cli('users', 'show', 'ada@example.com', '--json')).stdout) as {
      roles: string[];
    };
    expect(shown.roles).toEqual(['admin']);

    const revoked = await cli('users', 'revoke-role', 'ada@example.com', 'admin', '--json');
    expect(JSON.parse(revoked.stdout)).toMatchObject({ changed: true, roles: [] });
    const events = (await store.events.list({ userId: ada!.id })).map((e) => `${e.type}:${e.reason}`);
    expect(events).toEqual(expect.arrayContaining(['role_granted:admin', 'role_revoked:admin']));
  }, 60_000);

  it('refuses malformed role names and missing arguments (exit 2)', async () => {
    for (const role of ['Admin', '1st', 'a b', 'x'.repeat(65)]) {
      const result = await cli('users', 'grant', 'ada@example.com', role);
      expect(result.code, role).toBe(2);
      expect(result.stderr).toContain('is not a role name');
    }
    expect((await cli('users', 'grant', 'ada@example.com')).code).toBe(2);
  }, 60_000);

  it('checks the rules file and explains which rule a request hits', async () => {
    writeFileSync(
      join(dir.path, 'rules.json'),
      JSON.stringify(
        [
          { path: '/status', public: true },
          { path: '/admin/**', allow: { roles: ['admin'] } },
        ],
        null,
        2,
      ),
    );
    const withRules = { ...env, ACCESS_RULES_FILE: 'rules.json' };
    const run = (...args: string[]) => runCli(args, { cwd: dir.path, env: withRules, timeoutMs: 30_000 });
    const check = await run('rules', 'check');
    expect(check.code, check.stderr).toBe(0);
    expect(check.stdout).toContain('2 rule(s), no errors');
    const explained = await run(
      'rules',
      'explain',
      'GET',
      '/status/../admin/x',
      '--role',
      'ops',
      '--email',
      'a@example.com',
    );
    expect(explained.stdout).toContain('rule #2 (line 6): /admin/** [any method] → roles: admin');
    expect(explained.stdout).toContain('decision: deny');
    const json = JSON.parse((await run('rules', 'explain', 'GET', '/status', '--json')).stdout) as {
      decision: string;
    };
    expect(json.decision).toBe('public');
    writeFileSync(join(dir.path, 'rules.json'), '[{"path": "nope"}]');
    const bad = await run('rules', 'check');
    expect(bad.code).toBe(78);
    expect(bad.stderr).toContain('rules.json:1: [0].path: must start with "/"');
  }, 60_000);

  it('doctor checks the key file, the delegation and a sample lookup (GOOGLE_GROUPS=directory)', async () => {
    const standIn = await startDirectoryStandIn();
    try {
      standIn.setUser(standIn.adminEmail, ['it@example.com']);
      const directoryEnv = {
        ...env,
        GOOGLE_GROUPS: 'directory',
        GOOGLE_SERVICE_ACCOUNT_FILE: standIn.keyFile,
        GOOGLE_ADMIN_EMAIL: standIn.adminEmail,
        GOOGLE_DIRECTORY_URL: standIn.url,
      };
      const authzChecks = async (extra: Record<string, string>) => {
        const result = await runCli(['doctor', '--json'], {
          cwd: dir.path,
          env: { ...directoryEnv, ...extra },
          timeoutMs: 30_000,
        });
        const report = JSON.parse(result.stdout) as {
          checks: { group: string; status: string; message: string }[];
        };
        return report.checks.filter((c) => c.group === 'Authorization');
      };
      const good = await authzChecks({});
      expect(good.map((c) => c.status)).toEqual(['info', 'ok', 'ok', 'ok']);
      expect(good[3]?.message).toContain('is active and in 1 group(s)');
      // Delegation not granted for this admin: the grant is refused, named as such.
      const refused = await authzChecks({ GOOGLE_ADMIN_EMAIL: 'other@example.com' });
      expect(refused.at(-1)).toMatchObject({ status: 'error' });
      expect(refused.at(-1)?.message).toContain('domain-wide delegation');
      const missing = await authzChecks({ GOOGLE_SERVICE_ACCOUNT_FILE: join(dir.path, 'nope.json') });
      expect(missing.at(-1)?.message).toMatch(/GOOGLE_SERVICE_ACCOUNT_FILE: cannot read/);
    } finally {
      await standIn.close();
    }
  }, 90_000);
});
