/**
 * `gatehouse init`: writes a `.env` with the public URL, frontend URL and database, and strong
 * generated SECRET_KEY / JWT_SECRET_KEY. Asks on a terminal, takes flags otherwise (or with
 * --yes). The result is validated exactly as `serve` would load it before anything is written,
 * and an existing file is never overwritten without --force (its secrets sign live sessions).
 */
import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { createInterface } from 'node:readline/promises';
import { parseEnv } from 'node:util';
import { ConfigError, loadConfig } from '../config/index.js';
import { parse, UsageError } from './args.js';
import { CliFailure, run } from './context.js';
import { EXIT, type ExitCode, outputFor } from './output.js';

export const INIT_USAGE = `Usage: gatehouse init [options]

Writes .env in the current directory with strong generated secrets. On a terminal it asks
for each value (Enter keeps the default); with --yes, or when input is not a terminal, it
uses the flags and defaults without asking. Validated like \`gatehouse serve\` loads it.

Options:
  --public-url URL            where browsers reach Gatehouse (default http://127.0.0.1:8000)
  --frontend-url URL          where the browser goes after sign-in (default PUBLIC_URL/)
  --database-url URL          sqlite:PATH, mysql://…, postgres://… (default sqlite:./data/gatehouse.db)
  --port N                    listen port (written as PORT when given)
  --google-client-id ID       the OAuth client from Google Cloud Console (docs/google-setup.md)
  --google-client-secret S    its secret
  --production                write NODE_ENV=production
  --output PATH               write here instead of ./.env
  --force                     overwrite an existing file (its secrets are lost: sessions end)
  -y, --yes                   do not ask
  --json                      print what was written (secrets masked) as JSON
  -h, --help                  this help
`;

const OPTIONS = {
  'public-url': { type: 'string' },
  'frontend-url': { type: 'string' },
  'database-url': { type: 'string' },
  port: { type: 'string' },
  'google-client-id': { type: 'string' },
  'google-client-secret': { type: 'string' },
  production: { type: 'boolean' },
  output: { type: 'string' },
  force: { type: 'boolean' },
  yes: { type: 'boolean', short: 'y' },
} as const;

/** 48 bytes (384 bits) from the CSPRNG: well above the 32-byte floor the configuration enforces. */
export function generateSecret(): string {
  return randomBytes(48).toString('base64url');
}

interface Answers {
  publicUrl: string;
  frontendUrl: string;
  databaseUrl: string;
}

