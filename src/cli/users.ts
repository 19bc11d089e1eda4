/**
 * `gatehouse users list|show|disable|enable`. Disabling goes through session/accounts.ts, as the
 * server does: the user is disabled first (so no sign-in slips a new session in), every session
 * is revoked, and both steps are written to auth_events. Running servers refuse the revoked
 * sessions at once through Redis when REDIS_URL is set, else within REVOCATION_POLL_INTERVAL.
 */
import { isRoleName, Roles } from '../authz/roles.js';
import { systemClock } from '../core/clock.js';
import { silentLog } from '../core/log.js';
import { AuditLog } from '../session/audit.js';
import type { Session, User } from '../store/types.js';
import { parse, positiveInt, UsageError } from './args.js';
import { findOneUser, loadCliConfig, run, withRevocation, withStore } from './context.js';
import { eventJson } from './events.js';
import { EXIT, type ExitCode, type Output, outputFor, when } from './output.js';

export const USERS_USAGE = `Usage:
  gatehouse users list [--limit N] [--offset N]
  gatehouse users show <email|id>
  gatehouse users disable <email|id> [--reason WORD]
  gatehouse users enable <email|id>
  gatehouse users grant <email|id> <role>
  gatehouse users revoke-role <email|id> <role>

disable revokes every session of the user and records user_disabled and
sessions_revoked_all in the audit trail; enable lets the user sign in again. grant and revoke-role change a role (lower-case,
[a-z][a-z0-9_-]{0,63}), recorded as role_granted / role_revoked; the user's sessions pick
the change up at their next renewal, within TOKEN_TTL.

Options:
  --limit N        users to list (default 100)
  --offset N       skip the first N users
  --reason WORD    reason recorded in the audit trail (default: operator)
  --json           machine-readable output on stdout
  --no-color       no colours
  -h, --help       this help
`;

const OPTIONS = {
  limit: { type: 'string' },
  offset: { type: 'string' },
  reason: { type: 'string' },
} as const;

export function userJson(user: User) {
  return {
    id: user.id,
    email: user.email,
    name: user.name,
    issuer: user.issuer,
    subject: user.subject,
    hosted_domain: user.hostedDomain,
    first_logged_in: user.firstLoggedIn.toISOString(),
    last_login: user.lastLogin.toISOString(),
    last_accessed: user.lastAccessed?.toISOString() ?? null,
    disabled_at: user.disabledAt?.toISOString() ?? null,
  };
}

export function sessionJson(session: Session) {
  return {
    id: session.id,
    user_id: session.userId,
    created_at: session.createdAt.toISOString(),
    expires_at: session.expiresAt.toISOString(),
    idle_expires_at: session.idleExpiresAt.toISOString(),
    last_seen_at: session.lastSeenAt.toISOString(),
    revoked_at: session.revokedAt?.toISOString() ?? null,
    revoked_reason: session.revokedReason,
    ip: session.ip,
    user_agent: session.userAgent,
    client_kind: session.clientKind,
    sign_in_method: session.signInMethod,
  };
}

const reasonWord = (value: string | undefined): string => {
  const reason = value ?? 'operator';
  if (!/^[a-z0-9_]{1,64}$/.test(reason)) throw new UsageError('--reason must be a word of a-z, 0-9 and _');
  return reason;
};

