/**
 * `gatehouse keys list|rotate|add|promote`: the assertion signing keys (ASSERTION_KEYS).
 *
 * `rotate` adds a new key *first* (it signs from the next start) and keeps every older key
 * published in the JWKS, so assertions signed a moment before the restart still verify, and a
 * verifier holding a cached JWKS refetches on the new `kid` (jose, PyJWT and go-oidc all do —
 * though jose waits out a 30 s cooldown after its last fetch). For no window at all: `add` (the
 * key is published only), restart, wait for the JWKS max-age, `promote KID`, restart. Retire an
 * old key by deleting it from the list once no assertion signed with it can still be alive
 * (5 minutes) and verifiers have refreshed their JWKS.
 */
import { chmodSync, readFileSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { parseEnv } from 'node:util';
import { type AssertionKey, generateAssertionKey, keyToText, parseAssertionKeys } from '../assertion/keys.js';
import { parse, UsageError } from './args.js';
import { CliFailure, loadCliConfig, run } from './context.js';
import { envLine } from './init.js';
import { EXIT, type ExitCode, outputFor } from './output.js';

export const KEYS_USAGE = `Usage: gatehouse keys <list|rotate|add|promote KID> [options]

  list              the assertion signing keys: kid, which one signs, where it comes from
  rotate            add a new key first in ASSERTION_KEYS in .env: it signs from the next
                    start; older keys stay published (remove one by hand once retired)
  add               add a new key last: published only, so verifiers cache it before it signs
  promote KID       move that key first: it signs from the next start

Options:
  --env PATH        the .env file to edit (default ./.env)
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
    if (action === 'list') {
      if (rest.length > 0) throw new UsageError(`unexpected argument: ${rest[0]}`);
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
    const path = resolve(values.env ?? '.env');
    if (action === 'rotate' || action === 'add') {
      if (rest.length > 0) throw new UsageError(`unexpected argument: ${rest[0]}`);
      return edit(out, path, { kind: action });
    }
    if (action === 'promote') {
      const [kid, ...extra] = rest;
      if (kid === undefined) throw new UsageError('name the kid to promote (see `gatehouse keys list`)');
      if (extra.length > 0) throw new UsageError(`unexpected argument: ${extra[0]}`);
      return edit(out, path, { kind: 'promote', kid });
    }
    throw new UsageError(
      action === undefined ? 'name an action: list, rotate, add or promote' : `unknown action: ${action}`,
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

type Edit =
  | { readonly kind: 'rotate' }
  | { readonly kind: 'add' }
  | { readonly kind: 'promote'; readonly kid: string };

/** Rewrites the ASSERTION_KEYS line of `path` (only that line). */
function edit(out: ReturnType<typeof outputFor>, path: string, change: Edit): ExitCode {
  const text = readIfPresent(path);
  if (text === undefined) throw new CliFailure(`${path} does not exist: run \`gatehouse init\` first`);
  const current = parseEnv(text).ASSERTION_KEYS?.trim();
  if (current !== undefined && /[\r\n]/.test(current)) {
    throw new CliFailure(
      `ASSERTION_KEYS in ${path} spans several lines (PEM): edit it by hand, or write the keys as one-line JWKs`,
    );
  }
  const existing = current === undefined || current === '' ? [] : parseOlder(current, path);
  let keys: AssertionKey[];
  let message: string;
  if (change.kind === 'promote') {
    const chosen = existing.find((key) => key.kid === change.kid);
    if (chosen === undefined)
      throw new CliFailure(`no key with kid ${change.kid} in ASSERTION_KEYS in ${path}`);
    keys = [chosen, ...existing.filter((key) => key !== chosen)];
    message = `key ${chosen.kid} signs from the next start`;
  } else {
    const fresh = generateAssertionKey();
    // rotate: the new key signs at once; add: it is only published until promoted, so every
    // verifier's cached JWKS has it before the first assertion it signs (a seamless rotation).
    keys = change.kind === 'rotate' || existing.length === 0 ? [fresh, ...existing] : [...existing, fresh];
    message =
      keys[0] === fresh
        ? `added a new signing key, kid ${fresh.kid}`
        : `added key ${fresh.kid}, published only`;
  }
  const line = envLine('ASSERTION_KEYS', keys.map(keyToText).join(','));
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

  const rows = keys.map((key, index) => ({ kid: key.kid, role: index === 0 ? 'signs' : 'published' }));
  out.data({ path, keys: rows });
  out.status('ok', `${path}: ${message}`);
  out.table(
    ['kid', 'role'],
    rows.map((r) => [r.kid, r.role]),
  );
  out.line('Restart every instance with the new file; remove an old key once it has been retired.');
  return EXIT.ok;
}

function parseOlder(raw: string, path: string): AssertionKey[] {
  const parsed = parseAssertionKeys(raw);
  if (!parsed.ok) throw new CliFailure(`ASSERTION_KEYS in ${path} ${parsed.message}`, EXIT.config);
  return [...parsed.keys];
}
