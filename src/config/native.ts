/**
 * Native apps and single-page apps (DESIGN.md "Native apps and single-page apps"): the extra
 * client ids whose Google ID tokens `POST /auth/google` accepts, how old such a token may be,
 * and the refresh-token reuse grace.
 */
import { fail, ok, type Parsed, parseDuration, parseEach, quote, unique } from './parse.js';
import type { EnvReader } from './reader.js';
import type { Config } from './types.js';

/** An OAuth client id: printable ASCII without spaces or commas, as Google issues them. */
function parseClientId(entry: string): Parsed<string> {
  if (entry.length > 255 || !/^[\x21-\x7e]+$/.test(entry)) {
    return fail(`${quote(entry)} is not a client id (printable characters, no spaces, at most 255)`);
  }
  return ok(entry);
}

export function resolveNative(reader: EnvReader): Config['native'] | undefined {
  const clientIds = reader.read(
    'GOOGLE_NATIVE_CLIENT_IDS',
    (raw) => {
      const parsed = parseEach(raw, parseClientId);
      return parsed.ok ? ok(unique(parsed.value)) : parsed;
    },
    [],
  );
  const idTokenMaxAgeSeconds = reader.read('ID_TOKEN_MAX_AGE', (raw) => parseDuration(raw), 300);
  const refreshReuseGraceSeconds = reader.read(
    'REFRESH_REUSE_GRACE',
    (raw) => parseDuration(raw, { allowZero: true }),
    10,
  );
  if (idTokenMaxAgeSeconds !== undefined && idTokenMaxAgeSeconds > 3600) {
    // Google's ID tokens live an hour; a longer window would only widen replay of a leaked one.
    reader.problem('ID_TOKEN_MAX_AGE', `(${idTokenMaxAgeSeconds}s) must be at most 1h`);
  }
  if (refreshReuseGraceSeconds !== undefined && refreshReuseGraceSeconds > 300) {
    reader.problem('REFRESH_REUSE_GRACE', `(${refreshReuseGraceSeconds}s) must be at most 5m`);
  }
  if (
    clientIds === undefined ||
    idTokenMaxAgeSeconds === undefined ||
    refreshReuseGraceSeconds === undefined
  ) {
    return undefined;
  }
  return { clientIds, idTokenMaxAgeSeconds, refreshReuseGraceSeconds };
}
