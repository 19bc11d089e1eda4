/**
 * Runs the built `gatehouse` CLI as a process (`node bin/gatehouse.js …`), the way operators run
 * it, with a clean environment (only what the test passes, plus PATH and HOME) and a temp
 * working directory. `npm test` builds dist/ first; run `npm run build` before running these alone.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const BIN = join(ROOT, 'bin', 'gatehouse.js');

export function assertBuilt(): void {
  if (!existsSync(join(ROOT, 'dist', 'cli', 'main.js'))) {
    throw new Error('dist/ is missing: run `npm run build` (npm test does it) before the CLI tests');
  }
}

export interface CliResult {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stdout: string;
  readonly stderr: string;
}

export interface CliOptions {
  readonly env?: Record<string, string | undefined>;
  readonly cwd: string;
  readonly input?: string;
  /** Kill the process after this long (a failing test must not hang the suite). */
  readonly timeoutMs?: number;
}

export function cliEnv(env: Record<string, string | undefined> = {}): Record<string, string> {
  const out: Record<string, string> = {
    PATH: process.env.PATH ?? '/usr/bin:/bin',
    HOME: process.env.HOME ?? '/tmp',
  };
  for (const [key, value] of Object.entries({ NODE_ENV: 'test', LOG_FORMAT: 'json', ...env })) {
    if (value !== undefined) out[key] = value;
  }
  return out;
}

/** Starts the CLI; the caller owns the process. */
export function startCli(args: readonly string[], options: CliOptions): ChildProcess {
  assertBuilt();
  return spawn(process.execPath, [BIN, ...args], {
    cwd: options.cwd,
    env: cliEnv(options.env),
    stdio: ['pipe', 'pipe', 'pipe'],
  });
}

/** Runs the CLI to completion (asynchronously, so servers in this process keep answering it). */
export function runCli(args: readonly string[], options: CliOptions): Promise<CliResult> {
  const child = startCli(args, options);
  let stdout = '';
  let stderr = '';
  child.stdout?.on('data', (chunk: Buffer) => {
    stdout += chunk.toString('utf8');
  });
  child.stderr?.on('data', (chunk: Buffer) => {
    stderr += chunk.toString('utf8');
  });
  child.stdin?.end(options.input ?? '');
  return new Promise((resolvePromise, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(
        new Error(`gatehouse ${args.join(' ')} did not finish in time\nstdout: ${stdout}\nstderr: ${stderr}`),
      );
    }, options.timeoutMs ?? 60_000);
    child.once('error', reject);
    child.once('close', (code, signal) => {
      clearTimeout(timer);
      resolvePromise({ code, signal, stdout, stderr });
    });
  });
}

export function tempDir(): { path: string; remove(): void } {
  const path = mkdtempSync(join(tmpdir(), 'gatehouse-cli-'));
  return { path, remove: () => rmSync(path, { recursive: true, force: true }) };
}
