/**
 * `gatehouse migrate [--status]`: apply pending migrations (under the migrator's lock, so several
 * instances may run it at once), printing each step's status; with --status, list applied and
 * pending ones without changing anything (exit 1 when some are pending, for scripts).
 */
import { parse, UsageError } from './args.js';
import { CliFailure, describe, loadCliConfig, run, withStore } from './context.js';
import { EXIT, type ExitCode, outputFor, type Status } from './output.js';

export const MIGRATE_USAGE = `Usage: gatehouse migrate [--status]

Applies pending database migrations (safe to run from several instances at once).

Options:
  --status     list applied and pending migrations without changing anything;
               exits 1 when some are pending
  --json       machine-readable output on stdout
  --no-color   no colours
  -h, --help   this help
`;

const MARK: Record<string, Status> = { applied: 'ok', applied_now: 'ok', pending: 'warn', failed: 'error' };

export async function migrate(args: readonly string[]): Promise<ExitCode> {
  const out = outputFor(args);
  return run(out, MIGRATE_USAGE, async () => {
    const { values, positionals } = parse(args, { status: { type: 'boolean' } });
    if (values.help) {
      process.stdout.write(MIGRATE_USAGE);
      return EXIT.ok;
    }
    if (positionals.length > 0) throw new UsageError(`unexpected argument: ${positionals[0]}`);
    const config = loadCliConfig(out);
    return withStore(
      config,
      async (store) => {
        let steps: Awaited<ReturnType<typeof store.migrate>>;
        try {
          steps = values.status ? await store.migrationStatus() : await store.migrate();
        } catch (err) {
          throw new CliFailure(`migration failed on ${config.database.redactedUrl}: ${describe(err)}`);
        }
        out.data({ database: config.database.redactedUrl, migrations: steps });
        out.line(`Database: ${config.database.redactedUrl}`);
        for (const step of steps)
          out.status(MARK[step.status] ?? 'info', step.name, step.status.replace('_', ' '));
        if (!values.status && !steps.some((s) => s.status === 'applied_now')) out.line('Nothing to apply.');
        if (steps.some((s) => s.status === 'failed')) return EXIT.failure;
        if (values.status && steps.some((s) => s.status === 'pending')) return EXIT.failure;
        return EXIT.ok;
      },
      { requireMigrated: false },
    );
  });
}
