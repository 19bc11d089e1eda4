/**
 * ID-token sign-ins and refreshes per second (docs/native.md): `POST /auth/google` as a native
 * client (JSON `{"id_token", "client": "api"}` → token response) and `POST /auth/token` with the
 * refresh token it returned, each rotation feeding the next. ID tokens are single use, so each
 * sign-in needs its own; they are minted beforehand by the development provider (its
 * `/id-token`, untimed: minting is the provider's cost, not Gatehouse's).
 */
import { median } from './load.js';

const ms = (/** @type {number} */ x) => Math.round(x * 100) / 100;

/** @param {string} url @param {string} path @param {string} contentType @param {string} body */
async function post(url, path, contentType, body) {
  const started = performance.now();
  const response = await fetch(`${url}${path}`, {
    method: 'POST',
    headers: { 'content-type': contentType, accept: 'application/json' },
    body,
  });
  const json = /** @type {{ refresh_token?: string }} */ (await response.json());
  if (response.status !== 200 || typeof json.refresh_token !== 'string') {
    throw new Error(`${path} answered ${response.status}`);
  }
  return { refreshToken: json.refresh_token, ms: performance.now() - started };
}

/**
 * @param {string} url the server @param {string} issuer the development provider
 * @param {string} clientId the audience @param {number} count sign-ins, and refreshes
 */
export async function nativeRates(url, issuer, clientId, count) {
  /** @type {string[]} */
  const idTokens = [];
  for (let i = 0; i < count + 3; i++) {
    const target = new URL(`${issuer}/id-token`);
    target.searchParams.set('email', `native-${i}-${Date.now()}@bench.example`);
    target.searchParams.set('aud', clientId);
    const body = /** @type {{ id_token: string }} */ (await (await fetch(target)).json());
    idTokens.push(body.id_token);
  }
  const signIn = (/** @type {string} */ idToken) =>
    post(url, '/auth/google', 'application/json', JSON.stringify({ id_token: idToken, client: 'api' }));
  const refresh = (/** @type {string} */ token) =>
    post(
      url,
      '/auth/token',
      'application/x-www-form-urlencoded',
      `grant_type=refresh_token&refresh_token=${token}`,
    );

  // Warm-up, not counted: the JWKS fetch and JIT.
  let refreshToken = '';
  for (const idToken of idTokens.splice(0, 3)) refreshToken = (await signIn(idToken)).refreshToken;
  refreshToken = (await refresh(refreshToken)).refreshToken;

  /** @type {number[]} */
  const signInMs = [];
  let t0 = performance.now();
  for (const idToken of idTokens) signInMs.push((await signIn(idToken)).ms);
  const signInSeconds = (performance.now() - t0) / 1000;

  /** @type {number[]} */
  const refreshMs = [];
  t0 = performance.now();
  for (let i = 0; i < count; i++) {
    const r = await refresh(refreshToken);
    refreshToken = r.refreshToken;
    refreshMs.push(r.ms);
  }
  const refreshSeconds = (performance.now() - t0) / 1000;
  return {
    idTokenSignIns: { count, perSecond: ms(count / signInSeconds), p50Ms: ms(median(signInMs)) },
    refreshes: { count, perSecond: ms(count / refreshSeconds), p50Ms: ms(median(refreshMs)) },
  };
}
