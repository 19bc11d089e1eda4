/**
 * The Google Workspace Admin SDK Directory API, read with a service account and domain-wide
 * delegation (DESIGN.md "Authorization"; docs/authorization.md has the Google Cloud set-up).
 *
 * The grant is RFC 7523's JWT bearer: a JWT signed RS256 with the key file's `private_key`, `iss`
 * = `client_email`, `sub` = GOOGLE_ADMIN_EMAIL (the administrator the service account acts as),
 * `scope` = the two read-only scopes, `aud` = the key file's own `token_uri`, posted to that
 * `token_uri`. It is signed here with jose rather than google-auth-library, whose JWT client posts
 * to Google's fixed token URL whatever the key file says. The access token is cached until a
 * minute before it expires.
 *
 * Reads: `users.get` (suspended; 404 = deleted or unknown) and `groups.list?userKey=` (all pages;
 * the groups the API reports for the user). Every failure is a DirectoryError; the caller decides
 * what an outage means (directory-check.ts).
 */
import { readFileSync } from 'node:fs';
import { importPKCS8, type KeyObject, SignJWT } from 'jose';
import type { Clock } from '../core/clock.js';

export const DIRECTORY_SCOPES = [
  'https://www.googleapis.com/auth/admin.directory.group.readonly',
  'https://www.googleapis.com/auth/admin.directory.user.readonly',
] as const;

/** A Directory read that failed: network, timeout, an error status or an unusable body. */
export class DirectoryError extends Error {
  override readonly name = 'DirectoryError';
  constructor(
    message: string,
    /** Machine word for logs and doctor: `network`, `timeout`, `grant_refused`, `http_500`… */
    readonly reason: string,
  ) {
    super(message);
  }
}

export interface ServiceAccountKey {
  readonly clientEmail: string;
  readonly privateKeyId: string | undefined;
  readonly privateKey: KeyObject | CryptoKey;
  readonly tokenUri: string;
}

/** Reads and checks a service account's JSON key file; throws Error with a message for people. */
export async function loadServiceAccountKey(file: string): Promise<ServiceAccountKey> {
  let json: unknown;
  try {
    json = JSON.parse(readFileSync(file, 'utf8'));
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new Error(code ? `cannot read ${file} (${code})` : `${file} is not JSON`);
  }
  const k = json as Record<string, unknown>;
  if (k.type !== 'service_account') throw new Error(`${file}: "type" must be "service_account"`);
  if (typeof k.client_email !== 'string' || !k.client_email.includes('@')) {
    throw new Error(`${file}: "client_email" is missing`);
  }
  if (typeof k.private_key !== 'string') throw new Error(`${file}: "private_key" is missing`);
  if (typeof k.token_uri !== 'string' || !/^https?:\/\//.test(k.token_uri)) {
    throw new Error(`${file}: "token_uri" is missing or not an http(s) URL`);
  }
  let privateKey: KeyObject | CryptoKey;
  try {
    privateKey = await importPKCS8(k.private_key, 'RS256');
  } catch {
    throw new Error(`${file}: "private_key" is not an RSA private key in PKCS #8 PEM`);
  }
  return {
    clientEmail: k.client_email,
    privateKeyId: typeof k.private_key_id === 'string' ? k.private_key_id : undefined,
    privateKey,
    tokenUri: k.token_uri,
  };
}

export type DirectoryAnswer =
  | { readonly status: 'active'; readonly groups: readonly string[] }
  | { readonly status: 'suspended' }
  | { readonly status: 'deleted' };

export interface DirectoryClientOptions {
  readonly key: ServiceAccountKey;
  readonly adminEmail: string;
  /** GOOGLE_DIRECTORY_URL, no trailing slash. */
  readonly baseUrl: string;
  readonly clock: Clock;
  readonly timeoutMs?: number;
}

/** Pages beyond this are not read (200 per page: 10,000 groups). */
const MAX_PAGES = 50;

export class DirectoryClient {
  readonly #o: DirectoryClientOptions;
  readonly #timeoutMs: number;
  #token: { value: string; until: number } | undefined;
  #granting: Promise<string> | undefined;

  constructor(options: DirectoryClientOptions) {
    this.#o = options;
    this.#timeoutMs = options.timeoutMs ?? 10_000;
  }

