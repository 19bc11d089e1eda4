/**
 * What the database commands share: the configuration loaded exactly as `serve` loads it, and
 * the store — refusing to work on a database whose migrations are pending (exit 1 with the fix).
 */
import { ConfigError, loadConfig } from '../config/index.js';
import type { Config } from '../config/types.js';
import { createRevocationParts, type RevocationParts } from '../session/compose.js';
import { type OpenedStore, openStore } from '../store/index.js';
import type { Store, User } from '../store/types.js';
import { UsageError } from './args.js';
import { EXIT, type ExitCode, type Output } from './output.js';

/** A failure that ends the command with an exit code and a message for people. */
export class CliFailure extends Error {
  override readonly name = 'CliFailure';
  constructor(
    message: string,
    readonly exitCode: ExitCode = EXIT.failure,
  ) {
    super(message);
  }
}

/** loadConfig() with its warnings on stderr; a ConfigError becomes exit 78 with every problem. */
export function loadCliConfig(out: Output): Config {
  try {
    const { config, warnings } = loadConfig();
    for (const warning of warnings) out.warn(warning);
    return config;
  } catch (err) {
    if (err instanceof ConfigError) throw new CliFailure(err.message, EXIT.config);
    throw err;
  }
}

/** Opens the store and runs `fn`; the store is closed afterwards whatever happens. */
export async function withStore<T>(
  config: Config,
  fn: (store: OpenedStore) => Promise<T>,
  options: { requireMigrated?: boolean } = {},
): Promise<T> {
  const store = await openStore(config.database);
  try {
    if (options.requireMigrated !== false) {
      let steps: Awaited<ReturnType<Store['migrationStatus']>>;
      try {
        steps = await store.migrationStatus();
      } catch (err) {
        throw new CliFailure(`cannot reach the database ${config.database.redactedUrl}: ${describe(err)}`);
      }
      const pending = steps.filter((s) => s.status === 'pending').length;
      if (pending > 0) {
        throw new CliFailure(
          `the database ${config.database.redactedUrl} has ${pending} pending migration(s): run \`gatehouse migrate\` first`,
        );
      }
    }
    return await fn(store);
  } finally {
    await store.close();
  }
}

/**
 * Revocation and accounts for one command (no token keys, no poller: a command only writes).
 * With REDIS_URL the revocations are also published, so running servers refuse them at once;
 * without it (or if Redis does not answer within 2 s) they learn it by polling the database
 * within REVOCATION_POLL_INTERVAL.
 */
export async function withRevocation<T>(
  config: Config,
  store: Store,
  out: Output,
  fn: (parts: RevocationParts) => Promise<T>,
): Promise<T> {
  if (config.redis.url === undefined) return fn(createRevocationParts({ store, config }));
  const logger = {
    debug: () => {},
    info: () => {},
    warn: (_obj: object, msg?: string) => out.warn(msg ?? 'Redis warning'),
    error: (_obj: object, msg?: string) => out.warn(msg ?? 'Redis error'),
  };
  const { RedisRevocationBus } = await import('../session/redis-bus.js');
  const bus = new RedisRevocationBus({
    url: config.redis.url,
    redactedUrl: config.redis.redactedUrl,
    logger,
  });
  try {
    if (!(await bus.whenConnected(2_000))) {
      out.warn(
        `Redis ${config.redis.redactedUrl ?? ''} did not answer: running servers will learn of this by polling`,
      );
    }
    return await fn(createRevocationParts({ store, config, bus }));
  } finally {
    await bus.close();
  }
}

/** A user named by id or by email. Several accounts can share an email (different subjects). */
export async function findUsers(store: Store, who: string): Promise<readonly User[]> {
  if (who.includes('@')) return store.users.findByEmail(who.toLowerCase());
  const user = await store.users.findById(who);
  return user ? [user] : [];
}

/** Exactly one user, or a failure that says why (none, or several accounts with that email). */
export async function findOneUser(store: Store, who: string): Promise<User> {
  const users = await findUsers(store, who);
  if (users.length === 0) throw new CliFailure(`no user ${who}`);
  if (users.length > 1) {
    throw new CliFailure(
      `${users.length} accounts use ${who} (different issuers or subjects); name one by id: ${users.map((u) => u.id).join(', ')}`,
    );
  }
  return users[0] as User;
}

/** A short, safe description of an error (no stack, no connection string). */
export function describe(err: unknown): string {
  if (err instanceof Error) {
    const code = (err as { code?: unknown }).code;
    // fetch() says only "fetch failed"; the reason (ECONNREFUSED, ENOTFOUND…) is in its cause.
    const cause = (err.cause as { code?: unknown } | undefined)?.code;
    const why = typeof cause === 'string' ? ` (${cause})` : '';
    return typeof code === 'string' ? `${code}: ${err.message}${why}` : `${err.message}${why}`;
  }
  return String(err);
}

/** Runs a command body, turning UsageError / CliFailure into their exit codes. */
export async function run(out: Output, usage: string, body: () => Promise<ExitCode>): Promise<ExitCode> {
  try {
    return await body();
  } catch (err) {
    if (err instanceof UsageError) {
      out.error(err.message);
      process.stderr.write(`\n${usage}`);
      return EXIT.usage;
    }
    if (err instanceof CliFailure) {
      out.error(err.message);
      return err.exitCode;
    }
    out.error(describe(err));
    return EXIT.failure;
  }
}
