/**
 * The credentials each scenario presents: real session tokens from real sign-ins (one of them
 * then signed out, so it is revoked), a forged one, and expired ones that force the renewal path.
 * Expired and large-store tokens are signed with the server's own JWT_SECRET_KEY (the bench made
 * it) by the server's own TokenCodec from dist/, so they are byte for byte what Gatehouse issues.
 */
import { TokenCodec } from '../../dist/session/token.js';
import { signOut } from './signin.js';

/** @param {string} token @returns {{ sub: string, sid: string, email: string, name?: string }} */
function claimsOf(token) {
  return JSON.parse(Buffer.from(token.split('.')[1] ?? '', 'base64url').toString('utf8'));
}

/**
 * @typedef {object} Tokens
 * @property {string} live      a valid token of a live session
 * @property {string} revoked   a valid (unexpired) token of a revoked session
 * @property {string} forged    `live` with one signature byte changed
 * @property {string[]} expired tokens of live sessions whose `exp` has passed (renewal on each request)
 */

/**
 * @param {string} url @param {string} cookieName @param {string} jwtSecret
 * @param {string[]} real  tokens from sign-ins (at least 2 when `seeded` is absent)
 * @param {{ live: { sid: string, sub: string, email: string }[], revoked: { sid: string, sub: string, email: string }[] }} [seeded]
 * @returns {Promise<Tokens>}
 */
export async function sessionTokens(url, cookieName, jwtSecret, real, seeded) {
  const codec = new TokenCodec([jwtSecret]);
  const now = Math.floor(Date.now() / 1000);
  const sign = (
    /** @type {{ sid: string, sub: string, email: string }} */ c,
    /** @type {number} */ iat,
    /** @type {number} */ exp,
  ) => codec.sign({ sub: c.sub, sid: c.sid, email: c.email, iat, exp });
  const expire = (/** @type {{ sid: string, sub: string, email: string }} */ c) =>
    sign(c, now - 120, now - 60);

  /** @type {string} */
  let live;
  /** @type {string} */
  let revoked;
  /** @type {string[]} */
  let expired;
  if (seeded) {
    const [first, ...rest] = seeded.live;
    const gone = seeded.revoked[0];
    if (!first || !gone) throw new Error('the seeded store has no live or no revoked session');
    live = await sign(first, now, now + 900);
    revoked = await sign(gone, now, now + 900);
    expired = await Promise.all(rest.map(expire));
  } else {
    const last = real.at(-1);
    const [first, ...others] = real.slice(0, -1);
    if (!first || !last) throw new Error('need at least two signed-in sessions');
    live = first;
    await signOut(url, cookieName, last);
    revoked = last;
    expired = await Promise.all([first, ...others].map((t) => expire(claimsOf(t))));
  }
  const signatureAt = live.lastIndexOf('.') + 1;
  const forged =
    live.slice(0, signatureAt) + (live[signatureAt] === 'A' ? 'B' : 'A') + live.slice(signatureAt + 1);
  return { live, revoked, forged, expired };
}
