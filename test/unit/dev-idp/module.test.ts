import { afterEach, describe, expect, it, vi } from 'vitest';
import { loadOidcProvider } from '../../../src/dev-idp/module.js';

afterEach(() => {
  vi.restoreAllMocks();
});

describe('loading oidc-provider', () => {
  it('keeps only the "unsupported runtime" notice out of the console, and restores console.warn', async () => {
    const warn = vi.spyOn(console, 'warn').mockImplementation(() => {});
    const before = console.warn;
    const module = await loadOidcProvider();
    expect(typeof module.Provider).toBe('function');
    expect(console.warn).toBe(before);
    const messages = warn.mock.calls.map((args) => String(args[0]));
    expect(messages.filter((m) => m.includes('Unsupported runtime'))).toEqual([]);
    // Loaded once: a second call returns the same module without importing again.
    expect(await loadOidcProvider()).toBe(module);
  });
});
