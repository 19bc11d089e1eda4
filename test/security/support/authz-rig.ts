/**
 * A Gatehouse used as a library for section M: routes added before listen (the guards), an
 * ACCESS_RULES_FILE written for the test, a clock the test moves, and sign-ins through the one
 * sign-in service (the provider step is covered by sections A–D).
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { silentLog } from '../../../src/core/log.js';
import { createGatehouse, createLogger, type Gatehouse, loadConfig } from '../../../src/index.js';
import { AuditLog } from '../../../src/session/audit.js';
import { ManualClock } from '../../helpers/clock.js';
import { identityForTest } from '../../helpers/identity.js';
import { freePort } from '../../helpers/ports.js';

export interface AuthzRig {
  readonly url: string;
  readonly gh: Gatehouse;
  readonly clock: ManualClock;
  readonly dir: string;
  /** A bearer token for `email` (a fresh session through SessionService.signIn). */
  signIn(email: string): Promise<string>;
  close(): Promise<void>;
}

export interface AuthzRigOptions {
  readonly rules?: unknown;
  readonly env?: Record<string, string>;
  readonly routes?: (app: FastifyInstance) => void;
  readonly clock?: ManualClock;
  readonly databaseUrl?: string;
}

export async function startAuthzRig(options: AuthzRigOptions = {}): Promise<AuthzRig> {
  const dir = mkdtempSync(join(tmpdir(), 'gatehouse-authz-'));
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const env: Record<string, string> = {
    NODE_ENV: 'test',
    PORT: String(port),
    PUBLIC_URL: url,
    DATABASE_URL: options.databaseUrl ?? `sqlite:${join(dir, 'gatehouse.db')}`,
    LOG_LEVEL: 'silent',
    JWT_SECRET_KEY: 'authz-test-jwt-key-0123456789abcdef0123456789',
    SECRET_KEY: 'authz-test-secret-key-0123456789abcdef01234567',
    ...options.env,
  };
  if (options.rules !== undefined) {
    writeFileSync(join(dir, 'rules.json'), JSON.stringify(options.rules, null, 2));
    env.ACCESS_RULES_FILE = 'rules.json';
  }
  const { config } = loadConfig({ env, cwd: dir, dotenv: false });
  const clock = options.clock ?? new ManualClock();
  const gh = await createGatehouse(config, { logger: createLogger(config), purge: false, clock });
  options.routes?.(gh.app);
  await gh.app.listen({ host: '127.0.0.1', port });
  let n = 0;
  return {
    url,
    gh,
    clock,
    dir,
    async signIn(email) {
      n++;
      const { token } = await gh.sessions.signIn(
        identityForTest({
          issuer: 'https://accounts.google.com',
          subject: `sub-${email}`,
          email,
          emailVerified: true,
          name: `User ${n}`,
          picture: null,
          hostedDomain: null,
        }),
        { ip: '127.0.0.1', userAgent: 'test' },
      );
      return token.token;
    },
    async close() {
      await gh.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

export const bearer = (token: string): Record<string, string> => ({ authorization: `Bearer ${token}` });

/** Polls `condition` until it holds; the time it took (ms), or throws at the deadline. */
export async function until(condition: () => Promise<boolean>, deadlineMs: number): Promise<number> {
  const started = Date.now();
  while (Date.now() - started < deadlineMs) {
    if (await condition()) return Date.now() - started;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`condition not met within ${deadlineMs} ms`);
}

export function rigAudit(rig: AuthzRig) {
  return new AuditLog({ events: rig.gh.store.events, clock: rig.clock, log: silentLog });
}
