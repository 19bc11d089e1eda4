/**
 * Profile claims (name, picture) are the provider's free text: they are kept bounded, free of
 * control characters, and a picture is kept only as a URL the page can show safely
 * (SECURITY D20).
 */
import { stripControl } from './text.js';

export const MAX_NAME_LENGTH = 256;
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
