/**
 * `npm run bench` — authenticated requests against the bare route, in one run.
 *
 * The server under test is `node bin/gatehouse.js serve` in production mode, its own process; the
 * provider is another (bench/idp-server.js); this process drives both with autocannon and the
 * real sign-in flow. See bench/README.md for the method and docs/performance.md for the results.
 *
 * Options: --smoke (seconds, for CI: 1 round, 1 s per route, a few hundred sessions)
 *          --out FILE (default bench/results/latest.json)  --profile (--cpu-prof the main server)
 *          --seconds N --rounds N --connections N --sessions N --revoked N
 * PostgreSQL / MariaDB rows run when BENCH_POSTGRES_URL / BENCH_MYSQL_URL (or TEST_POSTGRES_URL /
 * TEST_MYSQL_URL) name a server; each gets a throwaway database.
 */
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { parseArgs } from 'node:util';
import { createThrowawayDatabase } from './lib/databases.js';
import { measure, measureSideBySide } from './lib/load.js';
import { nativeRates } from './lib/native.js';
import {
  freePort,
  memoryOf,
  PRODUCTION_NODE_ARGS,
  ROOT,
  runGatehouse,
  startIdp,
  startServer,
} from './lib/processes.js';
import { proxyEnv, proxyScenarios, startUpstream } from './lib/proxy.js';
import { summarize, summaryText, table } from './lib/report.js';
import { databaseScenarios, largeStoreScenarios, mainScenarios } from './lib/scenarios.js';
import { renewalQueryPlans, seedSqlite } from './lib/seed.js';
import { serverCallback, signInMany } from './lib/signins.js';
import { sessionTokens } from './lib/tokens.js';

const { values: args } = parseArgs({
  options: {
    smoke: { type: 'boolean', default: false },
    profile: { type: 'boolean', default: false },
    out: { type: 'string', default: join(ROOT, 'bench', 'results', 'latest.json') },
    seconds: { type: 'string' },
    rounds: { type: 'string' },
    connections: { type: 'string' },
    sessions: { type: 'string' },
    revoked: { type: 'string' },
  },
});
const smoke = args.smoke === true;
const num = (/** @type {string | undefined} */ v, /** @type {number} */ d) =>
  v === undefined ? d : Number(v);
const plan = {
  seconds: num(args.seconds, smoke ? 1 : 3),
  /** Servers other than the main one measure fewer routes, each for less time. */
  secondarySeconds: num(args.seconds, smoke ? 1 : 2),
  rounds: num(args.rounds, smoke ? 1 : 3),
  warmupSeconds: smoke ? 0 : 1,
  connections: num(args.connections, smoke ? 10 : 64),
  sessions: num(args.sessions, smoke ? 300 : 1_000_000),
  revoked: num(args.revoked, smoke ? 30 : 100_000),
  signIns: smoke ? 3 : 100,
  concurrentSignIns: smoke ? { workers: 2, each: 2 } : { workers: 8, each: 8 },
};
const log = (/** @type {string} */ line) => process.stderr.write(`${line}\n`);
const timingArgs = ['--require', join(ROOT, 'bench', 'lib', 'server-timing.cjs')];

const work = mkdtempSync(join(tmpdir(), 'gatehouse-bench-'));
const clientId = 'gatehouse-bench';
const clientSecret = randomBytes(24).toString('base64url');
const jwtSecret = randomBytes(32).toString('base64url');
const port = await freePort();
const url = `http://127.0.0.1:${port}`;
/** @type {(() => Promise<unknown>)[]} */
const cleanups = [];
const started = performance.now();

/** @param {string} databaseUrl @param {Record<string, string>} [extra] */
function serverEnv(databaseUrl, extra = {}) {
  return {
    PATH: process.env.PATH ?? '',
    NODE_ENV: 'production',
    HOST: '127.0.0.1',
    PORT: String(port),
    PUBLIC_URL: url,
    DATABASE_URL: databaseUrl,
    LOG_LEVEL: 'warn',
    LOG_FORMAT: 'json',
    SECRET_KEY: randomBytes(32).toString('base64url'),
    JWT_SECRET_KEY: jwtSecret,
    GOOGLE_CLIENT_ID: clientId,
    GOOGLE_CLIENT_SECRET: clientSecret,
    OIDC_ISSUER: idp.issuer,
    // The sign-in measurement makes hundreds of sign-ins from one address in seconds.
    RATE_LIMIT_AUTH: '1000000/1m',
    // The load comes from one address and a few users: RATE_LIMIT_API would answer 429.
    RATE_LIMIT_API: '1000000000/1m',
    ...extra,
  };
}

