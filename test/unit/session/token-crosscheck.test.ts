/**
 * The hot-path verifier (node:crypto) cross-checked against jose (DESIGN.md: "every token
 * either accepts, the other accepts; every tampering either rejects, the other rejects").
 *
 * The reference is jose's `jwtVerify` (same key, `algorithms: ['HS256']`) plus the documented
 * policy that jose, a general-purpose library, does not apply — written here independently and
 * plainly, so a bug in the fast verifier shows up as a disagreement:
 *  - the protected header must be exactly the one Gatehouse writes for a configured key
 *    (canonical JSON and canonical base64url), so jose's acceptance of other headers
 *    (`{"alg":"HS256"}` alone, extra members) is overruled;
 *  - the signature segment must be the canonical base64url spelling of 32 bytes (jose's atob
 *    accepts padding, whitespace and set padding bits);
 *  - tokens over 4096 characters are refused;
 *  - the claims have Gatehouse's schema (jose checks only the types of registered claims).
 */
import { createHash, randomBytes } from 'node:crypto';
import { errors, jwtVerify } from 'jose';
import { describe, expect, it } from 'vitest';
import { TokenCodec } from '../../../src/session/token.js';
import type { SessionClaims } from '../../../src/session/types.js';
import { ManualClock } from './clock.js';
import {
  b64u,
  KEY_A,
  KEY_B,
  KEY_C,
  nonCanonicalSignatures,
  segments,
  signRaw,
  signSegments,
} from './jwt-fixtures.js';

type Verdict = 'valid' | 'expired' | 'invalid';

const clock = new ManualClock();
const nowSeconds = () => Math.floor(clock.now() / 1000);
const configuredKeys = [KEY_A, KEY_B];
const codec = new TokenCodec(configuredKeys, clock);

const kidOf = (key: string) => createHash('sha256').update(key).digest('base64url').slice(0, 8);
const headerText = (key: string) => `{"alg":"HS256","typ":"JWT","kid":"${kidOf(key)}"}`;
const keyByKid = new Map(configuredKeys.map((k) => [kidOf(k), k]));
const BASE64URL = /^[A-Za-z0-9_-]+$/;

function claimsPolicy(c: Record<string, unknown>): boolean {
  const str = (v: unknown) => typeof v === 'string' && v !== '';
  const secs = (v: unknown) => typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;
  return (
    str(c.sub) &&
    str(c.sid) &&
    str(c.email) &&
    (c.name === undefined || typeof c.name === 'string') &&
    secs(c.iat) &&
    secs(c.exp) &&
    (c.exp as number) > (c.iat as number) &&
    (c.iat as number) <= nowSeconds() + 30
  );
}

async function reference(token: unknown): Promise<Verdict> {
  if (typeof token !== 'string' || token.length > 4096) return 'invalid';
  const parts = token.split('.');
  if (parts.length !== 3 || !parts.every((p) => BASE64URL.test(p))) return 'invalid';
  const [h = '', , s = ''] = parts;
  const header = Buffer.from(h, 'base64url').toString('utf8');
  if (b64u(header) !== h) return 'invalid';
  let kid: unknown;
  try {
    kid = (JSON.parse(header) as { kid?: unknown }).kid;
  } catch {
    return 'invalid';
  }
  const key = typeof kid === 'string' ? keyByKid.get(kid) : undefined;
  if (key === undefined || header !== headerText(key)) return 'invalid';
  const sig = Buffer.from(s, 'base64url');
  if (sig.length !== 32 || sig.toString('base64url') !== s) return 'invalid';
  try {
    const { payload } = await jwtVerify(token, new TextEncoder().encode(key), {
      algorithms: ['HS256'],
      currentDate: new Date(clock.now()),
    });
    return claimsPolicy(payload) ? 'valid' : 'invalid';
  } catch (err) {
    if (err instanceof errors.JWTExpired) return claimsPolicy(err.payload) ? 'expired' : 'invalid';
    return 'invalid';
  }
}

function ours(token: unknown): Verdict {
  const r = codec.verify(token as string);
  return r.ok ? 'valid' : r.reason;
}

