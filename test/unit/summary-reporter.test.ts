/**
 * The closing line CI reads (`N passed, N failed, N skipped`) counts every kind of failure:
 * a failed test, a suite whose hook threw (its tests only show as skipped), a module that does
 * not load.
 */
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

const ROOT = join(import.meta.dirname, '..', '..');

describe('summary reporter', () => {
  it('counts failed tests, failed hooks and modules that do not load as failures', () => {
    const run = spawnSync(
      process.execPath,
      [
        join(ROOT, 'node_modules', 'vitest', 'vitest.mjs'),
        'run',
        '--config',
        join(ROOT, 'test', 'fixtures', 'summary', 'vitest.config.ts'),
      ],
      { cwd: ROOT, encoding: 'utf8', timeout: 60_000 },
    );
    const lines = run.stdout.trim().split('\n');
    expect(lines.at(-1)).toBe('1 passed, 4 failed, 3 skipped');
    expect(run.status).not.toBe(0);
  });
});
