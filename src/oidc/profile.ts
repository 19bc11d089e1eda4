/**
 * Profile claims (name, picture) are the provider's free text: they are kept bounded, free of
 * control characters, and a picture is kept only as a URL the page can show safely
 * (SECURITY D20).
 */
import { GatehouseError } from '../errors.js';
import { hasControlOrSpace, stripControl } from './text.js';

export const MAX_NAME_LENGTH = 256;
const MAX_EMAIL_LENGTH = 320;
export const MAX_PICTURE_LENGTH = 8192;

/** Strings only, NUL/control characters removed, bounded length; empty becomes null. */
export function cleanText(value: unknown, max: number): string | null {
  if (typeof value !== 'string') return null;
  const cleaned = Array.from(stripControl(value)).slice(0, max).join('').trim();
  return cleaned === '' ? null : cleaned;
}

/** Raster or SVG images inlined as base64 `data:` URIs (shown through `<img>`, where SVG runs no script). */
const DATA_IMAGE = /^data:image\/(?:png|jpeg|gif|webp|svg\+xml);base64,[A-Za-z0-9+/]+={0,2}$/;

/**
 * A picture must be an https URL. Only for a plain-http loopback issuer (`allowInsecureIssuer`,
 * development and tests) are http URLs and inlined `data:` images accepted too: the embedded
 * development provider inlines its avatars. Anything else is dropped.
 */
export function cleanPicture(value: unknown, options: { readonly loopbackIssuer: boolean }): string | null {
  if (typeof value !== 'string' || value.length > MAX_PICTURE_LENGTH) return null;
  if (options.loopbackIssuer && DATA_IMAGE.test(value)) return value;
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return null;
  }
  if (url.protocol === 'https:') return url.href;
  return url.protocol === 'http:' && options.loopbackIssuer ? url.href : null;
}

/**
 * The verified email of an ID token (or userinfo): `email_verified` must be the JSON `true` — not
 * `"true"`, not absent (SECURITY.md D17, 57) — and the address well-formed. Shared by the callback
 * (client.ts) and ID-token sign-in (id-token-sign-in.ts).
 */
export function checkEmail(source: Readonly<Record<string, unknown>>): string {
  if (source.email_verified !== true) {
    throw new GatehouseError('email_not_verified', undefined, { reason: 'email_not_verified' });
  }
  const email = source.email;
  if (
    typeof email !== 'string' ||
    email.length > MAX_EMAIL_LENGTH ||
    email.lastIndexOf('@') < 1 ||
    email.lastIndexOf('@') === email.length - 1 ||
    hasControlOrSpace(email)
  ) {
    throw new GatehouseError('login_failed', undefined, { reason: 'email_invalid' });
  }
  return email;
}
