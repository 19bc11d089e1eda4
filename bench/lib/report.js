/**
 * The printed table: one line per route, requests/second, the ratio to the bare route of the same
 * server (the figure of record), latency percentiles and how noisy the rounds were.
 */
import { median } from './load.js';

/** @param {string} s @param {number} n */
const pad = (s, n) => (s.length >= n ? s : s + ' '.repeat(n - s.length));
/** @param {string} s @param {number} n */
const padL = (s, n) => (s.length >= n ? s : ' '.repeat(n - s.length) + s);

/**
 * @param {string} title
 * @param {{ label: string, rps: number, ratio: number, cpuUsPerRequest: number | null, cpuRatio: number | null, p50Ms: number, p99Ms: number, spreadPct: number, unexpected: number }[]} rows
 */
export function table(title, rows) {
  const lines = [`\n${title}`];
  lines.push(
    `  ${pad('route', 50)} ${padL('req/s', 8)} ${padL('× bare', 7)} ${padL('µs CPU', 7)} ${padL('× bare', 7)} ${padL('p50 ms', 7)} ${padL('p99 ms', 7)} ${padL('noise', 7)}`,
  );
  for (const r of rows) {
    const bad = r.unexpected > 0 ? `  (${r.unexpected} unexpected responses)` : '';
    lines.push(
      `  ${pad(r.label, 50)} ${padL(String(r.rps), 8)} ${padL(r.ratio.toFixed(2), 7)} ${padL(r.cpuUsPerRequest === null ? '-' : String(r.cpuUsPerRequest), 7)} ${padL(r.cpuRatio === null ? '-' : r.cpuRatio.toFixed(2), 7)} ${padL(r.p50Ms.toFixed(1), 7)} ${padL(r.p99Ms.toFixed(1), 7)} ${padL(`±${(r.spreadPct / 2).toFixed(1)}%`, 7)}${bad}`,
    );
  }
  return lines.join('\n');
}

/**
 * @typedef {{ id: string, ratio: number, cpuRatio: number | null, rps: number }} Row
 * @typedef {{ name: string, target: string, value: number | string | null, cpuValue?: number | null, met: boolean | null }} Target
 */

/** @param {unknown} server @param {string} id @returns {Row | undefined} */
function row(server, id) {
  const rows = /** @type {{ rows?: Row[] } | undefined} */ (server)?.rows;
  return rows?.find((r) => r.id === id);
}

/**
 * Median over rounds of a[i] ÷ b[i]: two servers measured side by side, round by round.
 * @param {(number | null)[] | undefined} a @param {(number | null)[] | undefined} b
 */
function perRound(a, b) {
  if (!a || !b || a.length === 0 || a.length !== b.length) return undefined;
  const ratios = a.map((x, i) => (x !== null && b[i] ? x / /** @type {number} */ (b[i]) : Number.NaN));
  if (ratios.some((r) => !Number.isFinite(r))) return undefined;
  return Math.round(median(ratios) * 1000) / 1000;
}

/**
 * The issue's targets, checked against this run (figures, not pass/fail of the run itself).
 * @param {Record<string, unknown>} results
 */
