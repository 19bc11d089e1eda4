/**
 * Google-shaped ID tokens from the development provider, for any audience, so the native and
 * single-page flows (`POST /auth/google`) run offline (DESIGN.md "Native apps and single-page
 * apps"): iss = the development issuer, aud, azp, sub (derived from the email, like the sign-in
 * page's), email, email_verified: true, name, picture, iat, exp and an optional nonce — signed
 * with the provider's own key, so they verify against its published JWKS like a real one.
 *
 * Served at `{issuer}/id-token`: `GET ?email=&aud=[&name=&nonce=&azp=]` answers
 * `{"id_token": …}`; without `email` it shows a small form that does the same.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { importJWK, SignJWT } from 'jose';
import { avatarFor, isValidEmail, MAX_NAME_LENGTH, subjectForEmail } from './accounts.js';
import { escapeHtml, pageHeaders } from './pages.js';

/** Google's ID tokens live an hour. */
const LIFETIME_SECONDS = 3600;
const MAX_PARAM = 512;

export interface MintInput {
  readonly email: string;
  readonly audience: string;
  readonly name?: string | undefined;
  readonly nonce?: string | undefined;
  /** Default: the audience (Google sets azp to the client that asked). */
  readonly authorizedParty?: string | undefined;
}

export type Mint = (input: MintInput) => Promise<string>;

/** A minter signing with `jwk` (the provider's private signing key, with kid and alg). */
export function createMinter(
  issuer: string,
  jwk: Record<string, unknown>,
  now: () => number = Date.now,
): Mint {
  const kid = String(jwk.kid);
  const key = importJWK(jwk, 'RS256');
  return async (input) => {
    if (!isValidEmail(input.email)) throw new TypeError('email is not a valid address');
    if (input.audience.length === 0 || input.audience.length > MAX_PARAM)
      throw new TypeError('aud is required');
    const sub = subjectForEmail(input.email);
    const name = input.name?.trim().slice(0, MAX_NAME_LENGTH) || null;
    const iat = Math.floor(now() / 1000);
    return new SignJWT({
      azp: input.authorizedParty ?? input.audience,
      email: input.email,
      email_verified: true,
      ...(name === null ? {} : { name }),
      picture: avatarFor(sub, name, input.email),
      ...(input.nonce === undefined ? {} : { nonce: input.nonce }),
    })
      .setProtectedHeader({ alg: 'RS256', kid, typ: 'JWT' })
      .setIssuer(issuer)
      .setSubject(sub)
      .setAudience(input.audience)
      .setIssuedAt(iat)
      .setExpirationTime(iat + LIFETIME_SECONDS)
      .sign(await key);
  };
}

function param(query: URLSearchParams, name: string): string | undefined {
  const value = query.get(name);
  return value === null || value === '' || value.length > MAX_PARAM ? undefined : value;
}

function formPage(action: string, defaultAudience: string): string {
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="robots" content="noindex">
<title>ID token — development provider</title></head>
<body>
<h1>Mint an ID token</h1>
<p>Development only: a Google-shaped ID token from this provider, for any audience.</p>
<form method="get" action="${escapeHtml(action)}">
<p><label>Email <input name="email" type="email" required></label></p>
<p><label>Name <input name="name"></label></p>
<p><label>Audience (client id) <input name="aud" value="${escapeHtml(defaultAudience)}" required></label></p>
<p><label>Nonce <input name="nonce"></label></p>
<p><button type="submit">Mint</button></p>
</form>
</body></html>
`;
}

/** Serves `{mount}/id-token` (GET only). */
export async function serveIdToken(
  req: IncomingMessage,
  res: ServerResponse,
  options: { mint: Mint; action: string; defaultAudience: string },
): Promise<void> {
  req.resume();
  const url = new URL(req.url ?? '/', 'http://dev-idp.invalid');
  if (req.method !== 'GET') {
    res.writeHead(405, { allow: 'GET', 'content-type': 'application/json' });
    res.end(JSON.stringify({ error: 'method_not_allowed' }));
    return;
  }
  const email = param(url.searchParams, 'email');
  if (email === undefined) {
    res.writeHead(200, pageHeaders([]));
    res.end(formPage(options.action, options.defaultAudience));
    return;
  }
  const json = { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store' };
  try {
    const idToken = await options.mint({
      email,
      audience: param(url.searchParams, 'aud') ?? options.defaultAudience,
      name: param(url.searchParams, 'name'),
      nonce: param(url.searchParams, 'nonce'),
      authorizedParty: param(url.searchParams, 'azp'),
    });
    res.writeHead(200, json);
    res.end(JSON.stringify({ id_token: idToken }));
  } catch (err) {
    res.writeHead(400, json);
    res.end(JSON.stringify({ error: 'invalid_request', error_description: (err as Error).message }));
  }
}
