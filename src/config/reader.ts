/**
 * Reads variables from one merged map and collects problems and warnings instead of throwing,
 * so that every problem can be reported at once (STYLE.md habit 7).
 */

import type { Parsed } from './parse.js';
import { CONFIG_VARIABLES } from './schema.js';
import type { ConfigProblem } from './types.js';

const KNOWN = new Set(CONFIG_VARIABLES);

export class EnvReader {
  readonly problems: ConfigProblem[] = [];
  readonly warnings: string[] = [];
  readonly #vars: Readonly<Record<string, string | undefined>>;

  constructor(vars: Readonly<Record<string, string | undefined>>) {
    this.#vars = vars;
  }

  /** The trimmed value, or undefined when unset or empty (`REDIS_URL=` means unset). */
  raw(name: string): string | undefined {
    // Reading a variable the schema does not list is a programming error: the docs would miss it.
    if (!KNOWN.has(name))
      throw new TypeError(`configuration variable ${name} is not in src/config/schema.ts`);
    const value = this.#vars[name]?.trim();
    return value === '' ? undefined : value;
  }

  isSet(name: string): boolean {
    return this.raw(name) !== undefined;
  }

  /**
   * Parse a variable: the fallback when unset, the parsed value when valid, and undefined (with a
   * problem recorded) when invalid. Callers skip checks that depend on an undefined value, so one
   * bad variable does not cascade into misleading follow-up problems.
   */
  read<T>(name: string, parse: (raw: string) => Parsed<T>, fallback: T): T | undefined {
    const raw = this.raw(name);
    if (raw === undefined) return fallback;
    const parsed = parse(raw);
    if (parsed.ok) return parsed.value;
    this.problem(name, parsed.message);
    return undefined;
  }

  problem(variable: string, message: string): void {
    this.problems.push({ variable, message });
  }

  warn(message: string): void {
    this.warnings.push(message);
  }
}
