/**
 * Only the callback verifier may make a VerifiedIdentity (STYLE habit 5): no module in src/ but
 * oidc/client.ts imports the factory, and no entry point re-exports it.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import * as packageEntry from '../../../src/index.js';
import * as oidcEntry from '../../../src/oidc/index.js';

const SRC = fileURLToPath(new URL('../../../src/', import.meta.url));

function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return sources(path);
    return entry.name.endsWith('.ts') ? [path] : [];
  });
}

describe('createVerifiedIdentity', () => {
  it('is imported only by the callback verifier', () => {
    const factory = join(SRC, 'oidc', 'identity.ts');
    const importers = sources(SRC)
      .filter((file) =>
        [...readFileSync(file, 'utf8').matchAll(/(?:from|import\()\s*'(\.[^']*)'/g)].some(
          (m) => resolve(dirname(file), (m[1] ?? '').replace(/\.js$/, '.ts')) === factory,
        ),
      )
      .map((file) => relative(SRC, file));
    expect(importers).toEqual([join('oidc', 'client.ts')]);
  });

  it('is re-exported by no entry point', () => {
    expect(Object.keys(oidcEntry)).not.toContain('createVerifiedIdentity');
    expect(Object.keys(packageEntry)).not.toContain('createVerifiedIdentity');
  });
});
