/** Google's OpenID Connect issuer, as its discovery document and its ID tokens name it. */
export const GOOGLE_ISSUER = 'https://accounts.google.com';

/**
 * The issuer form Google documents beside the URL ("Verify the Google ID token": `iss` is
 * `https://accounts.google.com` or `accounts.google.com`). Accepted for Google only (SECURITY.md 12).
 */
export const GOOGLE_LEGACY_ISSUER = 'accounts.google.com';
