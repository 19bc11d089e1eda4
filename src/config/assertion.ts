/**
 * Identity for upstreams: `ASSERTION_KEYS` and `ASSERTION_AUDIENCE` (DESIGN.md "Identity for
 * upstreams"). Keys are validated here, with every other setting, so a public-only key, an RSA
 * key or a broken PEM is a named configuration problem at start-up, not a failure on the first
 * request.
 *
 * Without `ASSERTION_KEYS`:
 * - production: no assertions are issued (the JWKS is empty) and a warning says so; an
 *   operator gets a key from `gatehouse init` or `gatehouse keys rotate`. Refusing to start
 *   would break deployments that use Gatehouse only for its own routes;
 * - development, with a SQLite file: a key generated once and kept beside the database (and in
 *   `./data/` with a server database), so upstreams' JWKS caches survive restarts;
 * - tests (`NODE_ENV=test`) with an in-memory or server database: a key per process.
 */
import { dirname, join } from 'node:path';
import { parseAudience } from '../assertion/audience.js';
import { generateAssertionKey, parseAssertionKeys } from '../assertion/keys.js';
import type { EnvReader } from './reader.js';
import type { Config, NodeEnv } from './types.js';

export const DEV_KEY_FILE_NAME = 'assertion-key.jwk';
export const DEFAULT_DATA_DIR = './data';

export function resolveAssertion(
  reader: EnvReader,
  nodeEnv: NodeEnv | undefined,
  sqlitePath: string | undefined,
): Config['assertion'] | undefined {
  const audience = reader.read(
    'ASSERTION_AUDIENCE',
    (raw) => {
      const parsed = parseAudience(raw);
      return parsed.ok ? { ok: true, value: parsed.audience } : parsed;
    },
    undefined,
  );
  const raw = reader.raw('ASSERTION_KEYS');
  if (raw !== undefined) {
    const parsed = parseAssertionKeys(raw);
    if (!parsed.ok) {
      reader.problem('ASSERTION_KEYS', parsed.message);
      return undefined;
    }
    if (audience === undefined && reader.isSet('ASSERTION_AUDIENCE')) return undefined;
    return { keys: parsed.keys, devKeyFile: undefined, audience };
  }
  if (audience === undefined && reader.isSet('ASSERTION_AUDIENCE')) return undefined;
  if (nodeEnv === 'production') {
    reader.warn(
      'ASSERTION_KEYS is not set: no signed identity assertions are issued and the JWKS is empty (run `gatehouse keys rotate` to add a key)',
    );
    return { keys: [], devKeyFile: undefined, audience };
  }
  const fileDb = sqlitePath !== undefined && sqlitePath !== ':memory:';
  if (fileDb) return { keys: [], devKeyFile: join(dirname(sqlitePath), DEV_KEY_FILE_NAME), audience };
  if (nodeEnv === 'development') {
    return { keys: [], devKeyFile: join(DEFAULT_DATA_DIR, DEV_KEY_FILE_NAME), audience };
  }
  return { keys: [generateAssertionKey()], devKeyFile: undefined, audience };
}