log(
  `gatehouse bench${smoke ? ' (smoke)' : ''}: ${cpus().length} CPUs, node ${process.version}, work dir ${work}`,
);
const idp = await startIdp({ clientId, clientSecret, redirectUris: [`${url}/auth`] });
cleanups.push(() => idp.stop());

/** @type {Record<string, unknown>} */
const results = {
  version: 1,
  date: new Date().toISOString(),
  smoke,
  machine: {
    cpus: cpus().length,
    cpuModel: cpus()[0]?.model ?? null,
    node: process.version,
    platform: process.platform,
    // Other work on the machine skews every figure; the ratios less so, since rounds interleave.
    loadAverageAtStart: loadavg().map((x) => Math.round(x * 100) / 100),
  },
  method: {
    loadGenerator: 'autocannon (in the bench process; the server and the provider are separate processes)',
    bareRoute: 'GET /healthz (no authentication, same server, same plugins and hooks)',
    connections: plan.connections,
    secondsPerRun: plan.seconds,
    secondsPerRunSecondary: plan.secondarySeconds,
    rounds: plan.rounds,
    figureOfRecord: 'median over rounds of (route req/s ÷ bare req/s in the same round)',
    nodeArgs: PRODUCTION_NODE_ARGS,
  },
  servers: {},
};
const servers = /** @type {Record<string, unknown>} */ (results.servers);

