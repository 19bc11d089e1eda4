/**
 * Load generation with autocannon (programmatic, in the bench process: never in the server's).
 * Every scenario runs once per round, rounds interleaved, so slow drift (thermal, other tenants)
 * touches every route alike; the figure of record is the median over rounds, and the ratio to the
 * bare route is taken within each round (the two runs seconds apart) before the median.
 */
import autocannon from 'autocannon';
import { cpuTimeOf } from './processes.js';

/**
 * @typedef {object} Scenario
 * @property {string} id            stable key in latest.json
 * @property {string} label         what the table shows
 * @property {string} path
 * @property {Record<string, string>} [headers]
 * @property {Record<string, string>[]} [headerSets]  one header set per request, cycled per connection
 * @property {number} expectStatus
 */

/**
 * @typedef {object} RunResult
 * @property {number} rps
 * @property {number} p50
 * @property {number} p99
 * @property {number} expected   responses with the expected status
 * @property {number} unexpected responses with another status, plus errors and timeouts
 * @property {number | null} cpuUs server CPU time per response, µs
 */

/**
 * @param {string} baseUrl @param {Scenario} s @param {{ connections: number, seconds: number, pid?: number }} o
 * @returns {Promise<RunResult>}
 */
export async function runOnce(baseUrl, s, o) {
  const cpu0 = cpuTimeOf(o.pid);
  const options = {
    url: `${baseUrl}${s.path}`,
    connections: o.connections,
    duration: o.seconds,
    headers: s.headers ?? {},
    ...(s.headerSets
      ? { requests: s.headerSets.map((headers) => ({ method: 'GET', path: s.path, headers })) }
      : {}),
  };
  const r = /** @type {any} */ (await autocannon(options));
  const cpu1 = cpuTimeOf(o.pid);
  const stats = /** @type {Record<string, { count: number }>} */ (r.statusCodeStats ?? {});
  const expected = stats[String(s.expectStatus)]?.count ?? 0;
  let other = 0;
  for (const [code, v] of Object.entries(stats)) if (code !== String(s.expectStatus)) other += v.count;
  return {
    rps: r.requests.total / (r.duration || o.seconds),
    p50: r.latency.p50,
    p99: r.latency.p99,
    expected,
    unexpected: other + r.errors + r.timeouts,
    cpuUs:
      cpu0 !== null && cpu1 !== null && r.requests.total > 0
        ? ((cpu1 - cpu0) * 1000) / r.requests.total
        : null,
  };
}

/** @param {number[]} xs */
export function median(xs) {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 === 1
    ? /** @type {number} */ (s[m])
    : /** @type {number} */ (s[m - 1] + /** @type {number} */ (s[m])) / 2;
}

/**
 * Runs every scenario `rounds` times, interleaved; `scenarios[0]` must be the bare route.
 * @param {string} baseUrl @param {Scenario[]} scenarios
 * @param {{ connections: number, seconds: number, rounds: number, warmupSeconds: number, pid?: number, log: (line: string) => void }} o
 */
export async function measure(baseUrl, scenarios, o) {
  const server = { id: 'server', url: baseUrl, ...(o.pid === undefined ? {} : { pid: o.pid }) };
  const rows = await measureSideBySide([server], scenarios, o);
  return /** @type {ReturnType<typeof rowsOf>} */ (rows.get('server'));
}

/**
 * Several servers alive at once, asked the same scenarios; every round visits every server (in
 * alternating order), so servers are compared seconds apart, not minutes.
 * @param {{ id: string, url: string, pid?: number }[]} servers @param {Scenario[]} scenarios
 * @param {{ connections: number, seconds: number, rounds: number, warmupSeconds: number, log: (line: string) => void }} o
 */
export async function measureSideBySide(servers, scenarios, o) {
  // Warm-up (discarded): JIT, connection pools, the first renewals.
  for (const server of servers)
    for (const s of scenarios)
      await runOnce(server.url, s, { connections: o.connections, seconds: o.warmupSeconds });
  /** @type {Map<string, Map<string, RunResult[]>>} */
  const runs = new Map(servers.map((server) => [server.id, new Map(scenarios.map((s) => [s.id, []]))]));
  for (let round = 0; round < o.rounds; round++) {
    const order = round % 2 === 0 ? servers : [...servers].reverse();
    for (const server of order) {
      for (const s of scenarios) {
        const r = await runOnce(server.url, s, {
          ...o,
          ...(server.pid === undefined ? {} : { pid: server.pid }),
        });
        runs.get(server.id)?.get(s.id)?.push(r);
        const who = servers.length > 1 ? `${server.id} ` : '';
        o.log(`  round ${round + 1}/${o.rounds} ${who}${s.id.padEnd(16)} ${Math.round(r.rps)} req/s`);
      }
    }
  }
  return new Map(
    servers.map((server) => [
      server.id,
      rowsOf(scenarios, /** @type {Map<string, RunResult[]>} */ (runs.get(server.id))),
    ]),
  );
}

/**
 * One server's rows: medians over rounds and ratios to its bare route (`scenarios[0]`).
 * @param {Scenario[]} scenarios @param {Map<string, RunResult[]>} runs
 */
function rowsOf(scenarios, runs) {
  const bare = /** @type {RunResult[]} */ (runs.get(/** @type {Scenario} */ (scenarios[0]).id));
  return scenarios.map((s) => {
    const rs = /** @type {RunResult[]} */ (runs.get(s.id));
    const rpsList = rs.map((r) => r.rps);
    const rps = median(rpsList);
    const cpus = rs.map((r) => r.cpuUs);
    const bareCpu = bare.map((r) => r.cpuUs);
    return {
      id: s.id,
      label: s.label,
      path: s.path,
      expectStatus: s.expectStatus,
      rps: Math.round(rps),
      ratio: round3(median(rs.map((r, i) => r.rps / /** @type {RunResult} */ (bare[i]).rps))),
      // The same ratio from the server's CPU time per request (bare ÷ route), robust to other load.
      cpuUsPerRequest: cpus.every((c) => c !== null)
        ? Math.round(median(/** @type {number[]} */ (cpus)))
        : null,
      cpuRatio:
        cpus.every((c) => c !== null && c > 0) && bareCpu.every((c) => c !== null)
          ? round3(median(cpus.map((c, i) => /** @type {number} */ (bareCpu[i]) / /** @type {number} */ (c))))
          : null,
      p50Ms: median(rs.map((r) => r.p50)),
      p99Ms: median(rs.map((r) => r.p99)),
      // Noise: the spread of the rounds around the median, in percent.
      spreadPct: rps > 0 ? Math.round(((Math.max(...rpsList) - Math.min(...rpsList)) / rps) * 1000) / 10 : 0,
      rounds: rs.map((r) => Math.round(r.rps)),
      cpuRounds: rs.map((r) => (r.cpuUs === null ? null : Math.round(r.cpuUs * 10) / 10)),
      unexpected: rs.reduce((n, r) => n + r.unexpected, 0),
      requests: rs.reduce((n, r) => n + r.expected + r.unexpected, 0),
    };
  });
}

/** @param {number} x */
export const round3 = (x) => Math.round(x * 1000) / 1000;
