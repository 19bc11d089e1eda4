/**
 * Starts a real Gatehouse (the same wiring as `gatehouse serve`) on a loopback port for tests.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { loadConfig } from '../../src/config/index.js';
import type { Config } from '../../src/config/types.js';
import type { Clock } from '../../src/core/clock.js';
import { createLogger } from '../../src/logger.js';
import { createGatehouse, type Gatehouse } from '../../src/runtime.js';
import { freePort } from './ports.js';

export interface TestGatehouse {
  readonly url: string;
  readonly config: Config;
  readonly gatehouse: Gatehouse;
  /** Every log line written so far, parsed. */
  readonly logs: Record<string, unknown>[];
  close(): Promise<void>;
}

export interface StartOptions {
  /** Extra environment (over the test defaults). */
  readonly env?: Record<string, string | undefined>;
  /** Host name the app is reached by (its PUBLIC_URL). */
  readonly host?: '127.0.0.1' | 'localhost';
  readonly clock?: Clock;
  /** A DATABASE_URL; default a fresh SQLite file. */
  readonly databaseUrl?: string;
  /** The sample chat routes, as `gatehouse serve` has them (default on). */
  readonly chat?: boolean;
}

export async function startGatehouse(options: StartOptions = {}): Promise<TestGatehouse> {
  const host = options.host ?? '127.0.0.1';
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'gatehouse-test-'));
  const env: Record<string, string | undefined> = {
    NODE_ENV: 'test',
    HOST: '127.0.0.1',
    PORT: String(port),
    PUBLIC_URL: `http://${host}:${port}`,
    DATABASE_URL: options.databaseUrl ?? `sqlite:${join(dir, 'gatehouse.db')}`,
    LOG_LEVEL: 'info',
    LOG_FORMAT: 'json',
    RATE_LIMIT_AUTH: '1000/1m',
    RATE_LIMIT_API: '100000/1m',
    ...options.env,
  };
  const { config } = loadConfig({ env, cwd: dir, dotenv: false });
  const logs: Record<string, unknown>[] = [];
  const sink = new Writable({
    write(chunk, _encoding, callback) {
      for (const line of String(chunk).split('\n'))
        if (line) logs.push(JSON.parse(line) as Record<string, unknown>);
      callback();
    },
  });
  const logger = createLogger(config, { destination: sink });
  const gatehouse = await createGatehouse(config, {
    logger,
    ...(options.clock ? { clock: options.clock } : {}),
    purge: false,
    chat: options.chat ?? true,
  });
  await gatehouse.app.listen({ host: host === 'localhost' ? 'localhost' : '127.0.0.1', port: config.port });
  return {
    url: config.publicUrl,
    config,
    gatehouse,
    logs,
    async close() {
      await gatehouse.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
