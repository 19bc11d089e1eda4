/**
 * `gatehouse serve` (what `npm start` runs): load the configuration, start, listen; shut down
 * gracefully on SIGTERM/SIGINT — stop accepting connections, let in-flight requests finish, stop
 * background work, close the pools — within a bounded time, after which the process exits 1.
 */
import { ConfigError, loadConfig } from '../config/index.js';
import { parseDuration } from '../config/parse.js';
import { createLogger, type Logger } from '../logger.js';
import { createGatehouse, type Gatehouse } from '../runtime.js';
import { parse, UsageError } from './args.js';
import { describe, run } from './context.js';
import { EXIT, type ExitCode, outputFor } from './output.js';

export const SERVE_USAGE = `Usage: gatehouse serve [--shutdown-timeout DURATION]

Starts the server with the configuration from the environment and .env (see
docs/configuration.md). On SIGTERM or SIGINT it stops accepting connections, lets
requests in flight finish, closes the database pool and exits 0; if that takes longer
than the shutdown timeout, or on a second signal, it exits 1 at once.

Options:
  --shutdown-timeout DURATION   bound on a graceful shutdown (default 10s)
  -h, --help                    this help
`;

const DEFAULT_SHUTDOWN_SECONDS = 10;

export async function serve(args: readonly string[] = []): Promise<ExitCode> {
  const out = outputFor(args);
  return run(out, SERVE_USAGE, async () => {
    const { values, positionals } = parse(args, { 'shutdown-timeout': { type: 'string' } });
    if (values.help) {
      process.stdout.write(SERVE_USAGE);
      return EXIT.ok;
    }
    if (positionals.length > 0) throw new UsageError(`unexpected argument: ${positionals[0]}`);
    let shutdownMs = DEFAULT_SHUTDOWN_SECONDS * 1000;
    if (values['shutdown-timeout'] !== undefined) {
      const parsed = parseDuration(values['shutdown-timeout']);
      if (!parsed.ok) throw new UsageError(`--shutdown-timeout: ${parsed.message}`);
      shutdownMs = parsed.value * 1000;
    }

    let loaded: ReturnType<typeof loadConfig>;
    try {
      loaded = loadConfig();
    } catch (err) {
      if (err instanceof ConfigError) {
        process.stderr.write(`${err.message}\n`);
        return EXIT.config;
      }
      throw err;
    }
    const { config, warnings } = loaded;
    const logger = createLogger(config);
    for (const warning of warnings) logger.warn(warning);

    const started = performance.now();
    let gatehouse: Gatehouse;
    try {
      gatehouse = await createGatehouse(config, { logger, chat: true });
    } catch (err) {
      logger.error({ err: describe(err) }, 'could not start');
      return flushThen(logger, EXIT.failure);
    }
    let address: string;
    try {
      address = await gatehouse.app.listen({ host: config.host, port: config.port });
    } catch (err) {
      logger.error({ err: describe(err), host: config.host, port: config.port }, 'could not listen');
      await gatehouse.close();
      return flushThen(logger, EXIT.failure);
    }
    logger.info(
      {
        address,
        publicUrl: config.publicUrl,
        database: config.database.redactedUrl,
        startupMs: Math.round(performance.now() - started),
      },
      `Gatehouse listening on ${address}; open ${config.publicUrl}/`,
    );
    return waitForSignal(gatehouse, logger, shutdownMs);
  });
}

function waitForSignal(gatehouse: Gatehouse, logger: Logger, shutdownMs: number): Promise<ExitCode> {
  return new Promise<ExitCode>((resolve) => {
    let stopping = false;
    const stop = (signal: NodeJS.Signals) => {
      if (stopping) {
        // A second signal: the operator does not want to wait.
        logger.warn({ signal }, 'second signal; exiting now');
        process.exit(EXIT.failure);
      }
      stopping = true;
      logger.info({ signal, timeoutMs: shutdownMs }, 'shutting down: finishing requests in flight');
      // Bounded: a request that never ends (a stuck upstream, a client that stops sending)
      // must not keep a stopping instance around forever.
      const timer = setTimeout(() => {
        logger.error({ timeoutMs: shutdownMs }, 'shutdown took too long; exiting');
        process.exit(EXIT.failure);
      }, shutdownMs);
      timer.unref();
      gatehouse.close().then(
        () => {
          clearTimeout(timer);
          logger.info('stopped');
          resolve(flushThen(logger, EXIT.ok));
        },
        (err: unknown) => {
          clearTimeout(timer);
          logger.error({ err: describe(err) }, 'error while shutting down');
          resolve(flushThen(logger, EXIT.failure));
        },
      );
    };
    process.on('SIGTERM', stop);
    process.on('SIGINT', stop);
  });
}

/** Resolves with `code` once the logger has written out what it holds. */
function flushThen(logger: Logger, code: ExitCode): Promise<ExitCode> {
  return new Promise((resolve) => {
    logger.flush(() => resolve(code));
  });
}
