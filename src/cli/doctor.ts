/**
 * `gatehouse doctor`: loads the configuration exactly as `serve` does and reports, one line per
 * check, what an operator needs before the first sign-in: configuration problems, the two URLs
 * to paste into Google Cloud Console, whether the provider answers, whether the cookie will work
 * with these URLs, CORS and TRUST_PROXY consistency, and whether the database is reachable and
 * migrated. Exit 0 when nothing is an error, 1 when a check fails, 78 when the configuration
 * itself does not load.
 */
import { accessSync, constants, existsSync, statSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { ConfigError, loadConfig } from '../config/index.js';
import type { Config } from '../config/types.js';
import { openStore } from '../store/index.js';
import { parse, UsageError } from './args.js';
import { describe, run } from './context.js';
import { directoryChecks, rulesChecks } from './doctor-authz.js';
import {
  assertionChecks,
  type Check,
  cookieChecks,
  corsAndProxyChecks,
  databaseChecks,
  googleChecks,
  providerChecks,
  settingsChecks,
} from './doctor-checks.js';
import { EXIT, type ExitCode, type Output, outputFor } from './output.js';

export const DOCTOR_USAGE = `Usage: gatehouse doctor [--offline]

Checks the configuration (environment and .env, loaded as \`gatehouse serve\` loads it)
and prints one line per check: configuration errors, the Authorized redirect URI and
JavaScript origin to register in Google Cloud Console, whether the provider's discovery
and JWKS are reachable, whether the session cookie will work with PUBLIC_URL,
FRONTEND_URL and COOKIE_DOMAIN, CORS and TRUST_PROXY consistency, and whether the
database is reachable and migrated.

Exit status: 0 no errors (warnings allowed), 1 a check failed, 78 the configuration
does not load.

Options:
  --offline    skip the provider and database checks
  --json       { ok, checks: [{ group, status, message }] } on stdout
  --no-color   no colours
  -h, --help   this help
`;

export async function doctor(args: readonly string[]): Promise<ExitCode> {
  const out = outputFor(args);
  return run(out, DOCTOR_USAGE, async () => {
    const { values, positionals } = parse(args, { offline: { type: 'boolean' } });
    if (values.help) {
      process.stdout.write(DOCTOR_USAGE);
      return EXIT.ok;
    }
    if (positionals.length > 0) throw new UsageError(`unexpected argument: ${positionals[0]}`);
    const checks: Check[] = [];

    let config: Config;
    try {
      const loaded = loadConfig();
      config = loaded.config;
      for (const warning of loaded.warnings)
        checks.push({ group: 'Configuration', status: 'warn', message: warning });
    } catch (err) {
      if (!(err instanceof ConfigError)) throw err;
      for (const problem of err.problems) {
        checks.push({
          group: 'Configuration',
          status: 'error',
          message: `${problem.variable}: ${problem.message}`,
        });
      }
      report(out, checks);
      return EXIT.config;
    }

    settingsChecks(config, checks);
    googleChecks(config, checks);
    cookieChecks(config, checks);
    corsAndProxyChecks(config, checks);
    assertionChecks(config, checks);
    rulesChecks(config, checks);
    if (!values.offline) {
      await providerChecks(config, checks);
      await directoryChecks(config, checks);
      await checkDatabase(config, checks);
    }
    return report(out, checks) ? EXIT.ok : EXIT.failure;
  });
}

async function checkDatabase(config: Config, checks: Check[]): Promise<void> {
  const path = config.database.sqlitePath;
  if (config.database.kind === 'sqlite' && path !== undefined && path !== ':memory:' && !existsSync(path)) {
    // Not opened here (that would leave an empty, unmigrated file). `serve` creates the file and
    // its directory and migrates it on first start, so a missing file is a note, not an error —
    // unless it could not be created.
    const blocked = unwritableAncestor(resolve(path));
    checks.push(
      blocked === undefined
        ? {
            group: 'Database',
            status: 'info',
            message: `${path} does not exist yet: \`gatehouse serve\` creates and migrates it on first start (or run \`gatehouse migrate\` now)`,
          }
        : {
            group: 'Database',
            status: 'error',
            message: `${path} does not exist and cannot be created: ${blocked} is not a writable directory`,
          },
    );
    return;
  }
  let store: Awaited<ReturnType<typeof openStore>> | undefined;
  try {
    store = await openStore(config.database);
    await databaseChecks(config, store, checks);
  } catch (err) {
    checks.push({
      group: 'Database',
      status: 'error',
      message: `cannot open ${config.database.redactedUrl}: ${describe(err)}`,
    });
  } finally {
    await store?.close().catch(() => {});
  }
}

/** Prints the checks grouped; true when none is an error. */
function report(out: Output, checks: readonly Check[]): boolean {
  const errors = checks.filter((c) => c.status === 'error').length;
  const warnings = checks.filter((c) => c.status === 'warn').length;
  out.data({ ok: errors === 0, errors, warnings, checks });
  let group = '';
  for (const check of checks) {
    if (check.group !== group) {
      if (group !== '') out.line();
      group = check.group;
      out.line(out.paint('bold', group));
    }
    out.status(check.status, check.message);
  }
  out.line();
  const summary = `${errors} error${errors === 1 ? '' : 's'}, ${warnings} warning${warnings === 1 ? '' : 's'}`;
  out.line(errors === 0 ? out.paint('green', `OK — ${summary}`) : out.paint('red', `FAILED — ${summary}`));
  return errors === 0;
}

/** The nearest existing ancestor of a file path, when it is not a directory this process can write to. */
function unwritableAncestor(file: string): string | undefined {
  let dir = dirname(file);
  while (!existsSync(dir) && dirname(dir) !== dir) dir = dirname(dir);
  try {
    if (!statSync(dir).isDirectory()) return dir;
    accessSync(dir, constants.W_OK);
    return undefined;
  } catch {
    return dir;
  }
}
