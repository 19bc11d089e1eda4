/**
 * Which upstream serves a (normalised) path, and the URL it is forwarded to. UPSTREAMS is sorted
 * longest prefix first at configuration time, so the first match is the most specific one.
 */
import type { Upstream } from '../../config/types.js';
import { underPrefix } from './path.js';

export interface UpstreamTarget {
  readonly upstream: Upstream;
  /** The upstream's origin: where reply-from connects. */
  readonly origin: string;
  /** The path the upstream receives: its base path (if any) + the normalised request path. */
  readonly path: string;
}

export function chooseUpstream(upstreams: readonly Upstream[], path: string): UpstreamTarget | undefined {
  for (const upstream of upstreams) {
    if (!underPrefix(path, upstream.prefix)) continue;
    const base = upstream.url.slice(upstream.origin.length);
    return { upstream, origin: upstream.origin, path: `${base}${path}` };
  }
  return undefined;
}