const base: SessionClaims = {
  sub: 'user-1',
  sid: 'c2Vzc2lvbi1pZC0xMjM0NQ',
  email: 'ada@example.com',
  name: 'Ada Lovelace',
  iat: nowSeconds() - 60,
  exp: nowSeconds() + 840,
};
const hA = b64u(headerText(KEY_A));
const hB = b64u(headerText(KEY_B));
const hC = b64u(headerText(KEY_C));
const payloadOf = (claims: object) => b64u(JSON.stringify(claims));

/** Genuine tokens: jose-signed through the codec, by either configured key. */
async function genuineTokens(): Promise<Array<{ label: string; token: string }>> {
  const codecB = new TokenCodec([KEY_B], clock);
  const now = nowSeconds();
  const variants: Array<[string, SessionClaims]> = [
    ['plain', base],
    ['no name', { sub: 'u2', sid: 's2', email: 'b@example.org', iat: now, exp: now + 1 }],
    ['unicode name', { ...base, name: 'Ådå 🚀 \u202Eevil\u0000' }],
    ['empty name', { ...base, name: '' }],
    ['html name', { ...base, name: '<script>alert(1)</script>' }],
    ['iat at skew limit', { ...base, iat: now + 30, exp: now + 900 }],
    ['expired', { ...base, iat: now - 1000, exp: now - 100 }],
    ['expires now', { ...base, iat: now - 900, exp: now }],
    ['expired long ago', { ...base, iat: 1, exp: 2 }],
    ['long name under limit', { ...base, name: 'n'.repeat(2500) }],
  ];
  const out: Array<{ label: string; token: string }> = [];
  for (const [label, claims] of variants) {
    out.push({ label: `A ${label}`, token: await codec.sign(claims) });
    out.push({ label: `B ${label}`, token: await codecB.sign(claims) });
  }
  return out;
}

function tamperings(token: string): Array<{ label: string; token: string }> {
  const [h, p, s] = segments(token);
  const out: Array<{ label: string; token: string }> = [];
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
  // Every character position, replaced by its neighbour in the alphabet (flips low bits).
  for (let i = 0; i < token.length; i++) {
    const c = token[i]!;
    if (c === '.') continue;
    const next = alphabet[(alphabet.indexOf(c) + 1) % 64]!;
    out.push({ label: `char ${i}`, token: token.slice(0, i) + next + token.slice(i + 1) });
  }
  // A bit flipped in the decoded bytes of each segment.
  const flip = (seg: string, bit: number) => {
    const bytes = Buffer.from(seg, 'base64url');
    const i = Math.floor(bit / 8) % bytes.length;
    bytes[i] = bytes[i]! ^ (1 << (bit % 8));
    return bytes.toString('base64url');
  };
  for (let bit = 0; bit < 64; bit += 7) {
    out.push({ label: `header bit ${bit}`, token: `${flip(h, bit)}.${p}.${s}` });
    out.push({ label: `payload bit ${bit}`, token: `${h}.${flip(p, bit)}.${s}` });
    out.push({ label: `signature bit ${bit}`, token: `${h}.${p}.${flip(s, bit)}` });
  }
  out.push(
    { label: 'header swapped to the other key', token: `${h === hA ? hB : hA}.${p}.${s}` },
    { label: 'header of a removed key', token: `${hC}.${p}.${s}` },
    { label: 'two segments', token: `${h}.${p}` },
    { label: 'four segments', token: `${token}.${s}` },
    { label: 'trailing dot', token: `${token}.` },
    { label: 'empty signature', token: `${h}.${p}.` },
    { label: 'empty payload', token: `${h}..${s}` },
    { label: 'leading space', token: ` ${token}` },
    { label: 'trailing newline', token: `${token}\n` },
    { label: 'space in signature', token: `${h}.${p}.${s.slice(0, 10)} ${s.slice(10)}` },
    { label: 'tab in payload', token: `${h}.${p.slice(0, 5)}\t${p.slice(5)}.${s}` },
    { label: 'padded signature', token: `${token}=` },
    { label: 'padded payload', token: `${h}.${p}${'='.repeat((4 - (p.length % 4)) % 4 || 4)}.${s}` },
    { label: 'base64 (not url) alphabet', token: token.replace(/-/g, '+').replace(/_/g, '/') },
    { label: 'signature truncated', token: token.slice(0, -1) },
    { label: 'signature extended', token: `${token}A` },
    { label: 'signature doubled', token: `${token}${s}` },
    { label: 'non-ASCII', token: `${h}.${p}é.${s}` },
    {
      label: 'signature of another token',
      token: `${h}.${p}.${segments(token.split('').reverse().join(''))[2]}`,
    },
    ...nonCanonicalSignatures(s).map((sig, i) => ({
      label: `non-canonical signature ${i}`,
      token: `${h}.${p}.${sig}`,
    })),
  );
  // Some rewrites leave a token unchanged (no '-' or '_' to swap): those are not tamperings.
  return out.filter((t) => t.token !== token);
}

