/**
 * `gatehouse sessions list|revoke|purge`. Revocations go through session/revocation.ts, so the row,
 * the audit trail and the revocation broadcast are what a sign-out would have produced; running
 * servers refuse a revoked session at once through Redis when REDIS_URL is set, else within
 * REVOCATION_POLL_INTERVAL (they poll the database).
 */
import { CLOCK_SKEW_SECONDS } from '../session/token.js';
import type { Session } from '../store/types.js';
import { parse, positiveInt, UsageError } from './args.js';
import {
  CliFailure,
  findOneUser,
  findUsers,
  loadCliConfig,
  run,
  withRevocation,
  withStore,
} from './context.js';
import { EXIT, type ExitCode, outputFor, when } from './output.js';
import { sessionJson } from './users.js';

export const SESSIONS_USAGE = `Usage:
  gatehouse sessions list [--user <email|id>] [--all] [--limit N]
  gatehouse sessions revoke <session-id>
  gatehouse sessions revoke --user <email|id>
  gatehouse sessions revoke --all
  gatehouse sessions purge

list shows live sessions (newest first); --all includes expired and revoked ones.
revoke revokes one session, every session of a user, or (--all) every session of every user;
each is recorded in the audit trail. purge deletes sessions whose expiry has
passed, and used sign-in transactions (the server also does this every 10 minutes).

Options:
  --user <email|id>  only this user's sessions
  --all              list: include inactive sessions; revoke: every live session
  --limit N          sessions to list (default 100)
  --reason WORD      revoke: reason recorded (default: operator)
  --json             machine-readable output on stdout
  --no-color         no colours
  -h, --help         this help
`;

const OPTIONS = {
  user: { type: 'string' },
  all: { type: 'boolean' },
  limit: { type: 'string' },
  reason: { type: 'string' },
} as const;

export async function sessions(args: readonly string[]): Promise<ExitCode> {
  const out = outputFor(args);
  return run(out, SESSIONS_USAGE, async () => {
    const { values, positionals } = parse(args, OPTIONS);
    if (values.help) {
      process.stdout.write(SESSIONS_USAGE);
      return EXIT.ok;
    }
    const [action, id, ...extra] = positionals;
    if (extra.length > 0) throw new UsageError(`unexpected argument: ${extra[0]}`);
    const reason = values.reason ?? 'operator';
    if (!/^[a-z0-9_]{1,64}$/.test(reason)) throw new UsageError('--reason must be a word of a-z, 0-9 and _');

    if (action === 'list') {
      if (id !== undefined) throw new UsageError(`unexpected argument: ${id}`);
      const limit = positiveInt(values.limit, 'limit', 100);
      const config = loadCliConfig(out);
      return withStore(config, async (store) => {
        const now = new Date();
        let rows: readonly Session[];
        if (values.user !== undefined) {
          const users = await findUsers(store, values.user);
          const lists = await Promise.all(
            users.map((u) => store.sessions.listForUser(u.id, { includeInactive: values.all === true, now })),
          );
          rows = lists.flat().slice(0, limit);
        } else {
          rows = await store.sessions.list({ ...(values.all ? {} : { activeAt: now }), limit });
        }
        out.data({ sessions: rows.map(sessionJson) });
        if (rows.length === 0) {
          out.line(values.all ? 'no sessions' : 'no live sessions');
          return EXIT.ok;
        }
        out.table(
          ['ID', 'USER', 'CREATED', 'LAST SEEN', 'EXPIRES', 'STATE', 'IP'],
          rows.map((s) => [
            s.id,
            s.userId,
            when(s.createdAt),
            when(s.lastSeenAt),
            when(s.expiresAt),
            state(s, now),
            s.ip ?? '',
          ]),
        );
        return EXIT.ok;
      });
    }

    if (action === 'revoke') {
      const targets = [id !== undefined, values.user !== undefined, values.all === true].filter(
        Boolean,
      ).length;
      if (targets !== 1) {
        throw new UsageError('sessions revoke needs exactly one of: a session id, --user <email|id>, --all');
      }
      const config = loadCliConfig(out);
      return withStore(config, (store) =>
        withRevocation(config, store, out, async ({ revocation }) => {
          let revoked: readonly string[];
          if (id !== undefined) {
            const session = await store.sessions.findById(id);
            if (session === undefined) throw new CliFailure(`no session ${id}`);
            const changed = await revocation.revoke(id, {
              reason,
              type: 'session_revoked',
              userId: session.userId,
            });
            revoked = changed ? [id] : [];
            if (!changed) out.status('info', `session ${id} was already revoked`);
          } else if (values.user !== undefined) {
            const user = await findOneUser(store, values.user);
            revoked = await revocation.revokeAllForUser(user.id, { reason });
          } else {
            revoked = await revocation.revokeAll({ reason });
          }
          out.data({ revoked });
          out.status('ok', `revoked ${revoked.length} session(s)`);
          return EXIT.ok;
        }),
      );
    }

    if (action === 'purge') {
      if (id !== undefined) throw new UsageError(`unexpected argument: ${id}`);
      const config = loadCliConfig(out);
      return withStore(config, async (store) => {
        // The same leader lock as the servers' background purge: one purger at a time.
        const result = await store.withMaintenanceLock(() =>
          // Revoked rows stay until their session ends (SECURITY.md 41), plus the tolerated skew.
          store.sessions.purgeExpired(new Date(Date.now() - CLOCK_SKEW_SECONDS * 1000)),
        );
        if (!result.ran) {
          out.data({ deleted: 0, skipped: true });
          out.status('info', 'another instance is purging right now; nothing to do');
          return EXIT.ok;
        }
        out.data({ deleted: result.value });
        out.status('ok', `purged ${result.value} expired or revoked row(s)`);
        return EXIT.ok;
      });
    }
    throw new UsageError(action === undefined ? 'missing action' : `unknown action: ${action}`);
  });
}

function state(session: Session, now: Date): string {
  if (session.revokedAt) return `revoked (${session.revokedReason ?? 'unknown'})`;
  if (session.expiresAt <= now) return 'expired';
  if (session.idleExpiresAt <= now) return 'idle-expired';
  return 'live';
}
