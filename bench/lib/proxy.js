/**
 * Proxy mode rows (DESIGN.md "Proxy mode"): the same small upstream asked directly, and through
 * Gatehouse for a PUBLIC_PATHS path (no session: the proxy's own cost, the denominator of record),
 * for an authenticated path (Bearer; the assertion is signed and cached), and for a path an
 * access rule guards (the rule allows the user: a decision on every request).
 */
import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { generateAssertionKey, keyToText } from '../../dist/assertion/keys.js';
import { ROOT } from './processes.js';

/** Starts bench/upstream-server.js in its own process; resolves with its URL. */
export async function startUpstream() {
  const proc = spawn(process.execPath, [join(ROOT, 'bench', 'upstream-server.js')], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const url = await new Promise((resolve, reject) => {
    let line = '';
    proc.stdout?.on('data', (/** @type {Buffer} */ chunk) => {
      line += chunk.toString('utf8');
      const nl = line.indexOf('\n');
      if (nl !== -1) resolve(/** @type {{ url: string }} */ (JSON.parse(line.slice(0, nl))).url);
    });
    proc.once('exit', (code) => reject(new Error(`the upstream exited (${code})`)));
  });
  return {
    url: /** @type {string} */ (url),
    pid: proc.pid,
    stop: () =>
      new Promise((resolve) => {
        if (proc.exitCode !== null) return resolve(undefined);
        proc.once('exit', () => resolve(undefined));
        proc.kill();
      }),
  };
}

/**
 * The environment that puts a Gatehouse in front of `upstreamUrl`, with one open path and one
 * rule-guarded path (allowed for the bench users' domain).
 * @param {string} upstreamUrl @param {string} dir
 */
export function proxyEnv(upstreamUrl, dir) {
  const rules = join(dir, 'bench-rules.json');
  writeFileSync(rules, JSON.stringify([{ path: '/guarded/**', allow: { domains: ['bench.example'] } }]));
  return {
    UPSTREAM_URL: upstreamUrl,
    PUBLIC_PATHS: '/open/**',
    ACCESS_RULES_FILE: rules,
    // Production signs assertions only with configured keys.
    ASSERTION_KEYS: keyToText(generateAssertionKey()),
  };
}

/**
 * What the proxy server is asked; the first scenario (a public path) is the denominator.
 * @param {string} token a live session token
 * @returns {import('./load.js').Scenario[]}
 */
export function proxyScenarios(token) {
  const bearer = { authorization: `Bearer ${token}` };
  return [
    {
      id: 'proxy_public',
      label: 'proxied, PUBLIC_PATHS (no session) — the ceiling',
      path: '/open/x',
      expectStatus: 200,
    },
    {
      id: 'proxy_auth',
      label: 'proxied, authenticated (Bearer, assertion)',
      path: '/api/x',
      headers: bearer,
      expectStatus: 200,
    },
    {
      id: 'proxy_rule',
      label: 'proxied, authenticated + access rule',
      path: '/guarded/x',
      headers: bearer,
      expectStatus: 200,
    },
  ];
}
