/**
 * Keeps docs/security.md honest: every rule of SECURITY.md's required sections (REQUIRED below)
 * has a row in its table,
 * every row names at least one test, and every named test exists in test/security/ under that
 * rule's number. SECURITY.md lives beside the repository (`../shared/SECURITY.md`).
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

const ROOT = join(import.meta.dirname, '..', '..');
const SECURITY_MD = join(ROOT, '..', 'shared', 'SECURITY.md');
const DOC = join(ROOT, 'docs', 'security.md');
const SUITE = join(ROOT, 'test', 'security');
const required = process.env.GATEHOUSE_REQUIRE_SERVICES === '1';
if (!existsSync(SECURITY_MD) && !required) {
  console.warn(
    `rules coverage skipped: ${SECURITY_MD} not found (GATEHOUSE_REQUIRE_SERVICES=1 makes this a failure)`,
  );
}

/**
 * The sections this suite must cover and the number of their last rule: extending coverage to a
 * new section is one edit here (e.g. `{ sections: 'A-J', lastRule: 55 }`).
 */
export const REQUIRED = { sections: 'A-M', lastRule: 62 } as const;

/** Rule numbers listed under the required lettered sections (`## A.` … `## I.`). */
export function rulesOf(markdown: string, sections: string = REQUIRED.sections): number[] {
  const heading = new RegExp(`^## [${sections}]\\. `);
  const rules: number[] = [];
  let inSection = false;
  for (const line of markdown.split('\n')) {
    if (line.startsWith('## ')) inSection = heading.test(line);
    const match = inSection ? /^(\d+)\. /.exec(line) : null;
    if (match) rules.push(Number(match[1]));
  }
  return rules;
}

/** rule number → [file, test name][] from the docs table. */
export function tableOf(markdown: string): Map<number, [string, string][]> {
  const table = new Map<number, [string, string][]>();
  for (const line of markdown.split('\n')) {
    const row = /^\| (\d+) \|[^|]*\|(.*)\|\s*$/.exec(line);
    if (!row) continue;
    const refs: [string, string][] = [];
    for (const cell of row[2]!.split('<br>')) {
      const ref = /`([a-z0-9-]+\.test\.ts)` › (.+)$/.exec(cell.trim());
      if (ref) refs.push([ref[1]!, ref[2]!.trim()]);
    }
    table.set(Number(row[1]), refs);
  }
  return table;
}

describe.runIf(existsSync(SECURITY_MD) || required)(
  'SECURITY.md rules ↔ docs/security.md ↔ test/security',
  () => {
    it(`finds SECURITY.md and its rules 1–${REQUIRED.lastRule} in sections ${REQUIRED.sections}`, () => {
      expect(existsSync(SECURITY_MD), `${SECURITY_MD} is missing`).toBe(true);
      const rules = rulesOf(readFileSync(SECURITY_MD, 'utf8'));
      expect(rules).toEqual(Array.from({ length: REQUIRED.lastRule }, (_, i) => i + 1));
    });

    it('every rule has a row with at least one test, and every named test exists under its rule number', () => {
      const rules = rulesOf(readFileSync(SECURITY_MD, 'utf8'));
      const table = tableOf(readFileSync(DOC, 'utf8'));
      const problems: string[] = [];
      for (const rule of rules) {
        const refs = table.get(rule) ?? [];
        if (refs.length === 0) problems.push(`rule ${rule}: no test in docs/security.md`);
        for (const [file, name] of refs) {
          const path = join(SUITE, file);
          if (!existsSync(path)) {
            problems.push(`rule ${rule}: ${file} does not exist`);
            continue;
          }
          if (!name.startsWith(`rule ${rule}:`)) problems.push(`rule ${rule}: "${name}" is not named for it`);
          if (!readFileSync(path, 'utf8').includes(name))
            problems.push(`rule ${rule}: no test "${name}" in ${file}`);
        }
      }
      expect(problems).toEqual([]);
    });

    it('nothing in the security suite is skipped', () => {
      for (const file of readdirSync(SUITE).filter(
        (f) => f.endsWith('.test.ts') && f !== 'rules-coverage.test.ts',
      )) {
        const source = readFileSync(join(SUITE, file), 'utf8');
        expect(source, file).not.toMatch(
          /\b(it|describe|test)\.(skip|todo|only|skipIf|runIf)\b|\bx(it|describe)\(/,
        );
      }
    });
  },
);
