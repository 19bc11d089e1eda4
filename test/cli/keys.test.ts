/** `gatehouse keys list|rotate` as a process, on a .env written by `gatehouse init`. */
import { readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseEnv } from 'node:util';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { parseAssertionKeys } from '../../src/assertion/keys.js';
import { runCli, tempDir } from './run.js';

function keysIn(path: string) {
  const parsed = parseAssertionKeys(parseEnv(readFileSync(path, 'utf8')).ASSERTION_KEYS ?? '');
  if (!parsed.ok) throw new Error(parsed.message);
  return parsed.keys;
}

describe('gatehouse keys', () => {
  let dir: ReturnType<typeof tempDir>;
  beforeEach(() => {
    dir = tempDir();
  });
  afterEach(() => dir.remove());

  it('rotate puts a new signing key first and keeps the old ones published; list shows them', async () => {
    expect((await runCli(['init', '--yes'], { cwd: dir.path })).code).toBe(0);
    const path = join(dir.path, '.env');
    const [original] = keysIn(path);
    const before = readFileSync(path, 'utf8');

    const rotated = await runCli(['keys', 'rotate', '--json'], { cwd: dir.path });
    expect(rotated.code, rotated.stderr).toBe(0);
    const after = keysIn(path);
    expect(after).toHaveLength(2);
    expect(after[1]!.kid).toBe(original!.kid);
    expect(after[0]!.kid).not.toBe(original!.kid);
    expect(JSON.parse(rotated.stdout)).toEqual({
      path,
      keys: [
        { kid: after[0]!.kid, role: 'signs' },
        { kid: original!.kid, role: 'published' },
      ],
    });
    expect(rotated.stdout).not.toContain(after[0]!.jwk.d);
    expect(statSync(path).mode & 0o777).toBe(0o600);
    // Only the ASSERTION_KEYS line changed.
    const changed = readFileSync(path, 'utf8')
      .split('\n')
      .filter((line, i) => line !== before.split('\n')[i]);
    expect(changed).toHaveLength(1);
    expect(changed[0]).toMatch(/^ASSERTION_KEYS='/);

    expect((await runCli(['keys', 'rotate'], { cwd: dir.path })).code).toBe(0);
    expect(
      keysIn(path)
        .map((k) => k.kid)
        .slice(1),
    ).toEqual(after.map((k) => k.kid));

    const list = await runCli(['keys', 'list', '--json'], { cwd: dir.path });
    expect(list.code, list.stderr).toBe(0);
    const rows = (JSON.parse(list.stdout) as { keys: { kid: string; role: string }[] }).keys;
    expect(rows.map((r) => r.role)).toEqual(['signs', 'published', 'published']);
    expect(rows.map((r) => r.kid)).toEqual(keysIn(path).map((k) => k.kid));
    // The server loads the rotated file.
    const doctor = await runCli(['doctor', '--offline'], { cwd: dir.path });
    expect(doctor.code, doctor.stdout).toBe(0);
    expect(doctor.stdout).toContain(`kid ${rows[0]!.kid} signs, 2 older key(s) published`);
  }, 60_000);

  it('add publishes a new key without letting it sign; promote makes it the signing key', async () => {
    expect((await runCli(['init', '--yes'], { cwd: dir.path })).code).toBe(0);
    const path = join(dir.path, '.env');
    const [original] = keysIn(path);
    expect((await runCli(['keys', 'add'], { cwd: dir.path })).code).toBe(0);
    const added = keysIn(path);
    expect(added.map((k) => k.kid)[0]).toBe(original!.kid);
    expect(added).toHaveLength(2);
    const promoted = await runCli(['keys', 'promote', added[1]!.kid, '--json'], { cwd: dir.path });
    expect(promoted.code, promoted.stderr).toBe(0);
    expect(keysIn(path).map((k) => k.kid)).toEqual([added[1]!.kid, original!.kid]);
    const unknown = await runCli(['keys', 'promote', 'no-such-kid'], { cwd: dir.path });
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toContain('no key with kid no-such-kid');
    expect((await runCli(['keys', 'promote'], { cwd: dir.path })).code).toBe(2);
  }, 60_000);

  it('rotate adds ASSERTION_KEYS to a .env that has none, and refuses a broken one', async () => {
    const path = join(dir.path, '.env');
    writeFileSync(path, 'PORT=8123', { mode: 0o640 });
    expect((await runCli(['keys', 'rotate'], { cwd: dir.path })).code).toBe(0);
    expect(keysIn(path)).toHaveLength(1);
    expect(readFileSync(path, 'utf8').startsWith('PORT=8123\n')).toBe(true);
    expect(statSync(path).mode & 0o777).toBe(0o640);

    writeFileSync(path, 'ASSERTION_KEYS=\'{"kty":"RSA"}\'\n');
    const refused = await runCli(['keys', 'rotate'], { cwd: dir.path });
    expect(refused.code).toBe(78);
    expect(refused.stderr).toMatch(/RSA key/);
    expect(readFileSync(path, 'utf8')).toBe('ASSERTION_KEYS=\'{"kty":"RSA"}\'\n');
  }, 60_000);

  it('list names the development key file when no key is configured, and usage errors exit 2', async () => {
    const list = await runCli(['keys', 'list'], { cwd: dir.path, env: { DATABASE_URL: 'sqlite:./gh.db' } });
    expect(list.code, list.stderr).toBe(0);
    expect(list.stdout).toContain('assertion-key.jwk');
    expect((await runCli(['keys'], { cwd: dir.path })).code).toBe(2);
    expect((await runCli(['keys', 'spin'], { cwd: dir.path })).code).toBe(2);
  }, 60_000);
});
