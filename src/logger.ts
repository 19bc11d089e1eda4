/**
 * The process logger: pino, JSON in production, pretty in development. Secrets, tokens and
 * cookies are redacted wherever they could appear (headers of requests and responses, and any
 * field named like a secret), so a log line never carries a credential.
 */
import { type Logger, pino } from 'pino';
import type { Config } from './config/types.js';

export type { Logger };

export const REDACT_PATHS = [
  'req.headers.cookie',
  'req.headers.authorization',
  'res.headers["set-cookie"]',
  'headers.cookie',
  'headers.authorization',
  '*.token',
  '*.access_token',
  '*.id_token',
  '*.refresh_token',
  '*.code_verifier',
  '*.client_secret',
  '*.secretKey',
  '*.jwtSecretKeys',
  '*.password',
];

export interface LoggerOptions {
  /** Where lines go; defaults to stdout (or pino-pretty in development). Tests pass a stream. */
  readonly destination?: NodeJS.WritableStream;
}

export function createLogger(
  config: Pick<Config, 'logLevel' | 'logPretty'>,
  options: LoggerOptions = {},
): Logger {
  const base = {
    level: config.logLevel,
    base: { service: 'gatehouse' },
    redact: { paths: REDACT_PATHS, censor: '[redacted]' },
    timestamp: pino.stdTimeFunctions.isoTime,
  };
  if (options.destination) return pino(base, options.destination);
  if (config.logPretty) {
    return pino({
      ...base,
      transport: {
        target: 'pino-pretty',
        options: { colorize: true, translateTime: 'SYS:HH:MM:ss.l', ignore: 'pid,hostname,service' },
      },
    });
  }
  return pino(base);
}
