/**
 * The benchmark's smoke run (`npm run bench -- --smoke`): seconds long, no thresholds. It keeps
 * bench/ from rotting — every scenario still runs against a real `gatehouse serve`, and every
 * request got the status the scenario is about (a 200 that should have been a renewal, a 401 that
 * should have been a revocation) — while the figures themselves are read from the full run.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

const ROOT = join(import.meta.dirname, '..', '..');

interface Row {
  id: string;
  rps: number;
  ratio: number;
  p50Ms: number;
  p99Ms: number;
  requests: number;
  unexpected: number;
}
interface Server {
  skipped?: string;
  rows?: Row[];
  memory?: { peakRssMb: number } | null;
  coldStartMs?: number;
  signIns?: {
    callbackMs: { p50: number };
    serverCallback: { serverMs: { p50: number }; ownMs: { p50: number } } | null;
    sequential: { perSecond: number };
    concurrent: { perSecond: number };
  };
  native?: { idTokenSignIns: { perSecond: number }; refreshes: { perSecond: number } };
}
interface Results {
  smoke: boolean;
  servers: Record<string, Server>;
  summary: { targets: { name: string; met: boolean | null }[] };
}

function run(args: string[]): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, args, { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => {
      output += chunk.toString('utf8');
    });
    child.stderr.on('data', (chunk: Buffer) => {
      output += chunk.toString('utf8');
    });
    child.once('exit', (code) => resolve({ code, output }));
  });
}

const requireServices = process.env.GATEHOUSE_REQUIRE_SERVICES === '1';

describe('npm run bench -- --smoke', () => {
  const dir = mkdtempSync(join(tmpdir(), 'gatehouse-bench-smoke-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('measures every route on every server and writes the JSON report', { timeout: 400_000 }, async () => {
    expect(existsSync(join(ROOT, 'dist', 'cli', 'main.js')), 'run `npm run build` first').toBe(true);
    const out = join(dir, 'smoke.json');
    const { code, output } = await run([join(ROOT, 'bench', 'run.js'), '--smoke', '--out', out]);
    expect(code, output.slice(-3000)).toBe(0);
    expect(output).toContain('× bare');

    const results = JSON.parse(readFileSync(out, 'utf8')) as Results;
    expect(results.smoke).toBe(true);
    const expected: Record<string, string[]> = {
      sqlite: [
        'bare',
        'chat_cookie',
        'chat_bearer',
        'verify',
        'me',
        'unauthenticated',
        'revoked',
        'forged',
        'renewal',
      ],
      sqliteSideWarn: ['bare', 'chat_cookie'],
      sqliteLogging: ['bare', 'chat_cookie'],
      sqlitePlainNode: ['bare', 'chat_cookie'],
      sqliteLarge: ['bare', 'chat_cookie', 'revoked', 'renewal'],
      proxy: ['proxy_public', 'proxy_auth', 'proxy_rule'],
      postgres: ['bare', 'chat_cookie', 'me', 'renewal'],
      mysql: ['bare', 'chat_cookie', 'me', 'renewal'],
    };
    for (const [name, ids] of Object.entries(expected)) {
      const server = results.servers[name];
      expect(server, name).toBeDefined();
      if (server?.skipped !== undefined) {
        // PostgreSQL / MariaDB rows need a server; CI (GATEHOUSE_REQUIRE_SERVICES=1) provides both.
        expect(requireServices, `${name} skipped: ${server.skipped}`).toBe(false);
        continue;
      }
      expect(
        server?.rows?.map((r) => r.id),
        name,
      ).toEqual(ids);
      for (const row of server?.rows ?? []) {
        expect(row.requests, `${name}/${row.id} made requests`).toBeGreaterThan(0);
        // Every response had the status the scenario is about: no thresholds, but no pretending.
        expect(row.unexpected, `${name}/${row.id} answered other statuses`).toBe(0);
        for (const figure of [row.rps, row.ratio, row.p50Ms, row.p99Ms])
          expect(Number.isFinite(figure)).toBe(true);
      }
    }
    const main = results.servers.sqlite!;
    expect(main.memory === null || main.memory!.peakRssMb > 0).toBe(true);
    expect(main.coldStartMs).toBeGreaterThan(0);
    expect(main.signIns?.callbackMs.p50).toBeGreaterThan(0);
    // Timed on the server too (bench/lib/server-timing.cjs), and the provider's share taken out.
    const callback = main.signIns?.serverCallback;
    expect(callback?.serverMs.p50).toBeGreaterThan(0);
    expect(callback?.ownMs.p50).toBeGreaterThan(0);
    expect(callback!.ownMs.p50).toBeLessThan(callback!.serverMs.p50);
    expect(main.signIns?.sequential.perSecond).toBeGreaterThan(0);
    expect(main.signIns?.concurrent.perSecond).toBeGreaterThan(0);
    expect(main.native?.idTokenSignIns.perSecond).toBeGreaterThan(0);
    expect(main.native?.refreshes.perSecond).toBeGreaterThan(0);
    expect(results.summary.targets.length).toBeGreaterThanOrEqual(10);
  });
});
