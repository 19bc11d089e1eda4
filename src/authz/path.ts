/**
 * The request path as access rules see it (DESIGN.md "Proxy mode": "Policy matching and the
 * upstream see the same path"). One function, so /auth/verify, the library guards and the proxy
 * agree on what a path is:
 *
 * - the query is dropped; the path must start with `/`;
 * - `%2F`, `%5C` (encoded slashes) and `%00`, raw backslashes, control characters and bad
 *   percent-encoding are refused: a path that could mean two things to two parsers is never
 *   matched (SECURITY.md 60);
 * - other percent-escapes of unreserved characters are decoded (`%61dmin` is `admin`), the rest
 *   are kept as they are (upper-cased hex);
 * - dot segments are resolved (RFC 3986 §5.2.4), so `/public/../admin` is `/admin`; repeated
 *   slashes are folded (`//admin` is `/admin`).
 */

export type NormalisedPath =
  | { readonly ok: true; readonly path: string }
  | { readonly ok: false; readonly reason: string };

const UNRESERVED = /^[A-Za-z0-9\-._~]$/;
const REFUSED_ESCAPES = new Set(['2F', '5C', '00']);
const MAX_PATH_LENGTH = 8192;
/** Printable ASCII without `%` and `\\`: such a path needs no decoding. */
const PLAIN = /^[\x21-\x24\x26-\x5b\x5d-\x7e]+$/;

function refuse(reason: string): NormalisedPath {
  return { ok: false, reason };
}

export function normalisePath(target: string): NormalisedPath {
  if (typeof target !== 'string' || target.length === 0) return refuse('empty');
  const q = target.indexOf('?');
  const raw = q === -1 ? target : target.slice(0, q);
  const hash = raw.indexOf('#');
  const path = hash === -1 ? raw : raw.slice(0, hash);
  if (path.length > MAX_PATH_LENGTH) return refuse('too_long');
  if (path[0] !== '/') return refuse('not_absolute');
  // The common case, already normal: nothing to decode, no dot segment, no empty segment.
  if (PLAIN.test(path) && !path.includes('/.') && !path.includes('//')) return { ok: true, path };
  let decoded = '';
  for (let i = 0; i < path.length; i++) {
    const c = path.charCodeAt(i);
    if (c < 0x21 || c === 0x7f) return refuse('control_character');
    if (c === 0x5c) return refuse('backslash');
    if (c !== 0x25) {
      decoded += path[i];
      continue;
    }
    const hex = path.slice(i + 1, i + 3).toUpperCase();
    if (!/^[0-9A-F]{2}$/.test(hex)) return refuse('bad_escape');
    if (REFUSED_ESCAPES.has(hex)) return refuse('encoded_separator');
    const ch = String.fromCharCode(Number.parseInt(hex, 16));
    decoded += UNRESERVED.test(ch) ? ch : `%${hex}`;
    i += 2;
  }
  const out: string[] = [];
  const segments = decoded.split('/');
  for (let i = 1; i < segments.length; i++) {
    const seg = segments[i]!;
    const last = i === segments.length - 1;
    if (seg === '.' || seg === '..') {
      if (seg === '..') out.pop();
      // A final dot segment leaves a directory: `/a/b/..` is `/a/`.
      if (last) out.push('');
      continue;
    }
    if (seg === '' && !last) continue;
    out.push(seg);
  }
  return { ok: true, path: `/${out.join('/')}` };
}