try {
  // --- 1. SQLite, small store, production logging (warn): every route -------------------------
  const mainDir = join(work, 'main');
  mkdirSync(mainDir);
  const mainEnv = serverEnv(`sqlite:${join(mainDir, 'gatehouse.db')}`);
  const main = await startServer({
    ...timed(mainEnv, mainDir),
    url,
    ...(args.profile
      ? {
          nodeArgs: [
            ...timingArgs,
            '--cpu-prof',
            '--cpu-prof-dir',
            join(ROOT, 'bench', 'results', 'profiles'),
          ],
        }
      : {}),
  });
  cleanups.push(() => main.stop());
  log(`server up in ${main.coldStartMs} ms (cold start: spawn → /healthz 200)`);
  const cookieName = /** @type {{ cookie_name: string }} */ (await (await fetch(`${url}/config.json`)).json())
    .cookie_name;

  const signIns = await signInMany(url, cookieName, idp.issuer, plan.signIns, plan.concurrentSignIns);
  const mainCallback = serverCallback(await callbackTimings(main, mainDir), signIns.providerMs);
  log(
    `sign-ins: ${signIns.sequential.perSecond}/s sequential, ${signIns.concurrent.perSecond}/s concurrent; ` +
      `callback p50 ${signIns.callbackMs.p50} ms as the client saw it, ${mainCallback?.serverMs.p50 ?? '?'} ms ` +
      `on the server, of which the provider ${mainCallback?.providerMs.p50 ?? '?'} ms and Gatehouse's own ` +
      `${mainCallback?.ownMs.p50 ?? '?'} ms`,
  );
  // One after another, sequential like the sign-ins above (each sign-in a new user and session).
  const native = await nativeRates(url, idp.issuer, clientId, plan.signIns);
  log(
    `ID-token sign-ins: ${native.idTokenSignIns.perSecond}/s (p50 ${native.idTokenSignIns.p50Ms} ms); ` +
      `refreshes: ${native.refreshes.perSecond}/s (p50 ${native.refreshes.p50Ms} ms)`,
  );
  const tokens = await sessionTokens(url, cookieName, jwtSecret, signIns.tokens);
  const mainRows = await measure(url, mainScenarios(cookieName, tokens), {
    connections: plan.connections,
    seconds: plan.seconds,
    rounds: plan.rounds,
    warmupSeconds: plan.warmupSeconds,
    pid: main.proc.pid,
    log,
  });
  const mainMemory = memoryOf(main.proc.pid);
  await main.stop();
  cleanups.pop();
  servers.sqlite = {
    database: 'sqlite',
    logLevel: 'warn',
    coldStartMs: main.coldStartMs,
    memory: mainMemory,
    signIns: { ...signIns, tokens: undefined, serverCallback: mainCallback },
    native,
    rows: mainRows,
    renewalQueryPlans: renewalQueryPlans(join(mainDir, 'gatehouse.db')),
  };
  log(
    table(`SQLite, production mode, LOG_LEVEL=warn (peak RSS ${mainMemory?.peakRssMb ?? '?'} MB)`, mainRows),
  );

  // --- 2. Side by side: production logging on, and plain node --------------------------------
  // Three fresh servers on the same database, alive at once and asked in alternating rounds, so
  // the comparison is between servers seconds apart: as the recipes run it (warn), the same with
  // a log line per request (info), and on plain `node` without the recipes' node options.
  const sideBySide = [
    { id: 'warn', env: {}, plainNode: false },
    { id: 'info', env: { LOG_LEVEL: 'info' }, plainNode: false },
    { id: 'plain', env: {}, plainNode: true },
  ];
  const side = [];
  for (const variant of sideBySide) {
    const sidePort = await freePort();
    const sideUrl = `http://127.0.0.1:${sidePort}`;
    const env = { ...mainEnv, PORT: String(sidePort), PUBLIC_URL: sideUrl, ...variant.env };
    const server = await startServer({ env, cwd: mainDir, url: sideUrl, plainNode: variant.plainNode });
    cleanups.push(() => server.stop());
    side.push({ ...variant, url: sideUrl, server });
  }
  const sideRows = await measureSideBySide(
    side.map((v) => ({ id: v.id, url: v.url, pid: v.server.proc.pid })),
    mainScenarios(cookieName, tokens).slice(0, 2),
    secondary(undefined),
  );
  for (const v of side) {
    const rows = /** @type {NonNullable<ReturnType<typeof sideRows.get>>} */ (sideRows.get(v.id));
    const memory = memoryOf(v.server.proc.pid);
    const key = { warn: 'sqliteSideWarn', info: 'sqliteLogging', plain: 'sqlitePlainNode' }[v.id] ?? v.id;
    servers[key] = {
      database: 'sqlite',
      logLevel: v.id === 'info' ? 'info' : 'warn',
      nodeArgs: v.plainNode ? [] : PRODUCTION_NODE_ARGS,
      memory,
      rows,
    };
    await v.server.stop();
    cleanups.pop();
    const title = {
      warn: 'as the recipes run it (LOG_LEVEL=warn)',
      info: 'LOG_LEVEL=info (a log line per request)',
      plain: `plain node, without ${PRODUCTION_NODE_ARGS.join(' ')}`,
    }[v.id];
    log(table(`SQLite side by side: ${title} (peak RSS ${memory?.peakRssMb ?? '?'} MB)`, rows));
  }

  // --- 3. A large store: sessions and recent revocations ---------------------------------------
  const bigDir = join(work, 'big');
  mkdirSync(bigDir);
  const bigFile = join(bigDir, 'gatehouse.db');
  const bigEnv = serverEnv(`sqlite:${bigFile}`);
  await runGatehouse(['migrate'], bigEnv, bigDir);
  const seeded = seedSqlite(bigFile, {
    sessions: plan.sessions,
    revoked: plan.revoked,
    issuer: idp.issuer,
    now: Date.now(),
    sample: 64,
  });
  log(`seeded ${plan.sessions} sessions (${plan.revoked} revoked) in ${seeded.ms} ms`);
  const big = await startServer({ env: bigEnv, cwd: bigDir, url });
  cleanups.push(() => big.stop());
  const bigTokens = await sessionTokens(url, cookieName, jwtSecret, [], seeded);
  const bigRows = await measure(url, largeStoreScenarios(cookieName, bigTokens), secondary(big.proc.pid));
  servers.sqliteLarge = {
    database: 'sqlite',
    logLevel: 'warn',
    sessions: plan.sessions,
    revokedSessions: plan.revoked,
    seedMs: seeded.ms,
    coldStartMs: big.coldStartMs,
    memory: memoryOf(big.proc.pid),
    rows: bigRows,
  };
  await big.stop();
  cleanups.pop();
  log(
    table(
      `SQLite with ${plan.sessions} sessions, ${plan.revoked} revoked (cold start ${big.coldStartMs} ms)`,
      bigRows,
    ),
  );

  // --- 4. Proxy mode: the upstream directly, and through Gatehouse ----------------------------
  // On the first server's database (its sessions are live there), with the same JWT key.
  const upstream = await startUpstream();
  cleanups.push(() => upstream.stop());
  const direct = await measure(
    upstream.url,
    [{ id: 'upstream_direct', label: 'the upstream directly (node:http)', path: '/x', expectStatus: 200 }],
    secondary(upstream.pid),
  );
  const proxyServer = await startServer({
    env: serverEnv(`sqlite:${join(mainDir, 'gatehouse.db')}`, proxyEnv(upstream.url, mainDir)),
    cwd: mainDir,
    // Gatehouse's own routes (its /healthz) are under the route prefix in proxy mode.
    url: `${url}/_gatehouse`,
  });
  cleanups.push(() => proxyServer.stop());
  const proxyRows = await measure(url, proxyScenarios(tokens.live), secondary(proxyServer.proc.pid));
  servers.proxy = {
    database: 'sqlite',
    logLevel: 'warn',
    upstreamDirect: direct,
    memory: memoryOf(proxyServer.proc.pid),
    rows: proxyRows,
  };
  await proxyServer.stop();
  cleanups.pop();
  await upstream.stop();
  cleanups.pop();
  log(table('The upstream directly', direct));
  log(table(`Proxy mode, ratios × a PUBLIC_PATHS request through Gatehouse`, proxyRows));

  // --- 4. PostgreSQL and MariaDB/MySQL, when configured ---------------------------------------
  for (const kind of /** @type {const} */ (['postgres', 'mysql'])) {
    const db = await createThrowawayDatabase(kind);
    if (db === null) {
      servers[kind] = {
        skipped: `set BENCH_${kind === 'postgres' ? 'POSTGRES' : 'MYSQL'}_URL to measure it`,
      };
      continue;
    }
    cleanups.push(() => db.drop());
    const dir = join(work, kind);
    mkdirSync(dir);
    const server = await startServer({ ...timed(serverEnv(db.url), dir), url });
    cleanups.push(() => server.stop());
    const s = await signInMany(url, cookieName, idp.issuer, plan.signIns, plan.concurrentSignIns);
    const callback = serverCallback(await callbackTimings(server, dir), s.providerMs);
    const t = await sessionTokens(url, cookieName, jwtSecret, s.tokens);
    const rows = await measure(url, databaseScenarios(cookieName, t), secondary(server.proc.pid));
    servers[kind] = {
      database: kind,
      logLevel: 'warn',
      coldStartMs: server.coldStartMs,
      memory: memoryOf(server.proc.pid),
      rows,
    };
    await server.stop();
    cleanups.pop();
    /** @type {Record<string, unknown>} */ (servers[kind]).signIns = {
      ...s,
      tokens: undefined,
      serverCallback: callback,
    };
    log(
      table(
        `${kind === 'postgres' ? 'PostgreSQL' : 'MariaDB/MySQL'} (callback on the server p50 ${callback?.serverMs.p50 ?? '?'} ms, Gatehouse's own ${callback?.ownMs.p50 ?? '?'} ms)`,
        rows,
      ),
    );
  }
} finally {
  for (const cleanup of cleanups.reverse()) await cleanup().catch((err) => log(`cleanup: ${String(err)}`));
  rmSync(work, { recursive: true, force: true });
}

