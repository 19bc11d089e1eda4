/**
 * Where the assertion key comes from, end to end: a development key kept beside the database
 * survives a restart (so an upstream's cached JWKS stays valid), and production without
 * ASSERTION_KEYS issues no assertion at all rather than one nobody can verify.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { startGatehouse } from '../helpers/gatehouse.js';
import { rawRequest, signIn, startRig } from '../security/support/rig.js';

describe('assertion keys at start-up', () => {
  const dirs: string[] = [];
  afterAll(() => {
    for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
  });

  it('keeps a generated key beside the SQLite database, and publishes the same one after a restart', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'gatehouse-devkey-'));
    dirs.push(dir);
    const databaseUrl = `sqlite:${join(dir, 'gatehouse.db')}`;
    const jwksOf = async () => {
      const gh = await startGatehouse({ databaseUrl, env: { NODE_ENV: 'development' } });
      try {
        const res = await rawRequest(`${gh.url}/.well-known/jwks.json`);
        return JSON.parse(res.body) as { keys: { kid: string }[] };
      } finally {
        await gh.close();
      }
    };
    const first = await jwksOf();
    expect(first.keys).toHaveLength(1);
    expect(statSync(join(dir, 'assertion-key.jwk')).mode & 0o777).toBe(0o600);
    expect(await jwksOf()).toEqual(first);
  });

  it('in production without ASSERTION_KEYS: an empty JWKS and no assertion on /auth/verify', async () => {
    const rig = await startRig({
      env: {
        NODE_ENV: 'production',
        SECRET_KEY: randomBytes(32).toString('base64url'),
        JWT_SECRET_KEY: randomBytes(32).toString('base64url'),
      },
    });
    try {
      expect(rig.gh.gatehouse.assertions).toBeUndefined();
      const jwks = await rawRequest(`${rig.url}/.well-known/jwks.json`);
      expect(JSON.parse(jwks.body)).toEqual({ keys: [] });
      const { token } = await signIn(rig);
      const verify = await rawRequest(`${rig.url}/auth/verify`, {
        headers: { authorization: `Bearer ${token}` },
      });
      expect(verify.status).toBe(200);
      expect(verify.headers['x-auth-email']).toEqual(expect.any(String));
      expect(verify.headers['x-gatehouse-assertion']).toBeUndefined();
    } finally {
      await rig.close();
    }
  });
});
