/**
 * In-memory storage for the development provider's artefacts (interactions, sessions, grants,
 * codes, access tokens), one store per provider instance.
 *
 * oidc-provider's own memory adapter is an LRU capped at ~1000 entries shared by every model
 * and warns on start; a burst of concurrent sign-ins in tests or benchmarks could evict an
 * interaction or a code mid-flight. This store honours each artefact's own expiry and is bounded
 * by count (expired entries are swept first, then the oldest go), so memory stays flat.
 */
import type { Adapter, AdapterPayload } from 'oidc-provider';

interface Entry {
  readonly payload: AdapterPayload;
  /** epoch ms; Infinity when the artefact has no expiry */
  readonly expiresAt: number;
}

export interface MemoryStore {
  readonly entries: Map<string, Entry>;
  /** grantId -> keys of the tokens issued under it (for revokeByGrantId) */
  readonly grants: Map<string, Set<string>>;
  /** session uid -> session id */
  readonly sessionUids: Map<string, string>;
  readonly maxEntries: number;
  readonly now: () => number;
}

/** Artefacts that belong to a grant and go when the grant is revoked. */
const GRANTABLE = new Set([
  'AccessToken',
  'AuthorizationCode',
  'RefreshToken',
  'DeviceCode',
  'BackchannelAuthenticationRequest',
]);

export function createMemoryStore(options: { maxEntries?: number; now?: () => number } = {}): MemoryStore {
  return {
    entries: new Map(),
    grants: new Map(),
    sessionUids: new Map(),
    maxEntries: options.maxEntries ?? 20_000,
    now: options.now ?? Date.now,
  };
}

function sweep(store: MemoryStore): void {
  const now = store.now();
  for (const [key, entry] of store.entries) {
    if (entry.expiresAt <= now) store.entries.delete(key);
  }
  // Still full of live entries: drop the oldest (Map iteration is insertion order), leaving
  // headroom so that the next inserts do not sweep again at once.
  const target = Math.floor(store.maxEntries * 0.9);
  for (const key of store.entries.keys()) {
    if (store.entries.size <= target) break;
    store.entries.delete(key);
  }
  for (const [grantId, keys] of store.grants) {
    for (const key of keys) if (!store.entries.has(key)) keys.delete(key);
    if (keys.size === 0) store.grants.delete(grantId);
  }
  for (const [uid, id] of store.sessionUids) {
    if (!store.entries.has(`Session:${id}`)) store.sessionUids.delete(uid);
  }
}

class MemoryAdapter implements Adapter {
  readonly #model: string;
  readonly #store: MemoryStore;

  constructor(model: string, store: MemoryStore) {
    this.#model = model;
    this.#store = store;
  }

  #key(id: string): string {
    return `${this.#model}:${id}`;
  }

  #get(key: string): AdapterPayload | undefined {
    const entry = this.#store.entries.get(key);
    if (!entry) return undefined;
    if (entry.expiresAt <= this.#store.now()) {
      this.#store.entries.delete(key);
      return undefined;
    }
    return entry.payload;
  }

  async upsert(id: string, payload: AdapterPayload, expiresIn: number | undefined): Promise<void> {
    const store = this.#store;
    if (store.entries.size >= store.maxEntries) sweep(store);
    const key = this.#key(id);
    const expiresAt =
      typeof expiresIn === 'number' ? store.now() + expiresIn * 1000 : Number.POSITIVE_INFINITY;
    store.entries.delete(key); // re-insert at the end: "oldest" means least recently written
    store.entries.set(key, { payload, expiresAt });
    if (this.#model === 'Session' && typeof payload.uid === 'string') store.sessionUids.set(payload.uid, id);
    if (GRANTABLE.has(this.#model) && typeof payload.grantId === 'string') {
      const keys = store.grants.get(payload.grantId) ?? new Set<string>();
      keys.add(key);
      store.grants.set(payload.grantId, keys);
    }
  }

  async find(id: string): Promise<AdapterPayload | undefined> {
    return this.#get(this.#key(id));
  }

  async findByUid(uid: string): Promise<AdapterPayload | undefined> {
    const id = this.#store.sessionUids.get(uid);
    return id === undefined ? undefined : this.find(id);
  }

  async findByUserCode(): Promise<AdapterPayload | undefined> {
    // The device flow is not enabled on the development provider.
    return undefined;
  }

  async consume(id: string): Promise<void> {
    const payload = this.#get(this.#key(id));
    if (payload) payload.consumed = Math.floor(this.#store.now() / 1000);
  }

  async destroy(id: string): Promise<void> {
    const key = this.#key(id);
    const payload = this.#store.entries.get(key)?.payload;
    this.#store.entries.delete(key);
    if (payload && typeof payload.uid === 'string' && this.#model === 'Session') {
      this.#store.sessionUids.delete(payload.uid);
    }
  }

  async revokeByGrantId(grantId: string): Promise<void> {
    const keys = this.#store.grants.get(grantId);
    if (!keys) return;
    for (const key of keys) this.#store.entries.delete(key);
    this.#store.grants.delete(grantId);
  }
}

/** The factory handed to oidc-provider's `adapter` option. */
export function memoryAdapterFactory(store: MemoryStore): (model: string) => Adapter {
  return (model) => new MemoryAdapter(model, store);
}
