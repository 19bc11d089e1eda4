/**
 * `gatehouse serve`: load the configuration, start, listen; shut down gracefully on SIGTERM/SIGINT
 * (stop accepting, let in-flight requests finish, close pools) within a bounded time.
 */
import { ConfigError, loadConfig } from '../config/index.js';
import { createLogger } from '../logger.js';
import { createGatehouse } from '../runtime.js';

const SHUTDOWN_TIMEOUT_MS = 10_000;

export async function serve(): Promise<number> {
  let loaded: ReturnType<typeof loadConfig>;
  try {
    loaded = loadConfig();
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`${err.message}\n`);
      return 78; // EX_CONFIG
    }
    throw err;
  }
  const { config, warnings } = loaded;
  const logger = createLogger(config);
  for (const warning of warnings) logger.warn(warning);

  const started = performance.now();
  const gatehouse = await createGatehouse(config, { logger });
  const address = await gatehouse.app.listen({ host: config.host, port: config.port });
  logger.info(
    {
      address,
      publicUrl: config.publicUrl,
      database: config.database.redactedUrl,
      startupMs: Math.round(performance.now() - started),
    },
    `Gatehouse listening on ${address}; open ${config.publicUrl}/`,
  );

  return new Promise<number>((resolve) => {
    let stopping = false;
    const stop = (signal: string) => {
      if (stopping) return;
      stopping = true;
      logger.info({ signal }, 'shutting down');
      const timer = setTimeout(() => {
        logger.error('shutdown took too long; exiting');
        resolve(1);
      }, SHUTDOWN_TIMEOUT_MS);
      timer.unref();
      gatehouse.close().then(
        () => {
          clearTimeout(timer);
          logger.info('stopped');
          resolve(0);
        },
        () => resolve(1),
      );
    };
    process.once('SIGTERM', () => stop('SIGTERM'));
    process.once('SIGINT', () => stop('SIGINT'));
  });
}
