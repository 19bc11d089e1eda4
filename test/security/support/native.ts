/**
 * Helpers for section L (ID-token sign-in and refresh tokens): mint Google-shaped ID tokens with
 * the hostile provider's keys, post them to /auth/google, and read the answers.
 */
import { createHmac } from 'node:crypto';
import { base64url } from 'jose';
import type { HostileProvider, ProviderKey } from '../../helpers/hostile-provider.js';
import type { CallbackResult, Rig } from './rig.js';

let counter = 0;
const b64json = (value: unknown) => base64url.encode(new TextEncoder().encode(JSON.stringify(value)));

/** The Android client id every L rig accepts besides the web client (GOOGLE_NATIVE_CLIENT_IDS). */
export const ANDROID_CLIENT_ID = '1234-android.apps.googleusercontent.test';
export const SHARED_SECRETS = {
  SECRET_KEY: 'l-suite-secret-key-0123456789-abcdefghijklmnop',
  JWT_SECRET_KEY: 'l-suite-jwt-key-0123456789-abcdefghijklmnopqrs',
};

/** Default claims of a fresh Google ID token for a new person, with `overrides` merged (undefined deletes). */
export function claimsFor(
  rig: Rig,
  overrides: Readonly<Record<string, unknown>> = {},
): Record<string, unknown> {
  counter += 1;
  const now = Math.floor(rig.clock.now() / 1000);
  const tag = `${Date.now().toString(36)}-${counter}`;
  const base: Record<string, unknown> = {
    iss: rig.idp.issuer,
    aud: rig.idp.clientId,
    azp: rig.idp.clientId,
    sub: `native-${tag}`,
    email: `native-${tag}@example.com`,
    email_verified: true,
    name: `Native ${counter}`,
    iat: now,
    exp: now + 3600,
  };
  for (const [name, value] of Object.entries(overrides)) {
    if (value === undefined) delete base[name];
    else base[name] = value;
  }
  return base;
}

/** An RS256 ID token signed by the provider's published key (or `key`). */
export function mint(
  rig: Rig,
  overrides: Readonly<Record<string, unknown>> = {},
  options: { header?: Record<string, unknown>; key?: ProviderKey; idp?: HostileProvider } = {},
): Promise<string> {
  const idp = options.idp ?? rig.idp;
  const key = options.key ?? idp.keys[0]!;
  return idp.signRaw(
    { alg: key.alg, kid: key.kid, typ: 'JWT', ...options.header },
    claimsFor(rig, overrides),
    key,
  );
}

/** `alg: none`, empty signature. */
export function unsigned(rig: Rig, overrides: Readonly<Record<string, unknown>> = {}): string {
  return `${b64json({ alg: 'none', typ: 'JWT' })}.${b64json(claimsFor(rig, overrides))}.`;
}

/** HS256 keyed with `secret` (the client secret, the public key's PEM…). */
export function hs256(rig: Rig, secret: string, overrides: Readonly<Record<string, unknown>> = {}): string {
  const input = `${b64json({ alg: 'HS256', typ: 'JWT', kid: rig.idp.keys[0]!.kid })}.${b64json(claimsFor(rig, overrides))}`;
  return `${input}.${createHmac('sha256', secret).update(input).digest('base64url')}`;
}

export interface Answer extends CallbackResult {
  readonly json: Record<string, unknown> | undefined;
}

export async function answer(response: Response): Promise<Answer> {
  const text = await response.text();
  let json: Record<string, unknown> | undefined;
  try {
    json = text ? (JSON.parse(text) as Record<string, unknown>) : undefined;
  } catch {
    json = undefined;
  }
  const contentType = response.headers.get('content-type') ?? '';
  return {
    status: response.status,
    headers: response.headers,
    location: response.headers.get('location'),
    problem: contentType.includes('problem+json') ? (json as CallbackResult['problem']) : undefined,
    text,
    json,
  };
}

/** A native client's sign-in: JSON `{id_token, client}`. */
export async function postNative(
  url: string,
  idToken: string,
  extra: Readonly<Record<string, unknown>> = {},
): Promise<Answer> {
  return answer(
    await fetch(`${url}/auth/google`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'application/json' },
      body: JSON.stringify({ id_token: idToken, client: 'android', ...extra }),
      redirect: 'manual',
    }),
  );
}

export async function postForm(
  url: string,
  fields: Record<string, string>,
  headers: Record<string, string> = {},
  path = '/auth/google',
): Promise<Answer> {
  return answer(
    await fetch(`${url}${path}`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers },
      body: new URLSearchParams(fields).toString(),
      redirect: 'manual',
    }),
  );
}

export async function postJson(
  url: string,
  path: string,
  body: unknown,
  headers: Record<string, string> = {},
) {
  return answer(
    await fetch(`${url}${path}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...headers },
      body: JSON.stringify(body),
      redirect: 'manual',
    }),
  );
}

export interface TokenResponse {
  readonly access_token: string;
  readonly token_type: string;
  readonly expires_in: number;
  readonly refresh_token: string;
  readonly session_id: string;
}

export function tokenResponse(a: Answer): TokenResponse {
  if (a.status !== 200 || a.json === undefined)
    throw new Error(`expected a token response, got ${a.status}: ${a.text}`);
  return a.json as unknown as TokenResponse;
}

export async function refresh(url: string, refreshToken: string): Promise<Answer> {
  return postForm(url, { grant_type: 'refresh_token', refresh_token: refreshToken }, {}, '/auth/token');
}

export async function me(url: string, accessToken: string): Promise<number> {
  const response = await fetch(`${url}/me`, { headers: { authorization: `Bearer ${accessToken}` } });
  await response.arrayBuffer();
  return response.status;
}
