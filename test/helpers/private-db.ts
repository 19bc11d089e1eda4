/**
 * Private database servers for tests that stop and start their database (the outage suite): a
 * PostgreSQL cluster (initdb + pg_ctl) and a MariaDB server (mariadb-install-db + mariadbd), each
 * in its own temp directory on a spare loopback port, with trust / empty-password root access.
 * Nobody else uses them, so killing them under traffic disturbs no other suite.
 *
 * Missing binaries skip the suites with a clear message — or fail them under
 * GATEHOUSE_REQUIRE_SERVICES=1, like the shared services (databases.ts).
 * As root, the servers run as their usual OS users (`postgres`, `mysql`): both refuse root.
 */
import { type ChildProcess, execFile, spawn, spawnSync } from 'node:child_process';
import { chownSync, existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import mysql from 'mysql2/promise';
import pg from 'pg';
import { describe, it } from 'vitest';
import { freePort } from './ports.js';

const run = promisify(execFile);
const REQUIRE_SERVICES = process.env.GATEHOUSE_REQUIRE_SERVICES === '1';
const IS_ROOT = process.getuid?.() === 0;

export interface PrivateServer {
  readonly name: 'postgres' | 'mysql';
  /** A URL to the server's `gatehouse` database. */
  readonly url: string;
  /** Kills the server abruptly (no clean shutdown: in-flight transactions die with it). */
  stop(): Promise<void>;
  /** Starts it again on the same port and data directory; resolves once it accepts queries. */
  start(): Promise<void>;
  /** Stops it and removes its directory. */
  destroy(): Promise<void>;
}

export interface PrivateServerTarget {
  readonly name: 'postgres' | 'mysql';
  readonly available: boolean;
  readonly skipReason?: string;
  create(): Promise<PrivateServer>;
}

/** Polls `probe` until it resolves true, or throws after `ms`. */
async function until(what: string, ms: number, probe: () => Promise<boolean>): Promise<void> {
  const deadline = Date.now() + ms;
  for (;;) {
    if (await probe().catch(() => false)) return;
    if (Date.now() > deadline) throw new Error(`${what} did not happen within ${ms} ms`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

function tempDirFor(owner: string): string {
  const dir = mkdtempSync(join(tmpdir(), `gatehouse-${owner}-`));
  if (IS_ROOT) {
    const ids = spawnSync('id', ['-u', owner], { encoding: 'utf8' });
    const gids = spawnSync('id', ['-g', owner], { encoding: 'utf8' });
    chownSync(dir, Number(ids.stdout.trim()), Number(gids.stdout.trim()));
  }
  return dir;
}

/** `[command, args]`, through `runuser -u USER --` when we are root. */
function as(user: string, command: string, args: string[]): [string, string[]] {
  return IS_ROOT ? ['runuser', ['-u', user, '--', command, ...args]] : [command, args];
}

function userExists(name: string): boolean {
  return spawnSync('id', ['-u', name]).status === 0;
}

// --- PostgreSQL -------------------------------------------------------------------------------

function postgresBin(): string | undefined {
  const fromEnv = process.env.TEST_POSTGRES_BIN;
  if (fromEnv && existsSync(join(fromEnv, 'initdb'))) return fromEnv;
  const root = '/usr/lib/postgresql';
  if (existsSync(root)) {
    const versions = readdirSync(root)
      .filter((v) => existsSync(join(root, v, 'bin', 'initdb')))
      .sort((a, b) => Number(b) - Number(a));
    if (versions[0]) return join(root, versions[0], 'bin');
  }
  const which = spawnSync('sh', ['-c', 'command -v initdb'], { encoding: 'utf8' });
  const path = which.stdout.trim();
  return path ? path.replace(/\/initdb$/, '') : undefined;
}

const pgBin = postgresBin();
const pgMissing =
  pgBin === undefined
    ? 'no initdb/pg_ctl found (install postgresql, or set TEST_POSTGRES_BIN)'
    : IS_ROOT && !userExists('postgres')
      ? 'running as root and there is no `postgres` OS user to run PostgreSQL as'
      : undefined;

const postgresTarget: PrivateServerTarget = {
  name: 'postgres',
  available: pgMissing === undefined,
  ...(pgMissing ? { skipReason: pgMissing } : {}),
  async create() {
    if (!pgBin) throw new Error(pgMissing);
    const dir = tempDirFor('postgres');
    const data = join(dir, 'data');
    const port = await freePort();
    const pgCtl = (args: string[]) => {
      const [cmd, argv] = as('postgres', join(pgBin, 'pg_ctl'), ['-D', data, ...args]);
      return run(cmd, argv, { timeout: 60_000 });
    };
    {
      const [cmd, argv] = as('postgres', join(pgBin, 'initdb'), [
        '-D',
        data,
        '-A',
        'trust',
        '-U',
        'postgres',
        '-E',
        'UTF8',
        '--no-sync',
        '--locale=C',
      ]);
      await run(cmd, argv, { timeout: 60_000 });
    }
    const options = `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=200`;
    const start = async () => {
      await pgCtl(['-o', options, '-l', join(dir, 'server.log'), '-w', '-t', '60', 'start']);
    };
    let running = false;
    const stop = async () => {
      if (!running) return;
      running = false;
      await pgCtl(['-m', 'immediate', '-w', 'stop']);
    };
    // A worker that dies without cleaning up must not leave a server behind.
    const onExit = () => {
      if (running)
        spawnSync(...as('postgres', join(pgBin, 'pg_ctl'), ['-D', data, '-m', 'immediate', 'stop']));
    };
    process.once('exit', onExit);
    await start();
    running = true;
    const admin = `postgres://postgres@127.0.0.1:${port}/postgres`;
    const client = new pg.Client({ connectionString: admin });
    await client.connect();
    try {
      await client.query(`create database gatehouse template template0 encoding 'UTF8'`);
    } finally {
      await client.end();
    }
    return {
      name: 'postgres',
      url: `postgres://postgres@127.0.0.1:${port}/gatehouse`,
      stop,
      async start() {
        if (running) return;
        await start();
        running = true;
      },
      async destroy() {
        await stop().catch(() => {});
        process.off('exit', onExit);
        rmSync(dir, { recursive: true, force: true });
      },
    };
  },
};

// --- MariaDB / MySQL --------------------------------------------------------------------------

function onPath(command: string): string | undefined {
  for (const candidate of [`/usr/sbin/${command}`, `/usr/bin/${command}`])
    if (existsSync(candidate)) return candidate;
  const which = spawnSync('sh', ['-c', `command -v ${command}`], { encoding: 'utf8' });
  return which.stdout.trim() || undefined;
}

const mariadbd = onPath('mariadbd');
const installDb = onPath('mariadb-install-db') ?? onPath('mysql_install_db');
const mysqlMissing =
  mariadbd === undefined || installDb === undefined
    ? 'no mariadbd/mariadb-install-db found (install mariadb-server)'
    : IS_ROOT && !userExists('mysql')
      ? 'running as root and there is no `mysql` OS user to run MariaDB as'
      : undefined;

const mysqlTarget: PrivateServerTarget = {
  name: 'mysql',
  available: mysqlMissing === undefined,
  ...(mysqlMissing ? { skipReason: mysqlMissing } : {}),
  async create() {
    if (!mariadbd || !installDb) throw new Error(mysqlMissing);
    const dir = tempDirFor('mysql');
    const data = join(dir, 'data');
    const port = await freePort();
    const user = IS_ROOT ? ['--user=mysql'] : [`--user=${userInfo().username}`];
    await run(
      installDb,
      [
        '--no-defaults',
        ...user,
        `--datadir=${data}`,
        '--auth-root-authentication-method=normal',
        '--skip-test-db',
        '--skip-name-resolve',
      ],
      { timeout: 120_000 },
    );
    let child: ChildProcess | undefined;
    const admin = { host: '127.0.0.1', port, user: 'root' };
    const start = async () => {
      const server = spawn(
        mariadbd,
        [
          '--no-defaults',
          ...user,
          `--datadir=${data}`,
          `--socket=${join(dir, 'mysqld.sock')}`,
          `--pid-file=${join(dir, 'mysqld.pid')}`,
          `--log-error=${join(dir, 'error.log')}`,
          `--port=${port}`,
          '--bind-address=127.0.0.1',
          '--skip-name-resolve',
          '--skip-log-bin',
          '--innodb-buffer-pool-size=32M',
          '--innodb-flush-log-at-trx-commit=2',
          '--max-connections=300',
        ],
        { stdio: 'ignore' },
      );
      child = server;
      await until('MariaDB accepting connections', 60_000, async () => {
        if (server.exitCode !== null)
          throw new Error(`mariadbd exited (${server.exitCode}); see ${dir}/error.log`);
        const conn = await mysql.createConnection({ ...admin, connectTimeout: 1000 });
        await conn.end();
        return true;
      });
    };
    const stop = async () => {
      const server = child;
      child = undefined;
      if (!server || server.exitCode !== null) return;
      const exited = new Promise((resolve) => server.once('exit', resolve));
      server.kill('SIGKILL');
      await exited;
    };
    const onExit = () => child?.kill('SIGKILL');
    process.once('exit', onExit);
    await start();
    const conn = await mysql.createConnection(admin);
    try {
      await conn.query('create database gatehouse character set utf8mb4');
    } finally {
      await conn.end();
    }
    return {
      name: 'mysql',
      url: `mysql://root@127.0.0.1:${port}/gatehouse`,
      stop,
      async start() {
        if (child) return;
        await start();
      },
      async destroy() {
        await stop();
        process.off('exit', onExit);
        rmSync(dir, { recursive: true, force: true });
      },
    };
  },
};

export const PRIVATE_SERVERS: readonly PrivateServerTarget[] = [postgresTarget, mysqlTarget];

/**
 * One `describe` per private server kind; unavailable ones are skipped with the reason, or fail
 * under GATEHOUSE_REQUIRE_SERVICES=1.
 */
export function describeEachPrivateServer(title: string, fn: (target: PrivateServerTarget) => void): void {
  for (const target of PRIVATE_SERVERS) {
    const name = `${title} [private ${target.name}]`;
    if (target.available) {
      describe(name, () => fn(target));
    } else if (REQUIRE_SERVICES) {
      describe(name, () => {
        it(`needs a private ${target.name} server`, () => {
          throw new Error(`${target.skipReason ?? 'unavailable'} (GATEHOUSE_REQUIRE_SERVICES=1)`);
        });
      });
    } else {
      console.warn(`[private-db] ${target.name} suites skipped: ${target.skipReason ?? 'unavailable'}`);
      describe.skip(`${name} — skipped: ${target.skipReason ?? 'unavailable'}`, () => fn(target));
    }
  }
}
