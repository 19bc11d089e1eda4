/**
 * The profile claims of a verified ID token (or userinfo) turned into identity fields, shared by
 * the callback (client.ts) and ID-token sign-in (id-token-sign-in.ts): `email_verified` must be
 * the JSON `true` (not `"true"`, not absent: SECURITY.md D17/57), the email well-formed, free
 * text bounded and stripped of control characters.
 */
import { GatehouseError } from '../errors.js';
import { hasControlOrSpace, stripControl } from './text.js';

export const MAX_NAME_LENGTH = 256;
const MAX_PICTURE_LENGTH = 8192;
const MAX_EMAIL_LENGTH = 320;

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

/** Free text from the provider: strings only, NUL/control characters removed, bounded length. */
export function cleanText(value: unknown, max: number): string | null {
  if (typeof value !== 'string') return null;
  const cleaned = Array.from(stripControl(value)).slice(0, max).join('').trim();
  return cleaned === '' ? null : cleaned;
}

/** A picture must be an https (or loopback-http in development) URL; anything else is dropped. */
/** Raster or SVG images inlined as base64 `data:` URIs (shown through `<img>`, where SVG runs no script). */
const DATA_IMAGE = /^data:image\/(?:png|jpeg|gif|webp|svg\+xml);base64,[A-Za-z0-9+/]+={0,2}$/;

export function cleanPicture(value: unknown, acceptDataImages: boolean): string | null {
  if (typeof value !== 'string' || value.length > MAX_PICTURE_LENGTH) return null;
  if (acceptDataImages && DATA_IMAGE.test(value)) return value;
  try {
    const url = new URL(value);
    return url.protocol === 'https:' || url.protocol === 'http:' ? url.href : null;
  } catch {
    return null;
  }
}
