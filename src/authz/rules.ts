/**
 * Access rules (DESIGN.md "Authorization"; SECURITY.md 60): an ordered list, first match wins.
 *
 *   [{ "path": "/status", "public": true },
 *    { "path": "/admin/**", "methods": ["POST"], "allow": { "roles": ["admin"] } },
 *    { "path": "/reports/*", "allow": { "groups": ["finance@example.com"], "domains": ["example.com"] } }]
 *
 * - `path` is a glob on the normalised path (path.ts): `*` is one whole segment, `**` any number
 *   of segments (none included: `/admin/**` also covers `/admin`). Other characters are literal.
 *   Restrictive rules match case-insensitively (an upstream that ignores case must not see
 *   `/ADMIN` slip past an `/admin/**` rule); `public` rules match only the exact case (so `/Status`
 *   is not made public by a `/status` rule).
 * - `methods` (optional) limits the rule to those methods; `GET` also covers `HEAD`.
 * - `public: true` — no session needed. `allow` — signed in, and any one of the listed roles,
 *   groups, emails or email domains. Neither — any signed-in user.
 * - No rule matches: any signed-in user.
 *
 * Files are validated completely at start; every error names its line and field. A decision is
 * a loop over precompiled regular expressions: no database, no allocation.
 */
import { JsonSyntaxError, parseJsonWithLines } from './json-lines.js';
import { isRoleName } from './roles.js';

export interface AllowSpec {
  readonly roles: readonly string[];
  readonly groups: readonly string[];
  readonly emails: readonly string[];
  readonly domains: readonly string[];
}

/** One validated rule, as written (lower-cased where matching ignores case). */
export interface AccessRule {
  /** 0-based position in the file. */
  readonly index: number;
  /** Line of the rule in the file. */
  readonly line: number;
  readonly path: string;
  readonly methods: readonly string[] | null;
  readonly public: boolean;
  readonly allow: AllowSpec | null;
}

export interface RuleError {
  readonly line: number;
  /** JSON pointer-like field name, e.g. `[2].allow.roles[0]`. */
  readonly field: string;
  readonly message: string;
}

export type ParsedRules =
  | { readonly ok: true; readonly rules: readonly AccessRule[] }
  | { readonly ok: false; readonly errors: readonly RuleError[] };

const METHOD = /^[A-Z]{1,20}$/;
const KNOWN_METHODS = new Set([
  'GET',
  'HEAD',
  'POST',
  'PUT',
  'PATCH',
  'DELETE',
  'OPTIONS',
  'CONNECT',
  'TRACE',
]);
const RULE_KEYS = new Set(['path', 'methods', 'public', 'allow', 'comment']);
const ALLOW_KEYS = ['roles', 'groups', 'emails', 'domains'] as const;
const EMAIL = /^[^\s@]+@[a-z0-9](?:[a-z0-9.-]*[a-z0-9])?$/;
const DOMAIN = /^[a-z0-9](?:[a-z0-9-]*[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]*[a-z0-9])?)*$/;
const PATH_SEGMENT = /^[A-Za-z0-9\-._~!$&'()+,;=:@%]*$/;

function fieldName(pointer: string): string {
  return pointer
    .split('/')
    .slice(1)
    .map((part, i) => (/^\d+$/.test(part) ? `[${part}]` : `${i === 0 ? '' : '.'}${part}`))
    .join('');
}

/** Parses and validates a rule file's text; every error with its line and field. */
export function parseRules(text: string): ParsedRules {
  let parsed: ReturnType<typeof parseJsonWithLines>;
  try {
    parsed = parseJsonWithLines(text);
  } catch (err) {
    if (err instanceof JsonSyntaxError) {
      return {
        ok: false,
        errors: [{ line: err.line, field: '(file)', message: `not valid JSON: ${err.message}` }],
      };
    }
    throw err;
  }
  const { value, lines } = parsed;
  const errors: RuleError[] = [];
  const error = (pointer: string, message: string): void => {
    errors.push({ line: lines.get(pointer) ?? 1, field: fieldName(pointer) || '(file)', message });
  };
  if (!Array.isArray(value)) {
    error('', 'must be a JSON array of rules');
    return { ok: false, errors };
  }
  const rules: AccessRule[] = [];
  value.forEach((raw: unknown, index) => {
    const at = `/${index}`;
    if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
      error(at, 'a rule must be an object with "path"');
      return;
    }
    const rule = raw as Record<string, unknown>;
    let valid = true;
    const bad = (pointer: string, message: string): void => {
      valid = false;
      error(pointer, message);
    };
    for (const key of Object.keys(rule)) {
      if (!RULE_KEYS.has(key)) bad(`${at}/${key}`, `unknown field (expected path, methods, public, allow)`);
    }
    const path = rule.path;
    if (typeof path !== 'string')
      bad(rule.path === undefined ? at : `${at}/path`, '"path" is required and must be a string');
    else {
      const problem = checkGlob(path);
      if (problem !== undefined) bad(`${at}/path`, problem);
    }
    let methods: string[] | null = null;
    if (rule.methods !== undefined) {
      if (!Array.isArray(rule.methods) || rule.methods.length === 0) {
        bad(`${at}/methods`, 'must be a non-empty array of HTTP methods, e.g. ["GET", "POST"]');
      } else {
        methods = [];
        rule.methods.forEach((m: unknown, j) => {
          if (typeof m !== 'string' || !METHOD.test(m) || !KNOWN_METHODS.has(m)) {
            bad(`${at}/methods/${j}`, 'must be an upper-case HTTP method such as "GET"');
          } else methods?.push(m);
        });
      }
    }
    if (rule.public !== undefined && rule.public !== true) bad(`${at}/public`, 'must be true (or left out)');
    if (rule.comment !== undefined && typeof rule.comment !== 'string')
      bad(`${at}/comment`, 'must be a string');
    let allow: AllowSpec | null = null;
    if (rule.allow !== undefined) {
      if (rule.public === true) bad(`${at}/allow`, 'a public rule cannot also have "allow"');
      allow = checkAllow(rule.allow, `${at}/allow`, bad);
    }
    if (valid && typeof path === 'string') {
      rules.push({
        index,
        line: lines.get(at) ?? 1,
        path,
        methods,
        public: rule.public === true,
        allow,
      });
    }
  });
  return errors.length > 0 ? { ok: false, errors } : { ok: true, rules };
}