const machine = /** @type {Record<string, unknown>} */ (results.machine);
machine.loadAverageAtEnd = loadavg().map((x) => Math.round(x * 100) / 100);
if ((loadavg()[0] ?? 0) > cpus().length / 2) {
  log(
    `\nnote: the load average was ${machine.loadAverageAtEnd} on ${cpus().length} CPUs: other work competed with the run.`,
  );
}
results.totalSeconds = Math.round((performance.now() - started) / 100) / 10;
results.summary = summarize(results);
mkdirSync(dirname(args.out ?? ''), { recursive: true });
writeFileSync(args.out ?? '', `${JSON.stringify(results, null, 2)}\n`);
log(`\n${summaryText(/** @type {Record<string, unknown>} */ (results.summary))}`);
log(`\nwrote ${args.out} in ${results.totalSeconds} s`);

/**
 * Server options that time every sign-in callback on the server (lib/server-timing.cjs) until
 * callbackTimings() collects the durations.
 * @param {Record<string, string>} env @param {string} dir
 */
function timed(env, dir) {
  return {
    env: { ...env, BENCH_SERVER_TIMING_FILE: join(dir, 'callback-timing.json') },
    cwd: dir,
    nodeArgs: timingArgs,
  };
}

/**
 * Asks the server for its callback durations (SIGUSR2), which also ends the timing, so the load
 * that follows runs without it.
 * @param {{ proc: import('node:child_process').ChildProcess }} server @param {string} dir
 * @returns {Promise<number[]>}
 */
async function callbackTimings(server, dir) {
  const file = join(dir, 'callback-timing.json');
  server.proc.kill('SIGUSR2');
  const deadline = Date.now() + 5_000;
  while (!existsSync(file)) {
    if (Date.now() > deadline) throw new Error('the server did not write its callback timings');
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  return /** @type {number[]} */ (JSON.parse(readFileSync(file, 'utf8')));
}

/** @param {number | undefined} pid  (undefined: side-by-side runs give each server's own) */
function secondary(pid) {
  return {
    ...(pid === undefined ? {} : { pid }),
    connections: plan.connections,
    seconds: plan.secondarySeconds,
    rounds: plan.rounds,
    warmupSeconds: plan.warmupSeconds / 2,
    log,
  };
}
