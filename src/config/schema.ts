/**
 * Every configuration variable, in one table: the single source of docs/configuration.md
 * (rendered by `renderConfigurationDoc`, kept in sync by a test) and of the loader's list of
 * known names (reading an unlisted name is a programming error).
 */

export interface VariableDoc {
  readonly name: string;
  /** The default as a human reads it (Markdown). `—` means "unset". */
  readonly default: string;
  readonly description: string;
}

export interface VariableGroup {
  readonly title: string;
  readonly variables: readonly VariableDoc[];
}

export const CONFIG_SCHEMA: readonly VariableGroup[] = [
  {
    title: 'Server',
    variables: [
      {
        name: 'NODE_ENV',
        default: '`development`',
        description:
          '`development`, `production` or `test`. Production refuses to start without real credentials and secrets and never runs the development provider; any other value is an error.',
      },
      { name: 'HOST', default: '`127.0.0.1`', description: 'Listen address (an IP address or host name).' },
      {
        name: 'REQUEST_TIMEOUT',
        default: '`30s`',
        description:
          'A request whose headers and body have not all arrived by then is answered 408 and its connection closed (slow clients, SECURITY.md 45).',
      },
      {
        name: 'KEEP_ALIVE_TIMEOUT',
        default: '`72s`',
        description:
          "How long an idle keep-alive connection stays open; keep it above the load balancer's own idle timeout.",
      },
      {
        name: 'PORT',
        default: '`8000`',
        description: 'Listen port, 0–65535. `0` takes any free port (then `PUBLIC_URL` must be set).',
      },
      {
        name: 'TRUST_PROXY',
        default: 'off',
        description:
          'Addresses or CIDRs of reverse proxies whose `X-Forwarded-*` headers are believed, comma-separated; `loopback` stands for `127.0.0.1/8` and `::1`. Never "everything": `true`, `*`, `all`, `0.0.0.0/0` and `::/0` are refused.',
      },
    ],
  },
  {
    title: 'URLs and origins',
    variables: [
      {
        name: 'PUBLIC_URL',
        // biome-ignore lint/suspicious/noTemplateCurlyInString: a literal ${VAR} shown to readers
        default: '`http://127.0.0.1:${PORT}`',
        description:
          "The external base URL of Gatehouse's routes, as the browser sees it (behind a proxy, the proxy's URL). http or https, no query, fragment or user name; a trailing slash is dropped. Must be https in production unless the host is loopback.",
      },
      {
        name: 'REDIRECT_URL',
        // biome-ignore lint/suspicious/noTemplateCurlyInString: a literal ${VAR} shown to readers
        default: '`${PUBLIC_URL}${ROUTE_PREFIX}/auth`',
        description:
          'The callback registered at the provider. Taken from configuration only, never from request headers.',
      },
      {
        name: 'FRONTEND_URL',
        // biome-ignore lint/suspicious/noTemplateCurlyInString: a literal ${VAR} shown to readers
        default: '`${PUBLIC_URL}/`',
        description: 'Where the browser goes after sign-in and sign-out.',
      },
      {
        name: 'ALLOWED_RETURN_ORIGINS',
        default: 'origin of `FRONTEND_URL`',
        description:
          'Origins that `/login?return_to=` may send the browser back to, comma-separated. The origins of `PUBLIC_URL` and `FRONTEND_URL` are always included.',
      },
      {
        name: 'CORS_ORIGINS',
        default: 'none',
        description:
          'Exact origins (`https://app.example.com`) allowed to call the API with credentials, comma-separated. `*` and `null` are refused: a wildcard with cookies would let any site act as the user.',
      },
      {
        name: 'COOKIE_DOMAIN',
        default: '—',
        description:
          "Share the session cookie with a parent domain (`example.com`). Must equal, or be a parent of, `PUBLIC_URL`'s host. The cookie is then named `__Secure-gatehouse` instead of `__Host-gatehouse`.",
      },
    ],
  },
  {
    title: 'Proxy mode',
    variables: [
      {
        name: 'UPSTREAM_URL',
        default: '—',
        description:
          "When set, every request outside Gatehouse's own routes is authenticated and proxied to this http(s) origin (an optional base path is prepended to every forwarded path). See docs/proxy.md.",
      },
      {
        name: 'UPSTREAMS',
        default: '—',
        description:
          'Several upstreams by path prefix, instead of `UPSTREAM_URL`: `/api/=http://127.0.0.1:9000,/=http://127.0.0.1:3000`. Prefixes match whole path segments; the longest matching prefix wins; a path no prefix matches gets 404.',
      },
      {
        name: 'ROUTE_PREFIX',
        default: 'empty; `/_gatehouse` with an upstream',
        description:
          "Where all of Gatehouse's own routes live (`/_gatehouse/login`, `/_gatehouse/auth`, `/_gatehouse/me`, `/_gatehouse/healthz`, …). Starts with `/`, no trailing slash, segments of letters, digits and `-._~`. `REDIRECT_URL` and the development provider follow it; the cookie path stays `/`. With a prefix the demo page is not served.",
      },
      {
        name: 'PUBLIC_PATHS',
        default: '—',
        description:
          'Paths proxied without sign-in, comma-separated: `/health` (exact), `/static/*` (one segment), `/docs/**` (any depth). Matched case-sensitively against the normalised path.',
      },
      {
        name: 'UPSTREAM_TIMEOUT',
        default: '`60s`',
        description:
          "Longest wait for the upstream's response headers; then 504 `upstream_timeout`. Bodies may stream for longer.",
      },
      {
        name: 'PRESERVE_HOST',
        default: 'off',
        description: "Pass the client's `Host` header to the upstream instead of the upstream's own host.",
      },
    ],
  },
  {
    title: 'Sign-in provider',
    variables: [
      {
        name: 'GOOGLE_CLIENT_ID',
        default: '—',
        description:
          'The OAuth client ID from Google Cloud Console (or from the provider named by `OIDC_ISSUER`). Set both or neither; required in production.',
      },
      {
        name: 'GOOGLE_CLIENT_SECRET',
        default: '—',
        description: 'The OAuth client secret that goes with `GOOGLE_CLIENT_ID`. Required in production.',
      },
      {
        name: 'OIDC_ISSUER',
        default: '`https://accounts.google.com`',
        description:
          'The OpenID provider. https, or http only on a loopback host (`127.0.0.0/8`, `::1`, `localhost`), which is logged as a warning. Requires client credentials.',
      },
      {
        name: 'DEV_PROVIDER',
        default: '`loopback`',
        description:
          'Where the embedded development provider (used when no provider is configured; anyone signs in as anyone) may run: `loopback` = only when `HOST` and `PUBLIC_URL` are loopback, otherwise start-up fails; `anywhere` = also elsewhere, with a loud warning. Never in production.',
      },
      { name: 'OIDC_TIMEOUT', default: '`10s`', description: 'Timeout of each request to the provider.' },
      {
        name: 'OIDC_CLOCK_SKEW',
        default: '`30s`',
        description: 'Clock skew tolerated on ID-token time claims (`0` allowed).',
      },
      {
        name: 'OIDC_SCOPES',
        default: '`openid email profile`',
        description: 'Space-separated scopes requested at sign-in; must include `openid`.',
      },
    ],
  },
  {
    title: 'Who may sign in',
    variables: [
      {
        name: 'GOOGLE_HOSTED_DOMAINS',
        default: '—',
        description: "Google Workspace domains accepted in the ID token's `hd` claim, comma-separated.",
      },
      {
        name: 'ALLOWED_EMAIL_DOMAINS',
        default: '—',
        description: 'Email domains accepted (exact match: `example.com` does not admit `evil-example.com`).',
      },
      {
        name: 'ALLOWED_EMAILS',
        default: '—',
        description: 'Single email addresses accepted, comma-separated.',
      },
    ],
  },
  {
    title: 'Secrets',
    variables: [
      {
        name: 'SECRET_KEY',
        default: 'generated per process outside production',
        description:
          'Seals the short-lived login-transaction cookie. At least 32 bytes; required in production. A generated key does not survive a restart.',
      },
      {
        name: 'JWT_SECRET_KEY',
        default: 'generated per process outside production',
        description:
          'Signs session tokens (HS256). A comma-separated list rotates keys: the first signs, all verify. Each key at least 32 bytes; required in production.',
      },
    ],
  },
  {
    title: 'Identity for upstreams',
    variables: [
      {
        name: 'ASSERTION_KEYS',
        default: 'a key kept in `./data/` outside production',
        description:
          'EC P-256 private keys that sign the `X-Gatehouse-Assertion` ES256 JWT (docs/assertions.md), as one-line JWKs or PEM blocks, separated by commas or newlines. The first signs; all are published at `/.well-known/jwks.json`. `gatehouse init` writes one, `gatehouse keys rotate` adds one. A public-only, RSA or malformed key is refused. Unset in production: no assertions are issued (a warning says so). Unset elsewhere: a key is generated once and kept (mode 0600) in `assertion-key.jwk` beside the SQLite database, or in `./data/`.',
      },
      {
        name: 'ASSERTION_AUDIENCE',
        default: "`PUBLIC_URL`'s origin",
        description:
          "The assertion's `aud` when the request names none (`/auth/verify?aud=` does). An absolute http(s) origin or URL, compared by verifiers exactly as written.",
      },
    ],
  },
  {
    title: 'Database and Redis',
    variables: [
      {
        name: 'DATABASE_URL',
        default: '`sqlite:./data/gatehouse.db`',
        description:
          '`sqlite:PATH` or `sqlite::memory:`, `mysql://USER:PASSWORD@HOST:3306/DB` (MySQL 8, or `mariadb://` for MariaDB 10.6+), `postgres://USER:PASSWORD@HOST:5432/DB` (PostgreSQL 13+). Passwords are masked in logs.',
      },
      { name: 'DATABASE_POOL_SIZE', default: '`10`', description: 'Connections per instance, 1–1000.' },
      { name: 'DATABASE_QUERY_TIMEOUT', default: '`5s`', description: 'Longest a single query may take.' },
      {
        name: 'REDIS_URL',
        default: '—',
        description:
          '`redis://` or `rediss://`. Optional: revocation broadcast and shared rate-limit counters across instances.',
      },
    ],
  },
  {
    title: 'Sessions',
    variables: [
      {
        name: 'SESSION_TTL',
        default: '`7d`',
        description: 'Absolute session lifetime (cookie lifetime too).',
      },
      {
        name: 'SESSION_IDLE_TTL',
        default: '`24h`',
        description: 'A session unused this long ends. At most `SESSION_TTL`.',
      },
      {
        name: 'TOKEN_TTL',
        default: '`15m`',
        description:
          'Lifetime of one session token; the database is consulted at most once per token. At most `SESSION_IDLE_TTL`.',
      },
      {
        name: 'REVOCATION_POLL_INTERVAL',
        default: '`1s`',
        description: 'How often instances poll the database for revocations when Redis is not configured.',
      },
    ],
  },
  {
    title: 'Native apps and single-page apps',
    variables: [
      {
        name: 'GOOGLE_NATIVE_CLIENT_IDS',
        default: '—',
        description:
          'Android and iOS OAuth client ids (comma list) whose Google ID tokens `POST /auth/google` accepts, besides `GOOGLE_CLIENT_ID` (see docs/native.md).',
      },
      {
        name: 'ID_TOKEN_MAX_AGE',
        default: '`5m`',
        description:
          'An ID token posted to `/auth/google` is refused once its `iat` is older than this (at most `1h`).',
      },
      {
        name: 'REFRESH_REUSE_GRACE',
        default: '`10s`',
        description:
          'A rotated refresh token presented again within this gets the same new pair (a lost response); later, it revokes the session (at most `5m`, `0` allowed).',
      },
    ],
  },
  {
    title: 'Rate limits',
    variables: [
      {
        name: 'RATE_LIMIT_AUTH',
        default: '`30/1m`',
        description:
          'Requests per window and client IP for `/login`, `/auth` and token routes (`MAX/WINDOW`).',
      },
      {
        name: 'RATE_LIMIT_API',
        default: '`600/1m`',
        description:
          'Requests per window for the signed-in API (`/me`, `/sessions`, `/chat`…), counted per client IP and, separately, per user; over it: 429 with `Retry-After`.',
      },
    ],
  },
  {
    title: 'Chat sample',
    variables: [
      {
        name: 'CHAT_API_URL',
        default: '—',
        description:
          'The upstream chat service that answers `POST /chat` (https; http only outside production or to a loopback host; a query string is allowed). Set `CHAT_API_URL`, `CHAT_API_KEY` and `CHAT_MODEL` together, or none.',
      },
      { name: 'CHAT_API_KEY', default: '—', description: 'The API key for `CHAT_API_URL`.' },
      { name: 'CHAT_MODEL', default: '—', description: 'The model name sent to `CHAT_API_URL`.' },
      { name: 'CHAT_TIMEOUT', default: '`30s`', description: 'Timeout of each chat request upstream.' },
      {
        name: 'CHAT_MAX_MESSAGE_LENGTH',
        default: '`4000`',
        description: 'Longest accepted chat message, in characters.',
      },
    ],
  },
  {
    title: 'Operations',
    variables: [
      {
        name: 'LOG_LEVEL',
        default: '`info`',
        description: '`fatal`, `error`, `warn`, `info`, `debug`, `trace` or `silent`.',
      },
      {
        name: 'LOG_FORMAT',
        default: '`pretty` in development, `json` otherwise',
        description: '`json` or `pretty`.',
      },
      {
        name: 'METRICS_PORT',
        default: '—',
        description:
          'Serve `/metrics` only on a separate listener on this port (bound to `HOST`; 0–65535, not `PORT`). Unset: `/metrics` is on the main port, for `METRICS_ALLOW` only.',
      },
      {
        name: 'METRICS_ALLOW',
        default: '`loopback`',
        description:
          'Without `METRICS_PORT`: the client addresses or CIDRs that may read `/metrics` on the main port (`loopback` = 127.0.0.0/8 and ::1). Others, and requests relayed by a proxy not in `TRUST_PROXY`, get 404.',
      },
      {
        name: 'AUDIT_RETENTION',
        default: '`90d`',
        description: 'How long sign-in and revocation events are kept in `auth_events`.',
      },
    ],
  },
  {
    title: 'Authorization',
    variables: [
      {
        name: 'BOOTSTRAP_ADMINS',
        default: '—',
        description:
          'Email addresses, comma-separated, that get the `admin` role when they sign in (docs/authorization.md).',
      },
      {
        name: 'ACCESS_RULES_FILE',
        default: '—',
        description:
          'A JSON file of access rules (first match wins; docs/authorization.md). Read and checked at start: an error refuses to start, naming its line and field. Unset: any signed-in user may call any route.',
      },
      {
        name: 'GOOGLE_GROUPS',
        default: '`off`',
        description:
          "`directory` reads each user's Google Workspace groups and account status through the Admin SDK Directory API (needs the next two settings); `off` reads none.",
      },
      {
        name: 'GOOGLE_SERVICE_ACCOUNT_FILE',
        default: '—',
        description:
          "The service account's JSON key file, with domain-wide delegation for the scopes `admin.directory.group.readonly` and `admin.directory.user.readonly`.",
      },
      {
        name: 'GOOGLE_ADMIN_EMAIL',
        default: '—',
        description: "The Workspace administrator the service account acts as (the grant's `sub`).",
      },
      {
        name: 'GOOGLE_DIRECTORY_URL',
        default: '`https://admin.googleapis.com`',
        description: 'Base URL of the Directory API (a stand-in in tests).',
      },
      {
        name: 'ALLOWED_GROUPS',
        default: '—',
        description:
          'Group emails, comma-separated: only their members may sign in, and a user removed from all of them loses every session at the next recheck. Needs `GOOGLE_GROUPS=directory`.',
      },
      {
        name: 'DIRECTORY_RECHECK',
        default: '`5m`',
        description:
          'At renewal, groups and account status are read again when the last reading is older than this.',
      },
      {
        name: 'DIRECTORY_MAX_STALE',
        default: '`1h`',
        description:
          'While the Directory API is down, the last known answer serves this long; then renewals answer 503 `directory_unavailable`.',
      },
    ],
  },
];

