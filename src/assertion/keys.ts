/**
 * Assertion signing keys (DESIGN.md "Identity for upstreams"): EC P-256 private keys, given as
 * PEM or as JWK, several at once in `ASSERTION_KEYS`. The first signs; all are published in the
 * JWKS, so a verifier that cached the old set still finds the key of an older assertion while a
 * new key takes over (rotation without a broken request).
 *
 * Pure: no environment, no files. The configuration loader calls `parseAssertionKeys` so that a
 * bad key is reported with every other configuration problem; messages never quote key material.
 */
import {
  createHash,
  createPrivateKey,
  createPublicKey,
  generateKeyPairSync,
  type JsonWebKey,
  type KeyObject,
  sign,
  verify,
} from 'node:crypto';

/** A validated private key: its JWK (EC P-256, `d` included) and its key id. */
export interface AssertionKey {
  readonly kid: string;
  readonly jwk: PrivateEcJwk;
}

export interface PrivateEcJwk {
  readonly kty: 'EC';
  readonly crv: 'P-256';
  readonly x: string;
  readonly y: string;
  readonly d: string;
  readonly kid?: string;
}

/** What the JWKS publishes for one key: public members only (SECURITY.md 55). */
export interface PublicEcJwk {
  readonly kty: 'EC';
  readonly crv: 'P-256';
  readonly x: string;
  readonly y: string;
  readonly kid: string;
  readonly alg: 'ES256';
  readonly use: 'sig';
}

export type KeysParsed =
  | { readonly ok: true; readonly keys: readonly AssertionKey[] }
  | { readonly ok: false; readonly message: string };

const HOW_TO = 'run `gatehouse init` or `gatehouse keys rotate` to generate one';

/**
 * RFC 7638 §3.2: the thumbprint of an EC key hashes exactly `crv`, `kty`, `x`, `y`, in
 * lexicographic order, with no whitespace.
 */
export function jwkThumbprint(jwk: { crv: string; x: string; y: string }): string {
  const canonical = `{"crv":"${jwk.crv}","kty":"EC","x":"${jwk.x}","y":"${jwk.y}"}`;
  return createHash('sha256').update(canonical, 'utf8').digest('base64url');
}

/** The public half of a key, as published. */
export function publicJwk(key: AssertionKey): PublicEcJwk {
  return { kty: 'EC', crv: 'P-256', x: key.jwk.x, y: key.jwk.y, kid: key.kid, alg: 'ES256', use: 'sig' };
}

/** A fresh P-256 key, as a private JWK with its thumbprint as `kid`. */
export function generateAssertionKey(): AssertionKey {
  const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  return fromKeyObject(privateKey, undefined);
}

/** The one-line JWK text of a key, as `gatehouse init` and `keys rotate` write it. */
export function keyToText(key: AssertionKey): string {
  const { kty, crv, x, y, d } = key.jwk;
  return JSON.stringify({ kty, crv, x, y, d, kid: key.kid });
}

/** A Node KeyObject for signing. */
export function privateKeyObject(key: AssertionKey): KeyObject {
  return createPrivateKey({ key: { ...key.jwk } as JsonWebKey, format: 'jwk' });
}

function fromKeyObject(keyObject: KeyObject, kid: string | undefined): AssertionKey {
  const jwk = keyObject.export({ format: 'jwk' });
  if (typeof jwk.x !== 'string' || typeof jwk.y !== 'string' || typeof jwk.d !== 'string') {
    throw new TypeError('an EC private key exported without x, y or d');
  }
  const resolvedKid = kid ?? jwkThumbprint({ crv: 'P-256', x: jwk.x, y: jwk.y });
  return {
    kid: resolvedKid,
    jwk: { kty: 'EC', crv: 'P-256', x: jwk.x, y: jwk.y, d: jwk.d, kid: resolvedKid },
  };
}

/**
 * Splits the setting into entries. Commas cannot simply be split on: a JWK is JSON full of
 * commas. So entries are read one by one: a balanced `{…}` is a JWK, a `-----BEGIN …-----` block
 * up to its `-----END …-----` line is a PEM; commas and whitespace separate them.
 */
export function splitKeyEntries(raw: string): { entries: string[] } | { error: string } {
  const entries: string[] = [];
  let i = 0;
  while (i < raw.length) {
    const c = raw[i]!;
    if (c === ',' || /\s/.test(c)) {
      i++;
      continue;
    }
    const position = entries.length + 1;
    if (c === '{') {
      let depth = 0;
      let inString = false;
      let j = i;
      for (; j < raw.length; j++) {
        const ch = raw[j]!;
        if (inString) {
          if (ch === '\\') j++;
          else if (ch === '"') inString = false;
        } else if (ch === '"') inString = true;
        else if (ch === '{') depth++;
        else if (ch === '}' && --depth === 0) break;
      }
      if (j >= raw.length) return { error: `key ${position} is a JWK whose braces do not close` };
      entries.push(raw.slice(i, j + 1));
      i = j + 1;
      continue;
    }
    if (raw.startsWith('-----BEGIN ', i)) {
      const end = /-----END [A-Z0-9 ]+-----/.exec(raw.slice(i));
      if (end === null) return { error: `key ${position} is a PEM block without its -----END line` };
      entries.push(raw.slice(i, i + end.index + end[0].length));
      i += end.index + end[0].length;
      continue;
    }
    return {
      error: `key ${position} is neither a JWK (starting with {) nor a PEM block (starting with -----BEGIN)`,
    };
  }
  return { entries };
}

