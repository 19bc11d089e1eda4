/**
 * Development without `ASSERTION_KEYS`: a key generated once and kept in a file (mode 0600) next
 * to the SQLite database (`./data/` by default), so an upstream's cached JWKS stays valid across
 * restarts — a key per process would make every restart look like an unannounced rotation.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { type AssertionKey, generateAssertionKey, keyToText, parseAssertionKeys } from './keys.js';

export class DevKeyFileError extends Error {
  override readonly name = 'DevKeyFileError';
}

/** Reads the key kept in `path`, or generates one and writes it there (never replacing a file). */
export function loadOrCreateDevKey(path: string): { key: AssertionKey; created: boolean } {
  const existing = readKeyFile(path);
  if (existing !== undefined) return { key: existing, created: false };
  const key = generateAssertionKey();
  mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
  try {
    // `wx`: two instances starting at once on one data directory must end up with one key.
    writeFileSync(path, `${keyToText(key)}\n`, { mode: 0o600, flag: 'wx' });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') {
      const raced = readKeyFile(path);
      if (raced !== undefined) return { key: raced, created: false };
    }
    throw new DevKeyFileError(
      `cannot write the development assertion key to ${path} (${(err as NodeJS.ErrnoException).code ?? 'error'}); set ASSERTION_KEYS instead`,
      { cause: err },
    );
  }
  return { key, created: true };
}

function readKeyFile(path: string): AssertionKey | undefined {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new DevKeyFileError(
      `cannot read the development assertion key ${path} (${(err as NodeJS.ErrnoException).code ?? 'error'})`,
      { cause: err },
    );
  }
  const parsed = parseAssertionKeys(text);
  if (!parsed.ok || parsed.keys.length !== 1) {
    throw new DevKeyFileError(
      `${path} does not hold one EC P-256 private key${parsed.ok ? '' : ` (${parsed.message})`}; delete it to generate a new one`,
    );
  }
  return parsed.keys[0];
}
