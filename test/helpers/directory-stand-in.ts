/**
 * A stand-in for Google's OAuth token endpoint and the Admin SDK Directory API, on loopback, so
 * group and account checks are tested over real HTTP:
 *
 * - `POST /token` verifies the RFC 7523 service-account grant: an RS256 JWT signed by the test
 *   key (generated here, never committed), `iss` = the key's client email, `aud` = this token
 *   URI, `sub` = the expected admin, both read-only scopes, a live `exp`;
 * - `GET /admin/directory/v1/users/{userKey}` (404 for unknown or deleted users, `suspended`);
 * - `GET /admin/directory/v1/groups?userKey=` paged with `nextPageToken`.
 *
 * Tests change users (suspend, delete, groups), make it fail (500, 403) or slow, and count calls.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { exportPKCS8, generateKeyPair, jwtVerify } from 'jose';

export interface StandInUser {
  suspended: boolean;
  groups: string[];
}

export interface DirectoryStandIn {
  /** Base URL for GOOGLE_DIRECTORY_URL. */
  readonly url: string;
  /** The key file for GOOGLE_SERVICE_ACCOUNT_FILE (its token_uri points here). */
  readonly keyFile: string;
  readonly adminEmail: string;
  readonly clientEmail: string;
  readonly users: Map<string, StandInUser>;
  /** Answer every request with this status (null: behave). */
  failWith: number | null;
  /** Wait this long before answering. */
  delayMs: number;
  /** Groups per page. */
  pageSize: number;
  readonly counts: { token: number; users: number; groups: number; refusedGrants: number };
  setUser(email: string, groups: string[], suspended?: boolean): void;
  close(): Promise<void>;
}

const SCOPES = [
  'https://www.googleapis.com/auth/admin.directory.group.readonly',
  'https://www.googleapis.com/auth/admin.directory.user.readonly',
];

export async function startDirectoryStandIn(
  options: { adminEmail?: string; acceptSub?: string } = {},
): Promise<DirectoryStandIn> {
  const { publicKey, privateKey } = await generateKeyPair('RS256', { extractable: true });
  const dir = mkdtempSync(join(tmpdir(), 'gatehouse-directory-'));
  const adminEmail = options.adminEmail ?? 'admin@example.com';
  const clientEmail = 'gatehouse@test-project.iam.gserviceaccount.com';
  const tokens = new Set<string>();
  let tokenSeq = 0;

  const state = {
    failWith: null as number | null,
    delayMs: 0,
    pageSize: 50,
    counts: { token: 0, users: 0, groups: 0, refusedGrants: 0 },
  };
  const users = new Map<string, StandInUser>();

  const send = (res: ServerResponse, status: number, body: unknown) => {
    res.writeHead(status, { 'content-type': 'application/json' });
    res.end(JSON.stringify(body));
  };

  async function readBody(req: IncomingMessage): Promise<string> {
    let text = '';
    for await (const chunk of req) text += String(chunk);
    return text;
  }

  let tokenUri = '';
  const server = createServer((req, res) => {
    void (async () => {
      if (state.delayMs > 0) await new Promise((r) => setTimeout(r, state.delayMs));
      if (state.failWith !== null)
        return send(res, state.failWith, { error: { code: state.failWith, message: 'stand-in failure' } });
      const url = new URL(req.url ?? '/', 'http://stand-in');
      if (req.method === 'POST' && url.pathname === '/token') {
        state.counts.token++;
        const form = new URLSearchParams(await readBody(req));
        if (form.get('grant_type') !== 'urn:ietf:params:oauth:grant-type:jwt-bearer') {
          state.counts.refusedGrants++;
          return send(res, 400, { error: 'unsupported_grant_type' });
        }
        try {
          const { payload } = await jwtVerify(form.get('assertion') ?? '', publicKey, {
            algorithms: ['RS256'],
            issuer: clientEmail,
            audience: tokenUri,
            subject: options.acceptSub ?? adminEmail,
            requiredClaims: ['iat', 'exp', 'scope'],
          });
          const scopes = String(payload.scope).split(' ');
          if (!SCOPES.every((s) => scopes.includes(s))) throw new Error('scopes');
        } catch {
          state.counts.refusedGrants++;
          return send(res, 401, { error: 'unauthorized_client' });
        }
        const token = `stand-in-token-${++tokenSeq}`;
        tokens.add(token);
        return send(res, 200, { access_token: token, expires_in: 3600, token_type: 'Bearer' });
      }
      const auth = req.headers.authorization ?? '';
      if (!tokens.has(auth.replace(/^Bearer /, ''))) return send(res, 401, { error: { code: 401 } });
      const userPath = /^\/admin\/directory\/v1\/users\/([^/]+)$/.exec(url.pathname);
      if (req.method === 'GET' && userPath) {
        state.counts.users++;
        const email = decodeURIComponent(userPath[1]!).toLowerCase();
        const user = users.get(email);
        if (user === undefined)
          return send(res, 404, { error: { code: 404, message: 'Resource Not Found: userKey' } });
        return send(res, 200, {
          kind: 'admin#directory#user',
          primaryEmail: email,
          suspended: user.suspended,
        });
      }
      if (req.method === 'GET' && url.pathname === '/admin/directory/v1/groups') {
        state.counts.groups++;
        const email = (url.searchParams.get('userKey') ?? '').toLowerCase();
        const user = users.get(email);
        if (user === undefined) return send(res, 404, { error: { code: 404 } });
        const start = Number(url.searchParams.get('pageToken') ?? '0');
        const size = Math.min(state.pageSize, Number(url.searchParams.get('maxResults') ?? '200'));
        const page = user.groups.slice(start, start + size);
        const next = start + size < user.groups.length ? String(start + size) : undefined;
        return send(res, 200, {
          kind: 'admin#directory#groups',
          groups: page.map((g) => ({ kind: 'admin#directory#group', email: g, name: g })),
          ...(next ? { nextPageToken: next } : {}),
        });
      }
      send(res, 404, { error: { code: 404 } });
    })().catch(() => {
      if (!res.headersSent) send(res, 500, { error: 'stand-in error' });
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  tokenUri = `${url}/token`;
  const keyFile = join(dir, 'service-account.json');
  writeFileSync(
    keyFile,
    JSON.stringify({
      type: 'service_account',
      project_id: 'test-project',
      private_key_id: 'test-key-1',
      private_key: await exportPKCS8(privateKey),
      client_email: clientEmail,
      client_id: '1234567890',
      token_uri: tokenUri,
    }),
  );

  return Object.assign(state, {
    url,
    keyFile,
    adminEmail,
    clientEmail,
    users,
    setUser(email: string, groups: string[], suspended = false) {
      users.set(email.toLowerCase(), { groups, suspended });
    },
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      rmSync(dir, { recursive: true, force: true });
    },
  });
}
