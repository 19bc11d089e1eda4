/** Every command as a process: --help, usage errors (exit 2), configuration errors (exit 78). */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli, tempDir } from './run.js';

const COMMANDS = ['serve', 'init', 'doctor', 'migrate', 'users', 'sessions', 'events'];

describe('gatehouse CLI basics', { timeout: 120_000 }, () => {
  let dir: ReturnType<typeof tempDir>;
  beforeAll(() => {
    dir = tempDir();
  });
  afterAll(() => dir.remove());

  it('prints the command list with --help (exit 0) and without a command (exit 2)', async () => {
    const help = await runCli(['--help'], { cwd: dir.path });
    expect(help.code).toBe(0);
    for (const command of COMMANDS) expect(help.stdout).toContain(`  ${command} `);
    const none = await runCli([], { cwd: dir.path });
    expect(none.code).toBe(2);
    expect(none.stderr).toContain('Usage: gatehouse <command>');
  });

  it.each(COMMANDS)('%s --help prints its usage and exits 0 without touching anything', async (command) => {
    // A broken configuration proves --help does not even load it.
    const result = await runCli([command, '--help'], { cwd: dir.path, env: { DATABASE_URL: 'nonsense' } });
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/^Usage:/);
    expect(result.stdout).toContain(`gatehouse ${command}`);
  });

  it('exits 2 on an unknown command, an unknown option or a missing argument', async () => {
    const cases = [
      ['frobnicate'],
      ['users', 'list', '--frob'],
      ['users', 'disable'],
      ['sessions', 'revoke'],
      ['sessions', 'revoke', 'abc', '--all'],
      ['events', '--type', 'bogus'],
      ['events', '--since', 'yesterday'],
      ['serve', '--shutdown-timeout', 'soon'],
    ];
    // A few at a time: a loaded CI machine starts each process slowly.
    const results = [];
    for (let i = 0; i < cases.length; i += 3) {
      results.push(
        ...(await Promise.all(cases.slice(i, i + 3).map((args) => runCli(args, { cwd: dir.path })))),
      );
    }
    for (const [i, result] of results.entries()) expect([cases[i], result.code]).toEqual([cases[i], 2]);
    expect(results[1]?.stderr).toContain('--frob');
  }, 240_000);

  it.each(['migrate', 'users list', 'sessions list', 'events', 'serve'])(
    '%s exits 78 naming the problem when the configuration is invalid',
    async (command) => {
      const result = await runCli(command.split(' '), {
        cwd: dir.path,
        env: { DATABASE_URL: 'ftp://nowhere', PORT: 'eighty' },
      });
      expect(result.code).toBe(78);
      expect(result.stderr).toContain('DATABASE_URL');
      expect(result.stderr).toContain('PORT');
    },
  );

  it('keeps stdout parseable with --json even on failure', async () => {
    const result = await runCli(['users', 'list', '--json'], {
      cwd: dir.path,
      env: { DATABASE_URL: 'ftp://x' },
    });
    expect(result.code).toBe(78);
    expect(result.stdout).toBe('');
    expect(JSON.parse(result.stderr.trim().split('\n').at(-1) ?? '')).toHaveProperty('error');
  });
});
