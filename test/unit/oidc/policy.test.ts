import { describe, expect, it } from 'vitest';
import type { Config } from '../../../src/config/types.js';
import { emailDomain, evaluateSignInPolicy } from '../../../src/oidc/policy.js';

type Policy = Config['policy'];
const policy = (p: Partial<Policy>): Policy => ({ hostedDomains: [], emailDomains: [], emails: [], ...p });

const cases: Array<[string, Partial<Policy>, string, string | null, boolean | string]> = [
  // [name, policy, email, hd, expected: true | rejection reason]
  ['no lists: anyone verified', {}, 'anyone@anywhere.test', null, true],
  ['email domain exact', { emailDomains: ['example.com'] }, 'ada@example.com', null, true],
  ['email domain case-insensitive', { emailDomains: ['example.com'] }, 'Ada@EXAMPLE.COM', null, true],
  [
    'look-alike suffix',
    { emailDomains: ['example.com'] },
    'ada@example.com.evil.com',
    null,
    'email_not_allowed',
  ],
  ['look-alike prefix', { emailDomains: ['example.com'] }, 'ada@evil-example.com', null, 'email_not_allowed'],
  [
    'subdomain is not the domain',
    { emailDomains: ['example.com'] },
    'ada@sub.example.com',
    null,
    'email_not_allowed',
  ],
  ['trailing dot', { emailDomains: ['example.com'] }, 'ada@example.com.', null, 'email_not_allowed'],
  [
    'last @ decides',
    { emailDomains: ['example.com'] },
    '"a@example.com"@evil.com',
    null,
    'email_not_allowed',
  ],
  [
    'domain in local part',
    { emailDomains: ['example.com'] },
    'example.com@evil.com',
    null,
    'email_not_allowed',
  ],
  [
    'Kelvin sign never folds to k',
    { emailDomains: ['kexample.com'] },
    'a@\u212Aexample.com',
    null,
    'email_not_allowed',
  ],
  ['single address exact', { emails: ['ada@example.com'] }, 'ada@example.com', null, true],
  ['single address case', { emails: ['ada@example.com'] }, 'ADA@Example.com', null, true],
  ['other address', { emails: ['ada@example.com'] }, 'bob@example.com', null, 'email_not_allowed'],
  ['address prefix', { emails: ['ada@example.com'] }, 'ada@example.com.evil.com', null, 'email_not_allowed'],
  [
    'address or domain (address)',
    { emails: ['x@other.com'], emailDomains: ['example.com'] },
    'x@other.com',
    null,
    true,
  ],
  [
    'address or domain (domain)',
    { emails: ['x@other.com'], emailDomains: ['example.com'] },
    'y@example.com',
    null,
    true,
  ],
  [
    'address or domain (neither)',
    { emails: ['x@other.com'], emailDomains: ['example.com'] },
    'y@other.com',
    null,
    'email_not_allowed',
  ],
  ['hd exact', { hostedDomains: ['example.com'] }, 'ada@gmail.com', 'example.com', true],
  ['hd case', { hostedDomains: ['example.com'] }, 'ada@example.com', 'Example.COM', true],
  ['hd missing', { hostedDomains: ['example.com'] }, 'ada@example.com', null, 'hosted_domain_not_allowed'],
  [
    'hd look-alike',
    { hostedDomains: ['example.com'] },
    'ada@example.com',
    'example.com.evil.com',
    'hosted_domain_not_allowed',
  ],
  [
    'hd ok but email list fails',
    { hostedDomains: ['example.com'], emails: ['bob@example.com'] },
    'ada@example.com',
    'example.com',
    'email_not_allowed',
  ],
  [
    'hd and email domain both match',
    { hostedDomains: ['example.com'], emailDomains: ['example.com'] },
    'ada@example.com',
    'example.com',
    true,
  ],
  [
    'hd fails even if email domain matches',
    { hostedDomains: ['corp.com'], emailDomains: ['example.com'] },
    'ada@example.com',
    'example.com',
    'hosted_domain_not_allowed',
  ],
];

describe('sign-in policy', () => {
  it.each(cases)('%s', (_name, p, email, hd, expected) => {
    const decision = evaluateSignInPolicy({ email, hostedDomain: hd }, policy(p));
    if (expected === true) {
      expect(decision).toEqual({ allowed: true });
    } else {
      expect(decision).toEqual({ allowed: false, reason: expected });
    }
  });

  it('takes the domain after the last @, lower-cased (ASCII only)', () => {
    expect(emailDomain('a@b@Example.COM')).toBe('example.com');
    expect(emailDomain('no-at-sign')).toBe('');
  });
});
