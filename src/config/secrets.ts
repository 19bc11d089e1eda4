/**
 * The server's own secrets: SECRET_KEY (seals the login transaction) and JWT_SECRET_KEY (signs
 * session tokens). Production refuses to start without strong keys, naming each one; development
 * generates what is missing and says so. (The provider's settings are in oidc.ts.)
 */

import { randomBytes } from 'node:crypto';
import { parseList, unique } from './parse.js';
import type { EnvReader } from './reader.js';
import type { Config } from './types.js';

/** 256 bits: the floor for an HS256 key (RFC 7518 §3.2) and for the sealing key. */
export const MIN_SECRET_BYTES = 32;
const HOW_TO_GENERATE = 'run `gatehouse init` or use `openssl rand -base64 48`';

function generateKey(): string {
  return randomBytes(MIN_SECRET_BYTES).toString('base64url');
}

function isShort(key: string): boolean {
  return Buffer.byteLength(key, 'utf8') < MIN_SECRET_BYTES;
}

export function resolveSecrets(reader: EnvReader, production: boolean): Config['secrets'] | undefined {
  const generated: string[] = [];
  let valid = true;

  let secretKey = reader.raw('SECRET_KEY');
  if (secretKey === undefined) {
    if (production) {
      reader.problem(
        'SECRET_KEY',
        `is required in production (at least ${MIN_SECRET_BYTES} random bytes; ${HOW_TO_GENERATE})`,
      );
      valid = false;
    } else {
      secretKey = generateKey();
      generated.push('SECRET_KEY');
    }
  } else if (isShort(secretKey)) {
    const message = `is shorter than ${MIN_SECRET_BYTES} bytes (${HOW_TO_GENERATE})`;
    if (production) {
      reader.problem('SECRET_KEY', message);
      valid = false;
    } else {
      reader.warn(`SECRET_KEY ${message}; production would refuse it`);
    }
  }

  let jwtSecretKeys: string[] | undefined;
  const jwtRaw = reader.raw('JWT_SECRET_KEY');
  if (jwtRaw === undefined) {
    if (production) {
      reader.problem(
        'JWT_SECRET_KEY',
        `is required in production (each key at least ${MIN_SECRET_BYTES} random bytes; ${HOW_TO_GENERATE})`,
      );
      valid = false;
    } else {
      jwtSecretKeys = [generateKey()];
      generated.push('JWT_SECRET_KEY');
    }
  } else {
    const keys = unique(parseList(jwtRaw));
    const short = keys.flatMap((key, index) => (isShort(key) ? [`key ${index + 1} of ${keys.length}`] : []));
    if (keys.length === 0) {
      reader.problem(
        'JWT_SECRET_KEY',
        'lists no key: write one key, or several separated by commas (the first signs)',
      );
      valid = false;
    } else if (short.length > 0) {
      const message = `${short.join(', ')} is shorter than ${MIN_SECRET_BYTES} bytes (${HOW_TO_GENERATE})`;
      if (production) {
        reader.problem('JWT_SECRET_KEY', message);
        valid = false;
      } else {
        reader.warn(`JWT_SECRET_KEY: ${message}; production would refuse it`);
      }
    }
    jwtSecretKeys = keys;
  }

  if (generated.length > 0) {
    reader.warn(
      `${generated.join(' and ')} not set: generated a random key for this process, so sessions and sign-ins in progress will not survive a restart (${HOW_TO_GENERATE} to keep them)`,
    );
  }
  if (secretKey !== undefined && jwtSecretKeys?.includes(secretKey)) {
    reader.warn('SECRET_KEY is also used as a JWT_SECRET_KEY key: give each purpose its own key');
  }
  if (!valid || secretKey === undefined || jwtSecretKeys === undefined) return undefined;
  return { secretKey, jwtSecretKeys, generated: generated.length > 0 };
}