/** Every variable name, in table order. */
export const CONFIG_VARIABLES: readonly string[] = CONFIG_SCHEMA.flatMap((group) =>
  group.variables.map((variable) => variable.name),
);

const INTRODUCTION = `# Configuration

Gatehouse is configured through environment variables, optionally from a \`.env\` file in the
working directory (parsed by Node's \`util.parseEnv\`: \`#\` comments and quoted values work).
Variables set in the real environment win over \`.env\`; names in \`.env\` that Gatehouse does not
read are reported as a warning. An empty value (\`REDIS_URL=\`) counts as unset, and surrounding
spaces are ignored.

All variables are read and checked once, at start-up: every problem is reported in one
message (\`Invalid configuration (N problems)\`), and the result is frozen. Nothing else in
Gatehouse reads the environment.

- **Durations** are written \`30s\`, \`15m\`, \`24h\`, \`7d\`; a bare number means seconds.
- **Lists** are comma-separated; spaces around entries and empty entries are ignored.
- **Origins** are exact: \`scheme://host[:port]\`, no path.

## Production

With \`NODE_ENV=production\` Gatehouse refuses to start, naming each missing or weak setting,
unless \`GOOGLE_CLIENT_ID\`, \`GOOGLE_CLIENT_SECRET\`, \`SECRET_KEY\` (at least 32 bytes) and
\`JWT_SECRET_KEY\` (each key at least 32 bytes) are set. \`PUBLIC_URL\` must be https unless
its host is loopback. \`gatehouse init\` writes a \`.env\` with strong generated secrets and an
\`ASSERTION_KEYS\` signing key; without \`ASSERTION_KEYS\` no signed identity assertions are issued
(a warning says so).

## Development

Outside production, a missing \`SECRET_KEY\` or \`JWT_SECRET_KEY\` is generated for the
process (sessions do not survive a restart), and a short one is only a warning. When
neither \`GOOGLE_CLIENT_ID\`, \`GOOGLE_CLIENT_SECRET\` nor \`OIDC_ISSUER\` is set, the embedded
development provider serves at \`\${PUBLIC_URL}\${ROUTE_PREFIX}/dev-idp\` and accepts any email address; a
warning says so. It starts only when \`HOST\` and \`PUBLIC_URL\` are both loopback (otherwise
start-up fails, unless \`DEV_PROVIDER=anywhere\`, which is logged loudly), and never in production.
Without \`ASSERTION_KEYS\`, an assertion signing key is generated once and kept in
\`assertion-key.jwk\` beside the SQLite database (\`./data/\`).

## Cookies

The session cookie is \`__Host-gatehouse\` when \`PUBLIC_URL\` is https, \`__Secure-gatehouse\`
when \`COOKIE_DOMAIN\` is also set, and \`gatehouse\` on plain http. Login-transaction cookies
start with \`__Host-gatehouse-tx-\` over https and \`gatehouse-tx-\` otherwise.
`;

