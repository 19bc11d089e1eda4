/**
 * Authorization settings (DESIGN.md "Authorization"): BOOTSTRAP_ADMINS, ACCESS_RULES_FILE (read
 * and validated here, so a bad file refuses to start with the line and field of every error —
 * SECURITY.md 60) and the Google Workspace Directory settings.
 */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { type AccessRule, parseRules } from '../authz/rules.js';
import {
  ok,
  type Parsed,
  parseDuration,
  parseEach,
  parseEmail,
  parseEnum,
  parseHttpUrl,
  unique,
} from './parse.js';
import type { EnvReader } from './reader.js';
import type { Config } from './types.js';

const emails = (raw: string): Parsed<string[]> => {
  const parsed = parseEach(raw, parseEmail);
  return parsed.ok ? ok(unique(parsed.value)) : parsed;
};

function readRulesFile(
  reader: EnvReader,
  cwd: string,
): { file: string; rules: readonly AccessRule[] } | undefined {
  const name = reader.raw('ACCESS_RULES_FILE');
  if (name === undefined) return undefined;
  const file = resolve(cwd, name);
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    reader.problem(
      'ACCESS_RULES_FILE',
      `cannot be read (${(err as NodeJS.ErrnoException).code ?? 'error'}): ${file}`,
    );
    return undefined;
  }
  const parsed = parseRules(text);
  if (!parsed.ok) {
    for (const e of parsed.errors)
      reader.problem('ACCESS_RULES_FILE', `${file}:${e.line}: ${e.field}: ${e.message}`);
    return undefined;
  }
  return { file, rules: parsed.rules };
}

export function resolveAuthz(reader: EnvReader, cwd: string): Config['authz'] | undefined {
  const bootstrapAdmins = reader.read('BOOTSTRAP_ADMINS', emails, []);
  const rules = readRulesFile(reader, cwd);
  const mode = reader.read('GOOGLE_GROUPS', (raw) => parseEnum(raw, ['off', 'directory'] as const), 'off');
  const keyFile = reader.raw('GOOGLE_SERVICE_ACCOUNT_FILE');
  const adminEmail = reader.read('GOOGLE_ADMIN_EMAIL', (raw) => parseEmail(raw), undefined);
  const directoryUrl = reader.read(
    'GOOGLE_DIRECTORY_URL',
    (raw) => {
      const url = parseHttpUrl(raw);
      return url.ok ? ok(url.value.href.replace(/\/$/, '')) : url;
    },
    'https://admin.googleapis.com',
  );
  const allowedGroups = reader.read('ALLOWED_GROUPS', emails, []);
  const recheckSeconds = reader.read('DIRECTORY_RECHECK', (raw) => parseDuration(raw), 300);
  const maxStaleSeconds = reader.read('DIRECTORY_MAX_STALE', (raw) => parseDuration(raw), 3600);

  if (mode === 'directory') {
    if (keyFile === undefined)
      reader.problem('GOOGLE_SERVICE_ACCOUNT_FILE', 'is required when GOOGLE_GROUPS=directory');
    if (adminEmail === undefined && !reader.isSet('GOOGLE_ADMIN_EMAIL')) {
      reader.problem(
        'GOOGLE_ADMIN_EMAIL',
        'is required when GOOGLE_GROUPS=directory (the Workspace admin the service account acts as)',
      );
    }
  }
  if (mode === 'off' && allowedGroups !== undefined && allowedGroups.length > 0) {
    reader.problem(
      'ALLOWED_GROUPS',
      'needs GOOGLE_GROUPS=directory: group membership is read from the Directory API',
    );
  }
  if (recheckSeconds !== undefined && maxStaleSeconds !== undefined && maxStaleSeconds < recheckSeconds) {
    reader.problem(
      'DIRECTORY_MAX_STALE',
      `(${maxStaleSeconds}s) must not be shorter than DIRECTORY_RECHECK (${recheckSeconds}s)`,
    );
  }
  if (
    bootstrapAdmins === undefined ||
    mode === undefined ||
    directoryUrl === undefined ||
    allowedGroups === undefined ||
    recheckSeconds === undefined ||
    maxStaleSeconds === undefined ||
    (reader.isSet('ACCESS_RULES_FILE') && rules === undefined)
  ) {
    return undefined;
  }
  const directory =
    mode === 'directory' && keyFile !== undefined && adminEmail !== undefined
      ? {
          serviceAccountFile: resolve(cwd, keyFile),
          adminEmail,
          baseUrl: directoryUrl,
          recheckSeconds,
          maxStaleSeconds,
        }
      : undefined;
  return {
    bootstrapAdmins,
    accessRulesFile: rules?.file,
    accessRules: rules?.rules,
    directory,
    allowedGroups,
  };
}