export function summarize(results) {
  const s = /** @type {Record<string, any>} */ (results.servers);
  const main = s.sqlite;
  /** @type {Target[]} */
  const targets = [];
  /** @param {string} name @param {string} target @param {number | string | null | undefined} value @param {boolean | null} met */
  const add = (name, target, value, met) => targets.push({ name, target, value: value ?? null, met });
  const ratio = (/** @type {unknown} */ server, /** @type {string} */ id) => row(server, id)?.ratio;

  for (const id of ['chat_cookie', 'chat_bearer', 'verify', 'unauthenticated', 'revoked', 'forged']) {
    const r = ratio(main, id);
    const name = ['chat_cookie', 'chat_bearer', 'verify'].includes(id) ? `${id} ÷ bare` : `${id} 401 ÷ bare`;
    add(name, '≥ 0.90', r, r === undefined ? null : r >= 0.9);
    const t = targets.at(-1);
    if (t) t.cpuValue = row(main, id)?.cpuRatio ?? null;
  }
  const plans = /** @type {Record<string, string> | undefined} */ (main?.renewalQueryPlans);
  const indexed = plans
    ? Object.values(plans).every((p) => p.includes('SEARCH') && !p.includes('SCAN'))
    : null;
  add(
    'renewal statements use the primary key',
    'SEARCH, never SCAN',
    plans ? Object.values(plans).join(' | ') : null,
    indexed,
  );
  // Gatehouse's own share of the callback: the server's time minus the provider's answering it.
  const callback = main?.signIns?.serverCallback?.ownMs?.p50;
  add(
    "sign-in callback p50, Gatehouse's own (SQLite)",
    '≤ 5 ms',
    callback,
    callback === undefined ? null : callback <= 5,
  );
  const whole = main?.signIns?.serverCallback?.serverMs?.p50;
  add('sign-in callback p50 on the server, provider included', 'measured (no target)', whole, null);
  // Servers run as the deploy recipes run them; the plain-node one is reported beside them.
  const peaks = Object.entries(s)
    .filter(([name]) => name !== 'sqlitePlainNode')
    .map(([, x]) => x?.memory?.peakRssMb)
    .filter((x) => typeof x === 'number');
  const peak = peaks.length > 0 ? Math.max(...peaks) : undefined;
  add('peak RSS of any server under load', '≤ 150 MB', peak, peak === undefined ? null : peak <= 150);
  const plainPeak = s.sqlitePlainNode?.memory?.peakRssMb;
  add('peak RSS on plain node (no node options)', 'measured (no target)', plainPeak, null);
  // Side by side (same rounds): what a route costs on plain node against the recipes' options.
  for (const id of ['bare', 'chat_cookie']) {
    add(
      `${id} CPU per request, plain node ÷ recipes`,
      'measured (no target)',
      perRound(row(s.sqlitePlainNode, id)?.cpuRounds, row(s.sqliteSideWarn, id)?.cpuRounds),
      null,
    );
  }
  for (const id of ['chat_cookie', 'revoked', 'renewal']) {
    const small = ratio(main, id);
    const large = ratio(s.sqliteLarge, id);
    const growth = small && large ? Math.round((large / small) * 1000) / 1000 : undefined;
    // Within the noise of a few-second run: the large store may not cost more than 10 %.
    add(
      `${id} with the large store ÷ small store`,
      '≥ 0.90 (does not grow)',
      growth,
      growth === undefined ? null : growth >= 0.9,
    );
  }
  add(
    'GET /chat req/s with LOG_LEVEL=info ÷ warn',
    'measured (no target)',
    perRound(row(s.sqliteLogging, 'chat_cookie')?.rounds, row(s.sqliteSideWarn, 'chat_cookie')?.rounds),
    null,
  );
  // Proxy mode (issue 14): authentication costs at most 10 % of a proxied request.
  for (const id of ['proxy_auth', 'proxy_rule']) {
    const r = ratio(s.proxy, id);
    add(`${id} ÷ proxied public path`, '≥ 0.90', r, r === undefined ? null : r >= 0.9);
    const t = targets.at(-1);
    if (t) t.cpuValue = row(s.proxy, id)?.cpuRatio ?? null;
  }
  const direct = s.proxy?.upstreamDirect?.[0]?.rps;
  const proxied = row(s.proxy, 'proxy_auth')?.rps;
  add(
    'authenticated proxied req/s ÷ the upstream directly',
    'measured (no target)',
    direct && proxied ? Math.round((proxied / direct) * 1000) / 1000 : undefined,
    null,
  );
  const chat = row(main, 'chat_cookie')?.rps;
  return {
    targets,
    capacity: {
      authenticatedRequestsPerSecondPerCore: chat ?? null,
      signInsPerSecondSequential: main?.signIns?.sequential?.perSecond ?? null,
      signInsPerSecondConcurrent: main?.signIns?.concurrent?.perSecond ?? null,
      coldStartMs: main?.coldStartMs ?? null,
    },
  };
}

/** @param {Record<string, unknown>} summary */
export function summaryText(summary) {
  const targets = /** @type {Target[]} */ (summary.targets);
  const lines = ['Targets'];
  for (const t of targets) {
    const mark = t.met === null ? '  -  ' : t.met ? ' met ' : 'MISSED';
    const cpu = t.cpuValue === undefined || t.cpuValue === null ? '' : ` (by CPU time ${t.cpuValue})`;
    lines.push(`  [${mark}] ${pad(t.name, 46)} ${pad(String(t.value), 8)} target ${t.target}${cpu}`);
  }
  return lines.join('\n');
}
