/**
 * Values in and out of the database, identical on the three dialects: times (always `Date` at
 * the Store API, millisecond precision), booleans, and the text rules for untrusted strings.
 */
import type { DatabaseKind } from '../config/types.js';
import type { DbBool, DbTime } from './schema.js';

/** DATETIME on MySQL stops at 9999; SQLite's ISO text only sorts correctly with 4-digit years. */
const MIN_TIME = Date.UTC(1000, 0, 1);
const MAX_TIME = Date.UTC(9999, 11, 31, 23, 59, 59, 999);

export interface Codec {
  time(value: Date): DbTime;
  timeOrNull(value: Date | null | undefined): DbTime | null;
  readTime(value: unknown): Date;
  readTimeOrNull(value: unknown): Date | null;
  bool(value: boolean): DbBool;
}

export function codecFor(kind: DatabaseKind): Codec {
  const time = (value: Date): DbTime => {
    if (!(value instanceof Date)) throw new TypeError('expected a Date');
    const ms = value.getTime();
    if (Number.isNaN(ms) || ms < MIN_TIME || ms > MAX_TIME) {
      throw new TypeError('date out of the supported range (years 1000 to 9999)');
    }
    // better-sqlite3 cannot bind Dates; fixed-width ISO text compares like the instant it names.
    return kind === 'sqlite' ? value.toISOString() : new Date(ms);
  };
  const readTime = (value: unknown): Date => {
    if (value instanceof Date) return value;
    if (typeof value === 'string' || typeof value === 'number') {
      const date = new Date(value);
      if (!Number.isNaN(date.getTime())) return date;
    }
    throw new TypeError('unreadable timestamp in the database');
  };
  return {
    time,
    timeOrNull: (value) => (value === null || value === undefined ? null : time(value)),
    readTime,
    readTimeOrNull: (value) => (value === null || value === undefined ? null : readTime(value)),
    // better-sqlite3 cannot bind booleans; MySQL's BOOLEAN is TINYINT(1).
    bool: (value) => (kind === 'postgres' ? value : value ? 1 : 0),
  };
}

export function readBool(value: unknown): boolean {
  return value === true || value === 1 || value === '1' || value === 't';
}

export function readInt(value: unknown): number {
  const n = typeof value === 'bigint' ? Number(value) : Number(value ?? 0);
  if (!Number.isSafeInteger(n)) throw new TypeError('unreadable integer in the database');
  return n;
}

/**
 * Display text from outside (names, user agents, reasons): NUL is replaced by U+FFFD, because
 * PostgreSQL cannot store it in text while MySQL and SQLite can — one rule for all three.
 * Truncation counts code points so a surrogate pair is never split.
 */
export function displayText(value: string | null | undefined, max: number): string | null {
  if (value === null || value === undefined) return null;
  let text = value.includes('\u0000') ? value.replaceAll('\u0000', '\uFFFD') : value;
  if (text.length > max) text = Array.from(text).slice(0, max).join('');
  return text;
}

/** True when `value` fits `max` code points and carries no NUL (used for identity keys). */
export function isCleanKey(value: string, max: number): boolean {
  return !value.includes('\u0000') && value.length > 0 && Array.from(value).length <= max;
}