function cell(text: string): string {
  return text.replaceAll('|', '\\|').replaceAll('\n', ' ');
}

/** A Markdown table with padded columns, laid out the way `biome format` lays it out, so it stays stable. */
function table(header: readonly string[], rows: readonly (readonly string[])[]): string[] {
  const widths = header.map((title, column) =>
    Math.max(title.length, 3, ...rows.map((row) => row[column]!.length)),
  );
  const line = (cells: readonly string[]): string =>
    `| ${cells.map((text, column) => text.padEnd(widths[column]!)).join(' | ')} |`;
  return [line(header), line(widths.map((width) => '-'.repeat(width))), ...rows.map(line)];
}

/** docs/configuration.md, generated from CONFIG_SCHEMA. */
export function renderConfigurationDoc(): string {
  const parts = [
    '<!-- Generated from src/config/schema.ts; do not edit by hand. Regenerate: UPDATE_DOCS=1 npx vitest run test/unit/config/docs.test.ts -->',
    '',
    INTRODUCTION,
  ];
  for (const group of CONFIG_SCHEMA) {
    const rows = group.variables.map((variable) => [
      `\`${variable.name}\``,
      cell(variable.default),
      cell(variable.description),
    ]);
    parts.push(`## ${group.title}`, '', ...table(['variable', 'default', 'meaning'], rows), '');
  }
  return `${parts.join('\n').trimEnd()}\n`;
}
