/**
 * The one encoder for header values built from user data (SECURITY.md 43): `X-Auth-User-Id`,
 * `X-Auth-Email`, `X-Auth-Name`, and any identity header a later mode adds.
 *
 * A header value is bytes; Node refuses characters above U+00FF (a 500) and sends U+0080–U+00FF
 * as raw Latin-1 bytes, so `zoÃ«@…` would arrive as the UTF-8 bytes of `zoë@…` — another account.
 * So the value is UTF-8, percent-encoded, and the encoding is injective:
 *
 * - bytes 0x21–0x7E (visible ASCII) pass unchanged, except `%` (0x25);
 * - every other byte of the UTF-8 form — `%`, space, controls, DEL, and every byte of a non-ASCII
 *   character — is written `%XX` (upper-case hex).
 *
 * An ASCII address without `%` or spaces therefore arrives exactly as it is stored, and any value
 * decodes with `decodeURIComponent`. A lone surrogate (not valid UTF-16 text) is written as its
 * three generalized-UTF-8 bytes rather than replaced, so two different strings never share an
 * encoding.
 */

const HEX = '0123456789ABCDEF';

function pushByte(out: string[], byte: number): void {
  out.push('%', HEX[byte >> 4]!, HEX[byte & 15]!);
}

export function encodeIdentityHeader(value: string): string {
  // Fast path: the common case (ASCII email, id) is returned as is.
  if (/^[\x21-\x24\x26-\x7e]*$/.test(value)) return value;
  const out: string[] = [];
  for (let i = 0; i < value.length; i++) {
    let cp = value.charCodeAt(i);
    if (cp >= 0xd800 && cp <= 0xdbff && i + 1 < value.length) {
      const low = value.charCodeAt(i + 1);
      if (low >= 0xdc00 && low <= 0xdfff) {
        cp = 0x10000 + ((cp - 0xd800) << 10) + (low - 0xdc00);
        i++;
      }
    }
    if (cp >= 0x21 && cp <= 0x7e && cp !== 0x25) out.push(String.fromCharCode(cp));
    else if (cp < 0x80) pushByte(out, cp);
    else if (cp < 0x800) {
      pushByte(out, 0xc0 | (cp >> 6));
      pushByte(out, 0x80 | (cp & 63));
    } else if (cp < 0x10000) {
      pushByte(out, 0xe0 | (cp >> 12));
      pushByte(out, 0x80 | ((cp >> 6) & 63));
      pushByte(out, 0x80 | (cp & 63));
    } else {
      pushByte(out, 0xf0 | (cp >> 18));
      pushByte(out, 0x80 | ((cp >> 12) & 63));
      pushByte(out, 0x80 | ((cp >> 6) & 63));
      pushByte(out, 0x80 | (cp & 63));
    }
  }
  return out.join('');
}
