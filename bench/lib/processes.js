/**
 * Child processes of the benchmark: the server under test (`node bin/gatehouse.js serve`, exactly
 * as an operator runs it) and the local provider. Peak RSS is read from /proc (Linux: VmHWM, the
 * high-water mark of the resident set), so it covers the whole life of the process.
 */
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

/** @returns {Promise<number>} a loopback port that was free a moment ago */
export function freePort() {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

/** @param {number} ms */
const delay = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Memory of a process in MB, from /proc; null where /proc is not available.
 * @param {number | undefined} pid
 * @returns {{ rssMb: number, peakRssMb: number } | null}
 */
export function memoryOf(pid) {
  if (pid === undefined) return null;
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const kb = (/** @type {string} */ field) =>
      Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status)?.[1]);
    const rss = kb('VmRSS');
    const hwm = kb('VmHWM');
    if (!Number.isFinite(rss) || !Number.isFinite(hwm)) return null;
    return { rssMb: Math.round(rss / 102.4) / 10, peakRssMb: Math.round(hwm / 102.4) / 10 };
  } catch {
    return null;
  }
}

/**
 * @typedef {object} Child
 * @property {import('node:child_process').ChildProcess} proc
 * @property {() => string} output  stderr (and stdout when not ignored) so far, for error messages
 * @property {() => Promise<number | null>} stop  SIGTERM, then SIGKILL after a grace period
 */

/**
 * @param {string[]} args
 * @param {{ env: Record<string, string>, cwd: string, stdout?: 'pipe' | 'ignore' }} options
 * @returns {Child}
 */
function start(args, options) {
  const proc = spawn(process.execPath, args, {
    cwd: options.cwd,
    env: options.env,
    stdio: ['ignore', options.stdout ?? 'pipe', 'pipe'],
  });
  let text = '';
  const keep = (/** @type {Buffer} */ chunk) => {
    text = (text + chunk.toString('utf8')).slice(-20_000);
  };
  proc.stderr?.on('data', keep);
  if (options.stdout !== 'ignore') proc.stdout?.on('data', keep);
  const exited = new Promise((resolve) => proc.once('exit', (code) => resolve(code)));
  return {
    proc,
    output: () => text,
    async stop() {
      if (proc.exitCode !== null || proc.signalCode !== null) return proc.exitCode;
      proc.kill('SIGTERM');
      const timer = setTimeout(() => proc.kill('SIGKILL'), 15_000);
      const code = /** @type {number | null} */ (await exited);
      clearTimeout(timer);
      return code;
    },
  };
}

/**
 * Starts the provider; resolves with its issuer once it listens.
 * @param {{ clientId: string, clientSecret: string, redirectUris: string[] }} o
 */
export async function startIdp(o) {
  const child = start(
    [join(ROOT, 'bench', 'idp-server.js'), o.clientId, o.clientSecret, o.redirectUris.join(',')],
    {
      cwd: ROOT,
      env: { PATH: process.env.PATH ?? '', NODE_ENV: 'production' },
    },
  );
  const issuer = await new Promise((resolve, reject) => {
    let line = '';
    child.proc.stdout?.on('data', (/** @type {Buffer} */ chunk) => {
      line += chunk.toString('utf8');
      const nl = line.indexOf('\n');
      if (nl !== -1) resolve(/** @type {{ issuer: string }} */ (JSON.parse(line.slice(0, nl))).issuer);
    });
    child.proc.once('exit', (code) => reject(new Error(`the provider exited (${code}): ${child.output()}`)));
  });
  return { ...child, issuer: /** @type {string} */ (issuer) };
}

/**
 * Runs `gatehouse <args>` to completion (e.g. `migrate`).
 * @param {string[]} args
 * @param {Record<string, string>} env
 * @param {string} cwd
 */
export async function runGatehouse(args, env, cwd) {
  const child = start([join(ROOT, 'bin', 'gatehouse.js'), ...args], { cwd, env });
  const code = await new Promise((resolve) => child.proc.once('exit', resolve));
  if (code !== 0) throw new Error(`gatehouse ${args.join(' ')} exited with ${code}: ${child.output()}`);
}

/**
 * The node options the deploy recipes run `gatehouse serve` with (deploy/systemd/gatehouse.service,
 * deploy/container/Dockerfile, `npm start`; test/deploy/recipes.test.ts keeps them in step).
 */
export const PRODUCTION_NODE_ARGS = Object.freeze(['--max-semi-space-size=8']);

/**
 * Starts `gatehouse serve` as the deploy recipes do (PRODUCTION_NODE_ARGS; `plainNode` for none)
 * and waits for /healthz; `coldStartMs` is spawn → first 200.
 * @param {{ env: Record<string, string>, cwd: string, url: string, nodeArgs?: string[], plainNode?: boolean }} o
 */
export async function startServer(o) {
  const t0 = performance.now();
  const nodeArgs = [...(o.plainNode ? [] : PRODUCTION_NODE_ARGS), ...(o.nodeArgs ?? [])];
  // Logs go to /dev/null rather than a pipe: what a production log shipper costs is not ours to
  // measure, but formatting and writing every line is.
  const child = start([...nodeArgs, join(ROOT, 'bin', 'gatehouse.js'), 'serve'], {
    cwd: o.cwd,
    env: o.env,
    stdout: 'ignore',
  });
  const deadline = Date.now() + 30_000;
  for (;;) {
    if (child.proc.exitCode !== null) {
      throw new Error(`gatehouse serve exited with ${child.proc.exitCode}: ${child.output()}`);
    }
    try {
      const res = await fetch(`${o.url}/healthz`);
      await res.arrayBuffer();
      if (res.status === 200) break;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) {
      await child.stop();
      throw new Error(`gatehouse serve did not answer /healthz within 30 s: ${child.output()}`);
    }
    await delay(5);
  }
  return { ...child, coldStartMs: Math.round(performance.now() - t0) };
}

/**
 * CPU time (user + system) a process has used, in ms, from /proc/PID/stat (clock ticks of 10 ms,
 * USER_HZ = 100 on Linux); null where /proc is not available. Divided by the requests of a run,
 * it is the server's own cost per request — a figure that other work on the machine disturbs far
 * less than requests per second.
 * @param {number | undefined} pid
 * @returns {number | null}
 */
export function cpuTimeOf(pid) {
  if (pid === undefined) return null;
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the command name (which may contain spaces) start after the last ')'.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const ticks = Number(fields[11]) + Number(fields[12]);
    return Number.isFinite(ticks) ? ticks * 10 : null;
  } catch {
    return null;
  }
}
