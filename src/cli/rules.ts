/**
 * `gatehouse rules check|explain`: the ACCESS_RULES_FILE as the server will read it
 * (docs/authorization.md). `check` validates it (exit 78 with the line and field of every error,
 * as `serve` would refuse to start); `explain METHOD PATH` says which rule a request hits and
 * what it needs, optionally for a given email, roles and groups.
 */
import { normalisePath } from '../authz/path.js';
import { compileRules, decide, describeRule } from '../authz/rules.js';
import { parse, UsageError } from './args.js';
import { loadCliConfig, run } from './context.js';
import { EXIT, type ExitCode, outputFor } from './output.js';

export const RULES_USAGE = `Usage:
  gatehouse rules check
  gatehouse rules explain <METHOD> <PATH> [--email E] [--role R]... [--group G]...

check reads ACCESS_RULES_FILE as the server does and reports every error with its line
and field. explain says which rule a request hits (first match wins) and, with --email,
--role or --group, whether that user would be let through.

Options:
  --email E        the signed-in user's email
  --role R         a role the user holds (repeatable)
  --group G        a Workspace group the user is in (repeatable)
  --json           machine-readable output on stdout
  --no-color       no colours
  -h, --help       this help
`;

const OPTIONS = {
  email: { type: 'string' },
  role: { type: 'string', multiple: true },
  group: { type: 'string', multiple: true },
} as const;

export async function rules(args: readonly string[]): Promise<ExitCode> {
  const out = outputFor(args);
  return run(out, RULES_USAGE, async () => {
    const { values, positionals } = parse(args, OPTIONS);
    if (values.help) {
      process.stdout.write(RULES_USAGE);
      return EXIT.ok;
    }
    const [action, method, target, ...extra] = positionals;
    if (extra.length > 0) throw new UsageError(`unexpected argument: ${extra[0]}`);
    if (action !== 'check' && action !== 'explain') {
      throw new UsageError(action === undefined ? 'missing action' : `unknown action: ${action}`);
    }
    const config = loadCliConfig(out);
    const list = config.authz.accessRules ?? [];
    if (action === 'check') {
      if (method !== undefined) throw new UsageError(`unexpected argument: ${method}`);
      out.data({ file: config.authz.accessRulesFile ?? null, rules: list.length });
      if (config.authz.accessRulesFile === undefined) {
        out.status('info', 'ACCESS_RULES_FILE is not set', 'any signed-in user may call any route');
      } else out.status('ok', `${config.authz.accessRulesFile}: ${list.length} rule(s), no errors`);
      return EXIT.ok;
    }
    if (method === undefined || target === undefined)
      throw new UsageError('rules explain needs a METHOD and a PATH');
    if (!/^[A-Za-z]{1,20}$/.test(method))
      throw new UsageError(`${JSON.stringify(method)} is not an HTTP method`);
    const path = normalisePath(target);
    if (!path.ok) {
      out.data({ method, path: target, refused: path.reason });
      out.status(
        'error',
        `${target} is refused before any rule (${path.reason}): 400 in proxy mode, 403 at /auth/verify`,
      );
      return EXIT.ok;
    }
    const roles = (values.role as string[] | undefined) ?? [];
    const groups = ((values.group as string[] | undefined) ?? []).map((g) => g.toLowerCase());
    const email = values.email as string | undefined;
    const subject =
      email === undefined && roles.length === 0 && groups.length === 0
        ? null
        : { email: email ?? '', roles, groups };
    const decision = decide(compileRules(list), { method: method.toUpperCase(), path: path.path }, subject);
    out.data({
      method: method.toUpperCase(),
      path: path.path,
      decision: decision.kind,
      rule:
        decision.rule === null
          ? null
          : { index: decision.rule.index, line: decision.rule.line, path: decision.rule.path },
    });
    out.line(`${method.toUpperCase()} ${path.path}`);
    out.line(`  ${describeRule(decision.rule)}`);
    out.line(`  decision: ${decision.kind}${subject === null ? ' (for a visitor without a session)' : ''}`);
    return EXIT.ok;
  });
}
