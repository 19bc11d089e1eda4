/**
 * The development provider's "accounts": whoever types an email on the sign-in page. The subject
 * is derived from the email so the same email signs in as the same user every time (and a
 * different email as a different user), across restarts, like a real provider's stable `sub`.
 */
import { createHash } from 'node:crypto';

export interface DevProfile {
  readonly sub: string;
  readonly email: string;
  readonly name: string | null;
  readonly picture: string;
}

/** RFC 5321 caps a forward path at 256 octets; 320 (64 + 1 + 255) is the commonly used bound. */
export const MAX_EMAIL_LENGTH = 320;
export const MAX_NAME_LENGTH = 500;

/**
 * The "valid e-mail address" production of the HTML standard (§4.10.5.1.5), i.e. exactly what
 * the browser's own `type=email` check accepts, so the server and the form agree.
 */
const EMAIL_SHAPE =
  /^[a-zA-Z0-9.!#$%&'*+/=?^_`{|}~-]+@[a-zA-Z0-9](?:[a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?(?:\.[a-zA-Z0-9](?:[a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?)*$/;

export function isValidEmail(email: string): boolean {
  return email.length > 0 && email.length <= MAX_EMAIL_LENGTH && EMAIL_SHAPE.test(email);
}

/** `dev-` + the first 22 base64url characters (132 bits) of SHA-256 over the lower-cased email. */
export function subjectForEmail(email: string): string {
  const digest = createHash('sha256').update(email.toLowerCase(), 'utf8').digest('base64url');
  return `dev-${digest.slice(0, 22)}`;
}

function escapeXml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

/** Up to two initials from the name (or the email's local part), upper-cased. */
export function initialsFor(name: string | null, email: string): string {
  const source = name?.trim() || email.split('@')[0] || '?';
  const words = source.split(/[\s._-]+/u).filter((w) => w.length > 0);
  const letters = words.slice(0, 2).map((w) => Array.from(w)[0] ?? '');
  const initials = letters.join('').toUpperCase();
  return initials.length > 0 ? initials : '?';
}

/**
 * A small SVG avatar as a `data:` URI, so the demo page has a picture to show without any
 * network request. The initials are XML-escaped inside the SVG, and the whole document is
 * base64-encoded, so nothing user-supplied can break out of the URI either.
 */
export function avatarFor(sub: string, name: string | null, email: string): string {
  const hue = createHash('sha256').update(sub).digest()[0]! * (360 / 256);
  const svg =
    '<svg xmlns="http://www.w3.org/2000/svg" width="96" height="96" viewBox="0 0 96 96">' +
    `<rect width="96" height="96" rx="48" fill="hsl(${Math.round(hue)},55%,45%)"/>` +
    '<text x="48" y="60" font-family="system-ui,sans-serif" font-size="38" fill="#fff" text-anchor="middle">' +
    `${escapeXml(initialsFor(name, email))}</text></svg>`;
  return `data:image/svg+xml;base64,${Buffer.from(svg, 'utf8').toString('base64')}`;
}

export function profileFor(email: string, name: string | null): DevProfile {
  const sub = subjectForEmail(email);
  return { sub, email, name, picture: avatarFor(sub, name, email) };
}

/**
 * The last profile submitted for each subject, for the token and userinfo endpoints to read.
 * Bounded: the oldest profiles go first (an evicted account's tokens then fail, as they would
 * after a restart of this in-memory provider).
 */
export class ProfileStore {
  readonly #profiles = new Map<string, DevProfile>();
  readonly #max: number;

  constructor(max = 10_000) {
    this.#max = max;
  }

  save(profile: DevProfile): void {
    this.#profiles.delete(profile.sub);
    this.#profiles.set(profile.sub, profile);
    for (const key of this.#profiles.keys()) {
      if (this.#profiles.size <= this.#max) break;
      this.#profiles.delete(key);
    }
  }

  get(sub: string): DevProfile | undefined {
    return this.#profiles.get(sub);
  }

  clear(): void {
    this.#profiles.clear();
  }
}
