/**
 * The audience of an assertion: whom it is for (RFC 7519 §4.1.3). An upstream checks that `aud`
 * is its own name, so an assertion minted for one service is useless at another (SECURITY.md 56).
 *
 * An audience is an absolute http(s) origin or URL, kept exactly as written: verifiers compare
 * `aud` as a string, and URL normalisation (`https://api.example.com` → `…com/`) would make
 * the two sides disagree.
 */

/** Longer audiences are refused (a query parameter or a header value, never a document). */
export const MAX_AUDIENCE_LENGTH = 512;

export type AudienceParsed =
  | { readonly ok: true; readonly audience: string }
  | { readonly ok: false; readonly message: string };

const FORMAT = 'an absolute http(s) origin or URL, like https://api.example.com';

export function parseAudience(raw: string): AudienceParsed {
  if (raw.length === 0 || raw.length > MAX_AUDIENCE_LENGTH) {
    return { ok: false, message: `must be 1 to ${MAX_AUDIENCE_LENGTH} characters: ${FORMAT}` };
  }
  // Visible ASCII only: the value goes into a JSON claim and is compared byte for byte.
  if (!/^[\x21-\x7e]+$/.test(raw)) return { ok: false, message: `must be visible ASCII: ${FORMAT}` };
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    return { ok: false, message: `is not a URL: ${FORMAT}` };
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    return { ok: false, message: `must be http or https: ${FORMAT}` };
  }
  if (!/^https?:\/\/[^/?#]/i.test(raw) || url.username !== '' || url.password !== '' || url.hash !== '') {
    return { ok: false, message: `must not carry a user name, password or fragment: ${FORMAT}` };
  }
  return { ok: true, audience: raw };
}