function checkGlob(path: string): string | undefined {
  if (path.length === 0 || path[0] !== '/') return 'must start with "/"';
  if (path.length > 1024) return 'is longer than 1024 characters';
  const segments = path.split('/').slice(1);
  for (const [i, seg] of segments.entries()) {
    if (seg === '.' || seg === '..')
      return 'must not contain "." or ".." segments (paths are normalised first)';
    if (seg === '' && i !== segments.length - 1) return 'must not contain "//"';
    if (seg === '*' || seg === '**') continue;
    if (seg.includes('*')) return `"*" and "**" must be whole segments ("${seg}")`;
    if (!PATH_SEGMENT.test(seg) || /%(?![0-9A-Fa-f]{2})/.test(seg))
      return `segment "${seg}" has a character that is not allowed in a path`;
    if (/%(2f|5c|00)/i.test(seg)) return 'must not contain %2F, %5C or %00 (such paths are refused)';
  }
  return undefined;
}

function checkEntry(key: (typeof ALLOW_KEYS)[number], entry: unknown): string | undefined {
  if (typeof entry !== 'string') return 'must be a string';
  const lower = entry.trim().toLowerCase();
  if (key === 'roles') return isRoleName(entry) ? undefined : 'is not a role name ([a-z][a-z0-9_-]{0,63})';
  if (key === 'domains') {
    return DOMAIN.test(lower) && lower.length <= 253
      ? undefined
      : 'must be a domain name such as example.com';
  }
  return EMAIL.test(lower) ? undefined : 'must be an email address';
}

