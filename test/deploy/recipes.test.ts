/**
 * The systemd and container recipes, exercised as far as this machine allows:
 * - the systemd unit passes `systemd-analyze verify`, and its ExecStartPre/ExecStart command lines,
 *   run with its Environment= and the example EnvironmentFile, migrate, serve and stop cleanly on
 *   its KillSignal within TimeoutStopSec;
 * - no Docker engine runs here, so the Dockerfile and compose file are checked statically (every
 *   COPY source exists, the entry point is the built CLI, every variable given to Gatehouse is a
 *   documented setting) and the image's HEALTHCHECK command is run against a real server.
 */
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type StartedDevIdp, startDevIdp } from '../helpers/dev-idp.js';
import { freePort } from '../helpers/ports.js';
import { sharedSecrets } from './cluster.js';
import { BUILT } from './processes.js';

const ROOT = join(import.meta.dirname, '..', '..');
const UNIT = join(ROOT, 'deploy', 'systemd', 'gatehouse.service');
const ENV_EXAMPLE = join(ROOT, 'deploy', 'systemd', 'gatehouse.env.example');
const DOCKERFILE = join(ROOT, 'deploy', 'container', 'Dockerfile');
const COMPOSE = join(ROOT, 'deploy', 'container', 'compose.yaml');
const SCHEMA = readFileSync(join(ROOT, 'src', 'config', 'schema.ts'), 'utf8');
const SETTINGS = new Set([...SCHEMA.matchAll(/name: '([A-Z][A-Z0-9_]+)'/g)].map((m) => m[1]!));

function unitValues(text: string, key: string): string[] {
  return text
    .split('\n')
    .filter((l) => l.startsWith(`${key}=`))
    .map((l) => l.slice(key.length + 1));
}

function envFile(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const line of text.split('\n')) {
    const m = /^([A-Z][A-Z0-9_]*)=(.*)$/.exec(line.trim());
    if (m) out[m[1]!] = m[2]!;
  }
  return out;
}

describe('systemd unit', () => {
  const unit = readFileSync(UNIT, 'utf8');
  let idp: StartedDevIdp;
  let dir: string;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'gatehouse-systemd-'));
    idp = await startDevIdp({ host: 'localhost', redirectUris: ['https://auth.example.com/auth'] });
  });
  afterAll(async () => {
    await idp?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it.skipIf(spawnSync('systemd-analyze', ['--version']).status !== 0)('passes systemd-analyze verify', () => {
    const copy = join(dir, 'gatehouse.service');
    writeFileSync(copy, unit);
    const ok = spawnSync('systemd-analyze', ['verify', copy], { encoding: 'utf8' });
    expect(ok.stderr).toBe('');
    expect(ok.status).toBe(0);
    // The check can fail: a broken copy is refused.
    writeFileSync(copy, unit.replace('ExecStart=/usr/bin/node', 'ExecStart=node-relative'));
    expect(spawnSync('systemd-analyze', ['verify', copy], { encoding: 'utf8' }).status).not.toBe(0);
  });

  it.skipIf(!BUILT)('migrates, serves and stops on its KillSignal as the unit runs it', async () => {
    const env: Record<string, string> = {};
    for (const assignment of unitValues(unit, 'Environment')) {
      const [k, ...v] = assignment.split('=');
      env[k!] = v.join('=');
    }
    expect(unitValues(unit, 'EnvironmentFile')).toEqual(['/etc/gatehouse/gatehouse.env']);
    const example = envFile(readFileSync(ENV_EXAMPLE, 'utf8'));
    for (const name of Object.keys({ ...env, ...example })) expect(SETTINGS.has(name), name).toBe(true);
    const port = await freePort();
    const metricsPort = await freePort();
    // The example keeps /metrics off the public port (SECURITY.md 47).
    expect(example.METRICS_PORT).toMatch(/^\d+$/);
    // The example file with this machine's values (a real provider, fresh secrets, SQLite, no Redis).
    Object.assign(env, example, {
      PORT: String(port),
      METRICS_PORT: String(metricsPort),
      OIDC_ISSUER: idp.issuer,
      GOOGLE_CLIENT_ID: idp.clientId,
      GOOGLE_CLIENT_SECRET: idp.clientSecret,
      DATABASE_URL: `sqlite:${join(dir, 'gatehouse.db')}`,
      REDIS_URL: '',
      ...sharedSecrets(),
    });
    const toArgv = (line: string) =>
      line
        .split(' ')
        .map((w) => w.replace('/usr/bin/node', process.execPath).replace('/opt/gatehouse', ROOT));
    const [pre] = unitValues(unit, 'ExecStartPre').map(toArgv);
    const [start] = unitValues(unit, 'ExecStart').map(toArgv);
    const opts = { cwd: ROOT, env: { PATH: process.env.PATH ?? '', ...env } };

    execFileSync(pre![0]!, pre!.slice(1), { ...opts, stdio: 'pipe' });
    const child = spawn(start![0]!, start!.slice(1), { ...opts, stdio: 'ignore' });
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    try {
      const deadline = Date.now() + 20_000;
      let ready = false;
      while (!ready && Date.now() < deadline) {
        ready = await fetch(`http://127.0.0.1:${port}/readyz`).then(
          (r) => r.status === 200,
          () => false,
        );
        if (!ready) await new Promise((r) => setTimeout(r, 50));
      }
      expect(ready).toBe(true);
      expect((await fetch(`http://127.0.0.1:${port}/metrics`)).status).toBe(404);
      expect((await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).status).toBe(200);

      // The image's HEALTHCHECK command, run against this real server.
      const health = dockerHealthcheck();
      const probe = spawnSync(health[0]!, health.slice(1), { env: { ...process.env, PORT: String(port) } });
      expect(probe.status).toBe(0);
    } finally {
      const [signal] = unitValues(unit, 'KillSignal');
      const stopWithin = Number(unitValues(unit, 'TimeoutStopSec')[0]) * 1000;
      const started = Date.now();
      child.kill(signal as NodeJS.Signals);
      expect(await exited).toBe(0);
      expect(Date.now() - started).toBeLessThan(stopWithin);
    }
  });
});

