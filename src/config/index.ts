/** The configuration module's public API. */

export { ConfigError, type LoadConfigOptions, loadConfig } from './load.js';
export { isLoopbackHost, redactUrl } from './parse.js';
export { CONFIG_SCHEMA, CONFIG_VARIABLES, renderConfigurationDoc } from './schema.js';
export { MIN_SECRET_BYTES } from './secrets.js';
export { summarizeConfig } from './summary.js';
export type { Config, ConfigProblem, DatabaseKind, LogLevel, NodeEnv, RateLimit } from './types.js';
