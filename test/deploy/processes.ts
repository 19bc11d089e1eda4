/**
 * Real `gatehouse serve` processes (node bin/gatehouse.js, built by `npm run build`), so that
 * killing one is a real kill; and a bounded load loop and autocannon runs against nginx.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdtempSync } from 'node:fs';
import { Agent, request } from 'node:https';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from '../helpers/ports.js';

const ROOT = join(import.meta.dirname, '..', '..');
export const BIN = join(ROOT, 'bin', 'gatehouse.js');
export const BUILT = existsSync(join(ROOT, 'dist', 'cli', 'main.js'));

export interface ServeProcess {
  readonly port: number;
  readonly child: ChildProcess;
  output(): string;
  /** SIGTERM and wait for exit (no-op if already gone). */
  stop(): Promise<void>;
  exited: Promise<number | null>;
}

export async function startServe(env: Record<string, string>): Promise<ServeProcess> {
  const port = await freePort();
  const cwd = mkdtempSync(join(tmpdir(), 'gatehouse-proc-'));
  const child = spawn(process.execPath, [BIN, 'serve'], {
    cwd,
    env: { PATH: process.env.PATH ?? '', ...env, HOST: '127.0.0.1', PORT: String(port) },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout?.on('data', (c: Buffer) => {
    output += c.toString();
  });
  child.stderr?.on('data', (c: Buffer) => {
    output += c.toString();
  });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  let done = false;
  void exited.then(() => {
    done = true;
  });
  // Generous: on a loaded CI machine three processes compiling and migrating at once are slow.
  const deadline = Date.now() + 45_000;
  for (;;) {
    if (done) throw new Error(`gatehouse serve exited:\n${output}`);
    const ok = await fetch(`http://127.0.0.1:${port}/readyz`, { signal: AbortSignal.timeout(2_000) }).then(
      (r) => r.status === 200,
      () => false,
    );
    if (ok) break;
    if (Date.now() > deadline) {
      // Never leave a process behind when the test gives up on it.
      child.kill('SIGKILL');
      throw new Error(`gatehouse serve did not become ready:\n${output}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  return {
    port,
    child,
    output: () => output,
    exited,
    async stop() {
      if (done) return;
      child.kill('SIGTERM');
      await exited;
    },
  };
}

export interface LoadResult {
  readonly ok: number;
  readonly failed: number;
  readonly statuses: Record<string, number>;
  /** Outcome of each request in completion order (true = 200). */
  readonly timeline: boolean[];
}

/**
 * A bounded load loop over https (keep-alive): `concurrency` workers send `total` GETs in all (or
 * stop at `deadlineMs`), each with the next token. `onProgress(done)` runs after every response.
 */
export async function loadLoop(options: {
  url: (i: number) => string;
  headers: (i: number) => Record<string, string>;
  ca: string;
  concurrency: number;
  total: number;
  deadlineMs: number;
  onProgress?: (done: number) => void;
}): Promise<LoadResult> {
  const agent = new Agent({ keepAlive: true, maxSockets: options.concurrency, ca: options.ca });
  const statuses: Record<string, number> = {};
  const timeline: boolean[] = [];
  let next = 0;
  const stopAt = Date.now() + options.deadlineMs;
  const one = (i: number) =>
    new Promise<string>((resolve) => {
      const req = request(options.url(i), { agent, headers: options.headers(i) }, (res) => {
        res.resume();
        res.on('end', () => resolve(String(res.statusCode)));
        res.on('error', () => resolve('error'));
      });
      req.setTimeout(5_000, () => req.destroy(new Error('timeout')));
      req.on('error', () => resolve('error'));
      req.end();
    });
  const worker = async () => {
    while (next < options.total && Date.now() < stopAt) {
      const i = next++;
      const status = await one(i);
      statuses[status] = (statuses[status] ?? 0) + 1;
      timeline.push(status === '200');
      options.onProgress?.(timeline.length);
    }
  };
  await Promise.all(Array.from({ length: options.concurrency }, worker));
  agent.destroy();
  const ok = timeline.filter(Boolean).length;
  return { ok, failed: timeline.length - ok, statuses, timeline };
}

interface AutocannonResult {
  requests: { average: number; total: number };
  latency: { p50: number; p99: number };
  non2xx: number;
  errors: number;
}
type Autocannon = (opts: Record<string, unknown>) => Promise<AutocannonResult>;
const autocannon = createRequire(import.meta.url)('autocannon') as Autocannon;

/** Requests/second through nginx for a few seconds (printed by callers, never asserted as a threshold). */
export async function measureRps(
  url: string,
  headers: Record<string, string>,
  seconds: number,
): Promise<{ rps: number; p50: number; p99: number; non2xx: number; errors: number }> {
  const result = await autocannon({ url, headers, connections: 32, duration: seconds, pipelining: 1 });
  return {
    rps: result.requests.average,
    p50: result.latency.p50,
    p99: result.latency.p99,
    non2xx: result.non2xx,
    errors: result.errors,
  };
}
