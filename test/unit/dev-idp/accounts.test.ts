import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import {
  avatarFor,
  initialsFor,
  isValidEmail,
  ProfileStore,
  profileFor,
  subjectForEmail,
} from '../../../src/dev-idp/accounts.js';

describe('development provider accounts', () => {
  it("derives sub = 'dev-' + base64url(sha256(lower-cased email)) cut to 22 characters", () => {
    const expected = `dev-${createHash('sha256').update('ann@example.com').digest('base64url').slice(0, 22)}`;
    expect(subjectForEmail('Ann@Example.COM')).toBe(expected);
    expect(subjectForEmail('ann@example.com')).toBe(expected);
    expect(subjectForEmail('ann@example.org')).not.toBe(expected);
    expect(expected).toHaveLength(26);
  });

  it('accepts what a browser type=email field accepts, up to 320 characters', () => {
    for (const ok of ['a@b', 'first.last+tag@example.co.uk', "o'brien@example.com", 'x@localhost']) {
      expect(isValidEmail(ok), ok).toBe(true);
    }
    for (const bad of [
      '',
      'plain',
      '@example.com',
      'a@',
      'a b@example.com',
      'a@exa mple.com',
      'a@-x.com',
      '<a>@b.c',
      'a@b@c',
    ]) {
      expect(isValidEmail(bad), bad).toBe(false);
    }
    const domain = ['b', 'c', 'd', 'e'].map((l) => l.repeat(63)).join('.');
    const at320 = `${'a'.repeat(320 - domain.length - 1)}@${domain}`;
    expect(at320).toHaveLength(320);
    expect(isValidEmail(at320)).toBe(true);
    expect(isValidEmail(`a${at320}`)).toBe(false);
  });

  it('makes initials from the name, else from the email', () => {
    expect(initialsFor('Ada Lovelace', 'x@y.z')).toBe('AL');
    expect(initialsFor('ada king lovelace', 'x@y.z')).toBe('AK');
    expect(initialsFor(null, 'grace.hopper@navy.mil')).toBe('GH');
    expect(initialsFor('   ', 'q@x.y')).toBe('Q');
    expect(initialsFor('😀 smile', 'q@x.y')).toBe('😀S');
  });

  it('builds an SVG data URI avatar with the initials XML-escaped', () => {
    const uri = avatarFor('dev-abc', '"& <b>', 'x@y.z');
    const svg = Buffer.from(uri.replace(/^data:image\/svg\+xml;base64,/, ''), 'base64').toString('utf8');
    expect(svg).toContain('>&#34;&#60;</text>');
    expect(svg).not.toMatch(/<b>/);
    expect(avatarFor('dev-abc', 'A', 'x@y.z')).toBe(avatarFor('dev-abc', 'A', 'x@y.z'));
  });

  it('keeps the latest profile per subject, bounded', () => {
    const store = new ProfileStore(2);
    store.save(profileFor('a@x.y', 'A'));
    store.save(profileFor('a@x.y', 'A2'));
    store.save(profileFor('b@x.y', null));
    store.save(profileFor('c@x.y', 'C'));
    expect(store.get(subjectForEmail('a@x.y'))).toBeUndefined();
    expect(store.get(subjectForEmail('b@x.y'))?.name).toBeNull();
    expect(store.get(subjectForEmail('c@x.y'))?.email).toBe('c@x.y');
  });
});
