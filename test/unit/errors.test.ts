/**
 * Keeps docs/errors.md and the error table (src/errors.ts) in sync. Regenerate the page with
 * `UPDATE_DOCS=1 npx vitest run test/unit/errors.test.ts`.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  ERROR_CODES,
  ERRORS,
  GatehouseError,
  isErrorCode,
  SIGN_IN_REDIRECT_CODES,
} from '../../src/errors.js';
import { problemType } from '../../src/http/problem.js';

const DOC = new URL('../../docs/errors.md', import.meta.url);

function render(): string {
  const rows = ERROR_CODES.map((code) => {
    const e = ERRORS[code];
    return `| \`${code}\` | ${e.status} | ${e.title} | ${e.description} |`;
  });
  return [
    '# Errors',
    '',
    'Every error is an RFC 9457 problem (`Content-Type: application/problem+json`):',
    '',
    '```json',
    '{',
    `  "type": "${problemType('not_authenticated')}",`,
    '  "title": "Not signed in",',
    '  "status": 401,',
    '  "detail": "Sign in first: no session cookie or bearer token was presented.",',
    '  "code": "not_authenticated",',
    '  "request_id": "5f0c…"',
    '}',
    '```',
    '',
    'Switch on `code`: it is stable. `title` and `detail` are for people and may change.',
    'A 401 from an API route is always JSON (never a redirect) and carries `WWW-Authenticate: Bearer`.',
    'Failed browser sign-ins do not show JSON: `/auth` redirects to `FRONTEND_URL?auth_error=CODE`.',
    '`429` and `503` carry `Retry-After`. A `500` body names only the request id; the cause is in the log.',
    '',
    '| code | status | title | when |',
    '|---|---|---|---|',
    ...rows,
    '',
    '<!-- generated from src/errors.ts by test/unit/errors.test.ts; do not edit by hand -->',
    '',
  ].join('\n');
}

describe('error table', () => {
  it('docs/errors.md matches the table', () => {
    const expected = render();
    if (process.env.UPDATE_DOCS === '1') writeFileSync(DOC, expected);
    const actual = readFileSync(DOC, 'utf8');
    expect(actual, 'docs/errors.md is stale: run UPDATE_DOCS=1 npx vitest run test/unit/errors.test.ts').toBe(
      expected,
    );
  });

  it('every code has a 4xx/5xx status and a title', () => {
    for (const code of ERROR_CODES) {
      expect(ERRORS[code].status).toBeGreaterThanOrEqual(400);
      expect(ERRORS[code].status).toBeLessThan(600);
      expect(ERRORS[code].title.length).toBeGreaterThan(0);
    }
  });

  it('GatehouseError carries code, status, detail and cause', () => {
    const cause = new Error('ECONNREFUSED 10.0.0.5:5432');
    const err = new GatehouseError('service_unavailable', 'The database is unavailable', {
      cause,
      retryAfterSeconds: 5,
    });
    expect(err.code).toBe('service_unavailable');
    expect(err.status).toBe(503);
    expect(err.cause).toBe(cause);
    expect(err.detail).not.toContain('10.0.0.5');
    expect(isErrorCode('session_revoked')).toBe(true);
    expect(isErrorCode('toString')).toBe(false);
  });

  it('the demo page explains exactly the codes /auth redirects with', () => {
    const page = readFileSync(new URL('../../web/app.js', import.meta.url), 'utf8');
    const table = /const AUTH_ERRORS = \{\n([\s\S]*?)\n\};/.exec(page)?.[1];
    expect(table, 'web/app.js has no AUTH_ERRORS table').toBeDefined();
    const explained = [...(table ?? '').matchAll(/^ {2}([a-z_]+): \[/gm)].map((m) => m[1]);
    expect(explained.sort()).toEqual([...SIGN_IN_REDIRECT_CODES].sort());
    for (const code of SIGN_IN_REDIRECT_CODES) expect(ERRORS[code].status).toBeLessThan(500);
  });
});