function parseJwkEntry(text: string, label: string): AssertionKey | string {
  let jwk: unknown;
  try {
    jwk = JSON.parse(text);
  } catch {
    return `${label} is not valid JSON`;
  }
  if (typeof jwk !== 'object' || jwk === null || Array.isArray(jwk)) return `${label} is not a JWK object`;
  const { kty, crv, d, kid } = jwk as Record<string, unknown>;
  if (kty === 'RSA')
    return `${label} is an RSA key: assertions are ES256 and need an EC P-256 key (${HOW_TO})`;
  if (kty !== 'EC' || crv !== 'P-256') {
    return `${label} is not an EC P-256 key (kty "EC", crv "P-256"): assertions are ES256 (${HOW_TO})`;
  }
  if (d === undefined) {
    return `${label} is a public key only: ASSERTION_KEYS holds private keys (with "d"); the JWKS publishes their public halves`;
  }
  if (kid !== undefined && (typeof kid !== 'string' || kid === '' || kid.length > 128)) {
    return `${label} has a "kid" that is not a string of 1 to 128 characters`;
  }
  const invalid = `${label} is not a valid EC P-256 private key (its point and "d" do not make a key pair)`;
  // RFC 7518 §6.2.2.1: "d" is the 32-byte scalar; a short one is not a key, whatever a parser accepts.
  if (typeof d !== 'string' || !/^[A-Za-z0-9_-]{43}$/.test(d)) return invalid;
  let keyObject: KeyObject;
  try {
    keyObject = createPrivateKey({ key: jwk as JsonWebKey, format: 'jwk' });
  } catch {
    return invalid;
  }
  const key = fromKeyObject(keyObject, kid as string | undefined);
  // The published point must belong to "d" (a JWK parser keeps x and y as given): a signature
  // made with "d" must verify under x, y, or every assertion would fail at the upstream.
  if (!isKeyPair(keyObject, key.jwk)) return invalid;
  return key;
}

function isKeyPair(privateKey: KeyObject, jwk: PrivateEcJwk): boolean {
  try {
    const publicKey = createPublicKey({
      key: { kty: 'EC', crv: 'P-256', x: jwk.x, y: jwk.y } as JsonWebKey,
      format: 'jwk',
    });
    const probe = Buffer.from('gatehouse assertion key check');
    return verify('sha256', probe, publicKey, sign('sha256', probe, privateKey));
  } catch {
    return false;
  }
}

function parsePemEntry(text: string, label: string): AssertionKey | string {
  // A PEM pasted into a one-line variable often has its line breaks written as \n.
  const pem = text.replaceAll('\\n', '\n');
  const type = /^-----BEGIN ([A-Z0-9 ]+)-----/.exec(pem)?.[1] ?? '';
  if (type === 'PUBLIC KEY' || type === 'EC PUBLIC KEY' || type === 'CERTIFICATE') {
    return `${label} is a public key only (${type}): ASSERTION_KEYS holds private keys; the JWKS publishes their public halves`;
  }
  if (type === 'RSA PRIVATE KEY') {
    return `${label} is an RSA key: assertions are ES256 and need an EC P-256 key (${HOW_TO})`;
  }
  if (type === 'ENCRYPTED PRIVATE KEY') return `${label} is encrypted: give the key without a passphrase`;
  let keyObject: KeyObject;
  try {
    keyObject = createPrivateKey({ key: pem, format: 'pem' });
  } catch {
    return `${label} is not a valid PEM private key`;
  }
  if (keyObject.asymmetricKeyType === 'rsa' || keyObject.asymmetricKeyType === 'rsa-pss') {
    return `${label} is an RSA key: assertions are ES256 and need an EC P-256 key (${HOW_TO})`;
  }
  if (keyObject.asymmetricKeyType !== 'ec' || keyObject.asymmetricKeyDetails?.namedCurve !== 'prime256v1') {
    return `${label} is not an EC P-256 key: assertions are ES256 (${HOW_TO})`;
  }
  return fromKeyObject(keyObject, undefined);
}

/** Parses and validates `ASSERTION_KEYS`; the first key signs. */
export function parseAssertionKeys(raw: string): KeysParsed {
  const split = splitKeyEntries(raw);
  if ('error' in split) return { ok: false, message: split.error };
  if (split.entries.length === 0) return { ok: false, message: `lists no key (${HOW_TO})` };
  const keys: AssertionKey[] = [];
  const problems: string[] = [];
  split.entries.forEach((entry, index) => {
    const label = split.entries.length === 1 ? 'the key' : `key ${index + 1} of ${split.entries.length}`;
    const parsed = entry.startsWith('{') ? parseJwkEntry(entry, label) : parsePemEntry(entry, label);
    if (typeof parsed === 'string') problems.push(parsed);
    else keys.push(parsed);
  });
  if (problems.length > 0) return { ok: false, message: problems.join('; ') };
  const seen = new Map<string, AssertionKey>();
  const unique: AssertionKey[] = [];
  for (const key of keys) {
    const before = seen.get(key.kid);
    if (before === undefined) {
      seen.set(key.kid, key);
      unique.push(key);
    } else if (before.jwk.x !== key.jwk.x || before.jwk.y !== key.jwk.y) {
      return { ok: false, message: `two different keys share the kid "${key.kid}"` };
    }
  }
  return { ok: true, keys: unique };
}