export async function users(args: readonly string[]): Promise<ExitCode> {
  const out = outputFor(args);
  return run(out, USERS_USAGE, async () => {
    const { values, positionals } = parse(args, OPTIONS);
    if (values.help) {
      process.stdout.write(USERS_USAGE);
      return EXIT.ok;
    }
    const [action, who, ...extra] = positionals;
    if (action === 'grant' || action === 'revoke-role') return changeRole(out, action, who, extra);
    if (extra.length > 0) throw new UsageError(`unexpected argument: ${extra[0]}`);
    if (action === 'list') {
      if (who !== undefined) throw new UsageError(`unexpected argument: ${who}`);
      const limit = positiveInt(values.limit, 'limit', 100);
      const offset = values.offset === undefined ? 0 : positiveInt(values.offset, 'offset', 0);
      const config = loadCliConfig(out);
      return withStore(config, async (store) => list(out, await store.users.list({ limit, offset })));
    }
    if (action !== 'show' && action !== 'disable' && action !== 'enable') {
      throw new UsageError(action === undefined ? 'missing action' : `unknown action: ${action}`);
    }
    if (who === undefined) throw new UsageError(`users ${action} needs an email or a user id`);
    const reason = reasonWord(values.reason);
    const config = loadCliConfig(out);
    return withStore(config, async (store) => {
      const user = await findOneUser(store, who);
      if (action === 'show') {
        const sessions = await store.sessions.listForUser(user.id, { now: new Date() });
        const events = await store.events.list({ userId: user.id, limit: 10 });
        const roles = await store.roles.listForUser(user.id);
        out.data({
          user: userJson(user),
          roles,
          sessions: sessions.map(sessionJson),
          events: events.map(eventJson),
        });
        out.line(`${out.paint('bold', user.email)}${user.name ? ` (${user.name})` : ''}`);
        out.line(`  id            ${user.id}`);
        out.line(`  issuer        ${user.issuer}`);
        out.line(`  subject       ${user.subject}`);
        out.line(`  first login   ${when(user.firstLoggedIn)}`);
        out.line(`  last login    ${when(user.lastLogin)}`);
        out.line(`  last access   ${when(user.lastAccessed)}`);
        out.line(
          `  status        ${user.disabledAt ? out.paint('red', `disabled ${when(user.disabledAt)}`) : 'enabled'}`,
        );
        out.line(`  roles         ${roles.length > 0 ? roles.join(', ') : '—'}`);
        out.line(`  live sessions ${sessions.length}`);
        for (const s of sessions) out.line(`    ${s.id}  since ${when(s.createdAt)}  ${s.ip ?? ''}`);
        return EXIT.ok;
      }
      return withRevocation(config, store, out, async ({ accounts }) => {
        if (action === 'disable') {
          const live = await store.sessions.listForUser(user.id, { now: new Date() });
          const disabled = (await accounts.disable(user.id, { reason })) ?? user;
          out.data({ user: userJson(disabled), revoked_sessions: live.length });
          out.status('ok', `disabled ${user.email}`, `${live.length} live session(s) revoked`);
          return EXIT.ok;
        }
        const enabled = await accounts.enable(user.id, { reason });
        out.data({ user: enabled ? userJson(enabled) : userJson(user) });
        out.status('ok', `enabled ${user.email}`);
        return EXIT.ok;
      });
    });
  });
}

async function changeRole(
  out: Output,
  action: 'grant' | 'revoke-role',
  who: string | undefined,
  rest: readonly string[],
): Promise<ExitCode> {
  const [role, ...extra] = rest;
  if (who === undefined || role === undefined)
    throw new UsageError(`users ${action} needs an email or a user id and a role`);
  if (extra.length > 0) throw new UsageError(`unexpected argument: ${extra[0]}`);
  if (!isRoleName(role)) {
    throw new UsageError(
      `${JSON.stringify(role)} is not a role name: lower-case letters, digits, _ and -, starting with a letter, at most 64`,
    );
  }
  const config = loadCliConfig(out);
  return withStore(config, async (store) => {
    const user = await findOneUser(store, who);
    const audit = new AuditLog({ events: store.events, clock: systemClock, log: silentLog });
    const roles = new Roles({ store, audit, clock: systemClock });
    const changed =
      action === 'grant'
        ? await roles.grant(user.id, role, { by: 'cli' })
        : await roles.revoke(user.id, role, { by: 'cli' });
    const now = await store.roles.listForUser(user.id);
    out.data({ user: userJson(user), role, changed, roles: now });
    const verb = action === 'grant' ? 'granted' : 'took away';
    if (changed)
      out.status(
        'ok',
        `${verb} ${role} ${action === 'grant' ? 'to' : 'from'} ${user.email}`,
        'effective at their next renewal (within TOKEN_TTL)',
      );
    else out.status('ok', `${user.email} ${action === 'grant' ? 'already has' : 'does not have'} ${role}`);
    return EXIT.ok;
  });
}

function list(out: Output, rows: readonly User[]): ExitCode {
  out.data({ users: rows.map(userJson) });
  if (rows.length === 0) {
    out.line('no users');
    return EXIT.ok;
  }
  out.table(
    ['ID', 'EMAIL', 'NAME', 'LAST LOGIN', 'STATUS'],
    rows.map((u) => [u.id, u.email, u.name ?? '', when(u.lastLogin), u.disabledAt ? 'disabled' : 'enabled']),
  );
  return EXIT.ok;
}
