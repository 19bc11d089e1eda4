import { generateKeyPairSync } from 'node:crypto';
import { chmodSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { calculateJwkThumbprint } from 'jose';
import { afterEach, describe, expect, it } from 'vitest';
import { loadOrCreateDevKey } from '../../../src/assertion/dev-key.js';
import {
  generateAssertionKey,
  keyToText,
  parseAssertionKeys,
  publicJwk,
  splitKeyEntries,
} from '../../../src/assertion/keys.js';
import { summarizeConfig } from '../../../src/config/summary.js';
import { configError, load, PRODUCTION } from '../config/helpers.js';

function ecPem(): { privatePem: string; publicPem: string } {
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  return {
    privatePem: privateKey.export({ format: 'pem', type: 'pkcs8' }).toString(),
    publicPem: publicKey.export({ format: 'pem', type: 'spki' }).toString(),
  };
}

function messageFor(raw: string): string {
  const parsed = parseAssertionKeys(raw);
  if (parsed.ok) throw new Error('expected the keys to be refused');
  return parsed.message;
}

describe('ASSERTION_KEYS', () => {
  it('accepts JWK and PEM keys, comma or newline separated; the kid is the RFC 7638 thumbprint', async () => {
    const a = generateAssertionKey();
    const { privatePem } = ecPem();
    const jwkWithoutKid = JSON.stringify({ ...a.jwk, kid: undefined });
    const parsed = parseAssertionKeys(`${jwkWithoutKid},\n${privatePem}`);
    expect(parsed.ok).toBe(true);
    if (!parsed.ok) return;
    expect(parsed.keys).toHaveLength(2);
    expect(parsed.keys[0]!.kid).toBe(
      await calculateJwkThumbprint({ kty: 'EC', crv: 'P-256', x: a.jwk.x, y: a.jwk.y }),
    );
    expect(parsed.keys[1]!.kid).toMatch(/^[A-Za-z0-9_-]{43}$/);
    // A PEM written on one line with literal \n works as well.
    const oneLine = parseAssertionKeys(privatePem.trim().replaceAll('\n', '\\n'));
    expect(oneLine.ok && oneLine.keys[0]!.kid).toBe(parsed.keys[1]!.kid);
  });

  it("keeps a JWK's own kid", () => {
    const a = generateAssertionKey();
    const parsed = parseAssertionKeys(JSON.stringify({ ...a.jwk, kid: '2026-12' }));
    expect(parsed.ok && parsed.keys[0]!.kid).toBe('2026-12');
  });

  it('refuses a public-only key, an RSA key and a bad PEM, each by name, without echoing key material', () => {
    const a = generateAssertionKey();
    const { publicPem } = ecPem();
    const { d: _d, ...publicOnly } = a.jwk;
    expect(messageFor(JSON.stringify(publicOnly))).toMatch(/public key only/);
    expect(messageFor(publicPem)).toMatch(/public key only/);
    const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey;
    expect(messageFor(rsa.export({ format: 'pem', type: 'pkcs8' }).toString())).toMatch(/is an RSA key/);
    expect(messageFor(rsa.export({ format: 'pem', type: 'pkcs1' }).toString())).toMatch(/is an RSA key/);
    expect(messageFor(JSON.stringify(rsa.export({ format: 'jwk' })))).toMatch(/is an RSA key/);
    const p384 = generateKeyPairSync('ec', { namedCurve: 'P-384' }).privateKey;
    expect(messageFor(p384.export({ format: 'pem', type: 'pkcs8' }).toString())).toMatch(/not an EC P-256/);
    const badPem = '-----BEGIN PRIVATE KEY-----\nbm90IGEga2V5\n-----END PRIVATE KEY-----';
    expect(messageFor(badPem)).toMatch(/not a valid PEM private key/);
    expect(messageFor(JSON.stringify({ ...a.jwk, d: 'AAAA' }))).toMatch(/not a valid EC P-256 private key/);
    const other = generateAssertionKey();
    expect(messageFor(JSON.stringify({ ...a.jwk, d: other.jwk.d }))).toMatch(/do not make a key pair/);
    expect(messageFor(`${keyToText(a)},{"kty":"EC"`)).toMatch(/key 2 is a JWK whose braces do not close/);
    expect(messageFor(' , ')).toMatch(/lists no key/);
    const message = messageFor(`${keyToText(a)},${JSON.stringify(publicOnly)}`);
    expect(message).toMatch(/key 2 of 2 is a public key only/);
    expect(message).not.toContain(a.jwk.d);
  });

  it('lists the same key once, and refuses two keys under one kid', () => {
    const a = generateAssertionKey();
    const b = generateAssertionKey();
    const twice = parseAssertionKeys(`${keyToText(a)},${keyToText(a)}`);
    expect(twice.ok && twice.keys.length).toBe(1);
    expect(messageFor(`${keyToText(a)},${JSON.stringify({ ...b.jwk, kid: a.kid })}`)).toMatch(
      /share the kid/,
    );
  });

  it('splits entries by structure, not by every comma', () => {
    const split = splitKeyEntries('{"a":"x,y","b":"}"} ,\n {"c":1}');
    expect(split).toEqual({ entries: ['{"a":"x,y","b":"}"}', '{"c":1}'] });
  });

  it('publishes public members only', () => {
    const a = generateAssertionKey();
    expect(Object.keys(publicJwk(a)).sort()).toEqual(['alg', 'crv', 'kid', 'kty', 'use', 'x', 'y']);
  });
});

describe('configuration', () => {
  const dirs: string[] = [];
  afterEach(() => {
    for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
  });

  it('reports a bad key as a named configuration problem', () => {
    const error = configError({ ASSERTION_KEYS: '-----BEGIN PUBLIC KEY-----\nAA\n-----END PUBLIC KEY-----' });
    expect(error.problems).toEqual([
      { variable: 'ASSERTION_KEYS', message: expect.stringMatching(/public key only/) },
    ]);
  });

  it('in production without keys: no assertions, and a warning says so', () => {
    const { config, warnings } = load(PRODUCTION);
    expect(config.assertion.keys).toEqual([]);
    expect(config.assertion.devKeyFile).toBeUndefined();
    expect(warnings.join('\n')).toMatch(/ASSERTION_KEYS is not set/);
  });

  it('in development keeps the key beside the SQLite database, or in ./data/', () => {
    const dir = mkdtempSync(join(tmpdir(), 'gatehouse-keys-'));
    dirs.push(dir);
    const file = load({ NODE_ENV: 'development', DATABASE_URL: `sqlite:${join(dir, 'g.db')}` }).config;
    expect(file.assertion.devKeyFile).toBe(join(dir, 'assertion-key.jwk'));
    expect(load({ NODE_ENV: 'development' }).config.assertion.devKeyFile).toBe(
      join('data', 'assertion-key.jwk'),
    );
    const memory = load({ NODE_ENV: 'test', DATABASE_URL: 'sqlite::memory:' }).config;
    expect(memory.assertion.keys).toHaveLength(1);
    const given = generateAssertionKey();
    const set = load({ NODE_ENV: 'development', ASSERTION_KEYS: keyToText(given) }).config;
    expect(set.assertion.keys.map((k) => k.kid)).toEqual([given.kid]);
    expect(set.assertion.devKeyFile).toBeUndefined();
    // The loggable summary names the signing kid, never the key.
    const summary = JSON.stringify(summarizeConfig(set));
    expect(summary).toContain(given.kid);
    expect(summary).not.toContain(given.jwk.d);
  });

  it('generates the development key once, mode 0600, and reads it back after a restart', () => {
    const dir = mkdtempSync(join(tmpdir(), 'gatehouse-keys-'));
    dirs.push(dir);
    const path = join(dir, 'data', 'assertion-key.jwk');
    const first = loadOrCreateDevKey(path);
    expect(first.created).toBe(true);
    expect(statSync(path).mode & 0o777).toBe(0o600);
    const second = loadOrCreateDevKey(path);
    expect(second.created).toBe(false);
    expect(second.key.kid).toBe(first.key.kid);
    expect(readFileSync(path, 'utf8')).toContain(first.key.kid);
    writeFileSync(path, 'garbage');
    expect(() => loadOrCreateDevKey(path)).toThrow(/does not hold one EC P-256 private key .*; delete it/);
    chmodSync(path, 0o600);
  });
});