  /** A valid access token, from the cache or a new grant (concurrent callers share one grant). */
  accessToken(): Promise<string> {
    const cached = this.#token;
    if (cached !== undefined && cached.until > this.#o.clock.now()) return Promise.resolve(cached.value);
    this.#granting ??= this.#grant().finally(() => {
      this.#granting = undefined;
    });
    return this.#granting;
  }

  /** The user's status and, when active, their groups (lower-case, sorted). */
  async lookup(email: string): Promise<DirectoryAnswer> {
    const user = await this.#get(`/admin/directory/v1/users/${encodeURIComponent(email)}?projection=basic`);
    if (user === undefined) return { status: 'deleted' };
    if ((user as { suspended?: unknown }).suspended === true) return { status: 'suspended' };
    const groups = new Set<string>();
    let pageToken: string | undefined;
    for (let page = 0; page < MAX_PAGES; page++) {
      const query = new URLSearchParams({ userKey: email, maxResults: '200' });
      if (pageToken !== undefined) query.set('pageToken', pageToken);
      const body = (await this.#get(`/admin/directory/v1/groups?${query}`)) as
        | { groups?: { email?: unknown }[]; nextPageToken?: unknown }
        | undefined;
      // The user vanished between the two reads.
      if (body === undefined) return { status: 'deleted' };
      for (const g of body.groups ?? []) if (typeof g.email === 'string') groups.add(g.email.toLowerCase());
      pageToken =
        typeof body.nextPageToken === 'string' && body.nextPageToken !== '' ? body.nextPageToken : undefined;
      if (pageToken === undefined) break;
    }
    return { status: 'active', groups: [...groups].sort() };
  }

  async #grant(): Promise<string> {
    const { key, adminEmail, clock } = this.#o;
    const now = Math.floor(clock.now() / 1000);
    const assertion = await new SignJWT({ scope: DIRECTORY_SCOPES.join(' ') })
      .setProtectedHeader({
        alg: 'RS256',
        typ: 'JWT',
        ...(key.privateKeyId ? { kid: key.privateKeyId } : {}),
      })
      .setIssuer(key.clientEmail)
      .setSubject(adminEmail)
      .setAudience(key.tokenUri)
      .setIssuedAt(now)
      .setExpirationTime(now + 3600)
      .sign(key.privateKey);
    const res = await this.#fetch(key.tokenUri, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' },
      body: new URLSearchParams({
        grant_type: 'urn:ietf:params:oauth:grant-type:jwt-bearer',
        assertion,
      }).toString(),
    });
    const body = (await res.json().catch(() => undefined)) as
      | { access_token?: unknown; expires_in?: unknown; error?: unknown }
      | undefined;
    if (!res.ok || typeof body?.access_token !== 'string') {
      // Google answers 400/401 with `error` (e.g. unauthorized_client: delegation not granted).
      const why = typeof body?.error === 'string' ? body.error.slice(0, 64) : `http_${res.status}`;
      throw new DirectoryError(
        `the token endpoint refused the service-account grant (${why})`,
        'grant_refused',
      );
    }
    const seconds = typeof body.expires_in === 'number' && body.expires_in > 0 ? body.expires_in : 3600;
    // Renewed a minute early (or halfway, for short-lived tokens), never used at its edge.
    const margin = Math.min(60, seconds / 2);
    this.#token = { value: body.access_token, until: clock.now() + (seconds - margin) * 1000 };
    return body.access_token;
  }

  /** GET a Directory resource: the JSON body, or undefined for 404. */
  async #get(path: string): Promise<unknown> {
    const token = await this.accessToken();
    const res = await this.#fetch(`${this.#o.baseUrl}${path}`, {
      headers: { authorization: `Bearer ${token}`, accept: 'application/json' },
    });
    if (res.status === 404) {
      await res.body?.cancel();
      return undefined;
    }
    if (res.status === 401) this.#token = undefined;
    if (!res.ok) {
      await res.body?.cancel();
      throw new DirectoryError(`the Directory API answered ${res.status}`, `http_${res.status}`);
    }
    try {
      return await res.json();
    } catch {
      throw new DirectoryError('the Directory API answered with a body that is not JSON', 'bad_body');
    }
  }

  async #fetch(url: string, init: RequestInit): Promise<Response> {
    try {
      return await fetch(url, { ...init, redirect: 'error', signal: AbortSignal.timeout(this.#timeoutMs) });
    } catch (err) {
      const timeout = err instanceof Error && (err.name === 'TimeoutError' || err.name === 'AbortError');
      throw new DirectoryError(
        timeout ? 'the Directory API did not answer in time' : 'the Directory API is unreachable',
        timeout ? 'timeout' : 'network',
      );
    }
  }
}