function dockerHealthcheck(): string[] {
  const text = readFileSync(DOCKERFILE, 'utf8').replace(/\\\n\s*/g, ' ');
  const cmd = /HEALTHCHECK [^\n]*CMD (\[[^\n]+\])/.exec(text)?.[1];
  if (!cmd) throw new Error('no HEALTHCHECK CMD in the Dockerfile');
  const argv = JSON.parse(cmd) as string[];
  return argv[0] === 'node' ? [process.execPath, ...argv.slice(1)] : argv;
}

describe('container recipe (static: no Docker engine here)', () => {
  const dockerfile = readFileSync(DOCKERFILE, 'utf8');
  const compose = readFileSync(COMPOSE, 'utf8');

  it('keeps /metrics off the public port: METRICS_PORT in compose, refused by every nginx recipe', () => {
    expect(compose).toMatch(/^\s+METRICS_PORT: "\d+"$/m);
    for (const name of ['gatehouse.conf', 'parent-domain.conf']) {
      const conf = readFileSync(join(ROOT, 'deploy', 'nginx', name), 'utf8');
      expect(conf, name).toMatch(/location = \/metrics \{\s*return 404;\s*\}/);
    }
  });

  it('copies only files that exist and starts the built CLI', () => {
    const copies = [...dockerfile.matchAll(/^COPY (?!--from)(.+)$/gm)].map((m) =>
      m[1]!.trim().split(/\s+/).slice(0, -1),
    );
    expect(copies.length).toBeGreaterThan(2);
    for (const sources of copies)
      for (const src of sources) expect(existsSync(join(ROOT, src)), src).toBe(true);
    expect(dockerfile).toMatch(/ENTRYPOINT \["node", "--max-semi-space-size=8", "bin\/gatehouse.js"\]/);
    expect(dockerfile).toMatch(/CMD \["serve"\]/);
    expect(dockerfile).toMatch(/^USER node$/m);
    expect(existsSync(join(ROOT, 'bin', 'gatehouse.js'))).toBe(true);
    const build = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as {
      scripts: Record<string, string>;
    };
    expect(build.scripts.build).toBeDefined();
  });

  it('gives Gatehouse only documented settings, and wires PostgreSQL, Redis, migrations and nginx', () => {
    const anchor = compose.slice(compose.indexOf('x-gatehouse-env:'), compose.indexOf('services:'));
    const names = [...anchor.matchAll(/^ {2}([A-Z][A-Z0-9_]+):/gm)].map((m) => m[1]!);
    expect(names).toContain('DATABASE_URL');
    expect(names).toContain('REDIS_URL');
    for (const name of names) expect(SETTINGS.has(name), name).toBe(true);
    for (const service of ['postgres', 'redis', 'migrate', 'gatehouse', 'nginx']) {
      expect(compose).toMatch(new RegExp(`^ {2}${service}:$`, 'm'));
    }
    expect(compose).toMatch(/condition: service_completed_successfully/);
    expect(compose).toContain('../nginx/gatehouse.conf:/etc/nginx/templates/gatehouse.conf.template');
    expect(compose).toContain('dockerfile: deploy/container/Dockerfile');
    // The trusted proxy is nginx's fixed address, not a network.
    const trust = /TRUST_PROXY: (\S+)/.exec(compose)?.[1];
    expect(compose).toContain(`ipv4_address: ${trust}`);
  });
});

describe('node options', () => {
  it('every recipe runs the server with the node options the benchmark measures', async () => {
    // bench/ is plain JavaScript outside the type-checked tree: import it by a computed path.
    const bench = join(ROOT, 'bench', 'lib', 'processes.js');
    const { PRODUCTION_NODE_ARGS } = (await import(bench)) as { PRODUCTION_NODE_ARGS: readonly string[] };
    const expected = [...PRODUCTION_NODE_ARGS];
    expect(expected.length).toBeGreaterThan(0);
    const [start] = unitValues(readFileSync(UNIT, 'utf8'), 'ExecStart');
    const unitArgv = start!.split(' ');
    expect(unitArgv.slice(1, -2)).toEqual(expected);
    expect(unitArgv.slice(-2)).toEqual(['/opt/gatehouse/bin/gatehouse.js', 'serve']);

    const entrypoint = /^ENTRYPOINT (\[.+\])$/m.exec(readFileSync(DOCKERFILE, 'utf8'))?.[1];
    const entryArgv = JSON.parse(entrypoint ?? '[]') as string[];
    expect(entryArgv).toEqual(['node', ...expected, 'bin/gatehouse.js']);

    const scripts = (
      JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as {
        scripts: Record<string, string>;
      }
    ).scripts;
    expect(scripts.start).toContain(`node ${expected.join(' ')} bin/gatehouse.js serve`);
  });
});
