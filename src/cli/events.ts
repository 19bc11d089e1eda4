/**
 * `gatehouse events [list]` and `gatehouse events purge`: the audit trail (auth_events) — every
 * sign-in and its failures with their reason, sign-outs, revocations, user disable/enable.
 */
import type { Config } from '../config/types.js';
import type { AuthEvent, AuthEventType } from '../store/types.js';
import { parse, positiveInt, sinceDate, UsageError } from './args.js';
import { findUsers, loadCliConfig, run, withStore } from './context.js';
import { EXIT, type ExitCode, outputFor, when } from './output.js';

const TYPES: readonly AuthEventType[] = [
  'sign_in',
  'sign_in_failed',
  'sign_out',
  'session_revoked',
  'sessions_revoked_all',
  'user_disabled',
  'user_enabled',
  'role_granted',
  'role_revoked',
];

export const EVENTS_USAGE = `Usage:
  gatehouse events [list] [--user <email|id>] [--type TYPE] [--since WHEN] [--limit N]
  gatehouse events purge

list shows the latest audit events, newest first. purge deletes events older than
AUDIT_RETENTION (the server also does this every 10 minutes).

Options:
  --user <email|id>  only this user's events
  --type TYPE        one of: ${TYPES.join(', ')}
  --since WHEN       a duration back from now (30m, 24h, 7d) or an ISO date/time
  --limit N          events to show (default 50)
  --json             machine-readable output on stdout
  --no-color         no colours
  -h, --help         this help
`;

const OPTIONS = {
  user: { type: 'string' },
  type: { type: 'string' },
  since: { type: 'string' },
  limit: { type: 'string' },
} as const;

export function eventJson(event: AuthEvent) {
  return {
    id: event.id,
    type: event.type,
    user_id: event.userId,
    session_id: event.sessionId,
    reason: event.reason,
    ip: event.ip,
    user_agent: event.userAgent,
    created_at: event.createdAt.toISOString(),
  };
}

function isType(value: string): value is AuthEventType {
  return (TYPES as readonly string[]).includes(value);
}

export async function events(args: readonly string[]): Promise<ExitCode> {
  const out = outputFor(args);
  return run(out, EVENTS_USAGE, async () => {
    const { values, positionals } = parse(args, OPTIONS);
    if (values.help) {
      process.stdout.write(EVENTS_USAGE);
      return EXIT.ok;
    }
    const [action = 'list', ...extra] = positionals;
    if (extra.length > 0) throw new UsageError(`unexpected argument: ${extra[0]}`);
    if (action === 'purge') {
      const config = loadCliConfig(out);
      return purgeEvents(config, out);
    }
    if (action !== 'list') throw new UsageError(`unknown action: ${action}`);
    const type = values.type;
    if (type !== undefined && !isType(type)) {
      throw new UsageError(`--type must be one of: ${TYPES.join(', ')}`);
    }
    const since = sinceDate(values.since, Date.now());
    const limit = positiveInt(values.limit, 'limit', 50);
    const config = loadCliConfig(out);
    return withStore(config, async (store) => {
      const filter = { ...(type ? { type } : {}), ...(since ? { since } : {}), limit };
      let rows: AuthEvent[];
      if (values.user !== undefined) {
        const users = await findUsers(store, values.user);
        const lists = await Promise.all(users.map((u) => store.events.list({ ...filter, userId: u.id })));
        rows = lists
          .flat()
          .sort((a, b) => b.id - a.id)
          .slice(0, limit);
      } else {
        rows = [...(await store.events.list(filter))];
      }
      out.data({ events: rows.map(eventJson) });
      if (rows.length === 0) {
        out.line('no events');
        return EXIT.ok;
      }
      out.table(
        ['TIME', 'TYPE', 'USER', 'SESSION', 'REASON', 'IP'],
        rows.map((e) => [
          when(e.createdAt),
          e.type,
          e.userId ?? '—',
          e.sessionId ?? '—',
          e.reason ?? '',
          e.ip ?? '',
        ]),
      );
      return EXIT.ok;
    });
  });
}

async function purgeEvents(config: Config, out: ReturnType<typeof outputFor>): Promise<ExitCode> {
  return withStore(config, async (store) => {
    const before = new Date(Date.now() - config.audit.retentionSeconds * 1000);
    const deleted = await store.events.purgeOlderThan(before);
    out.data({ deleted, before: before.toISOString() });
    out.status('ok', `purged ${deleted} event(s) older than ${when(before)}`);
    return EXIT.ok;
  });
}
