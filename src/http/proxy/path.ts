/**
 * One path for policy and upstream (SECURITY.md J.50). The request target is normalised once;
 * PUBLIC_PATHS (and later access rules) are matched against the result, and the result is what
 * the upstream receives — so no `/public/../admin`, `/public/%2e%2e/admin` or `//admin` reaches
 * the upstream as something other than what was checked.
 *
 * Refused with 400 (never "repaired"): an encoded slash or backslash (`%2F`, `%5C`), an encoded
 * NUL (`%00`), a raw backslash, malformed percent-encoding, anything but an origin-form target.
 * Upstreams disagree on what those mean (some decode `%2F` before routing, Windows servers
 * treat `\` as `/`), so the only safe answer is not to forward them.
 */

export type NormalisedTarget =
  | {
      readonly ok: true;
      /** The normalised path: starts with `/`, no dot segments, no empty segments. */
      readonly path: string;
      /** The query including its `?`, as sent (or ''). */
      readonly query: string;
    }
  | { readonly ok: false; readonly detail: string };

const HEX = /^[0-9A-Fa-f]{2}$/;
/** RFC 3986 §2.3 unreserved characters: their percent-encodings are equivalent to the character. */
const UNRESERVED = /^[A-Za-z0-9\-._~]$/;

function refuse(detail: string): NormalisedTarget {
  return { ok: false, detail };
}

/**
 * RFC 3986 §6.2.2: percent-encodings of unreserved characters decoded (so `%2e%2e` is `..` and
 * is resolved like it), the hex digits of the others upper-cased; `%2F`, `%5C`, `%00` refused.
 */
function normaliseEncoding(path: string): string | NormalisedTarget {
  let out = '';
  for (let i = 0; i < path.length; i++) {
    const c = path[i]!;
    if (c === '\\') return refuse('The path contains a backslash.');
    if (c !== '%') {
      out += c;
      continue;
    }
    const hex = path.slice(i + 1, i + 3);
    if (!HEX.test(hex)) return refuse('The path contains malformed percent-encoding.');
    const upper = hex.toUpperCase();
    if (upper === '2F' || upper === '5C') return refuse('The path contains an encoded slash or backslash.');
    if (upper === '00') return refuse('The path contains an encoded NUL.');
    const char = String.fromCharCode(Number.parseInt(upper, 16));
    out += UNRESERVED.test(char) ? char : `%${upper}`;
    i += 2;
  }
  return out;
}

/** RFC 3986 §5.2.4 on whole segments; repeated slashes collapse (as nginx's merge_slashes). */
function resolveSegments(path: string): string {
  const segments: string[] = [];
  const parts = path.split('/');
  for (const part of parts.slice(1)) {
    if (part === '' || part === '.') continue;
    if (part === '..') {
      segments.pop();
      continue;
    }
    segments.push(part);
  }
  const last = parts.at(-1);
  // A trailing slash (or a final `.`/`..` segment) keeps the path a "directory", as in RFC 3986.
  const trailing = segments.length > 0 && (last === '' || last === '.' || last === '..');
  return `/${segments.join('/')}${trailing ? '/' : ''}`;
}

/** Normalises a raw request target (`request.raw.url`). */
export function normaliseTarget(rawUrl: string): NormalisedTarget {
  // Only origin-form (RFC 9112 §3.2.1) is proxied; absolute-form would let the client pick the host.
  if (!rawUrl.startsWith('/')) return refuse('The request target must be a path starting with /.');
  const q = rawUrl.indexOf('?');
  const rawPath = q === -1 ? rawUrl : rawUrl.slice(0, q);
  const query = q === -1 ? '' : rawUrl.slice(q);
  const encoded = normaliseEncoding(rawPath);
  if (typeof encoded !== 'string') return encoded;
  return { ok: true, path: resolveSegments(encoded), query };
}

/** True when `path` is `prefix` or lies below it (whole segments: `/api` is not a prefix of `/apix`). */
export function underPrefix(path: string, prefix: string): boolean {
  if (prefix === '') return true;
  return path === prefix || path.startsWith(`${prefix}/`);
}

/**
 * A compiled PUBLIC_PATHS pattern: `*` is one whole non-empty segment, a final `**` any depth
 * (including none: `/docs/**` matches `/docs`). Case-sensitive and exact about trailing slashes:
 * a public path is a grant, so a variant that does not match stays protected (fails closed).
 */
export function compilePathPattern(pattern: string): (path: string) => boolean {
  const parts = pattern.split('/').slice(1);
  const anyDepth = parts.at(-1) === '**';
  const fixed = anyDepth ? parts.slice(0, -1) : parts;
  return (path) => {
    const segments = path.split('/').slice(1);
    if (anyDepth ? segments.length < fixed.length : segments.length !== fixed.length) return false;
    for (let i = 0; i < fixed.length; i++) {
      const want = fixed[i]!;
      const got = segments[i]!;
      if (want === '*' ? got === '' : want !== got) return false;
    }
    return true;
  };
}

/** One matcher for a list of patterns. */
export function publicPathMatcher(patterns: readonly string[]): (path: string) => boolean {
  const compiled = patterns.map(compilePathPattern);
  if (compiled.length === 0) return () => false;
  return (path) => compiled.some((match) => match(path));
}
