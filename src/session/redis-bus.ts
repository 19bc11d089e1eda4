/**
 * Revocation fan-out over Redis pub/sub (DESIGN.md "Sessions: fast and revocable": "other
 * instances learn it through Redis pub/sub when REDIS_URL is set").
 *
 * - Two connections, as Redis requires: a connection in subscriber mode can run no other
 *   command. The publisher connection also serves the shared rate-limit counters (`client`).
 * - Redis is an accelerator, never a dependency: revocation (session/revocation.ts) keeps polling the database
 *   whatever happens here, so a message lost during an outage is still learned within the poll
 *   interval. Hence nothing here throws into callers: `publish` resolves (and logs) when Redis
 *   is away, `subscribe` resolves after a bounded wait even if Redis never answers (ioredis
 *   subscribes once it connects, and re-subscribes after every reconnect).
 * - Publishing never queues while disconnected (`enableOfflineQueue: false`): a revocation
 *   replayed minutes later would be harmless but useless, and an unbounded queue is a leak.
 * - Outages are logged once when they start and once when they end, not per retry.
 */
import { Redis, type RedisOptions } from 'ioredis';
import type { Log } from '../core/log.js';
import type { RevocationBus } from './types.js';

export const REVOCATION_CHANNEL = 'gatehouse:revocations';
/** Ids per message: a "revoke all" of many sessions goes out in several bounded messages. */
const IDS_PER_MESSAGE = 500;
/**
 * The longest message read (SECURITY.md 42): 500 ids of at most 64 characters, quoted, plus the
 * envelope. Anything longer is ignored before it is parsed, so one message cannot make the
 * process build a huge object.
 */
export const MAX_MESSAGE_LENGTH = 12 + IDS_PER_MESSAGE * 67;
/** Session ids are 128-bit base64url (22 characters); anything else on the channel is ignored. */
const SESSION_ID = /^[A-Za-z0-9_-]{16,64}$/;
const SUBSCRIBE_WAIT_MS = 2_000;

export interface RedisBusOptions {
  /** REDIS_URL (`redis://` or `rediss://`). */
  readonly url: string;
  /** The URL with its password redacted, for logs. */
  readonly redactedUrl?: string | undefined;
  readonly logger: Log;
  readonly channel?: string;
  /** Connection timeout and the longest wait between reconnect attempts (ms). */
  readonly connectTimeoutMs?: number;
  readonly maxBackoffMs?: number;
}

export interface RedisBusStatus {
  readonly ok: boolean;
  readonly detail: string;
}

/** Exponential backoff with jitter, capped: 100 ms, 200 ms, 400 ms … ≤ maxBackoffMs. */
export function reconnectDelay(attempt: number, maxBackoffMs: number): number {
  const base = Math.min(maxBackoffMs, 100 * 2 ** Math.min(attempt, 16));
  return Math.round(base / 2 + Math.random() * (base / 2));
}

/** Parses one channel message; undefined for anything that is not a list of session ids. */
export function parseRevocationMessage(message: string): string[] | undefined {
  if (typeof message !== 'string' || message.length > MAX_MESSAGE_LENGTH) return undefined;
  let parsed: unknown;
  try {
    parsed = JSON.parse(message);
  } catch {
    return undefined;
  }
  const ids = (parsed as { ids?: unknown } | null)?.ids;
  if (!Array.isArray(ids) || ids.length === 0 || ids.length > IDS_PER_MESSAGE) return undefined;
  if (!ids.every((id): id is string => typeof id === 'string' && SESSION_ID.test(id))) return undefined;
  return ids;
}

export class RedisRevocationBus implements RevocationBus {
  readonly #publisher: Redis;
  readonly #subscriber: Redis;
  readonly #channel: string;
  readonly #logger: Log;
  readonly #where: string;
  #down = false;
  #closed = false;
  #listener: ((ids: readonly string[]) => void) | undefined;
  #onResumed: (() => void) | undefined;

