/**
 * Argument parsing for every command: node:util parseArgs in strict mode, so an unknown option
 * or a missing value is a usage error (exit 2) rather than being silently ignored.
 */
import { parseArgs } from 'node:util';
import { parseDuration } from '../config/parse.js';

/** A command-line mistake: the message is printed with the command's usage, exit 2. */
export class UsageError extends Error {
  override readonly name = 'UsageError';
}

type OptionSpec = Record<string, { type: 'string' | 'boolean'; short?: string; multiple?: boolean }>;

/** Options every command accepts. */
export const COMMON_OPTIONS = {
  help: { type: 'boolean', short: 'h' },
  json: { type: 'boolean' },
  'no-color': { type: 'boolean' },
} as const satisfies OptionSpec;

export interface Parsed<O extends OptionSpec> {
  readonly values: { [K in keyof O]?: O[K]['type'] extends 'string' ? string : boolean } & {
    help?: boolean;
    json?: boolean;
    'no-color'?: boolean;
  };
  readonly positionals: string[];
}

export function parse<O extends OptionSpec>(args: readonly string[], options: O): Parsed<O> {
  try {
    const { values, positionals } = parseArgs({
      args: [...args],
      options: { ...COMMON_OPTIONS, ...options },
      strict: true,
      allowPositionals: true,
    });
    return { values: values as Parsed<O>['values'], positionals };
  } catch (err) {
    throw new UsageError(err instanceof Error ? err.message : String(err));
  }
}

/** A positive whole number option (`--limit 20`). */
export function positiveInt(value: string | undefined, name: string, fallback: number): number {
  if (value === undefined) return fallback;
  if (!/^\d+$/.test(value) || Number(value) < 1) throw new UsageError(`--${name} must be a whole number ≥ 1`);
  return Number(value);
}

/** `--since`: a duration back from now (`30m`, `24h`, `7d`) or an ISO date/time. */
export function sinceDate(value: string | undefined, now: number): Date | undefined {
  if (value === undefined) return undefined;
  const duration = parseDuration(value);
  if (duration.ok) return new Date(now - duration.value * 1000);
  const date = new Date(value);
  if (/^\d{4}-\d{2}-\d{2}/.test(value) && !Number.isNaN(date.getTime())) return date;
  throw new UsageError(`--since must be a duration such as 30m, 24h, 7d or an ISO date, not "${value}"`);
}
