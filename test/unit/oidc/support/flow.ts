/** Small helpers shared by the flow tests. */
import { expect } from 'vitest';
import { GatehouseError } from '../../../../src/errors.js';
import type { OidcClient } from '../../../../src/oidc/client.js';

export interface Started {
  readonly url: URL;
  readonly cookies: Record<string, string>;
  readonly state: string;
  readonly nonce: string;
}

export async function start(client: OidcClient, returnTo?: string): Promise<Started> {
  const begun = await client.beginLogin({ returnTo });
  const url = new URL(begun.url);
  return {
    url,
    cookies: { [begun.cookie.name]: begun.cookie.value },
    state: url.searchParams.get('state') ?? '',
    nonce: url.searchParams.get('nonce') ?? '',
  };
}

/** Awaits a rejection and checks its stable code and reason. */
export async function expectFailure(
  promise: Promise<unknown>,
  code: string,
  reason?: string,
): Promise<GatehouseError> {
  const err = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err, 'expected a rejection').toBeInstanceOf(GatehouseError);
  const g = err as GatehouseError;
  expect({ code: g.code, reason: reason === undefined ? undefined : g.reason }).toEqual({ code, reason });
  return g;
}

/** Polls a condition until it holds or the deadline passes (no sleeps as synchronisation). */
export async function waitFor(condition: () => boolean, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('condition not met before the deadline');
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}
