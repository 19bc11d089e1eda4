#!/usr/bin/env node
/**
 * A small native client of Gatehouse (Node 20, no dependencies): signs in with a Google ID
 * token, calls the API with the access token, refreshes when it expires, signs out.
 *
 *   node gatehouse-client.mjs login  --server URL --email EMAIL   (development provider, offline)
 *   node gatehouse-client.mjs login  --server URL --id-token TOKEN (a token you obtained elsewhere)
 *   node gatehouse-client.mjs login  --server URL --google-client-id ID --google-client-secret S
 *        (Google's sign-in for installed apps: the loopback flow with PKCE; open the printed URL)
 *   node gatehouse-client.mjs me     --server URL
 *   node gatehouse-client.mjs refresh --server URL
 *   node gatehouse-client.mjs logout --server URL
 *
 * The tokens are kept in a file (--state, default ./.gatehouse-client.json, mode 600): the
 * refresh token is a credential. Every refresh rotates it, so the file is rewritten each time;
 * a refresh token used twice (after Gatehouse's short grace window) ends the session.
 */
import { createHash, randomBytes } from 'node:crypto';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { parseArgs } from 'node:util';

const { values, positionals } = parseArgs({
  options: {
    server: { type: 'string', default: 'http://127.0.0.1:8000' },
    email: { type: 'string' },
    'id-token': { type: 'string' },
    client: { type: 'string', default: 'api' },
    'google-client-id': { type: 'string' },
    'google-client-secret': { type: 'string' },
    issuer: { type: 'string', default: 'https://accounts.google.com' },
    state: { type: 'string', default: '.gatehouse-client.json' },
  },
  allowPositionals: true,
});
const server = values.server.replace(/\/$/, '');
const [command] = positionals;

function fail(message) {
  process.stderr.write(`error: ${message}\n`);
  process.exit(1);
}

function load() {
  try {
    return JSON.parse(readFileSync(values.state, 'utf8'));
  } catch {
    return fail(`not signed in (no ${values.state}); run login first`);
  }
}

function save(tokens) {
  const state = {
    access_token: tokens.access_token,
    refresh_token: tokens.refresh_token,
    session_id: tokens.session_id,
    // A little early, so a request never leaves with a token about to expire.
    expires_at: Date.now() + Math.max(0, tokens.expires_in - 1) * 1000,
  };
  writeFileSync(values.state, `${JSON.stringify(state, null, 2)}\n`, { mode: 0o600 });
  return state;
}

async function json(response) {
  const text = await response.text();
  try {
    return JSON.parse(text);
  } catch {
    return { detail: text };
  }
}

/** An ID token from the development provider, bound to a Gatehouse nonce. */
async function devIdToken(email) {
  const nonce = await json(await fetch(`${server}/auth/nonce`));
  const url = new URL(`${server}/dev-idp/id-token`);
  url.searchParams.set('email', email);
  url.searchParams.set('nonce', nonce.nonce);
  const response = await fetch(url);
  const body = await json(response);
  if (!response.ok) fail(`the development provider refused: ${body.error_description ?? response.status}`);
  return { idToken: body.id_token, nonce: nonce.nonce };
}

/**
 * Google's OAuth flow for installed apps (a "Desktop app" client): the browser signs in and
 * returns to a one-shot server on 127.0.0.1 (RFC 8252 §7.3), the code is exchanged with PKCE
 * (RFC 7636), and the ID token — bound to a Gatehouse nonce — is what is sent to Gatehouse.
 * The client secret of a desktop client is not a secret (Google says so); PKCE protects the code.
 */
