/**
 * `gatehouse migrate [--status]`: apply pending migrations (under the migrator's lock), printing
 * each step's status; with --status, list applied and pending ones without changing anything.
 */
import { ConfigError, loadConfig } from '../config/index.js';
import { openStore } from '../store/index.js';

export async function migrate(args: readonly string[]): Promise<number> {
  if (args.includes('--help') || args.includes('-h')) {
    process.stdout.write(
      'Usage: gatehouse migrate [--status] [--json]\n\nApplies pending migrations; --status only lists them.\n',
    );
    return 0;
  }
  const json = args.includes('--json');
  let config: ReturnType<typeof loadConfig>['config'];
  try {
    config = loadConfig().config;
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`${err.message}\n`);
      return 78;
    }
    throw err;
  }
  const store = await openStore(config.database);
  try {
    const steps = args.includes('--status') ? await store.migrationStatus() : await store.migrate();
    if (json)
      process.stdout.write(
        `${JSON.stringify({ database: config.database.redactedUrl, migrations: steps })}\n`,
      );
    else {
      process.stdout.write(`Database: ${config.database.redactedUrl}\n`);
      for (const step of steps) process.stdout.write(`  ${step.status.padEnd(12)} ${step.name}\n`);
    }
    return steps.some((s) => s.status === 'failed') ? 1 : 0;
  } catch (err) {
    process.stderr.write(`Migration failed: ${err instanceof Error ? err.message : String(err)}\n`);
    return 1;
  } finally {
    await store.close();
  }
}
