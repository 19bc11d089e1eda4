/**
 * Parses the raw query string of the callback ourselves, before anything else looks at it
 * (SECURITY B8): a duplicated `code`, `state`, `iss` or `error` is an attack or a broken proxy, and
 * is answered with exactly 400 before any token request. Frameworks collapse duplicates silently
 * (first or last wins), which is why this takes the raw string, not a parsed object.
 */
import { GatehouseError } from '../errors.js';

/** Parameters that must appear at most once. */
const SINGLE_VALUED = ['code', 'state', 'iss', 'error', 'error_description', 'error_uri'] as const;
/** Far above any real callback; beyond it, refuse to parse. */
const MAX_QUERY_LENGTH = 8192;

export interface CallbackParams {
  readonly code: string | undefined;
  readonly state: string | undefined;
  readonly iss: string | undefined;
  readonly error: string | undefined;
}

export function parseCallbackQuery(search: string): CallbackParams {
  if (typeof search !== 'string') throw new TypeError('parseCallbackQuery: search must be a string');
  if (search.length > MAX_QUERY_LENGTH) {
    throw new GatehouseError('bad_request', 'The callback query is too long.', { reason: 'query_too_long' });
  }
  const query = search.startsWith('?') ? search.slice(1) : search;
  // URLSearchParams decodes `%zz` and lone `%` leniently; a provider never sends them, so they are
  // an attack or a broken proxy: 400 (SECURITY H35), as are NUL and other control characters.
  if (!isWellFormedQuery(query)) {
    throw new GatehouseError('bad_request', 'The callback query is malformed.', {
      reason: 'malformed_query',
    });
  }
  const params = new URLSearchParams(query);
  for (const name of SINGLE_VALUED) {
    if (params.getAll(name).length > 1) {
      throw new GatehouseError('bad_request', `The callback parameter "${name}" appears more than once.`, {
        reason: 'duplicate_parameter',
      });
    }
  }
  // An empty value counts as absent: `state=` is no state.
  const one = (name: string): string | undefined => {
    const value = params.get(name);
    return value === null || value === '' ? undefined : value;
  };
  return { code: one('code'), state: one('state'), iss: one('iss'), error: one('error') };
}

/**
 * The provider's `error` code as a safe machine word for logs (never reflected raw: SECURITY B9).
 * RFC 6749 §4.1.2.1 codes are `[\x20-\x21\x23-\x5B\x5D-\x7E]+`; we keep lower-case words only.
 */
export function safeErrorCode(error: string): string {
  return /^[a-z_]{1,64}$/.test(error) ? error : 'unrecognized';
}

/**
 * True when every `%` starts a valid escape, the decoded components are valid UTF-8, and no
 * decoded component contains a forbidden character: any control character (`'all'`, for the
 * callback, where a provider never sends one) or only NUL (`'nul'`, elsewhere: a tab in
 * `return_to` is an open-redirect trick that falls back to FRONTEND_URL rather than an error).
 */
export function isWellFormedQuery(query: string, forbid: 'all' | 'nul' = 'all'): boolean {
  for (const part of query.split('&')) {
    let decoded: string;
    try {
      decoded = decodeURIComponent(part.replace(/\+/g, ' '));
    } catch {
      return false;
    }
    for (let i = 0; i < decoded.length; i++) {
      const c = decoded.charCodeAt(i);
      if (forbid === 'all' ? c <= 0x1f || c === 0x7f : c === 0) return false;
    }
  }
  return true;
}