/** Tokens signed with a real key but carrying something Gatehouse never issues. */
function forgedButSigned(): Array<{ label: string; token: string }> {
  const kidA = kidOf(KEY_A);
  const now = nowSeconds();
  const p = payloadOf(base);
  const out: Array<{ label: string; token: string }> = [];
  const withHeader = (label: string, header: string | object, key: string | Uint8Array = KEY_A) =>
    out.push({ label, token: signRaw(header, base, key) });
  const withClaims = (label: string, claims: string | object | Uint8Array) =>
    out.push({ label, token: signRaw(headerText(KEY_A), claims, KEY_A) });

  withHeader('canonical header (control)', headerText(KEY_A));
  withHeader('wrong key, right kid', headerText(KEY_A), randomBytes(32));
  withHeader('removed key, its own kid', headerText(KEY_C), KEY_C);
  withHeader('key A under key B kid', headerText(KEY_B), KEY_A);
  withHeader('no kid', { alg: 'HS256', typ: 'JWT' });
  withHeader('alg only', { alg: 'HS256' });
  withHeader('reordered header', { kid: kidA, alg: 'HS256', typ: 'JWT' });
  withHeader('spaced header JSON', `{"alg": "HS256", "typ": "JWT", "kid": "${kidA}"}`);
  withHeader('typ lower-case', { alg: 'HS256', typ: 'jwt', kid: kidA });
  withHeader('extra header member', { alg: 'HS256', typ: 'JWT', kid: kidA, x: 1 });
  withHeader('crit exp', { alg: 'HS256', typ: 'JWT', kid: kidA, crit: ['exp'] });
  withHeader('crit b64', { alg: 'HS256', typ: 'JWT', kid: kidA, crit: ['b64'], b64: true });
  withHeader('jku', { alg: 'HS256', typ: 'JWT', kid: kidA, jku: 'https://evil.example/jwks' });
  withHeader('embedded jwk', { alg: 'HS256', typ: 'JWT', kid: kidA, jwk: { kty: 'oct', k: b64u('x') } });
  withHeader('alg none', { alg: 'none', typ: 'JWT', kid: kidA });
  withHeader('alg RS256 (key confusion)', { alg: 'RS256', typ: 'JWT', kid: kidA });
  withHeader('duplicate alg member', `{"alg":"none","alg":"HS256","typ":"JWT","kid":"${kidA}"}`);
  withHeader('header is an array', '[1]');
  withHeader('header not JSON', 'HS256');
  out.push(
    { label: 'alg HS512', token: signRaw({ alg: 'HS512', typ: 'JWT', kid: kidA }, base, KEY_A, 'sha512') },
    { label: 'alg HS384', token: signRaw({ alg: 'HS384', typ: 'JWT', kid: kidA }, base, KEY_A, 'sha384') },
    { label: 'alg none, no signature', token: `${b64u(`{"alg":"none","typ":"JWT","kid":"${kidA}"}`)}.${p}.` },
    { label: 'unsecured JWT', token: `${b64u('{"alg":"none"}')}.${p}.` },
  );

  withClaims('extra claims', { ...base, iss: 'someone', aud: 'x', jti: 'j', role: 'admin' });
  withClaims(
    '__proto__ claim',
    `{"sub":"u","sid":"s","email":"e","iat":${now},"exp":${now + 60},"__proto__":{"x":1}}`,
  );
  withClaims(
    'duplicate sub (last wins)',
    `{"sub":1,"sub":"u","sid":"s","email":"e","iat":${now},"exp":${now + 60}}`,
  );
  withClaims(
    'BOM before JSON',
    Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(JSON.stringify(base))]),
  );
  withClaims(
    'invalid UTF-8 in a claim',
    Buffer.from(`{"sub":"u\xff","sid":"s","email":"e","iat":${now},"exp":${now + 60}}`, 'latin1'),
  );
  withClaims('not JSON', 'hello');
  withClaims('JSON array', '[1,2]');
  withClaims('JSON null', 'null');
  withClaims('JSON number', '42');
  withClaims('JSON string', '"sub"');
  withClaims('truncated JSON', JSON.stringify(base).slice(0, -1));
  withClaims('empty payload bytes', '');
  withClaims('sub number', { ...base, sub: 1 });
  withClaims('sub empty', { ...base, sub: '' });
  withClaims('sub missing', { ...base, sub: undefined });
  withClaims('sid null', { ...base, sid: null });
  withClaims('sid missing', { ...base, sid: undefined });
  withClaims('email array', { ...base, email: ['a@b.c'] });
  withClaims('email missing', { ...base, email: undefined });
  withClaims('name number', { ...base, name: 7 });
  withClaims('name null', { ...base, name: null });
  withClaims('iat string', { ...base, iat: String(base.iat) });
  withClaims('iat fractional', { ...base, iat: base.iat + 0.5 });
  withClaims('iat negative', { ...base, iat: -5 });
  withClaims('iat missing', { ...base, iat: undefined });
  withClaims('iat 29 s ahead', { ...base, iat: now + 29, exp: now + 600 });
  withClaims('iat 31 s ahead', { ...base, iat: now + 31, exp: now + 600 });
  withClaims('exp string', { ...base, exp: String(base.exp) });
  withClaims('exp fractional', { ...base, exp: base.exp + 0.25 });
  withClaims('exp huge', { ...base, exp: 1e300 });
  withClaims('exp missing', { ...base, exp: undefined });
  withClaims('exp equals iat', { ...base, exp: base.iat });
  withClaims('exp before iat (expired)', { ...base, iat: now - 10, exp: now - 20 });
  withClaims('nbf in the past', { ...base, nbf: now - 10 });
  withClaims('nbf in the future', { ...base, nbf: now + 10 });
  withClaims('nbf string', { ...base, nbf: 'soon' });
  withClaims('expired, extra claims', { ...base, role: 'x', iat: now - 1000, exp: now - 10 });
  withClaims('expired, sub number', { ...base, sub: 3, iat: now - 100, exp: now - 10 });

  // Payload segments that are not plain base64url of the bytes.
  const h = b64u(headerText(KEY_A));
  out.push(
    {
      label: 'payload length 4n+1',
      token: signSegments(h, `${p}A`.slice(p.length % 4 === 0 ? 0 : 1), KEY_A),
    },
    { label: 'payload padded and signed', token: signSegments(h, `${p}==`, KEY_A) },
  );
  // Huge: the limit is on the whole token.
  out.push(
    {
      label: 'huge token (8 KB name)',
      token: signRaw(headerText(KEY_A), { ...base, name: 'x'.repeat(8000) }, KEY_A),
    },
    { label: 'just over the limit', token: tokenNear(4096, 'over') },
    { label: 'at the limit', token: tokenNear(4096, 'atMost') },
  );
  return out;
}

