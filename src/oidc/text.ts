/**
 * Character checks shared by the return_to and profile-claim handling. Written with code points
 * rather than regular expressions so the ranges are explicit.
 */

/** C0 controls (incl. NUL, tab, CR, LF), DEL and C1 controls. */
export function isControl(codePoint: number): boolean {
  return codePoint <= 0x1f || (codePoint >= 0x7f && codePoint <= 0x9f);
}

/** True when the string has a control character or any whitespace (incl. Unicode separators). */
export function hasControlOrSpace(value: string): boolean {
  for (const ch of value) {
    const cp = ch.codePointAt(0) ?? 0;
    if (isControl(cp) || /\s/u.test(ch)) return true;
  }
  return false;
}

/** Removes control characters (NUL breaks PostgreSQL text; the rest has no place in a profile). */
export function stripControl(value: string): string {
  let out = '';
  for (const ch of value) {
    if (!isControl(ch.codePointAt(0) ?? 0)) out += ch;
  }
  return out;
}