async function installedAppIdToken() {
  const clientId = values['google-client-id'];
  const clientSecret = values['google-client-secret'] ?? '';
  const issuer = values.issuer.replace(/\/$/, '');
  const discovery = await json(await fetch(`${issuer}/.well-known/openid-configuration`));
  const { nonce } = await json(await fetch(`${server}/auth/nonce`));
  const state = randomBytes(32).toString('base64url');
  const verifier = randomBytes(32).toString('base64url');
  const challenge = createHash('sha256').update(verifier).digest('base64url');

  const callback = new Promise((resolve, reject) => {
    const loopback = createServer((req, res) => {
      const url = new URL(req.url ?? '/', 'http://127.0.0.1');
      if (url.pathname !== '/callback') {
        res.writeHead(404).end();
        return;
      }
      res.writeHead(200, { 'content-type': 'text/plain; charset=utf-8' });
      res.end('Signed in. You can close this window and return to the terminal.\n');
      loopback.close();
      if (url.searchParams.get('state') !== state) reject(new Error('state mismatch'));
      else if (!url.searchParams.get('code')) reject(new Error(url.searchParams.get('error') ?? 'no code'));
      else resolve({ code: url.searchParams.get('code'), redirectUri: loopback.redirectUri });
    });
    loopback.listen(0, '127.0.0.1', () => {
      loopback.redirectUri = `http://127.0.0.1:${loopback.address().port}/callback`;
      const auth = new URL(discovery.authorization_endpoint);
      auth.search = new URLSearchParams({
        client_id: clientId,
        redirect_uri: loopback.redirectUri,
        response_type: 'code',
        scope: 'openid email profile',
        state,
        nonce,
        code_challenge: challenge,
        code_challenge_method: 'S256',
      }).toString();
      process.stderr.write(`Open this URL to sign in:\n${auth.href}\n`);
    });
  });
  const { code, redirectUri } = await callback;
  const basic = Buffer.from(`${encodeURIComponent(clientId)}:${encodeURIComponent(clientSecret)}`).toString(
    'base64',
  );
  const response = await fetch(discovery.token_endpoint, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: `Basic ${basic}` },
    body: new URLSearchParams({
      grant_type: 'authorization_code',
      code,
      redirect_uri: redirectUri,
      code_verifier: verifier,
    }),
  });
  const tokens = await json(response);
  if (response.status !== 200 || typeof tokens.id_token !== 'string')
    fail(`the token endpoint answered ${response.status}`);
  // Gatehouse verifies the ID token itself (signature, issuer, audience, nonce): no need to here.
  return { idToken: tokens.id_token, nonce };
}

async function login() {
  let idToken = values['id-token'];
  let nonce;
  if (idToken === undefined && values['google-client-id'] !== undefined) {
    ({ idToken, nonce } = await installedAppIdToken());
  } else if (idToken === undefined) {
    if (values.email === undefined) {
      fail('login needs --email (development provider), --google-client-id (Google) or --id-token');
    }
    ({ idToken, nonce } = await devIdToken(values.email));
  }
  const response = await fetch(`${server}/auth/google`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: 'application/json' },
    body: JSON.stringify({ id_token: idToken, client: values.client, ...(nonce ? { nonce } : {}) }),
  });
  const body = await json(response);
  if (response.status !== 200) fail(`sign-in refused: ${body.code ?? response.status} ${body.detail ?? ''}`);
  const state = save(body);
  process.stdout.write(`signed in: session ${state.session_id}\n`);
}

async function refresh(state) {
  const response = await fetch(`${server}/auth/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ grant_type: 'refresh_token', refresh_token: state.refresh_token }),
  });
  const body = await json(response);
  if (response.status !== 200) {
    rmSync(values.state, { force: true });
    fail(`refresh refused: ${body.error ?? response.status}; sign in again`);
  }
  process.stderr.write('refreshed the access token\n');
  return save(body);
}

async function me() {
  let state = load();
  if (Date.now() >= state.expires_at) state = await refresh(state);
  let response = await fetch(`${server}/me`, { headers: { authorization: `Bearer ${state.access_token}` } });
  if (response.status === 401) {
    // Expired or revoked after all: one refresh, one retry.
    state = await refresh(state);
    response = await fetch(`${server}/me`, { headers: { authorization: `Bearer ${state.access_token}` } });
  }
  const body = await json(response);
  if (response.status !== 200) fail(`/me answered ${response.status} ${body.code ?? ''}`);
  process.stdout.write(`${JSON.stringify(body)}\n`);
}

async function logout() {
  const state = load();
  // RFC 7009: revoking the refresh token ends the whole session.
  const response = await fetch(`${server}/auth/revoke`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ token: state.refresh_token, token_type_hint: 'refresh_token' }),
  });
  rmSync(values.state, { force: true });
  if (response.status !== 200) fail(`revocation answered ${response.status}`);
  process.stdout.write('signed out\n');
}

const commands = { login, me, logout, refresh: async () => void (await refresh(load())) };
if (!Object.hasOwn(commands, command ?? ''))
  fail('usage: gatehouse-client.mjs login|me|refresh|logout [--server URL]');
await commands[command]();
