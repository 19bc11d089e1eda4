/**
 * The one place that reads the environment (and `.env`). It validates every variable, reports
 * every problem in one `ConfigError`, and returns a deep-frozen `Config` (STYLE.md habit 7, after
 * Fastify's option validation and oauth2-proxy's "invalid configuration" list).
 */

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseEnv } from 'node:util';
import { EnvReader } from './reader.js';
import { resolveConfig } from './resolve.js';
import { CONFIG_VARIABLES } from './schema.js';
import type { Config, ConfigProblem } from './types.js';

export class ConfigError extends Error {
  override readonly name = 'ConfigError';
  readonly problems: readonly ConfigProblem[];

  constructor(problems: readonly ConfigProblem[]) {
    const count = problems.length === 1 ? '1 problem' : `${problems.length} problems`;
    const lines = problems.map((problem) => `  - ${problem.variable}: ${problem.message}`);
    super(`Invalid configuration (${count}):\n${lines.join('\n')}`);
    this.problems = Object.freeze(problems.map((problem) => Object.freeze({ ...problem })));
  }
}

export interface LoadConfigOptions {
  /** The environment; default `process.env`. */
  env?: Record<string, string | undefined>;
  /** Where `.env` is looked for; default `process.cwd()`. */
  cwd?: string;
  /** Read `.env` from `cwd` when present; default true. */
  dotenv?: boolean;
}

const KNOWN = new Set(CONFIG_VARIABLES);

/** `.env` as a map, `{}` when absent; a file that exists but cannot be read is a problem. */
function readDotenv(cwd: string, problems: ConfigProblem[]): Record<string, string> {
  const path = join(cwd, '.env');
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return {};
    problems.push({
      variable: '.env',
      message: `cannot be read (${(err as NodeJS.ErrnoException).code ?? 'error'}): ${path}`,
    });
    return {};
  }
  const parsed = parseEnv(text);
  const values: Record<string, string> = {};
  for (const [key, value] of Object.entries(parsed)) if (value !== undefined) values[key] = value;
  return values;
}

function deepFreeze<T>(value: T): T {
  if (value !== null && typeof value === 'object' && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const child of Object.values(value)) deepFreeze(child);
  }
  return value;
}

/**
 * Read, validate and freeze the configuration. Throws `ConfigError` listing every problem.
 * `warnings` are for the log at start-up (development provider, generated secrets, …).
 */
export function loadConfig(options: LoadConfigOptions = {}): { config: Config; warnings: string[] } {
  const env = options.env ?? process.env;
  const cwd = options.cwd ?? process.cwd();
  const fileProblems: ConfigProblem[] = [];
  const fromFile = options.dotenv === false ? {} : readDotenv(cwd, fileProblems);

  // The real environment wins over .env (the reverse of the tutorial's load_dotenv(override=True)),
  // so an operator can always override a file they did not write.
  const merged: Record<string, string | undefined> = { ...fromFile };
  for (const [key, value] of Object.entries(env)) if (value !== undefined) merged[key] = value;

  const reader = new EnvReader(merged);
  reader.problems.push(...fileProblems);
  const unknown = Object.keys(fromFile).filter((key) => !KNOWN.has(key));
  if (unknown.length > 0) {
    reader.warn(`.env sets ${unknown.join(', ')}, which Gatehouse does not read (a misspelt name?)`);
  }

  const config = resolveConfig(reader, cwd);
  if (config === undefined || reader.problems.length > 0) throw new ConfigError(reader.problems);
  return { config: deepFreeze(config), warnings: [...reader.warnings] };
}
