/** What every repository receives: the Kysely instance, the dialect kind and its codec. */
import type { Kysely } from 'kysely';
import type { DatabaseKind } from '../../config/types.js';
import type { Codec } from '../codec.js';
import type { Database } from '../schema.js';

export interface RepositoryContext {
  readonly db: Kysely<Database>;
  readonly kind: DatabaseKind;
  readonly codec: Codec;
}
