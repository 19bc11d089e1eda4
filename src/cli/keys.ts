/**
 * `gatehouse keys list|rotate`: the assertion signing keys (ASSERTION_KEYS).
 *
 * Rotation adds a new key *first* (it signs from the next start) and keeps every older key
 * published in the JWKS, so assertions signed a moment before the restart still verify, and a
 * verifier holding a cached JWKS refetches on the new `kid` (jose, PyJWT and go-oidc all do).
 * Retire an old key by deleting it from the list once no assertion signed with it can still
 * be alive (5 minutes) and verifiers have refreshed their JWKS.
 */
import { chmodSync, readFileSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { parseEnv } from 'node:util';
import { generateAssertionKey, keyToText, parseAssertionKeys } from '../assertion/keys.js';
import { parse, UsageError } from './args.js';
import { CliFailure, loadCliConfig, run } from './context.js';
import { envLine } from './init.js';
import { EXIT, type ExitCode, outputFor } from './output.js';

export const KEYS_USAGE = `Usage: gatehouse keys <list|rotate> [options]

  list              the assertion signing keys: kid, which one signs, where it comes from
  rotate            add a new signing key first in ASSERTION_KEYS in .env; older keys stay
                    published (remove one by hand once it is retired)

Options:
  --env PATH        the .env file rotate edits (default ./.env)
  --json            print the result as JSON (no key material)
  -h, --help        this help
`;

const OPTIONS = { env: { type: 'string' } } as const;
const LINE = /^[ \t]*(?:export[ \t]+)?ASSERTION_KEYS[ \t]*=.*$/m;

export async function keys(args: readonly string[]): Promise<ExitCode> {
  const out = outputFor(args);
  return run(out, KEYS_USAGE, async () => {
    const { values, positionals } = parse(args, OPTIONS);
    if (values.help) {
      process.stdout.write(KEYS_USAGE);
      return EXIT.ok;
    }
    const [action, ...rest] = positionals;
    if (rest.length > 0) throw new UsageError(`unexpected argument: ${rest[0]}`);
    if (action === 'list') {
      const config = loadCliConfig(out);
      let source = 'ASSERTION_KEYS';
      let listed = config.assertion.keys;
      if (config.assertion.devKeyFile !== undefined) {
        source = config.assertion.devKeyFile;
        const text = readIfPresent(config.assertion.devKeyFile);
        const parsed = text === undefined ? undefined : parseAssertionKeys(text);
        listed = parsed?.ok ? parsed.keys : [];
      }
      const rows = listed.map((key, index) => ({
        kid: key.kid,
        role: index === 0 ? 'signs' : 'published',
        source,
      }));
      out.data({ keys: rows });
      if (rows.length === 0) {
        out.status(
          'warn',
          'no assertion key',
          config.assertion.devKeyFile !== undefined
            ? `one is generated at ${config.assertion.devKeyFile} on the first start`
            : 'run `gatehouse keys rotate`',
        );
        return EXIT.ok;
      }
      out.table(
        ['kid', 'role', 'from'],
        rows.map((r) => [r.kid, r.role, r.source]),
      );
      return EXIT.ok;
    }
    if (action === 'rotate') return rotate(out, resolve(values.env ?? '.env'));
    throw new UsageError(
      action === undefined ? 'name an action: list or rotate' : `unknown action: ${action}`,
    );
  });
}

function readIfPresent(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new CliFailure(`cannot read ${path}: ${(err as NodeJS.ErrnoException).code ?? 'error'}`);
  }
}

function rotate(out: ReturnType<typeof outputFor>, path: string): ExitCode {
  const text = readIfPresent(path);
  if (text === undefined) throw new CliFailure(`${path} does not exist: run \`gatehouse init\` first`);
  const current = parseEnv(text).ASSERTION_KEYS?.trim();
  if (current !== undefined && /[\r\n]/.test(current)) {
    throw new CliFailure(
      `ASSERTION_KEYS in ${path} spans several lines (PEM): add the new key by hand, or write the keys as one-line JWKs`,
    );
  }
  const older = current === undefined || current === '' ? [] : parseOlder(current, path);
  const fresh = generateAssertionKey();
  const value = [fresh, ...older].map(keyToText).join(',');
  const line = envLine('ASSERTION_KEYS', value);
  const updated = LINE.test(text)
    ? text.replace(LINE, () => line)
    : `${text}${text.endsWith('\n') || text === '' ? '' : '\n'}\n# Signs X-Gatehouse-Assertion; the first signs, all are published (docs/assertions.md).\n${line}\n`;

  // Written beside and renamed over: a crash never leaves a half-written file of secrets.
  // The file keeps its permissions (init writes 600; a systemd EnvironmentFile may be 640).
  const mode = statSync(path).mode & 0o777;
  const temporary = `${path}.${process.pid}.tmp`;
  writeFileSync(temporary, updated, { mode: 0o600, flag: 'wx' });
  chmodSync(temporary, mode);
  renameSync(temporary, path);

  const rows = [fresh, ...older].map((key, index) => ({
    kid: key.kid,
    role: index === 0 ? 'signs' : 'published',
  }));
  out.data({ path, keys: rows });
  out.status('ok', `added a new signing key to ${path}`, `kid ${fresh.kid}`);
  if (older.length > 0) out.line(`  ${older.length} older key(s) stay published in the JWKS`);
  out.line('Restart every instance with the new file; remove an old key once it has been retired.');
  return EXIT.ok;
}

function parseOlder(raw: string, path: string): ReturnType<typeof generateAssertionKey>[] {
  const parsed = parseAssertionKeys(raw);
  if (!parsed.ok) throw new CliFailure(`ASSERTION_KEYS in ${path} ${parsed.message}`, EXIT.config);
  return [...parsed.keys];
}
