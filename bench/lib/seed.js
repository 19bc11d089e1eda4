/**
 * A large store for the "does the hot path grow with the data?" measurement: users and sessions
 * written straight into a migrated SQLite file (the schema of src/store/migrations, applied by
 * `gatehouse migrate`), some of them revoked moments ago so that the server's revocation poller
 * loads them into its in-memory set at start, as it would after a mass sign-out.
 *
 * The rows are generated inside SQLite (a recursive CTE), with the secondary indexes dropped for
 * the insert and rebuilt from their own definitions afterwards: a million rows in seconds.
 */
import Database from 'better-sqlite3';

const SESSIONS_PER_USER = 100;

/** @typedef {{ sid: string, sub: string, email: string }} SeededSession */

/**
 * @param {string} file  a migrated SQLite database
 * @param {{ sessions: number, revoked: number, issuer: string, now: number, sample: number }} o
 * @returns {{ live: SeededSession[], revoked: SeededSession[], ms: number }}
 */
export function seedSqlite(file, o) {
  const t0 = performance.now();
  const db = new Database(file);
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = OFF');
  db.pragma('cache_size = -262144');
  const users = Math.max(1, Math.ceil(o.sessions / SESSIONS_PER_USER));
  const every = o.revoked > 0 ? Math.max(1, Math.floor(o.sessions / o.revoked)) : 0;
  // ISO-8601 text, as src/store/codec.ts writes times on SQLite.
  const at = (/** @type {number} */ seconds) => new Date(o.now + seconds * 1000).toISOString();
  const times = { hourAgo: at(-3600), inAWeek: at(604_800), inADay: at(86_400) };
  const indexes = /** @type {{ name: string, sql: string }[]} */ (
    db
      .prepare(
        "select name, sql from sqlite_master where type = 'index' and tbl_name in ('users', 'sessions') and sql is not null",
      )
      .all()
  );
  db.transaction(() => {
    for (const index of indexes) db.exec(`drop index "${index.name}"`);
    db.prepare(
      `with recursive n(i) as (select 0 union all select i + 1 from n where i + 1 < :users)
       insert into users (id, issuer, subject, email, email_verified, name, first_logged_in, last_login)
       select printf('00000000-0000-4000-8000-%012d', i), :issuer, 'bench-' || i, 'user' || i || '@bench.example',
              1, 'User ' || i, :hourAgo, :hourAgo
       from n`,
    ).run({ users, issuer: o.issuer, hourAgo: times.hourAgo });
    // Ids ascend (a counter, then random hex: 22 characters like real ones) so that the
    // primary-key index is appended to rather than rewritten at random. Every `every`-th session (the first `revoked` of them) was revoked 10 s to 2 min ago: inside
    // the poller's start-up lookback (TOKEN_TTL + margin), outside its per-second re-read window.
    db.prepare(
      `with recursive n(i) as (select 0 union all select i + 1 from n where i + 1 < :sessions)
       insert into sessions (id, user_id, created_at, expires_at, idle_expires_at, last_seen_at,
                             revoked_at, revoked_reason, ip, user_agent)
       select printf('%08x', i) || lower(hex(randomblob(7))), printf('00000000-0000-4000-8000-%012d', i % :users),
              :hourAgo, :inAWeek, :inADay, :hourAgo,
              case when :every > 0 and i % :every = 0 and i / :every < :revoked
                   then strftime('%Y-%m-%dT%H:%M:%fZ', :now / 1000.0 - 10 - (i % 110000) / 1000.0, 'unixepoch') end,
              case when :every > 0 and i % :every = 0 and i / :every < :revoked then 'bench' end,
              '127.0.0.1', 'gatehouse-bench'
       from n`,
    ).run({ sessions: o.sessions, users, every, revoked: o.revoked, now: o.now, ...times });
    for (const index of indexes) db.exec(index.sql);
  })();
  const sample = (/** @type {boolean} */ revoked) =>
    /** @type {SeededSession[]} */ (
      db
        .prepare(
          `select s.id as sid, s.user_id as sub, u.email as email from sessions s join users u on u.id = s.user_id
           where s.revoked_at is ${revoked ? 'not null' : 'null'} and s.rowid % 7 = 3 limit ?`,
        )
        .all(o.sample)
    );
  const result = { live: sample(false), revoked: sample(true) };
  db.pragma('wal_checkpoint(TRUNCATE)');
  db.close();
  return { ...result, ms: Math.round(performance.now() - t0) };
}

/**
 * The plans SQLite chooses for the renewal path's statements (src/store/repositories/sessions.ts
 * findWithUser and touch): each must be a SEARCH by primary key, never a SCAN.
 * @param {string} file
 */
export function renewalQueryPlans(file) {
  const db = new Database(file, { readonly: true });
  try {
    const plan = (/** @type {string} */ sql) =>
      db
        .prepare(`explain query plan ${sql}`)
        .all('x', 'y')
        .map((row) => /** @type {{ detail: string }} */ (row).detail)
        .join('; ');
    return {
      findWithUser: plan(
        'select users.*, sessions.id from sessions inner join users on users.id = sessions.user_id where sessions.id = ? and ? is not null',
      ),
      touchSession: plan(
        "update sessions set last_seen_at = '', idle_expires_at = '' where id = ? and user_id = ? and revoked_at is null",
      ),
      touchUser: plan("update users set last_accessed = '' where id = ? and ? is not null"),
    };
  } finally {
    db.close();
  }
}