  constructor(options: RedisBusOptions) {
    this.#channel = options.channel ?? REVOCATION_CHANNEL;
    this.#logger = options.logger;
    this.#where = options.redactedUrl ?? 'redis';
    const maxBackoffMs = options.maxBackoffMs ?? 5_000;
    const common: RedisOptions = {
      lazyConnect: true,
      connectTimeout: options.connectTimeoutMs ?? 2_000,
      // Never give up reconnecting: Redis coming back must end the fallback by itself.
      retryStrategy: (attempt) => reconnectDelay(attempt, maxBackoffMs),
      maxRetriesPerRequest: 1,
    };
    this.#publisher = new Redis(options.url, {
      ...common,
      enableOfflineQueue: false,
      connectionName: 'gatehouse-pub',
    });
    // The subscriber queues its SUBSCRIBE until connected and re-subscribes after reconnects.
    this.#subscriber = new Redis(options.url, {
      ...common,
      enableOfflineQueue: true,
      autoResubscribe: true,
      maxRetriesPerRequest: null,
      connectionName: 'gatehouse-sub',
    });
    for (const [role, client] of [
      ['publisher', this.#publisher],
      ['subscriber', this.#subscriber],
    ] as const) {
      // Without an 'error' listener ioredis prints every failed attempt to stderr.
      client.on('error', (err: Error) => this.#sawError(role, err));
      client.on('ready', () => this.#sawReady());
    }
    this.#subscriber.on('message', (channel: string, message: string) => {
      if (channel !== this.#channel) return;
      const ids = parseRevocationMessage(message);
      if (ids === undefined) {
        this.#logger.warn({ event: 'revocation_message_ignored' }, 'ignored a malformed revocation message');
        return;
      }
      this.#listener?.(ids);
    });
    // Connect now, in the background; failures are reported through the 'error' listener.
    this.#publisher.connect().catch(() => {});
  }

  /** The command connection, shared with the rate-limit counters. Do not close it yourself. */
  get client(): Redis {
    return this.#publisher;
  }

  /** Both connections ready: revocations reach other instances at once. */
  get connected(): boolean {
    return this.#publisher.status === 'ready' && this.#subscriber.status === 'ready';
  }

  /**
   * Resolves true once the publisher is connected, false after `timeoutMs` (never rejects). For
   * short-lived callers (the CLI) that publish right after creating the bus: publishing does not
   * queue while disconnected.
   */
  whenConnected(timeoutMs = 2_000): Promise<boolean> {
    if (this.#publisher.status === 'ready') return Promise.resolve(true);
    return new Promise((resolve) => {
      const done = (ok: boolean) => {
        clearTimeout(timer);
        this.#publisher.off('ready', onReady);
        resolve(ok);
      };
      const onReady = () => done(true);
      const timer = setTimeout(() => done(false), timeoutMs);
      timer.unref();
      this.#publisher.on('ready', onReady);
    });
  }

  /**
   * For /readyz: never affects readiness (polling covers an outage), but says what is happening —
   * without the URL, host or user name, which an unauthenticated caller must not learn
   * (SECURITY.md 47; the logs name it).
   */
  status(pollSeconds: number): RedisBusStatus {
    if (this.connected) return { ok: true, detail: 'connected' };
    return {
      ok: false,
      detail: `unreachable; revocations fall back to database polling (every ${pollSeconds}s)`,
    };
  }

  async publish(sessionIds: readonly string[]): Promise<void> {
    if (this.#closed || sessionIds.length === 0) return;
    for (let i = 0; i < sessionIds.length; i += IDS_PER_MESSAGE) {
      const ids = sessionIds.slice(i, i + IDS_PER_MESSAGE);
      try {
        await this.#publisher.publish(this.#channel, JSON.stringify({ ids }));
      } catch (err) {
        this.#logger.warn(
          { event: 'revocation_publish_failed', count: ids.length, err: errorText(err) },
          'revocation broadcast failed; other instances learn it by database polling',
        );
        return;
      }
    }
  }

  async subscribe(onRevoked: (sessionIds: readonly string[]) => void, onResumed?: () => void): Promise<void> {
    if (this.#closed) return;
    this.#listener = onRevoked;
    this.#onResumed = onResumed;
    const subscribed = this.#subscriber
      .connect()
      .catch(() => {})
      .then(() => this.#subscriber.subscribe(this.#channel))
      .then(
        () => true,
        () => false,
      );
    let timer: NodeJS.Timeout | undefined;
    const waited = new Promise<false>((resolve) => {
      timer = setTimeout(() => resolve(false), SUBSCRIBE_WAIT_MS);
      timer.unref();
    });
    const ok = await Promise.race([subscribed, waited]);
    clearTimeout(timer);
    if (!ok) {
      this.#logger.warn(
        { event: 'revocation_bus_unavailable', redis: this.#where },
        'Redis unreachable at start; revocations reach this instance by database polling until it connects',
      );
    }
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#listener = undefined;
    this.#onResumed = undefined;
    await Promise.all([quit(this.#subscriber), quit(this.#publisher)]);
  }

  #sawError(role: string, err: Error): void {
    if (this.#closed || this.#down) return;
    this.#down = true;
    this.#logger.warn(
      { event: 'redis_unavailable', role, redis: this.#where, err: errorText(err) },
      'Redis unreachable: revocations fall back to database polling, rate limits to this instance',
    );
  }

  #sawReady(): void {
    if (!this.#down || !this.connected) return;
    this.#down = false;
    this.#logger.info({ event: 'redis_recovered', redis: this.#where }, 'Redis reachable again');
    // Messages published while we were away are lost: the subscriber catches up from the database.
    this.#onResumed?.();
  }
}

async function quit(client: Redis): Promise<void> {
  if (client.status === 'end') return;
  try {
    if (client.status === 'ready') await client.quit();
    else client.disconnect();
  } catch {
    client.disconnect();
  }
}

function errorText(err: unknown): string {
  // ioredis messages name the host and port only (the password is never part of them).
  return err instanceof Error ? err.message : String(err);
}