function checkAllow(
  raw: unknown,
  at: string,
  bad: (pointer: string, message: string) => void,
): AllowSpec | null {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
    bad(at, 'must be an object with roles, groups, emails and/or domains');
    return null;
  }
  const spec = raw as Record<string, unknown>;
  for (const key of Object.keys(spec)) {
    if (!(ALLOW_KEYS as readonly string[]).includes(key))
      bad(`${at}/${key}`, 'unknown field (expected roles, groups, emails, domains)');
  }
  const out: Record<(typeof ALLOW_KEYS)[number], string[]> = {
    roles: [],
    groups: [],
    emails: [],
    domains: [],
  };
  for (const key of ALLOW_KEYS) {
    const list = spec[key];
    if (list === undefined) continue;
    if (!Array.isArray(list)) {
      bad(`${at}/${key}`, 'must be an array of strings');
      continue;
    }
    for (const [j, entry] of (list as unknown[]).entries()) {
      const problem = checkEntry(key, entry);
      if (problem !== undefined) bad(`${at}/${key}/${j}`, problem);
      else out[key].push((entry as string).trim().toLowerCase());
    }
  }
  if (
    ALLOW_KEYS.every((key) => spec[key] === undefined || (Array.isArray(spec[key]) && spec[key].length === 0))
  ) {
    bad(
      at,
      'names nobody: list at least one role, group, email or domain (leave "allow" out for any signed-in user)',
    );
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Compiled rules and decisions

/** Who is asking, as far as rules care. */
export interface RuleSubject {
  readonly email: string;
  readonly roles: readonly string[];
  readonly groups: readonly string[];
}

export interface CompiledRule {
  readonly rule: AccessRule;
  readonly pattern: RegExp;
  readonly methods: ReadonlySet<string> | null;
  readonly roles: ReadonlySet<string>;
  readonly groups: ReadonlySet<string>;
  readonly emails: ReadonlySet<string>;
  readonly domains: ReadonlySet<string>;
}

export interface CompiledRules {
  readonly rules: readonly CompiledRule[];
}

export type Decision =
  | { readonly kind: 'public'; readonly rule: AccessRule }
  | { readonly kind: 'allow'; readonly rule: AccessRule | null }
  | { readonly kind: 'deny'; readonly rule: AccessRule }
  | { readonly kind: 'signin'; readonly rule: AccessRule | null };

const escapeRegExp = (s: string): string => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

export function globToRegExp(glob: string, caseSensitive: boolean): RegExp {
  const segments = glob.split('/').slice(1);
  let source = '';
  for (const seg of segments) {
    if (seg === '**') source += '(?:/.*)?';
    else if (seg === '*') source += '/[^/]+';
    else source += `/${escapeRegExp(seg)}`;
  }
  // `/**` alone covers every path, `/` included.
  if (source === '(?:/.*)?') source = '/.*';
  return new RegExp(`^${source}$`, caseSensitive ? 's' : 'is');
}

export function compileRules(rules: readonly AccessRule[]): CompiledRules {
  return {
    rules: rules.map((rule) => {
      const methods = rule.methods === null ? null : new Set(rule.methods);
      if (methods?.has('GET')) methods.add('HEAD');
      return {
        rule,
        pattern: globToRegExp(rule.path, rule.public),
        methods,
        roles: new Set(rule.allow?.roles ?? []),
        groups: new Set(rule.allow?.groups ?? []),
        emails: new Set(rule.allow?.emails ?? []),
        domains: new Set(rule.allow?.domains ?? []),
      };
    }),
  };
}

const DEFAULT_ALLOW: Decision = Object.freeze({ kind: 'allow', rule: null });
const DEFAULT_SIGNIN: Decision = Object.freeze({ kind: 'signin', rule: null });

function allows(c: CompiledRule, user: RuleSubject): boolean {
  for (const role of user.roles) if (c.roles.has(role)) return true;
  for (const group of user.groups) if (c.groups.has(group)) return true;
  if (c.emails.size > 0 || c.domains.size > 0) {
    const email = user.email.toLowerCase();
    if (c.emails.has(email)) return true;
    if (c.domains.has(email.slice(email.lastIndexOf('@') + 1))) return true;
  }
  return false;
}

/**
 * The decision for one request: `path` must already be normalised (normalisePath). `user` is
 * null when no valid session was presented. No database, no I/O: safe to call on every request.
 */
export function decide(
  rules: CompiledRules,
  request: { readonly method: string; readonly path: string },
  user: RuleSubject | null,
): Decision {
  for (const c of rules.rules) {
    if (c.methods !== null && !c.methods.has(request.method)) continue;
    if (!c.pattern.test(request.path)) continue;
    if (c.rule.public) return { kind: 'public', rule: c.rule };
    if (user === null) return { kind: 'signin', rule: c.rule };
    if (c.rule.allow === null || allows(c, user)) return { kind: 'allow', rule: c.rule };
    return { kind: 'deny', rule: c.rule };
  }
  return user === null ? DEFAULT_SIGNIN : DEFAULT_ALLOW;
}

/** A one-line description of a rule for logs, `gatehouse rules explain` and docs. */
export function describeRule(rule: AccessRule | null): string {
  if (rule === null) return 'no rule matched: any signed-in user (the default)';
  const methods = rule.methods === null ? 'any method' : rule.methods.join(',');
  const who = rule.public
    ? 'public'
    : rule.allow === null
      ? 'any signed-in user'
      : ALLOW_KEYS.filter((k) => (rule.allow?.[k].length ?? 0) > 0)
          .map((k) => `${k}: ${rule.allow?.[k].join(', ')}`)
          .join('; ');
  return `rule #${rule.index + 1} (line ${rule.line}): ${rule.path} [${methods}] → ${who}`;
}