/** The genuinely signed token nearest to `length` from below (`atMost`) or above (padding the name). */
function tokenNear(length: number, side: 'atMost' | 'over'): string {
  let best: string | undefined;
  for (let n = length - 3200; n < length; n++) {
    const t = signRaw(headerText(KEY_A), { ...base, name: 'p'.repeat(n) }, KEY_A);
    if (side === 'atMost' && t.length <= length) best = t;
    if (side === 'over' && t.length > length) return t;
  }
  if (best === undefined) throw new Error(`no token near ${length}`);
  return best;
}

describe('hot-path verifier agrees with jose', () => {
  it('on genuine tokens (both keys, valid and expired)', async () => {
    const tokens = await genuineTokens();
    const verdicts = new Map<Verdict, number>();
    for (const { label, token } of tokens) {
      const expected = await reference(token);
      expect({ label, verdict: ours(token) }).toEqual({ label, verdict: expected });
      verdicts.set(expected, (verdicts.get(expected) ?? 0) + 1);
    }
    expect(verdicts.get('valid')).toBe(14);
    expect(verdicts.get('expired')).toBe(6);
  });

  it('on every tampering of genuine tokens', async () => {
    const tokens = await genuineTokens();
    let rejected = 0;
    let cases = 0;
    for (const { token } of tokens.slice(0, 8)) {
      for (const { label, token: tampered } of tamperings(token)) {
        const expected = await reference(tampered);
        expect({ label, token: tampered, verdict: ours(tampered) }).toEqual({
          label,
          token: tampered,
          verdict: expected,
        });
        cases++;
        if (expected === 'invalid') rejected++;
      }
    }
    // Every tampering is refused by both (none happens to produce another valid token).
    expect(cases).toBeGreaterThan(1500);
    expect(rejected).toBe(cases);
  });

  it('on tokens signed with a real key but shaped like nothing Gatehouse issues', async () => {
    const counts = { valid: 0, expired: 0, invalid: 0 };
    for (const { label, token } of forgedButSigned()) {
      const expected = await reference(token);
      expect({ label, verdict: ours(token) }).toEqual({ label, verdict: expected });
      counts[expected]++;
    }
    // Controls that must pass: canonical header, extra claims, __proto__, duplicate sub, BOM,
    // iat 29 s ahead, nbf in the past, the token exactly at the length limit.
    expect(counts.valid).toBe(8);
    expect(counts.expired).toBe(1);
    expect(counts.invalid).toBeGreaterThan(50);
  });

  it('on the policy rows where jose alone would accept', async () => {
    // Pin the overrides explicitly: jose accepts these, Gatehouse refuses them by design.
    const kidA = kidOf(KEY_A);
    const genuine = await codec.sign(base);
    const [h, p, s] = segments(genuine);
    const joseAccepts = async (t: string) =>
      jwtVerify(t, new TextEncoder().encode(KEY_A), {
        algorithms: ['HS256'],
        currentDate: new Date(clock.now()),
      }).then(
        () => true,
        () => false,
      );
    const cases = [
      signRaw({ alg: 'HS256' }, base, KEY_A),
      signRaw({ alg: 'HS256', typ: 'JWT', kid: kidA, x: 1 }, base, KEY_A),
      `${h}.${p}.${nonCanonicalSignatures(s)[0]}`,
      `${genuine}=`,
      `${h}.${p}.${s.slice(0, 10)} ${s.slice(10)}`,
      signRaw(headerText(KEY_A), { ...base, name: 'x'.repeat(8000) }, KEY_A),
    ];
    for (const t of cases) {
      expect(await joseAccepts(t)).toBe(true);
      expect(ours(t)).toBe('invalid');
    }
  });

  it('on non-string and random input, without throwing', async () => {
    for (const v of [undefined, null, 42, {}, [], Buffer.from('a.b.c')]) {
      expect(ours(v)).toBe('invalid');
    }
    for (let i = 0; i < 300; i++) {
      const garbage = randomBytes(1 + (i % 97)).toString(i % 2 ? 'latin1' : 'base64url');
      const dotted = `${garbage}.${garbage}.${garbage.slice(0, 43).padEnd(43, 'A')}`;
      for (const t of [garbage, dotted]) {
        expect(ours(t)).toBe(await reference(t));
      }
    }
  });
});
