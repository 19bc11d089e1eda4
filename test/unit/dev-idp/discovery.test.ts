import { Writable } from 'node:stream';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type StartedDevIdp, startDevIdp } from '../../helpers/dev-idp.js';

const REDIRECT_URI = 'http://127.0.0.1:9/auth';
const logLines: Record<string, unknown>[] = [];
let idp: StartedDevIdp;

beforeAll(async () => {
  const destination = new Writable({
    write(chunk: Buffer, _encoding, done) {
      for (const line of chunk.toString('utf8').split('\n')) if (line) logLines.push(JSON.parse(line));
      done();
    },
  });
  idp = await startDevIdp({ host: 'localhost', redirectUris: [REDIRECT_URI], logger: pino(destination) });
});

afterAll(async () => {
  await idp?.close();
});

async function discovery(
  url = `${idp.issuer}/.well-known/openid-configuration`,
  headers: Record<string, string> = {},
) {
  const response = await fetch(url, { headers });
  expect(response.status).toBe(200);
  return (await response.json()) as Record<string, unknown>;
}

describe('development provider discovery', () => {
  it('advertises the issuer and every endpoint under the mount path', async () => {
    const doc = await discovery();
    expect(doc.issuer).toBe(idp.issuer);
    expect(new URL(idp.issuer).pathname).toBe('/dev-idp');
    for (const key of ['authorization_endpoint', 'token_endpoint', 'userinfo_endpoint', 'jwks_uri']) {
      expect(doc[key], key).toEqual(expect.stringMatching(new RegExp(`^${idp.issuer}/[a-z]`)));
    }
    expect(doc.registration_endpoint).toBeUndefined();
    expect(doc.end_session_endpoint).toBeUndefined();
  });

  it('advertises what Gatehouse relies on: code + PKCE S256, RFC 9207 iss, RS256, the three scopes', async () => {
    const doc = await discovery();
    expect(doc.code_challenge_methods_supported).toEqual(['S256']);
    expect(doc.authorization_response_iss_parameter_supported).toBe(true);
    expect(doc.response_types_supported).toEqual(['code']);
    expect(doc.grant_types_supported).toEqual(['authorization_code']);
    expect(doc.id_token_signing_alg_values_supported).toEqual(['RS256']);
    expect(doc.scopes_supported).toEqual(expect.arrayContaining(['openid', 'email', 'profile']));
    expect(doc.claims_supported).toEqual(
      expect.arrayContaining(['sub', 'email', 'email_verified', 'name', 'picture']),
    );
    expect(doc.token_endpoint_auth_methods_supported).toEqual(
      expect.arrayContaining(['client_secret_basic', 'client_secret_post']),
    );
  });

  it('builds URLs from the issuer, not from the Host or X-Forwarded-* of the request', async () => {
    const port = new URL(idp.issuer).port;
    const doc = await discovery(`http://127.0.0.1:${port}/dev-idp/.well-known/openid-configuration`, {
      'x-forwarded-host': 'evil.example',
      'x-forwarded-proto': 'https',
    });
    expect(doc.issuer).toBe(idp.issuer);
    expect(doc.authorization_endpoint).toBe(`${idp.issuer}/auth`);
    expect(doc.token_endpoint).toBe(`${idp.issuer}/token`);
  });

  it('publishes one public RS256 signing key', async () => {
    const doc = await discovery();
    const jwks = (await (await fetch(String(doc.jwks_uri))).json()) as { keys: Record<string, unknown>[] };
    expect(jwks.keys).toHaveLength(1);
    const [key] = jwks.keys;
    expect(key).toMatchObject({ kty: 'RSA', alg: 'RS256', use: 'sig' });
    expect(typeof key?.kid).toBe('string');
    for (const secret of ['d', 'p', 'q', 'dp', 'dq', 'qi']) expect(key, secret).not.toHaveProperty(secret);
  });

  it('logs one info line at start naming the issuer and the development provider', () => {
    const started = logLines.filter((l) => l.issuer === idp.issuer);
    expect(started).toHaveLength(1);
    expect(started[0]?.level).toBe(30);
    expect(String(started[0]?.msg)).toMatch(/development OpenID provider/);
    expect(String(started[0]?.msg)).toMatch(/never used in production/);
  });

  it('answers 404 for paths outside its mount path', async () => {
    const port = new URL(idp.issuer).port;
    const response = await fetch(`http://127.0.0.1:${port}/other/.well-known/openid-configuration`);
    expect(response.status).toBe(404);
  });
});
