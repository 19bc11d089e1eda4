/** Access rules, the path normaliser and the token's roles/groups claims. */
import { describe, expect, it } from 'vitest';
import { groupsDigest } from '../../../src/authz/group-cache.js';
import { normalisePath } from '../../../src/authz/path.js';
import { compileRules, decide, describeRule, parseRules } from '../../../src/authz/rules.js';
import { TokenCodec } from '../../../src/session/token.js';

const compiled = (rules: unknown) => {
  const parsed = parseRules(JSON.stringify(rules));
  if (!parsed.ok) throw new Error(JSON.stringify(parsed.errors));
  return compileRules(parsed.rules);
};

describe('normalisePath', () => {
  it.each([
    ['/a/b/../c', '/a/c'],
    ['/a/./b', '/a/b'],
    ['/../../a', '/a'],
    ['/a/b/..', '/a/'],
    ['//a///b', '/a/b'],
    ['/a/b/?q=1#f', '/a/b/'],
    ['/%61dmin', '/admin'],
    ['/caf%c3%a9', '/caf%C3%A9'],
    ['/a%2e%2e/b', '/a../b'],
    ['/%2e%2e/admin', '/admin'],
  ])('%s → %s', (input, output) => {
    expect(normalisePath(input)).toEqual({ ok: true, path: output });
  });

  it.each([
    ['/a%2Fb', 'encoded_separator'],
    ['/a%2fb', 'encoded_separator'],
    ['/a%5Cb', 'encoded_separator'],
    ['/a%00', 'encoded_separator'],
    ['/a\\b', 'backslash'],
    ['/a%zz', 'bad_escape'],
    ['/a%2', 'bad_escape'],
    ['a/b', 'not_absolute'],
    ['/a b', 'control_character'],
    ['', 'empty'],
  ])('refuses %j (%s)', (input, reason) => {
    expect(normalisePath(input)).toEqual({ ok: false, reason });
  });
});

describe('rules', () => {
  const rules = compiled([
    { path: '/', public: true },
    { path: '/health/*', public: true },
    { path: '/admin/**', allow: { roles: ['admin'] } },
    { path: '/a/*/c', methods: ['GET'], allow: { groups: ['g@example.com'] } },
    { path: '/signed', comment: 'any signed-in user' },
    { path: '/**', methods: ['DELETE'], allow: { emails: ['root@example.com'] } },
  ]);
  const anyone = { email: 'x@example.com', roles: [], groups: [] };

  it('matches * as one segment and ** as any depth (none included)', () => {
    expect(decide(rules, { method: 'GET', path: '/' }, null).kind).toBe('public');
    expect(decide(rules, { method: 'GET', path: '/health/live' }, null).kind).toBe('public');
    expect(decide(rules, { method: 'GET', path: '/health/live/x' }, null).kind).toBe('signin');
    expect(decide(rules, { method: 'GET', path: '/health' }, null).kind).toBe('signin');
    for (const path of ['/admin', '/admin/', '/admin/x/y/z']) {
      expect(decide(rules, { method: 'GET', path }, anyone).kind, path).toBe('deny');
      expect(decide(rules, { method: 'GET', path }, { ...anyone, roles: ['admin'] }).kind).toBe('allow');
    }
    expect(decide(rules, { method: 'GET', path: '/administrator' }, anyone)).toEqual({
      kind: 'allow',
      rule: null,
    });
  });

  it('honours methods (GET covers HEAD), groups, emails and the default', () => {
    const member = { ...anyone, groups: ['g@example.com'] };
    expect(decide(rules, { method: 'GET', path: '/a/b/c' }, anyone).kind).toBe('deny');
    expect(decide(rules, { method: 'HEAD', path: '/a/b/c' }, anyone).kind).toBe('deny');
    expect(decide(rules, { method: 'GET', path: '/a/b/c' }, member).kind).toBe('allow');
    expect(decide(rules, { method: 'POST', path: '/a/b/c' }, anyone)).toEqual({ kind: 'allow', rule: null });
    expect(decide(rules, { method: 'DELETE', path: '/x' }, anyone).kind).toBe('deny');
    expect(
      decide(rules, { method: 'DELETE', path: '/x' }, { ...anyone, email: 'ROOT@example.com' }).kind,
    ).toBe('allow');
    expect(decide(rules, { method: 'GET', path: '/signed' }, anyone).rule?.path).toBe('/signed');
    expect(decide(rules, { method: 'GET', path: '/signed' }, null).kind).toBe('signin');
  });

  it('describes the rule a request hits', () => {
    const d = decide(rules, { method: 'GET', path: '/admin/x' }, anyone);
    expect(describeRule(d.rule)).toBe('rule #3 (line 1): /admin/** [any method] → roles: admin');
    expect(describeRule(null)).toContain('any signed-in user');
  });
});

describe('session token: roles and groups claims', () => {
  const codec = new TokenCodec(['unit-test-key-0123456789abcdef0123456789abcdef']);
  const base = { sub: 'u1', sid: 's1', email: 'a@example.com', iat: Math.floor(Date.now() / 1000) };

  it('round-trips roles and groups, and refuses malformed ones', async () => {
    const token = await codec.sign({
      ...base,
      exp: base.iat + 60,
      roles: ['admin', 'ops'],
      groups: ['g@example.com'],
    });
    const result = codec.verify(token);
    expect(result.ok && result.claims).toMatchObject({ roles: ['admin', 'ops'], groups: ['g@example.com'] });
    expect(() => codec.sign({ ...base, exp: base.iat + 60, roles: ['Admin'] })).toThrow(TypeError);
    const none = await codec.sign({ ...base, exp: base.iat + 60, roles: [] });
    expect(JSON.parse(Buffer.from(none.split('.')[1]!, 'base64url').toString())).not.toHaveProperty('roles');
  });

  it('keeps a token with a 200-group digest far under 4 KB', async () => {
    const groups = Array.from({ length: 200 }, (_, i) => `engineering-team-${i}@example.com`);
    const token = await codec.sign({
      ...base,
      exp: base.iat + 60,
      roles: ['admin'],
      gh: groupsDigest(groups),
    });
    expect(token.length).toBeLessThan(600);
  });
});