export async function init(args: readonly string[]): Promise<ExitCode> {
  const out = outputFor(args);
  return run(out, INIT_USAGE, async () => {
    const { values, positionals } = parse(args, OPTIONS);
    if (values.help) {
      process.stdout.write(INIT_USAGE);
      return EXIT.ok;
    }
    if (positionals.length > 0) throw new UsageError(`unexpected argument: ${positionals[0]}`);
    const port = values.port;
    if (port !== undefined && !/^\d{1,5}$/.test(port)) throw new UsageError('--port must be a port number');
    const path = resolve(values.output ?? '.env');

    const defaults: Answers = {
      publicUrl: (values['public-url'] ?? `http://127.0.0.1:${port ?? 8000}`).replace(/\/+$/, ''),
      frontendUrl: values['frontend-url'] ?? '',
      databaseUrl: values['database-url'] ?? 'sqlite:./data/gatehouse.db',
    };
    const interactive = !values.yes && !out.json && process.stdin.isTTY === true;
    const answers = interactive ? await ask(defaults) : defaults;
    if (answers.frontendUrl === '') answers.frontendUrl = `${answers.publicUrl}/`;

    const entries: [string, string | undefined, string?][] = [
      ['NODE_ENV', values.production ? 'production' : undefined],
      ['PORT', port],
      [
        'PUBLIC_URL',
        answers.publicUrl,
        'The URL browsers use to reach Gatehouse (behind a proxy: the proxy).',
      ],
      ['FRONTEND_URL', answers.frontendUrl, 'Where the browser goes after sign-in and sign-out.'],
      ['DATABASE_URL', answers.databaseUrl],
      [
        'GOOGLE_CLIENT_ID',
        values['google-client-id'],
        'From Google Cloud Console (docs/google-setup.md); `gatehouse doctor` prints the URLs to register.\n# Unset: the embedded development provider signs anyone in, only when HOST and PUBLIC_URL are loopback (never in production).',
      ],
      ['GOOGLE_CLIENT_SECRET', values['google-client-secret']],
      [
        'SECRET_KEY',
        generateSecret(),
        'Generated: seals the sign-in cookie. Keep secret; the same on every instance.',
      ],
      [
        'JWT_SECRET_KEY',
        generateSecret(),
        'Generated: signs session tokens. To rotate, put a new key first: NEW,OLD.',
      ],
    ];
    const text = render(entries);
    validate(text);

    try {
      writeFileSync(path, text, { mode: 0o600, flag: values.force ? 'w' : 'wx' });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'EEXIST') {
        throw new CliFailure(
          `${path} exists; pass --force to overwrite it (its secrets would be replaced and every session signed with them would end)`,
        );
      }
      throw new CliFailure(`cannot write ${path}: ${(err as NodeJS.ErrnoException).code ?? 'error'}`);
    }

    const written = Object.fromEntries(
      entries
        .filter(([, v]) => v !== undefined)
        .map(([k, v]) => [k, /SECRET/.test(k) ? 'generated' : (v as string)]),
    );
    out.data({ path, written });
    out.status('ok', `wrote ${path}`, 'mode 600');
    out.line(`  PUBLIC_URL    ${answers.publicUrl}`);
    out.line(`  FRONTEND_URL  ${answers.frontendUrl}`);
    out.line(`  DATABASE_URL  ${answers.databaseUrl}`);
    out.line('  SECRET_KEY, JWT_SECRET_KEY generated');
    out.line('');
    out.line('Next: `gatehouse doctor` checks it and prints the URLs to register in Google Cloud Console;');
    out.line('then `gatehouse migrate` and `gatehouse serve`.');
    return EXIT.ok;
  });
}

async function ask(defaults: Answers): Promise<Answers> {
  const rl = createInterface({ input: process.stdin, output: process.stdout });
  try {
    const question = async (label: string, fallback: string) =>
      (await rl.question(`${label} [${fallback}]: `)).trim() || fallback;
    const publicUrl = (await question('Public URL (what browsers see)', defaults.publicUrl)).replace(
      /\/+$/,
      '',
    );
    const frontendUrl = await question('Frontend URL', defaults.frontendUrl || `${publicUrl}/`);
    const databaseUrl = await question('Database URL', defaults.databaseUrl);
    return { publicUrl, frontendUrl, databaseUrl };
  } finally {
    rl.close();
  }
}

function render(entries: readonly [string, string | undefined, string?][]): string {
  const lines = [
    `# Written by \`gatehouse init\` on ${new Date().toISOString().slice(0, 10)}. Every setting: docs/configuration.md`,
    '# The real environment overrides this file.',
  ];
  for (const [name, value, comment] of entries) {
    if (value !== undefined && /[\r\n"'`#\\]/.test(value)) {
      throw new UsageError(`the value for ${name} contains a character .env cannot hold plainly`);
    }
    if (value === undefined && (name === 'NODE_ENV' || name === 'PORT')) continue;
    if (comment) lines.push('', `# ${comment}`);
    lines.push(value === undefined ? `# ${name}=` : `${name}=${value}`);
  }
  return `${lines.join('\n')}\n`;
}

/**
 * The file alone (no process environment, no other .env) must load as `serve` would load it —
 * except that Google credentials may still be missing (they are filled in later, and `serve`
 * then names them if they are not): the rest is checked as if they were there.
 */
function validate(text: string): void {
  const env: Record<string, string> = Object.fromEntries(
    Object.entries(parseEnv(text)).filter((entry): entry is [string, string] => entry[1] !== undefined),
  );
  if (env.GOOGLE_CLIENT_ID === undefined && env.NODE_ENV !== 'production') env.DEV_PROVIDER = 'anywhere';
  try {
    loadConfig({ env, dotenv: false });
  } catch (err) {
    if (err instanceof ConfigError) {
      throw new CliFailure(`not written: ${err.message}`, EXIT.config);
    }
    throw err;
  }
}
