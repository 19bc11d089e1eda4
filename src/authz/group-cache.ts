/**
 * Large group lists stay out of the session token (the cookie must stay under 4 KB with 200
 * groups): the token carries `gh`, a digest of the sorted list, and each instance keeps
 * digest → list here, filled when it issues a token (sign-in or renewal). A token whose digest
 * this instance has not seen is renewed (one database read, as for an expired token), which
 * loads the list: so a lookup here is only ever a Map hit on the hot path.
 */
import { createHash } from 'node:crypto';

/** Lists whose JSON is longer than this go by digest. ~12 ordinary group emails fit. */
export const INLINE_GROUPS_BYTES = 512;
const CAPACITY = 10_000;

export function groupsDigest(groups: readonly string[]): string {
  return createHash('sha256').update(JSON.stringify(groups)).digest('base64url').slice(0, 22);
}

export class GroupCache {
  readonly #lists = new Map<string, readonly string[]>();

  get(digest: string): readonly string[] | undefined {
    return this.#lists.get(digest);
  }

  /** Remembers `groups` and returns its digest. Bounded: the oldest list goes first. */
  put(groups: readonly string[]): string {
    const digest = groupsDigest(groups);
    if (this.#lists.has(digest)) return digest;
    if (this.#lists.size >= CAPACITY) {
      const oldest = this.#lists.keys().next().value;
      if (oldest !== undefined) this.#lists.delete(oldest);
    }
    this.#lists.set(digest, Object.freeze([...groups]));
    return digest;
  }
}
